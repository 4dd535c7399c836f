#!/usr/bin/env bash
# Make sure Fashion-MNIST is available locally: if scratchnn cannot locate the four
# files, install the Debian package dataset-fashion-mnist (as root, or via sudo).
set -u
PY="${1:-python3}"
if "$PY" -c "import sys, scratchnn.datasets.fashion_mnist as f; sys.exit(f.locate() is None)"; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "Fashion-MNIST not found and apt-get is unavailable: set SCRATCHNN_DATA to a folder" \
         "holding the four .gz files (tests that need the data will fail)." >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "Fashion-MNIST not found; run 'apt-get install -y dataset-fashion-mnist' as root." >&2
        exit 0
    fi
fi
echo "Installing Debian package dataset-fashion-mnist ..."
$SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
    || { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q dataset-fashion-mnist; } \
    || echo "Could not install dataset-fashion-mnist (tests that need the data will fail)." >&2

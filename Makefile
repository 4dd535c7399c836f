# The README's commands. Each target creates or reuses the local virtualenv (.venv),
# installs what it needs, and makes sure Fashion-MNIST is on disk.
#   make demo    the main job: train the tutorial models and show results
#   make test    the whole suite: tests/ (engine) and parity_tests/ (against TensorFlow),
#                on both cores (pytest-xdist)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test parity bench data venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all]"
	touch $(STAMP)

# Fashion-MNIST from the Debian package when no copy is found (never downloaded by tests).
data: $(STAMP)
	@bash scripts/ensure_data.sh $(PY)

demo: $(STAMP) data
	$(PY) -m scratchnn.cli demo

test: $(STAMP) data
	$(PY) -m pytest -n 2

parity: $(STAMP) data
	$(PY) -m scratchnn.cli parity

bench: $(STAMP) data
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) reports .pytest_cache .hypothesis

"""`scratchnn <command>`: demo (the main job), parity (against TensorFlow), bench."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scratchnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train the tutorial models and show the results")
    demo.add_argument("--out", default="reports/demo", help="folder for results and figures")
    demo.add_argument("--epochs", type=int, default=2, help="Fashion-MNIST epochs per model")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from . import demo as demo_module
        demo_module.run(args.out, epochs=args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

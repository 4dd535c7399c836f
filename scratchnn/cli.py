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
    parity = sub.add_parser("parity", help="compare with TensorFlow/Keras and write a report")
    parity.add_argument("--out", default="reports/parity", help="folder for the report")
    sub.add_parser("bench", add_help=False,
                   help="time scratchnn and Keras side by side (benchmarks/bench.py; "
                        "`scratchnn bench --help` for its options)")
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        # The benchmark suite parses its own options (it lives in benchmarks/).
        from benchmarks.bench import main as bench_main
        return bench_main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "demo":
        from . import demo as demo_module
        demo_module.run(args.out, epochs=args.epochs)
    elif args.command == "parity":
        try:
            from tf_reference import report
        except ImportError as err:
            print(f"scratchnn parity needs TensorFlow and Keras (pip install -e '.[tf]'): {err}",
                  file=sys.stderr)
            return 2
        report.run(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

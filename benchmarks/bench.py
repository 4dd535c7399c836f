"""Time scratchnn and Keras on the tutorials' six seed models, side by side, in one run.

    scratchnn bench                 (or: make bench; python -m benchmarks.bench)
    scratchnn bench --quick         a few seconds on small slices (what the tests run)
    scratchnn bench --profile cnn-t4     where one training step's time goes
    scratchnn bench --compare old.json  this run's speed-ups beside an earlier run's

For every seed model both engines train (batch 32) and predict (batch 256) the same data,
interleaved, min / median / max of `--repeats` runs after a warm-up (timing.py), and each
row says what scratchnn's thread policy chose (parallel.py: the plain step, or S shards).
Then the FLOPs of each step beside this machine's matmul speed for the same products
(flops.py), import time and peak memory in fresh processes (machine.py), and cost against
batch size and width (scaling.py). Last, every row again with another process spinning on
one core (timing.busy_core; skip with --no-load). Results:
benchmarks/results/latest.{json,md} and PNG charts. Compare ratios from the same run only,
never a number from another day or machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if __package__ in (None, ""):                       # run as a script: python benchmarks/bench.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"

from . import flops, machine, models, report, scaling, timing  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
# (training samples per run, epochs, predicted images) of the full run; --quick uses slices.
FULL_WORK = {"circles": (800, 4, 800), "mlp-4-4-10": (12800, 1, 12800),
             "mlp-350-10": (6400, 1, 12800), "mlp-100-50-10": (6400, 1, 12800),
             "cnn-conv32": (1600, 1, 2560), "cnn-t4": (1600, 1, 2560)}
QUICK_WORK = {name: (64, 1, 256) for name in FULL_WORK}


def _print_row(spec: models.Spec, r: dict) -> None:
    print(f"{spec.title:34s} {r['work']:7s} scratchnn {r['scratchnn_ms']['min']:8.3f}"
          f"  keras {r['keras_ms']['min']:8.3f} {r['unit']:18s} speed-up "
          f"{r['speedup']:5.2f}x (median {r['speedup_median']:.2f}x)"
          f"  threads: {timing.describe_policy(r['policy'])}", flush=True)


def run(quick: bool = False, repeats: int | None = None, out_dir: str = RESULTS,
        names: list[str] | None = None, sweep: bool = True, processes: bool = True,
        command: str = "scratchnn bench", compare: dict | None = None,
        load: bool = True) -> dict:
    import keras  # noqa: F401  (fail early, with the real message, if Keras is missing)

    repeats = repeats or (1 if quick else 7)
    names = names or list(models.SPECS)
    work = QUICK_WORK if quick else FULL_WORK
    result = {"command": command, "quick": quick, "repeats": repeats,
              "load_before": machine.load_average(), "machine": machine.describe(),
              "rows": [], "hardware": [], "warnings": []}
    start, watch = time.perf_counter(), machine.CpuWatch()
    for name in names:
        spec = models.SPECS[name]
        n_train, epochs, n_predict = work[name]
        rows = timing.compare(spec, n_train, n_predict, repeats, epochs=epochs)
        result["rows"] += rows
        for r in rows:
            _print_row(spec, r)
        import scratchnn as snn
        hw = flops.hardware(models.build(spec, snn), repeats=2 if quick else 5)
        result["hardware"].append(report.hardware_entry(spec, rows, hw))
    if processes:
        print("fresh processes: import time and peak memory", flush=True)
        n_imports = 1 if quick else 5
        result["processes"] = {
            "import": {"scratchnn": machine.import_seconds("scratchnn", n_imports),
                       "keras": machine.import_seconds("keras", n_imports)},
            "rss": {label: {engine: machine.peak_rss_training(engine, model, samples)[
                "peak_rss_mb"] for engine in ("scratchnn", "keras")}
                for label, model, samples in (
                    [("circles 4-4-1, 800 points", "circles", 800)] if quick else
                    [("CNN conv32, 6,400 Fashion images", "cnn-conv32", 6400),
                     ("MLP 350-10, 60,000 Fashion images", "mlp-350-10", 60000)])}}
    if sweep:
        print("scaling sweep", flush=True)
        result["scaling"] = scaling.sweep(quick, repeats=1 if quick else 3)
    result["load_after"] = machine.load_average()        # includes this run's own load
    result["during"] = watch.stop()
    if load:           # last, so that the spinner disturbs nothing else the run measures
        result["loaded_rows"] = loaded_rows(names, work, repeats)
    result["seconds"] = time.perf_counter() - start
    result["warnings"] += busy_warnings(result)
    if quick:
        result["warnings"].append("--quick run: tiny slices and one repeat, for testing the "
                                  "benchmark itself; its numbers mean nothing")
    if compare is not None:            # what the comparison needs of the earlier run
        result["compare"] = {
            "command": compare.get("command"), "machine": compare.get("machine", {}),
            "rows": [{k: row.get(k) for k in ("model", "work", "speedup", "speedup_median")}
                     for row in compare["rows"]]}
    report.write(result, out_dir)
    print(report.markdown(result))
    print(f"written: {out_dir}/latest.json, latest.md, " + ", ".join(result["charts"]))
    return result


def loaded_rows(names: list[str], work: dict, repeats: int) -> list[dict]:
    """Every row again, both engines, beside a process spinning on one core."""
    rows = []
    with timing.busy_core() as cpu:
        label = f"another process spinning on CPU {cpu}"
        print(f"under load: {label}", flush=True)
        for name in names:
            spec = models.SPECS[name]
            n_train, epochs, n_predict = work[name]
            for r in timing.compare(spec, n_train, n_predict, repeats, epochs=epochs,
                                    load=label):
                rows.append(r)
                _print_row(spec, r)
    return rows


def busy_warnings(result: dict) -> list[str]:
    """What disturbed the run: a high load average before it started, other processes'
    CPU time during it (whole run, and which rows), or the hypervisor's steal."""
    warnings = []
    if machine.busy(result["load_before"]):
        warnings.append(f"the machine was busy before the run (1-minute load average "
                        f"{result['load_before']:.2f} on {os.cpu_count()} CPUs)")
    during = result["during"]
    if machine.disturbed(during):
        warnings.append(f"other processes kept {during['others_cpus']:.2f} CPUs busy on "
                        f"average during the run (steal {during['steal_cpus']:.2f})")
    rows = [f"{r['model']} {r['work']} ({r['others_cpus']:.2f})" for r in result["rows"]
            if machine.disturbed(r)]
    # Rows timed beside the spinner: others beyond its one CPU disturbed them.
    rows += [f"{r['model']} {r['work']} under load ({r['others_cpus']:.2f})"
             for r in result.get("loaded_rows", [])
             if r.get("others_cpus") is not None
             and r["others_cpus"] > 1 + machine.BUSY_OTHER_CPUS]
    if rows:
        warnings.append("timed beside other work, CPUs used by others: " + ", ".join(rows))
    if warnings:
        warnings[-1] += ": timings are disturbed; run again on a quiet machine"
    return warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scratchnn bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--quick", action="store_true",
                        help="small slices, one repeat: checks the benchmark runs (seconds)")
    parser.add_argument("--repeats", type=int, help="timed runs per engine (default 7)")
    parser.add_argument("--out", default=RESULTS, help="folder for the results")
    parser.add_argument("--models", help="comma-separated subset of: " + ", ".join(models.SPECS))
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling sweep")
    parser.add_argument("--no-load", action="store_true",
                        help="skip the rows timed beside a process spinning on one core")
    parser.add_argument("--no-processes", action="store_true",
                        help="skip import time and peak memory (fresh processes)")
    parser.add_argument("--profile", metavar="MODEL", choices=list(models.SPECS),
                        help="print where one training step of MODEL spends its time")
    parser.add_argument("--compare", metavar="FILE",
                        help="an earlier run's latest.json: print this run's speed-ups beside "
                             "its, row by row")
    args = parser.parse_args(argv)
    if args.profile:
        from .profile_step import profile
        profile(args.profile)
        return 0
    earlier = None
    if args.compare:
        try:
            with open(args.compare) as f:
                earlier = json.load(f)
            if not isinstance(earlier, dict) or not isinstance(earlier.get("rows"), list):
                raise ValueError("it has no 'rows' list")
        except (OSError, ValueError) as err:
            parser.error(f"--compare {args.compare}: not a benchmark result "
                         f"(latest.json) that can be read: {err}")
    names = args.models.split(",") if args.models else None
    unknown = [n for n in names or [] if n not in models.SPECS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(models.SPECS)}")
    try:
        run(args.quick, args.repeats, args.out, names, not args.no_scaling,
            not args.no_processes, command="scratchnn bench" + (" --quick" if args.quick else ""),
            compare=earlier, load=not args.no_load)
    except ImportError as err:
        print(f"scratchnn bench compares with Keras and needs TensorFlow "
              f"(pip install -e '.[tf,bench]'): {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark's outputs: `latest.json` (everything), `latest.md` (the tables the README
shows) and PNG charts, all in benchmarks/results/ (or --out)."""

from __future__ import annotations

import json
import os

from .flops import gflops
from .machine import cpu_summary
from .timing import LOADED_TARGET, SETTLE_SECONDS, describe_policy


def _ms(s: dict) -> str:
    return f"{s['min']:.3f} / {s['median']:.3f} / {s['max']:.3f}"


def _cpus(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"# scratchnn vs Keras, side by side ({m['when']})", "",
             f"Produced by `{result['command']}`. {cpu_summary(m)}, "
             f"numpy {m['numpy']}, keras {m['keras']}, tensorflow {m['tensorflow']}, float32.",
             "Both engines run in the same process on the same data, interleaved (the engine "
             "going first alternates), after a warm-up, each run after a "
             f"{SETTLE_SECONDS:g} s pause (so the other engine's threads are idle); each figure "
             "is min / median / max over "
             f"{result['repeats']} runs. Keras on 2 cores is bimodal, so the speed-up is "
             "Keras's minimum over scratchnn's (the least disturbed runs); the median ratio "
             "is shown beside it. \"Others\" is how many CPUs other processes kept busy on "
             "average while that row was timed (0.00: the machine was ours).", ""]
    for warning in result["warnings"]:
        lines += [f"> **Warning:** {warning}", ""]
    lines += _rows_table(result["rows"])
    if result.get("loaded_rows"):
        lines += ["", "## Beside a busy core", "",
                  f"The same rows with {result['loaded_rows'][0]['load']} (a Python loop "
                  "pinned there with os.sched_setaffinity) for the whole section, both engines. "
                  f"Target: every row at least {LOADED_TARGET:g}x Keras. \"Others\" counts "
                  "the spinner (about 1.00).", ""]
        lines += _rows_table(result["loaded_rows"])
    if result.get("compare"):
        lines += ["", comparison(result, result["compare"])]
    if result.get("hardware"):
        lines += ["", "## Distance to the hardware (matrix products only; see flops.py)", "",
                  "\"Products' share\" is the time the step's matrix products take alone "
                  "(the \"alone\" rate) over scratchnn's whole step: the rest of the step is "
                  "outside the products (elementwise work, windows, pooling, the optimizer, "
                  "Python).", "",
                  "| model | MFLOP per train step | scratchnn GFLOP/s | Keras GFLOP/s | "
                  "same products alone GFLOP/s | products' share of scratchnn's step | "
                  "MFLOP per 256 predicted | scratchnn | Keras | alone | products' share |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for h in result["hardware"]:
            lines.append(
                f"| {h['title']} | {h['train_mflop']:.1f} | {h['train_gflops']['scratchnn']:.1f} | "
                f"{h['train_gflops']['keras']:.1f} | {h['train_gflops']['machine']:.1f} | "
                f"{_share(h['train_gflops'])} | "
                f"{h['predict_mflop']:.1f} | {h['predict_gflops']['scratchnn']:.1f} | "
                f"{h['predict_gflops']['keras']:.1f} | {h['predict_gflops']['machine']:.1f} | "
                f"{_share(h['predict_gflops'])} |")
    if result.get("processes"):
        p = result["processes"]
        lines += ["", "## Fresh processes", "", "| measure | scratchnn | Keras |", "|---|---|---|",
                  f"| import time, s (min of {len(p['import']['scratchnn']['runs'])}) | "
                  f"{p['import']['scratchnn']['min']:.3f} | {p['import']['keras']['min']:.3f} |"]
        for label, rss in p["rss"].items():
            lines.append(f"| peak RSS training {label}, MB | {rss['scratchnn']:.0f} | "
                         f"{rss['keras']:.0f} |")
    lines += ["", "\"Threads\" is what scratchnn's thread policy (scratchnn/parallel.py) chose "
              "for the batches of that row's runs: \"plain\" is the one-thread step of "
              "step.py (NumPy's BLAS on its own threads), \"1 shard\" the same step on one "
              "BLAS thread (a busy machine), \"S shards\" the batch split over S threads."]
    lines += ["", f"BLAS: `{json.dumps(m['blas'])}`",
              f"Load average (1 min): {result['load_before']:.2f} before, "
              f"{result['load_after']:.2f} after (which counts this run's own work). "
              f"Other processes during the run: {_cpus(result['during']['others_cpus'])} "
              f"CPUs on average, steal {_cpus(result['during']['steal_cpus'])}."]
    if result.get("charts"):
        lines += [""] + [f"![{c}]({c})" for c in result["charts"]]
    return "\n".join(lines) + "\n"


def _share(rates: dict) -> str:
    """The products' time alone over scratchnn's step: achieved rate / the products' rate."""
    share = rates["scratchnn"] / rates["machine"] if rates["machine"] > 0 else float("nan")
    return f"{share:.0%}"


def _rows_table(rows: list[dict]) -> list[str]:
    lines = ["| model | work | scratchnn ms | Keras ms | speed-up (min) | speed-up (median) "
             "| target | threads | others |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        target = "-" if r["target"] is None else (
            f">= {r['target']:g} {'(met)' if r['speedup'] >= r['target'] else '(NOT met)'}")
        policy = describe_policy(r["policy"]) if r.get("policy") else "-"
        lines.append(f"| {r['title']} | {r['work']}, {r['unit']} (batch {r['batch_size']}) | "
                     f"{_ms(r['scratchnn_ms'])} | {_ms(r['keras_ms'])} | "
                     f"**{r['speedup']:.2f}x** | {r['speedup_median']:.2f}x | {target} | "
                     f"{policy} | {_cpus(r.get('others_cpus'))} |")
    return lines


def charts(result: dict, out_dir: str) -> list[str]:
    """speedups.png, and scaling_batch.png / scaling_width.png when the sweep ran."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    rows = result["rows"] + result.get("loaded_rows", [])
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
    labels = [f"{r['title']}  {r['work']}" + (", 1 core busy" if r.get("load") else "")
              for r in rows]
    ys = range(len(rows))
    ax.barh(ys, [r["speedup"] for r in rows], color="tab:blue", label="speed-up (min)")
    ax.scatter([r["speedup_median"] for r in rows], ys, color="black", zorder=3, s=12,
               label="speed-up (median)")
    for y, r in zip(ys, rows):
        if r["target"]:
            ax.plot([r["target"]] * 2, [y - 0.4, y + 0.4], color="tab:red", lw=2)
    ax.plot([], [], color="tab:red", lw=2, label="target")
    ax.axvline(1, color="gray", lw=0.8, ls="--")
    ax.set_yticks(list(ys), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("Keras time / scratchnn time (log scale; > 1: scratchnn is faster)")
    ax.set_title("scratchnn vs Keras, same process, interleaved")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    written.append(_save(fig, out_dir, "speedups.png"))

    sweep = result.get("scaling")
    if sweep:
        fig, axes = plt.subplots(1, len(sweep["batch"]), figsize=(11, 4.2), squeeze=False)
        for ax, (name, points) in zip(axes[0], sweep["batch"].items()):
            batches = [p["batch"] for p in points]
            for engine, style in (("scratchnn", "o-"), ("keras", "s--")):
                ax.loglog(batches, [p[engine] for p in points], style, label=engine)
            ax.set(xlabel="batch size", ylabel="ms per training step", title=name)
            ax.legend()
            ax.grid(True, which="both", alpha=0.3)
        fig.suptitle("Training step cost against batch size (log-log)")
        fig.tight_layout()
        written.append(_save(fig, out_dir, "scaling_batch.png"))
        fig, ax = plt.subplots(figsize=(6, 4.2))
        widths = [p["width"] for p in sweep["width"]]
        for engine, style in (("scratchnn", "o-"), ("keras", "s--")):
            ax.loglog(widths, [p[engine] for p in sweep["width"]], style, label=engine)
        ax.set(xlabel="hidden units (Flatten-Dense(width)-Dense(10))",
               ylabel="ms per training step (batch 32)",
               title="Training step cost against MLP width (log-log)")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        written.append(_save(fig, out_dir, "scaling_width.png"))
    return written


def comparison(result: dict, earlier: dict) -> str:
    """This run's speed-ups beside an earlier run's (its latest.json), row by row: the
    minimum and median ratios of each, and how much the minimum moved. Ratios from
    another machine compare engines on that machine: a warning says when the CPUs differ."""
    m, e = result["machine"], earlier.get("machine", {})
    lines = [f"## Compared with the run of {e.get('when', '?')} "
             f"(`{earlier.get('command', '?')}`)", ""]
    if e.get("cpu_flags") is None:
        lines += ["> **Warning:** that run did not record its CPU's vector extensions (it "
                  f"says {e.get('cpu_model', 'nothing')!r}), so it may have run on another CPU "
                  f"than this one ({cpu_summary(m)}): a change may be the machine's.", ""]
    elif (m.get("cpu_model"), m.get("cpu_flags")) != (e.get("cpu_model"), e.get("cpu_flags")):
        lines += [f"> **Warning:** that run was on {cpu_summary(e)}, this one on "
                  f"{cpu_summary(m)}: each ratio is still engine against engine on its own "
                  "machine, but a change between them is not this code's alone.", ""]
    lines += ["| model | work | speed-up (min) then | now | change | speed-up (median) then "
              "| now |", "|---|---|---|---|---|---|---|"]
    before = {(r["model"], r["work"]): r for r in earlier.get("rows", [])}
    for r in result["rows"]:
        old = before.get((r["model"], r["work"]))
        if old is None:
            lines.append(f"| {r['title']} | {r['work']} | - | {r['speedup']:.2f}x | (new) | - | "
                         f"{r['speedup_median']:.2f}x |")
            continue
        change = r["speedup"] / old["speedup"] - 1
        lines.append(f"| {r['title']} | {r['work']} | {old['speedup']:.2f}x | "
                     f"{r['speedup']:.2f}x | {change:+.0%} | {old['speedup_median']:.2f}x | "
                     f"{r['speedup_median']:.2f}x |")
    missing = [f"{k[0]} {k[1]}" for k in before if k not in
               {(r["model"], r["work"]) for r in result["rows"]}]
    if missing:
        lines += ["", f"Not timed in this run: {', '.join(missing)}."]
    return "\n".join(lines)


def _save(fig, out_dir: str, name: str) -> str:
    import matplotlib.pyplot as plt
    fig.savefig(os.path.join(out_dir, name), dpi=100)
    plt.close(fig)
    return name


def write(result: dict, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    result["charts"] = charts(result, out_dir)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:
        json.dump(result, f, indent=2, default=str)
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write(markdown(result))


def hardware_entry(spec, rows: list[dict], hw: dict) -> dict:
    """The achieved GFLOP/s of both engines beside the machine's, from the timing rows."""
    train = next(r for r in rows if r["model"] == spec.name and r["work"] == "train")
    predict = next(r for r in rows if r["model"] == spec.name and r["work"] == "predict")
    return {"model": spec.name, "title": spec.title, **hw,
            "train_gflops": {"scratchnn": gflops(hw["train_mflop"], train["scratchnn_ms"]["min"]),
                             "keras": gflops(hw["train_mflop"], train["keras_ms"]["min"]),
                             "machine": gflops(hw["train_mflop"], hw["train_matmul_ms"])},
            "predict_gflops": {"scratchnn": gflops(hw["predict_mflop"],
                                                   predict["scratchnn_ms"]["min"]),
                               "keras": gflops(hw["predict_mflop"], predict["keras_ms"]["min"]),
                               "machine": gflops(hw["predict_mflop"], hw["predict_matmul_ms"])}}

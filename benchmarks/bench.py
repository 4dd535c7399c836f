"""Time scratchnn and Keras on the same models, side by side, in one run.

    python benchmarks/bench.py [--repeats 3] [--out benchmarks/results]   (or: make bench)

For each model both engines train the same number of batches (batch 32, shuffle off)
and predict the same images; each timing is the best of `--repeats` runs after one
warm-up (Keras traces its functions then). The result is the RATIO of the two times
in this run: never compare a number with one from another day or machine. The BLAS
configuration NumPy ran with is recorded (threadpoolctl), as are OPENBLAS_* variables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import scratchnn as snn  # noqa: E402


def models(L):
    """name -> (layer list builder, input shape, training images): the tutorials' models."""
    return {
        "MLP 350-10 (T3)": (lambda: [L.Flatten(), L.Dense(350, activation="relu"),
                                     L.Dense(10, activation="softmax")], (28, 28), 12800),
        "MLP 100-50-10 (T1)": (lambda: [L.Flatten(), L.Dense(100, activation="relu"),
                                        L.Dense(50, activation="relu"),
                                        L.Dense(10, activation="softmax")], (28, 28), 12800),
        "CNN 542,230 (T3)": (lambda: [L.Conv2D(32, (3, 3), activation="relu"),
                                      L.MaxPooling2D((2, 2)), L.Flatten(),
                                      L.Dense(100, activation="relu"),
                                      L.Dense(10, activation="softmax")], (28, 28, 1), 3200),
        "CNN 31,626 (T4)": (lambda: [L.Conv2D(32, 5, activation="relu"), L.MaxPooling2D(),
                                     L.Conv2D(32, 4, activation="relu", padding="same"),
                                     L.MaxPooling2D(), L.Conv2D(32, 3, activation="relu"),
                                     L.Flatten(), L.Dropout(0.5), L.Dense(10),
                                     L.Activation("softmax")], (28, 28, 1), 3200),
    }


def best_time(fn, repeats: int) -> float:
    fn()                                                   # warm-up (Keras traces here)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def blas_info() -> dict:
    try:
        from threadpoolctl import threadpool_info
        pools = [{k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                 for p in threadpool_info()]
    except ImportError:
        pools = "threadpoolctl not installed"
    return {"threadpools": pools,
            "env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_"))}}


def run(repeats: int, out_dir: str) -> dict:
    import keras
    (x, y), _ = snn.datasets.fashion_mnist.load_data()
    x = x / np.float32(255)
    rows = []
    for name, (build, shape, n) in models(snn.layers).items():
        xs, ys = x[:n].reshape(n, *shape), y[:n]
        snn.utils.set_random_seed(0)
        model = snn.Sequential([snn.Input(shape), *build()])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        from tf_reference import to_keras
        twin = to_keras(model)
        steps = n // 32
        timings = {
            "train": (best_time(lambda: model.fit(xs, ys, epochs=1, shuffle=False, verbose=0),
                                repeats),
                      best_time(lambda: twin.fit(xs, ys, epochs=1, shuffle=False, verbose=0),
                                repeats)),
            "predict": (best_time(lambda: model.predict(xs, batch_size=256, verbose=0), repeats),
                        best_time(lambda: twin.predict(xs, batch_size=256, verbose=0), repeats)),
        }
        for what, (ours, theirs) in timings.items():
            rows.append({"model": name, "what": what, "images": n, "steps": steps,
                         "scratchnn_s": ours, "keras_s": theirs, "ratio": ours / theirs})
            print(f"{name:22s} {what:8s} scratchnn {ours:7.3f}s  keras {theirs:7.3f}s  "
                  f"ratio {ours / theirs:5.2f}", flush=True)
    result = {"rows": rows, "blas": blas_info(), "numpy": np.__version__,
              "keras": keras.__version__, "python": platform.python_version(),
              "machine": platform.machine(), "cpus": os.cpu_count(), "repeats": repeats,
              "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:
        json.dump(result, f, indent=2, default=str)
    table = ["| model | work | scratchnn (s) | Keras (s) | scratchnn / Keras |",
             "|---|---|---|---|---|"]
    table += [f"| {r['model']} | {r['what']} ({r['images']} images, batch "
              f"{32 if r['what'] == 'train' else 256}) | {r['scratchnn_s']:.3f} | "
              f"{r['keras_s']:.3f} | {r['ratio']:.2f} |" for r in rows]
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write(f"# scratchnn vs Keras timings ({result['when']}, {result['cpus']} CPUs)\n\n"
                "Produced by `make bench` (`python benchmarks/bench.py`). Best of "
                f"{repeats} runs after a warm-up; compare the ratios only.\n\n"
                + "\n".join(table) + f"\n\nBLAS: {json.dumps(result['blas'])}\n")
    print("\n".join(table))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scratchnn bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    run(args.repeats, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

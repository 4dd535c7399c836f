"""What the benchmark ran on, and the two costs measured in fresh processes: how long
`import` takes, and how much memory (peak resident set) a training run needs.

A number from a loaded machine is not a measurement of the engines: the load average is
read before and after the run, and a warning goes into every report when it was high.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

BUSY_LOAD_PER_CPU = 0.5      # a 1-minute load average above this, per CPU, means "busy"

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas() -> dict:
    """NumPy's BLAS library and threads (threadpoolctl), and the variables that steer it."""
    try:
        from threadpoolctl import threadpool_info
        pools = [{k: p.get(k) for k in ("internal_api", "version", "num_threads",
                                        "architecture")} for p in threadpool_info()]
    except ImportError:
        pools = "threadpoolctl not installed"
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}
    return {"threadpools": pools, "env": env}


def load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def busy(load: float) -> bool:
    return load > BUSY_LOAD_PER_CPU * (os.cpu_count() or 1)


def describe() -> dict:
    """Versions, CPU, BLAS configuration and the load average now."""
    import numpy
    info = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "python": platform.python_version(),
            "numpy": numpy.__version__, "platform": platform.platform(),
            "cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "blas": blas()}
    try:
        import keras
        import tensorflow
        info.update(keras=keras.__version__, tensorflow=tensorflow.__version__)
    except ImportError:
        info.update(keras=None, tensorflow=None)
    import scratchnn
    info["scratchnn"] = scratchnn.__version__
    return info


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB. Linux's VmHWM belongs to this program
    alone; getrusage's ru_maxrss would also count a parent's peak inherited at fork."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh_python(code: str) -> dict:
    """Run `code` in a new interpreter (repository on the path) and parse its JSON output."""
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=_ROOT, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_seconds(module: str, repeats: int = 5) -> dict:
    """Seconds to `import module` in a fresh interpreter (min and median of `repeats`)."""
    code = ("import json, time; t = time.perf_counter(); import " + module +
            "; print(json.dumps({'s': time.perf_counter() - t}))")
    runs = sorted(_fresh_python(code)["s"] for _ in range(repeats))
    return {"min": runs[0], "median": runs[len(runs) // 2], "runs": runs}


def peak_rss_training(engine: str, model: str, samples: int, epochs: int = 1) -> dict:
    """Peak resident memory (MB) of a fresh process that loads the data (Fashion-MNIST's
    training images, or the circles) and trains seed model `model` on `samples` of them."""
    code = f"""
import json
from benchmarks import models
from benchmarks.machine import peak_rss_mb
spec = models.SPECS[{model!r}]
x, y = models.data(spec, {samples})
if {engine!r} == "keras":
    import keras as module
else:
    import scratchnn as module
module.utils.set_random_seed(0)
m = models.build(spec, module)
m.fit(x, y, batch_size=32, epochs={epochs}, verbose=0)
print(json.dumps({{"peak_rss_mb": peak_rss_mb()}}))
"""
    return _fresh_python(code)

"""What the benchmark ran on, and the two costs measured in fresh processes: how long
`import` takes, and how much memory (peak resident set) a training run needs.

A number from a loaded machine is not a measurement of the engines. The load average
before the run says whether something was running already; during the run, `CpuWatch`
counts the CPU time that OTHER processes took (the machine's busy time minus this
process's own), which the load average cannot tell apart from the benchmark itself. A
warning goes into the report when either was high.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

from scratchnn import cpu_load

BUSY_LOAD_PER_CPU = 0.5      # a 1-minute load average above this, per CPU, means "busy"
BUSY_OTHER_CPUS = 0.2        # other processes using more CPUs than this on average: "busy"

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


# The vector extensions that decide which kernels the engines run: OpenBLAS and NumPy pick
# theirs by them, and TensorFlow turns on its oneDNN kernels by default only where one of
# ONEDNN_DEFAULT_ON is present (tensorflow/core/util/port.cc, DefaultOneDnnPolicy).
VECTOR_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni",
                "amx_tile", "amx_int8", "amx_bf16")
ONEDNN_DEFAULT_ON = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8",
                     "amx_bf16")


def cpu_flags() -> list[str]:
    """The VECTOR_FLAGS this CPU has (from /proc/cpuinfo; empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    present = set(line.split(":", 1)[1].split())
                    return [flag for flag in VECTOR_FLAGS if flag in present]
    except OSError:
        pass
    return []


def numpy_simd_target(function: str, types: str) -> str:
    """The kernel NumPy runs `function` on for `types` (its type characters, e.g. "fff" for
    float32 power) on this machine: "X86_V4" (AVX-512), "X86_V3" (AVX2), "baseline(...)".
    NumPy's own choice, by the CPU and NPY_DISABLE_CPU_FEATURES. The last bits of its
    float32 power, for one, depend on it: its AVX-512 kernel is not glibc's powf."""
    from numpy.lib.introspect import opt_func_info
    return opt_func_info(func_name=f"^{function}$")[function][types]["current"]


def numpy_openblas_kernels() -> str | None:
    """The kernel family of the OpenBLAS NumPy uses ("SkylakeX", "Haswell", "Zen", ...;
    OPENBLAS_CORETYPE can set it), or None without one (threadpoolctl's report)."""
    from threadpoolctl import threadpool_info
    __import__("numpy")                   # loaded, so that threadpoolctl finds its OpenBLAS
    for pool in threadpool_info():
        if pool["internal_api"] == "openblas" and "numpy" in pool["filepath"]:
            return pool.get("architecture")
    return None


def tensorflow_onednn(flags: list[str]) -> bool:
    """Whether TensorFlow runs its oneDNN kernels here: TF_ENABLE_ONEDNN_OPTS if set, else
    TensorFlow's default for this CPU (Linux x86: on with AVX512_VNNI, AVX512_BF16,
    AVX_VNNI or AMX). It changes Keras's speed a lot, and its float32 rounding a little."""
    env = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
    if env in ("0", "false"):
        return False
    if env in ("1", "true"):
        return True
    return any(flag in flags for flag in ONEDNN_DEFAULT_ON)


def cpu_summary(machine: dict) -> str:
    """'AMD EPYC, 2 CPUs (avx2, fma, avx512f; TensorFlow's oneDNN kernels on)'."""
    flags = machine.get("cpu_flags")
    detail = ""
    if flags is not None:
        onednn = "on" if machine.get("tensorflow_onednn") else "off"
        detail = f" ({', '.join(flags) or 'no AVX'}; TensorFlow's oneDNN kernels {onednn})"
    return f"{machine['cpu_model']}, {machine['cpu_count']} CPUs{detail}"


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


class CpuWatch:
    """CPU used by other processes (and stolen by the hypervisor) since construction.

    /proc/stat counts the time every CPU of the machine spent busy; `os.times()` counts
    this process's own time (all its threads, and the children it waited for). Their
    difference over the wall time is how many CPUs the rest of the machine kept busy while
    we measured: 0.0 on a quiet machine, up to the CPU count. Steal is time the hypervisor
    gave our virtual CPUs to someone else. Both are None where /proc/stat does not exist.
    The counting is the engine's own (scratchnn/cpu_load.py), which its thread policy
    uses to leave busy CPUs alone.
    """

    def __init__(self) -> None:
        self._start = cpu_load.read()

    def stop(self) -> dict[str, float | None]:
        """{"others_cpus", "steal_cpus"}: average CPUs, since construction."""
        end = cpu_load.read()
        if self._start is None or end is None or end.wall <= self._start.wall:
            return {"others_cpus": None, "steal_cpus": None}
        others, steal = cpu_load.others_between(self._start, end)
        return {"others_cpus": round(others, 3), "steal_cpus": round(steal, 3)}


def disturbed(watch: dict) -> bool:
    """True when a CpuWatch result says other work shared the machine."""
    return any(watch.get(k) is not None and watch[k] > BUSY_OTHER_CPUS
               for k in ("others_cpus", "steal_cpus"))


def describe() -> dict:
    """Versions, CPU (with its vector extensions), BLAS configuration."""
    import numpy
    info = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "python": platform.python_version(),
            "numpy": numpy.__version__, "platform": platform.platform(),
            "cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "cpu_flags": cpu_flags(),
            "blas": blas()}
    info["tensorflow_onednn"] = tensorflow_onednn(info["cpu_flags"])
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

"""Normal draws on both of glibc's builds of log and sincos, pinned by known answers.

TensorFlow's Box-Muller calls the C library's logf/sincosf (float32) and log/sincos
(float64). glibc ships several builds of each and picks one when a program starts: the
`_fma` build where the CPU has FMA and AVX2 (its compiler fused a*b + c into one
rounding), else `_avx` or `_sse2` (the same arithmetic, product rounded first). The
environment variable GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA makes glibc pick the
plain build on any CPU, so both builds are tested here, in child processes, whatever CPU
runs the suite; the FMA build only where the CPU has FMA and AVX2 (every x86-64 machine
this project has seen).

Measured with glibc 2.36 (Debian 12) and checked against TensorFlow 2.21 on each build
(parity_tests/test_random_weights.py): float32 results are the same on both builds, so
`libm32`'s twin serves every CPU; float64 results differ, and scratchnn gets whichever
build glibc chose by calling the C library's functions (`random.box_muller`).
The expected bit patterns below came from glibc itself on each build.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.machine import numpy_simd_target

from scratchnn import libm32, random

PLAIN_BUILD = "glibc.cpu.hwcaps=-AVX2,-FMA"       # GLIBC_TUNABLES value: no FMA build

# (u1 mantissa, u2 mantissa, (z0, z1) bits on the FMA build, (z0, z1) bits on the plain
# build): pairs of float64 uniforms u = mantissa * 2^-52 where the builds' log, sin or cos
# differ in a way that survives to the normal numbers, and where NumPy's own np.log on
# AVX-512 differs from glibc's (the cause of issue 15's failures).
FLOAT64_CASES = [
    (0xe1b39ff295113, 0x96d4552a26fbf, (0xbfd1126ea457564d, 0xbfdb3604b694c787),
     (0xbfd1126ea457564c, 0xbfdb3604b694c786)),                            # log differs
    (0x6b34a361372c3, 0xb65e9ca13695f, (0xbff4860f98f15a5b, 0xbfd3c627520e89de),
     (0xbff4860f98f15a5a, 0xbfd3c627520e89dd)),                            # log
    (0x94317ff5d2b99, 0x61ec8440ee7e8, (0x3fe68439a706ce67, 0xbfe8c00452703f61),
     (0x3fe68439a706ce66, 0xbfe8c00452703f61)),                            # sin
    (0x38d8d7f69f7a3, 0xb25fdfbe2ef6, (0x3fde009df580d294, 0x3ffab980b3b8ecef),
     (0x3fde009df580d296, 0x3ffab980b3b8ecef)),                            # sin
    (0x604df84aa89b, 0x37e0df211994d, (0x400579cda62f430f, 0x3fe15a97a1252826),
     (0x400579cda62f430f, 0x3fe15a97a1252827)),                            # cos
    (0xa14f10d44e26c, 0xafc134ac0b55f, (0xbfec57bd1065b217, 0xbfd7e175f4d5600d),
     (0xbfec57bd1065b217, 0xbfd7e175f4d5600e)),                            # cos
    (0xf98cf1e6b0c45, 0x890489f298ed, (0x3fa821aaf38076a8, 0x3fcc4774870d8309),
     (0x3fa821aaf38076a8, 0x3fcc4774870d8309)),                            # np.log differs
    (0xf6e1546594a99, 0xef3fe4c7fbd8c, (0xbfbb8e56459bf10c, 0x3fcf9a94770f44ba),
     (0xbfbb8e56459bf10c, 0x3fcf9a94770f44ba)),                            # np.log differs
]

# SHA-256 (first 16 hex digits) of whole draws: random.normal((1 << 18,), seed, dtype).
# float32 is the same on both builds; float64 is not.
DRAW_DIGESTS = {
    ("float32", (1, 0)): {"fma": "5659913b0ef56360", "plain": "5659913b0ef56360"},
    ("float32", (77, 5)): {"fma": "e8438eabd7b25e46", "plain": "e8438eabd7b25e46"},
    ("float64", (1, 0)): {"fma": "71e52d3b7d3c6cb1", "plain": "4bbb711078bf12a6"},
    ("float64", (77, 5)): {"fma": "5b1de77d5019bb5b", "plain": "628640bb0bdb7e5c"},
}


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def glibc_build_of_this_cpu() -> str:
    """The build glibc's selector takes here: 'fma' with FMA and AVX2, else 'plain'."""
    return "fma" if {"fma", "avx2"} <= cpu_flags() else "plain"


DRAW = """
import hashlib, json, sys
import numpy as np
from scratchnn import random
pairs, draws = json.loads(sys.argv[1])
# The four Philox words TensorFlow turns into the float64 pair (m1, m2) * 2^-52.
words = np.array([[m1 >> 32, m1 & 0xFFFFFFFF, m2 >> 32, m2 & 0xFFFFFFFF]
                  for m1, m2 in pairs], np.uint32).ravel()
cases = random.box_muller(words, "float64").view(np.uint64).reshape(-1, 2).tolist()
digests = [hashlib.sha256(random.normal((1 << 18,), tuple(seed), dtype=dtype).tobytes())
           .hexdigest()[:16] for dtype, seed in draws]
print(json.dumps({"cases": cases, "digests": digests}))
"""


def draw_args() -> list:
    return [[[m1, m2] for m1, m2, _, _ in FLOAT64_CASES], [list(k) for k in DRAW_DIGESTS]]


def expected(build: str) -> dict:
    return {"cases": [list(fma if build == "fma" else plain)
                      for _, _, fma, plain in FLOAT64_CASES],
            "digests": [by_build[build] for by_build in DRAW_DIGESTS.values()]}


def in_child(build: str, code: str, *args: str) -> object:
    """Run `code` (which prints one JSON line) in a fresh Python on glibc's `build`
    ('fma', 'plain', or 'as is': this environment unchanged)."""
    env = dict(os.environ)
    if build != "as is":
        env.pop("GLIBC_TUNABLES", None)
    if build == "plain":
        env["GLIBC_TUNABLES"] = PLAIN_BUILD
    elif build == "fma" and glibc_build_of_this_cpu() != "fma":
        pytest.skip("glibc's FMA build of log/sincos cannot run here: this CPU lacks "
                    "FMA or AVX2, so only the plain build is tested")
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


pytestmark = pytest.mark.skipif(platform.system() != "Linux" or not cpu_flags(),
                                reason="glibc's builds are a Linux x86-64 matter")


@pytest.mark.parametrize("build", ["fma", "plain"])
def test_normal_draws_are_the_known_answers_of_each_glibc_build(build):
    assert in_child(build, DRAW, json.dumps(draw_args())) == expected(build)


def test_this_machine_draws_the_build_its_cpu_selects():
    """The choice is glibc's, made by CPU features: FMA and AVX2 take the FMA build, as
    for TensorFlow in the same environment (GLIBC_TUNABLES, when set, can mask features)."""
    if os.environ.get("GLIBC_TUNABLES"):
        pytest.skip(f"GLIBC_TUNABLES={os.environ['GLIBC_TUNABLES']} is set for this run")
    got = in_child("as is", DRAW, json.dumps(draw_args()))
    assert got == expected(glibc_build_of_this_cpu())


def test_numpy_float64_log_is_not_what_tensorflow_uses_on_avx512():
    """Why float64 calls the C library: NumPy's np.log has its own AVX-512 kernel, which it
    runs where the CPU has AVX-512 (its own dispatch: NPY_DISABLE_CPU_FEATURES can turn
    it off, so the test asks NumPy, not /proc/cpuinfo)."""
    u1 = np.array([m1 * 2.0**-52 for m1, _, _, _ in FLOAT64_CASES[-2:]])
    c_log = random.c_library(__import__("math").log, u1)
    if numpy_simd_target("log", "dd") == "X86_V4":
        assert not np.array_equal(np.log(u1), c_log)
    else:                                        # without AVX-512 NumPy calls glibc's log
        np.testing.assert_array_equal(np.log(u1), c_log)


# -- float32: one twin for both builds -------------------------------------------------------
GLIBC_FLOAT32 = """
import ctypes, json, numpy as np
from scratchnn import libm32
libm = ctypes.CDLL({libm!r})
libm.logf.restype, libm.logf.argtypes = ctypes.c_float, [ctypes.c_float]
libm.sincosf.argtypes = [ctypes.c_float, ctypes.POINTER(ctypes.c_float),
                         ctypes.POINTER(ctypes.c_float)]
k = np.random.default_rng(0).integers(0, 1 << 23, 1 << 15)
k = np.concatenate([k, np.arange(64), (1 << 23) - 1 - np.arange(64)])
u1 = np.maximum((k * 2.0**-23).astype(np.float32), np.float32(1e-7))
angle = (2 * np.pi * k * 2.0**-23).astype(np.float32)
s, c = ctypes.c_float(), ctypes.c_float()
glibc = []
for a in angle.tolist():
    libm.sincosf(a, ctypes.byref(s), ctypes.byref(c))
    glibc.append((s.value, c.value))
glibc_log = np.array([libm.logf(v) for v in u1.tolist()], np.float32)
glibc_sin, glibc_cos = np.array(glibc, np.float32).T
twin_sin, twin_cos = libm32.sincosf(angle)
print(json.dumps([int(np.sum(libm32.logf(u1) != glibc_log)),
                  int(np.sum(twin_sin != glibc_sin)), int(np.sum(twin_cos != glibc_cos))]))
"""


@pytest.mark.parametrize("build", ["fma", "plain"])
def test_libm32_twin_is_glibcs_logf_and_sincosf_on_each_build(build):
    """glibc's float32 functions, called directly, against the NumPy twin: 32,896
    Box-Muller inputs (the ends of the range included), no difference on either build."""
    libm = ctypes.util.find_library("m")
    if libm is None:
        pytest.skip("no C math library found to compare with")
    assert in_child(build, GLIBC_FLOAT32.format(libm=libm)) == [0, 0, 0]

"""The float32 pow, cos and log that TensorFlow computes on a SCALAR, on the CPU.

A learning-rate schedule is a handful of float32 operations on scalars. For + - * /,
floor, ceil and min every IEEE machine gives the same bits, NumPy included. The three
transcendental functions are different: each library approximates them its own way.

What TensorFlow runs. `tf.pow`, `tf.cos`, `tf.math.log` are Eigen expressions; Eigen
evaluates whole packets of 8 or 16 floats with its own vectorised polynomials, and the
elements left over (all of them, for a tensor of ONE element) with the scalar functor,
`numext::pow / cos / log`, that is `std::pow / cos / log`: the C library's `powf`, `cosf`,
`logf` (glibc on Linux). Measured on 3,000 values each: a scalar `tf.cos` equals glibc's
`cosf` on all of them, `np.cos` on float32 (NumPy's own SIMD code) differs on 17%;
`np.power` on float32 differs from `tf.pow` on 18%, and even the float64 power rounded to
float32 differs on 5% (glibc's powf is not correctly rounded; its error is < 0.82 ulp).

TensorFlow also runs every CPU kernel with the processor's flush-to-zero and
denormals-are-zero modes on: a float32 result below 2^-126 becomes 0, and a subnormal
input reads as 0 in arithmetic. So `tf.pow(0.5, 140.0)` is 0.0 where `powf` returns
7e-43: on normal numbers, those are the only places where `tf.pow` and `powf` differ.

This module computes the same bits, one value at a time, in plain Python (a Python float
is an IEEE double: each + and * below rounds exactly as the C code's double arithmetic):

    powf(x, y)        glibc's powf (e_powf.c, from ARM's Optimized Routines), TF's modes
    cosf(x)           glibc's cosf (s_cosf.c; the cosine half of libm32.sincosf)
    logf(x)           glibc's logf (e_logf.c; libm32.logf, special values included)
    flush_denormal(x) TensorFlow's flush-to-zero of a float32 result

Arrays are taken one element at a time (a plot's worth of steps). The algorithms are
glibc's since 2.28 (ARM's Optimized Routines). Checked against glibc 2.36 (Debian 12):
powf on 1,250,000 pairs, on both of glibc's builds (the FMA one and the plain one, see
tests/test_libm_builds.py), no difference; cosf and logf as libm32's twins. Later glibc
releases replace float functions one by one with correctly rounded CORE-MATH versions;
on such a system TensorFlow's last bit moves with them, and so would this module's
distance from it.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from .. import libm32

_h = float.fromhex
_MASK32, _MASK64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
_TINY = 2.0**-126                                  # the smallest normal float32
_DAZ_SUBNORMAL = (-(23 << 23)) & _MASK32           # see powf: a subnormal x under DAZ


def _bits(x: float) -> int:
    """The 32 bits of a float32 value."""
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _float32(bits: int) -> float:
    """The float32 value (as a Python float, exactly) whose bits are `bits`."""
    return struct.unpack("<f", struct.pack("<I", bits & _MASK32))[0]


def _bits64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _float64(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits & _MASK64))[0]


def flush_denormal(x):
    """A float32 result as TensorFlow leaves it: a subnormal becomes zero (sign kept)."""
    if np.ndim(x):
        x = np.asarray(x, np.float32)
        return np.where(np.abs(x) < _TINY, np.copysign(np.float32(0), x), x)
    x = np.float32(x)
    return np.float32(math.copysign(0.0, x)) if abs(x) < _TINY else x


def _invalid(x: np.float32) -> np.float32:
    """glibc's __math_invalidf: (x - x) / (x - x), the processor's own NaN (on x86 the
    'default NaN', sign bit set; a NaN x passes through), as TensorFlow returns it."""
    with np.errstate(invalid="ignore"):
        return (x - x) / (x - x)


def _elementwise(scalar_function, *args) -> np.ndarray:
    arrays = np.broadcast_arrays(*(np.asarray(a, np.float32) for a in args))
    values = [scalar_function(*v) for v in zip(*(a.ravel().tolist() for a in arrays))]
    return np.array(values, np.float32).reshape(arrays[0].shape)


# -- powf ------------------------------------------------------------------------------------
# x^y = 2^(y log2 x), all in double precision, then ONE rounding to float32:
#   log2 x: x = 2^k z with z in [0x3f330000, 2 * that] split into 16 intervals; c is near
#           the middle of z's interval (invc = 1/c and log2 c from a table), r = z/c - 1,
#           log2 x = k + log2 c + P(r), with P a degree-5 polynomial ~ log1p(r) / ln 2;
#   2^t:    t = j/32 + r with |r| <= 1/64; 2^(j/32) from a table of 32 doubles (whose
#           exponent is added as an integer), 2^r ~ 1 + C2 r + C1 r^2 + C0 r^3.
_LOG2_TABLE = [(_h(invc), _h(logc)) for invc, logc in [
    ("0x1.661ec79f8f3bep+0", "-0x1.efec65b963019p-2"),
    ("0x1.571ed4aaf883dp+0", "-0x1.b0b6832d4fca4p-2"),
    ("0x1.49539f0f010bp+0", "-0x1.7418b0a1fb77bp-2"),
    ("0x1.3c995b0b80385p+0", "-0x1.39de91a6dcf7bp-2"),
    ("0x1.30d190c8864a5p+0", "-0x1.01d9bf3f2b631p-2"),
    ("0x1.25e227b0b8eap+0", "-0x1.97c1d1b3b7afp-3"),
    ("0x1.1bb4a4a1a343fp+0", "-0x1.2f9e393af3c9fp-3"),
    ("0x1.12358f08ae5bap+0", "-0x1.960cbbf788d5cp-4"),
    ("0x1.0953f419900a7p+0", "-0x1.a6f9db6475fcep-5"),
    ("0x1p+0", "0x0p+0"),
    ("0x1.e608cfd9a47acp-1", "0x1.338ca9f24f53dp-4"),
    ("0x1.ca4b31f026aap-1", "0x1.476a9543891bap-3"),
    ("0x1.b2036576afce6p-1", "0x1.e840b4ac4e4d2p-3"),
    ("0x1.9c2d163a1aa2dp-1", "0x1.40645f0c6651cp-2"),
    ("0x1.886e6037841edp-1", "0x1.88e9c2c1b9ff8p-2"),
    ("0x1.767dcf5534862p-1", "0x1.ce0a44eb17bccp-2")]]
_LOG2_POLY = tuple(_h(a) for a in ("0x1.27616c9496e0bp-2", "-0x1.71969a075c67ap-2",
                                   "0x1.ec70a6ca7baddp-2", "-0x1.7154748bef6c8p-1",
                                   "0x1.71547652ab82bp0"))
_EXP2_TABLE = (                           # bits of 2^(i/32), less i << 47 (added back below)
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540)
_EXP2_POLY = (_h("0x1.c6af84b912394p-5"), _h("0x1.ebfce50fac4f3p-3"), _h("0x1.62e42ff0c52d6p-1"))
_SHIFT = _h("0x1.8p+52") / 32              # adding it rounds t to a multiple of 1/32
_SIGN_BIAS = 1 << 16                       # shifted by 47: the sign bit of a negative result
_OVERFLOW = _h("0x1.fffffffd1d571p+6")     # y log2 x above this: +-inf; at or below -150: +-0


def _log2(ix: int) -> float:
    """log2 of the positive float32 whose bits are `ix` (glibc's log2_inline), a double."""
    tmp = (ix - 0x3F330000) & _MASK32
    i = (tmp >> 19) % 16
    top = tmp & 0xFF800000
    z = _float32(ix - top)
    k = (top - (1 << 32) if top >> 31 else top) >> 23          # int32 arithmetic shift
    invc, logc = _LOG2_TABLE[i]
    a0, a1, a2, a3, a4 = _LOG2_POLY
    r = z * invc - 1
    y0 = logc + k
    r2 = r * r                                 # glibc's pipelined order:
    y = a0 * r + a1
    p = a2 * r + a3
    r4 = r2 * r2
    q = a4 * r + y0
    q = p * r2 + q
    return y * r4 + q


def _exp2(t: float, sign_bias: int) -> np.float32:
    """2^t rounded to float32 (glibc's exp2_inline), negated if sign_bias is set."""
    kd = t + _SHIFT                            # rounds t to k/32 ...
    ki = _bits64(kd)                           # ... and k sits in the low bits
    kd -= _SHIFT
    r = t - kd
    s = _float64(_EXP2_TABLE[ki % 32] + ((ki + sign_bias) << 47))  # 2^(k/32), sign included
    c0, c1, c2 = _EXP2_POLY
    z = c0 * r + c1
    r2 = r * r
    y = c2 * r + 1
    y = z * r2 + y
    return np.float32(y * s)


def _checkint(iy: int) -> int:
    """0 if the float32 with bits iy is not an integer, 1 if it is odd, 2 if even."""
    e = iy >> 23 & 0xFF
    if e < 0x7F:
        return 0
    if e > 0x7F + 23:
        return 2
    if iy & ((1 << (0x7F + 23 - e)) - 1):
        return 0
    return 1 if iy & (1 << (0x7F + 23 - e)) else 2


def _zero_inf_nan(i: int) -> bool:
    return (2 * i - 1) & _MASK32 >= 2 * 0x7F800000 - 1


def powf(x, y):
    """x^y as a scalar `tf.pow` computes it in float32 on the CPU: glibc's powf, with
    TensorFlow's flush-to-zero (a float32 result; arrays elementwise)."""
    if np.ndim(x) or np.ndim(y):
        return _elementwise(powf, x, y)
    return flush_denormal(_powf(_bits(x), _bits(y)))


def _powf(ix: int, iy: int) -> np.float32:
    x, y = np.float32(_float32(ix)), np.float32(_float32(iy))
    sign_bias = 0
    if (ix - 0x00800000) & _MASK32 >= 0x7F800000 - 0x00800000 or _zero_inf_nan(iy):
        # the rare inputs: x negative, zero, subnormal, infinite or NaN; y 0, inf or NaN
        if _zero_inf_nan(iy):
            if 2 * iy & _MASK32 == 0 or ix == 0x3F800000:          # x^0 = 1^y = 1
                return np.float32(1)
            if 2 * ix & _MASK32 > 0xFF000000 or 2 * iy & _MASK32 > 0xFF000000:
                return x + y                                       # NaN
            if 2 * ix & _MASK32 == 2 * 0x3F800000:                 # (-1)^inf
                return np.float32(1)
            if (2 * ix & _MASK32 < 2 * 0x3F800000) == (not iy & 0x80000000):
                return np.float32(0)                               # |x| < 1, y = +inf...
            return y * y                                           # ... else +inf
        if _zero_inf_nan(ix):                                      # x zero, inf or NaN
            x2 = x * x
            if ix & 0x80000000 and _checkint(iy) == 1:
                x2 = -x2
            if iy & 0x80000000:
                with np.errstate(divide="ignore"):
                    return np.float32(1) / x2
            return x2
        if ix & 0x80000000:                                        # finite x < 0
            yint = _checkint(iy)
            if yint == 0:
                return _invalid(x)                                 # not an integer y
            if yint == 1:
                sign_bias = _SIGN_BIAS                             # odd y: negative
            ix &= 0x7FFFFFFF
        if ix < 0x00800000:
            # A subnormal x: glibc scales it by 2^23 first, but under denormals-are-zero
            # that product is 0, leaving these bits (what TensorFlow then computes, measured).
            ix = _DAZ_SUBNORMAL
    y_d = 0.0 if abs(y) < _TINY else float(y)                      # a subnormal y reads as 0
    t = y_d * _log2(ix)
    if t > _OVERFLOW:
        return np.float32(-math.inf if sign_bias else math.inf)
    if t <= -150:
        return np.float32(-0.0 if sign_bias else 0.0)
    return _exp2(t, sign_bias)


# -- cosf ------------------------------------------------------------------------------------
# Reduce x by the nearest multiple n of pi/2 (to |x| <= pi/4), then a cosine or a sine
# polynomial in double precision by the quadrant n mod 4 (glibc's constants, as
# libm32 holds them for its sincosf: that function's cosine is this one).
_COS = libm32._COS_POLY                     # c0 .. c4
_SIN = libm32._SIN_POLY                     # s1 .. s3
_PIO4_TOP, _TINY_TOP, _120_TOP = (int(libm32._abstop12(np.float32(v)))
                                  for v in (_h("0x1.921FB54442D18p-1"), 2.0**-12, 120.0))


def _sinf_poly(x: float, x2: float, flip: float, cosine: bool) -> float:
    """glibc's sinf_poly: the cosine polynomial (in x2) or the sine one (in x); `flip`
    -1 negates the cosine's coefficients (quadrants 2 and 3)."""
    if cosine:
        c0, c1, c2, c3, c4 = (flip * c for c in _COS)
        x4 = x2 * x2
        high = c3 + x2 * c4
        low = c0 + x2 * c1
        x6 = x4 * x2
        return (low + x4 * c2) + x6 * high
    s1, s2, s3 = _SIN
    x3 = x * x2
    high = s2 + x2 * s3
    x5 = x3 * x2
    return (x + x3 * s1) + x5 * high


def cosf(x):
    """cos x as a scalar `tf.cos` computes it in float32 on the CPU (glibc's cosf), for
    |x| < 120; NaN gives NaN (arrays elementwise)."""
    if np.ndim(x):
        return _elementwise(cosf, x)
    x = np.float32(x)
    top = _bits(x) >> 20 & 0x7FF
    if not math.isfinite(x):
        return _invalid(x)
    xd = float(x)
    if top < _PIO4_TOP:                                         # |x| < pi/4: no reduction
        return np.float32(1) if top < _TINY_TOP else np.float32(_sinf_poly(xd, xd * xd, 1, True))
    if top >= _120_TOP:
        raise ValueError(f"cosf: only |x| < 120 is implemented, got {x} (a schedule's "
                         "cosine sees pi times a fraction in [0, 1])")
    n = (int(xd * libm32._HPI_INV) + 0x800000) >> 24        # the nearest quadrant (C's int32)
    xd = xd - n * libm32._HPI                                       # |x| <= pi/4
    sign = float(libm32._QUADRANT_SIGN[n & 3])
    flip = -1.0 if n & 2 else 1.0
    return np.float32(_sinf_poly(xd * sign, xd * xd, flip, cosine=not n & 1))


# -- logf ------------------------------------------------------------------------------------
def logf(x):
    """log x as a scalar `tf.math.log` computes it in float32 on the CPU (glibc's logf):
    -inf at 0, NaN below, +inf at +inf; a subnormal x as under TF's denormals-are-zero
    (glibc's scaling by 2^23 reads 0; measured: tf.math.log(1e-40) = -103.97)."""
    if np.ndim(x):
        return _elementwise(logf, x)
    ix = _bits(x)
    if ix == 0x3F800000:
        return np.float32(0)                                    # log 1 = +0
    if ix - 0x00800000 & _MASK32 >= 0x7F800000 - 0x00800000:    # x < 2^-126, inf or NaN
        if 2 * ix & _MASK32 == 0:
            return np.float32(-np.inf)
        if ix == 0x7F800000:
            return np.float32(np.inf)
        if ix & 0x80000000 or 2 * ix & _MASK32 >= 0xFF000000:
            return _invalid(np.float32(x))                      # x < 0 or NaN
        ix = _DAZ_SUBNORMAL
    # log x = log c + log1p(z/c - 1) + k ln 2, x = 2^k z (libm32.logf's constants)
    tmp = (ix - libm32._LOGF_OFF) & _MASK32
    i = (tmp >> 19) % 16
    k = (tmp - (1 << 32) if tmp >> 31 else tmp) >> 23            # int32 arithmetic shift
    z = _float32(ix - (tmp & 0x1FF << 23))
    invc, logc = (float(v) for v in libm32._LOGF_TABLE[i])
    a0, a1, a2 = libm32._LOGF_POLY
    r = z * invc - 1
    y0 = logc + k * libm32._LN2
    r2 = r * r
    y = a1 * r + a2
    y = a0 * r2 + y
    return np.float32(y * r2 + (y0 + r))

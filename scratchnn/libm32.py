"""The float32 log, sine and cosine TensorFlow's normal random numbers are made with.

TensorFlow turns pairs of uniform numbers into normal ones with Box-Muller,
z = sqrt(-2 log u1) * (sin, cos)(2 pi u2), computed in float32 by the C library's
`logf` and `sincosf` (glibc on Linux). Those are NOT correctly rounded: about 1 result
in 300 is one unit in the last place away from the exact value rounded to float32, so
`np.log(u.astype(np.float64)).astype(np.float32)` gives a different normal number now
and then. To get Keras's normal initial weights bit for bit, this module computes the
very same thing as glibc (whose float functions come, since 2.28, from ARM's Optimized
Routines): the same tables, the same polynomials, the same double-precision operations
in the same order.

Checked exhaustively against glibc 2.36 (Debian 12) on every input Box-Muller can produce
(u1 = k / 2^23 for k = 0 .. 2^23 - 1, clamped at 1e-7, and v = float32(2 pi k / 2^23)):
no difference. tests/test_random.py keeps a sample of those values, among them inputs
where glibc's result is not the correctly rounded one.

Only the ranges Box-Muller needs are covered: `logf` for positive normal floats,
`sincosf` for 0 <= y < 120.
"""

from __future__ import annotations

import numpy as np

_h = float.fromhex

# -- logf (glibc sysdeps/ieee754/flt-32/e_logf.c) -------------------------------------------
# log(x) = log(c) + log1p(z/c - 1) + k ln2, with x = 2^k z, z in [0x3f330000, 2 * that]
# split into 16 intervals; c (a table value) is near the middle of z's interval, so
# r = z/c - 1 is small and a degree-3 polynomial gives log1p(r).
_LOGF_TABLE = np.array([[_h(invc), _h(logc)] for invc, logc in [
    ("0x1.661ec79f8f3bep+0", "-0x1.57bf7808caadep-2"),
    ("0x1.571ed4aaf883dp+0", "-0x1.2bef0a7c06ddbp-2"),
    ("0x1.49539f0f010bp+0", "-0x1.01eae7f513a67p-2"),
    ("0x1.3c995b0b80385p+0", "-0x1.b31d8a68224e9p-3"),
    ("0x1.30d190c8864a5p+0", "-0x1.6574f0ac07758p-3"),
    ("0x1.25e227b0b8eap+0", "-0x1.1aa2bc79c81p-3"),
    ("0x1.1bb4a4a1a343fp+0", "-0x1.a4e76ce8c0e5ep-4"),
    ("0x1.12358f08ae5bap+0", "-0x1.1973c5a611cccp-4"),
    ("0x1.0953f419900a7p+0", "-0x1.252f438e10c1ep-5"),
    ("0x1p+0", "0x0p+0"),
    ("0x1.e608cfd9a47acp-1", "0x1.aa5aa5df25984p-5"),
    ("0x1.ca4b31f026aap-1", "0x1.c5e53aa362eb4p-4"),
    ("0x1.b2036576afce6p-1", "0x1.526e57720db08p-3"),
    ("0x1.9c2d163a1aa2dp-1", "0x1.bc2860d22477p-3"),
    ("0x1.886e6037841edp-1", "0x1.1058bc8a07ee1p-2"),
    ("0x1.767dcf5534862p-1", "0x1.4043057b6ee09p-2")]])
_LN2 = _h("0x1.62e42fefa39efp-1")
_LOGF_POLY = (_h("-0x1.00ea348b88334p-2"), _h("0x1.5575b0be00b6ap-2"), _h("-0x1.ffffef20a4123p-2"))
_LOGF_OFF = 0x3F330000


def logf(x: np.ndarray) -> np.ndarray:
    """glibc's logf for positive normal float32 x, bit for bit."""
    x = np.asarray(x, dtype=np.float32)
    ix = x.view(np.uint32)
    tmp = ix - np.uint32(_LOGF_OFF)
    i = (tmp >> np.uint32(19)) & np.uint32(15)              # which of the 16 intervals
    k = tmp.view(np.int32) >> 23                            # the exponent k (arithmetic shift)
    z = (ix - (tmp & np.uint32(0x1FF << 23))).view(np.float32).astype(np.float64)
    invc, logc = _LOGF_TABLE[i, 0], _LOGF_TABLE[i, 1]
    r = z * invc - 1
    y0 = logc + k * _LN2
    a0, a1, a2 = _LOGF_POLY
    r2 = r * r
    y = a1 * r + a2
    y = a0 * r2 + y
    y = y * r2 + (y0 + r)
    return np.where(ix == 0x3F800000, np.float32(0), y.astype(np.float32))   # log(1) = +0


# -- sincosf (glibc sysdeps/ieee754/flt-32/s_sincosf.c, sincosf_poly.h) ----------------------
# Reduce y by the nearest multiple n of pi/2 (|x| <= pi/4), evaluate short sine and cosine
# polynomials of x in double precision, and swap/negate them by the quadrant n mod 4.
_HPI_INV = _h("0x1.45F306DC9C883p+23")        # 2/pi * 2^24: the quadrant lands in bits 24..31
_HPI = _h("0x1.921FB54442D18p0")               # pi/2
_COS_POLY = (1.0, _h("-0x1.ffffffd0c621cp-2"), _h("0x1.55553e1068f19p-5"),
             _h("-0x1.6c087e89a359dp-10"), _h("0x1.99343027bf8c3p-16"))
_SIN_POLY = (_h("-0x1.555545995a603p-3"), _h("0x1.1107605230bc4p-7"),
             _h("-0x1.994eb3774cf24p-13"))
_QUADRANT_SIGN = np.array([1.0, -1.0, -1.0, 1.0])


def _abstop12(x: np.ndarray) -> np.ndarray:
    """The exponent bits (and the top mantissa bit) of a float32, sign cleared."""
    return (np.asarray(x, dtype=np.float32).view(np.uint32) >> np.uint32(20)) & np.uint32(0x7FF)


_TOP_PIO4 = _abstop12(np.float32(_h("0x1.921FB54442D18p-1")))
_TOP_TINY = _abstop12(np.float32(2.0**-12))
_TOP_120 = _abstop12(np.float32(120.0))


def sincosf(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glibc's sincosf for float32 y with |y| < 120, bit for bit: (sin y, cos y)."""
    y = np.asarray(y, dtype=np.float32)
    top = _abstop12(y)
    if np.any(top >= _TOP_120):
        raise ValueError("sincosf: only |y| < 120 is implemented (Box-Muller needs [0, 2 pi))")
    x = y.astype(np.float64)
    small = top < _TOP_PIO4                                  # |y| < pi/4: no reduction
    n = np.where(small, 0, ((x * _HPI_INV).astype(np.int32) + np.int32(0x800000)) >> 24)
    x = np.where(small, x, x - n * _HPI)                     # x in [-pi/4, pi/4]
    sign = _QUADRANT_SIGN[n & 3]
    flip = np.where(n & 2, -1.0, 1.0)                        # quadrants 2, 3: cosine negated
    c0, c1, c2, c3, c4 = (flip * coef for coef in _COS_POLY)
    s1, s2, s3 = _SIN_POLY
    xs, x2 = x * sign, x * x
    x4, x3 = x2 * x2, x2 * xs
    cos_hi = c3 + x2 * c4
    sin_hi = s2 + x2 * s3
    cos_lo = c0 + x2 * c1
    x5, x6 = x3 * x2, x4 * x2
    sin_poly = (xs + x3 * s1) + x5 * sin_hi
    cos_poly = (cos_lo + x4 * c2) + x6 * cos_hi
    odd = (n & 1).astype(bool)                               # odd quadrants swap sin and cos
    sin = np.where(odd, cos_poly, sin_poly).astype(np.float32)
    cos = np.where(odd, sin_poly, cos_poly).astype(np.float32)
    tiny = top < _TOP_TINY                                   # sin y = y, cos y = 1
    return np.where(tiny, y, sin), np.where(tiny, np.float32(1), cos)

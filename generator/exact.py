"""``exp`` and ``log`` that give the same bits on every machine, for a number and for an array.

The model needs a few smooth functions (the churn hazard falls as ``exp(-age / 15)``, a day's
chance to leave is ``1 - exp(-rate * days)``, a flow's conversion is spread over its steps as
``reach ** (w / total)``).  ``math.exp``, ``numpy.exp`` and ``**`` come from the C library or from
numpy's vectorised loops, which may differ in the last bit from one machine (or one numpy build) to
the next; a chance that differs in its last bit can turn a draw the other way, and the output would
no longer be the same bytes everywhere.  These functions use only what IEEE 754 fixes exactly
(``+ - * /``, comparisons, ``floor``, and ``frexp``/``ldexp``, which only move the exponent), in
the same order in the scalar and the array forms, so both forms and every machine agree to the bit.
They are accurate to a few units in the last place (tested against ``math``), which no figure of
the model can show.

* ``exp(x)``: ``x = k ln 2 + r`` with ``|r| <= ln 2 / 2`` (Cody and Waite's two-part ``ln 2``,
  whose high part has trailing zero bits so that ``k * LN2_HI`` is exact), a Taylor polynomial of
  degree 13 for ``e**r`` (error below ``4e-18``), then ``ldexp``.  0 below -708.
* ``log(x)``, ``x > 0``: ``x = m 2**e`` with ``m`` in ``[sqrt(1/2), sqrt(2))``; ``ln m =
  2 atanh(s)``, ``s = (m - 1) / (m + 1)``, ``|s| < 0.172``, by its odd series to ``s**23``.
* ``power(x, y) = exp(y * log(x))`` for ``x > 0`` (``0`` for ``x == 0``).

Each takes a float or a numpy array of float64 and returns the same kind.
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: 32 significant bits ...
LN2_LO = 1.90821492927058770002e-10  # ... and the rest
INV_LN2 = 1.44269504088896338700e00
LN2 = 0.6931471805599453  # the double nearest to ln 2
SQRT_HALF = 0.7071067811865476
EXP_FLOOR = -708.0  # below this e**x is subnormal or 0: taken as 0
# 1/n! for n = 13 .. 2 (Horner order), each a correctly rounded division of exact integers.
_EXP_COEFFICIENTS = tuple(1.0 / math.factorial(n) for n in range(13, 1, -1))
# 1/(2k+1) for k = 11 .. 1 (Horner order).
_LOG_COEFFICIENTS = tuple(1.0 / (2 * k + 1) for k in range(11, 0, -1))


def _series_exp(r: Any) -> Any:
    """e**r for |r| <= ln 2 / 2, for a float or an array: the same operations in the same order."""
    total = _EXP_COEFFICIENTS[0]
    for coefficient in _EXP_COEFFICIENTS[1:]:
        total = total * r + coefficient
    total = total * r + 1.0
    return total * r + 1.0


def _series_log(m: Any) -> Any:
    """ln m for m in [sqrt(1/2), sqrt(2)), for a float or an array."""
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    total = _LOG_COEFFICIENTS[0]
    for coefficient in _LOG_COEFFICIENTS[1:]:
        total = total * z + coefficient
    total = total * z + 1.0
    return 2.0 * s * total


@overload
def exp(x: float) -> float: ...
@overload
def exp(x: Floats) -> Floats: ...
def exp(x: float | Floats) -> float | Floats:
    """e**x, the same bits on every machine (0 for x below -708)."""
    if isinstance(x, np.ndarray):
        values = np.asarray(x, dtype=np.float64)
        if (values > 709.0).any() or np.isnan(values).any():
            raise ValueError("exp: an argument above 709, or not a number")
        low = values < EXP_FLOOR
        safe = np.where(low, 0.0, values)
        k = np.floor(safe * INV_LN2 + 0.5)
        r = (safe - k * LN2_HI) - k * LN2_LO
        result: Floats = np.ldexp(_series_exp(r), k.astype(np.int64))
        result[low] = 0.0
        return result
    value = float(x)
    if not value <= 709.0:
        raise ValueError(f"exp: {value} is above 709, or not a number")
    if value < EXP_FLOOR:
        return 0.0
    whole = math.floor(value * INV_LN2 + 0.5)
    rest = (value - whole * LN2_HI) - whole * LN2_LO
    return math.ldexp(float(_series_exp(rest)), whole)


@overload
def log(x: float) -> float: ...
@overload
def log(x: Floats) -> Floats: ...
def log(x: float | Floats) -> float | Floats:
    """The natural logarithm of x > 0, the same bits on every machine."""
    if isinstance(x, np.ndarray):
        values = np.asarray(x, dtype=np.float64)
        if not (values > 0.0).all() or np.isinf(values).any():
            raise ValueError("log: every argument must be a finite number above 0")
        m, e = np.frexp(values)
        small = m < SQRT_HALF
        m = np.where(small, m * 2.0, m)
        exponent = (e - small).astype(np.float64)
        result: Floats = exponent * LN2 + _series_log(m)
        return result
    value = float(x)
    if not 0.0 < value < math.inf:
        raise ValueError(f"log: {value} is not a finite number above 0")
    mantissa, exponent_of = math.frexp(value)
    if mantissa < SQRT_HALF:
        mantissa *= 2.0
        exponent_of -= 1
    return float(exponent_of) * LN2 + float(_series_log(mantissa))


@overload
def power(x: float, y: float) -> float: ...
@overload
def power(x: Floats, y: float | Floats) -> Floats: ...
def power(x: float | Floats, y: float | Floats) -> float | Floats:
    """x**y for x >= 0 (0 when x is 0, for y > 0), as ``exp(y * log(x))``."""
    if isinstance(x, np.ndarray):
        values = np.asarray(x, dtype=np.float64)
        zero = values == 0.0
        logs = log(np.where(zero, 1.0, values))
        result = exp(np.asarray(y * logs, dtype=np.float64))
        result[zero] = 0.0
        return result
    if x == 0.0:
        return 0.0
    return exp(float(y) * log(float(x)))

"""Float32 values as short decimal text that reads back exactly, fast.

numpy's float-to-string conversion (`astype("S")`) gives the shortest
exact text but costs about half a microsecond per value, which is most of
the time of writing a 400k x 300 text file. Vectors live almost entirely in
`[1e-4, 1e9)`, where a value is a few digits and a decimal point, so for
those this module finds the digits with float arithmetic on whole arrays:

1. the decimal exponent `e` (so `10**e <= |x| < 10**(e + 1)`);
2. the fewest significant digits `p` (binary search over 1..9) whose
   rounding `m / 10**(p - 1 - e)` converts back to `x`. The decimal is
   rebuilt in float64 with exact powers of ten and one correctly rounded
   operation, so the check sees what a reader's `float()` sees; a decimal
   landing exactly halfway between two float32 values is refused, so
   readers that round straight to float32 agree too. Nine digits always
   round-trip for float32, so the search cannot fail;
3. the characters, gathered from the digits by a precomputed layout per
   (exponent, digits, sign): `-0.00012`, `3.0`, `123.456`.

Each step works on whole arrays; the writer calls it per chunk of rows
small enough to stay in cache. It is two to three times faster than
numpy's conversion (benchmarks/align_write.py) and gives the same text
for most values: sometimes a digit more, and positional rather than
scientific notation from 1e8 to 1e9, never an inexact one.

Zeros get `0.0` / `-0.0`; values outside the range (and nan, inf) fall
back to numpy's conversion. Each value takes `WIDTH` bytes, padded with NUL.
"""

import numpy as np

WIDTH = 16

_MIN_EXPONENT = -4  # below 1e-4, numpy's scientific form is shorter
_MAX_EXPONENT = 9  # 1e9 can appear as the rounding of 999999999.6
_DIGITS = 9
# Exact float64 powers of ten (10**22 is the largest exact one).
_POWERS = 10.0 ** np.arange(23)
_INT_POWERS = 10 ** np.arange(_DIGITS + 1, dtype=np.int64)
# A float64 whose low 29 mantissa bits are 1 followed by zeros lies
# exactly halfway between two float32 values.
_LOW_BITS = np.uint64((1 << 29) - 1)
_HALFWAY = np.uint64(1 << 28)

# Source row of the layout gather: digits 0-8, then these characters.
_ZERO, _POINT, _MINUS, _NUL = range(_DIGITS, _DIGITS + 4)
_SOURCE_CHARS = np.frombuffer(b"0.-\x00", dtype=np.uint8)


def _layout(exponent, digits, negative):
    """Source indices of the characters of one (exponent, digits, sign)."""
    out = [_MINUS] if negative else []
    if exponent < 0:
        out += [_ZERO, _POINT] + [_ZERO] * (-exponent - 1)
        out += list(range(digits))
    elif digits <= exponent + 1:
        out += list(range(digits)) + [_ZERO] * (exponent + 1 - digits)
        out += [_POINT, _ZERO]
    else:
        out += list(range(exponent + 1)) + [_POINT]
        out += list(range(exponent + 1, digits))
    return out + [_NUL] * (WIDTH - len(out))


_LAYOUTS = np.array(
    [
        _layout(exponent, digits, negative)
        for exponent in range(_MIN_EXPONENT, _MAX_EXPONENT + 1)
        for digits in range(1, _DIGITS + 1)
        for negative in (False, True)
    ],
    dtype=np.int32,
)


def format_float32(values):
    """Returns `values` as text, an array of shape `values.shape + (WIDTH,)`.

    Args:
        values: float32 array.

    Returns:
        A uint8 array: each value's ASCII characters, padded with NUL.
    """
    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    out = np.zeros((len(flat), WIDTH), dtype=np.uint8)
    magnitude = np.abs(flat)
    with np.errstate(invalid="ignore"):  # signalling nan payloads
        wide = magnitude.astype(np.float64)
    exponent = _exponents(wide)
    fast = (exponent >= _MIN_EXPONENT) & (exponent < _MAX_EXPONENT)
    fast &= np.isfinite(wide)
    zero = wide == 0
    rest = ~(fast | zero)
    if rest.any():
        out[rest] = _numpy_text(flat[rest])
    exponent[zero] = 0
    chosen = fast | zero
    negative = np.signbit(flat[chosen])
    wide, magnitude, exponent = (
        wide[chosen],
        magnitude[chosen],
        exponent[chosen],
    )
    low = np.ones(len(wide), dtype=np.int64)
    high = np.full(len(wide), _DIGITS, dtype=np.int64)
    while True:
        searching = low < high
        if not searching.any():
            break
        middle = (low + high) // 2
        exact, _ = _round(wide, magnitude, exponent, middle)
        exact &= searching
        high = np.where(exact, middle, high)
        low = np.where(exact | ~searching, low, middle + 1)
    exact, mantissa = _round(wide, magnitude, exponent, high)
    carry = mantissa >= _INT_POWERS[high]
    mantissa[carry] //= 10
    exponent[carry] += 1
    text = _characters(mantissa, high, exponent, negative)
    # Nine digits always read back; this only guards the reasoning above.
    if not exact.all():
        text[~exact] = _numpy_text(flat[chosen][~exact])
    out[chosen] = text
    return out.reshape(np.shape(values) + (WIDTH,))


def _numpy_text(values):
    return values.astype(f"S{WIDTH}").view(np.uint8).reshape(-1, WIDTH)


def _exponents(wide):
    """`e` with `10**e <= wide < 10**(e + 1)` where that is in range.

    `log10` may round across a power of ten; one exact comparison on each
    side corrects it. Out-of-range values (and 0, nan, inf) get some `e`
    outside `[_MIN_EXPONENT, _MAX_EXPONENT)`.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.floor(np.log10(wide))
    guess = np.nan_to_num(guess, nan=-99.0, posinf=99.0, neginf=-99.0)
    low, high = _MIN_EXPONENT - 2, _MAX_EXPONENT + 1
    exponent = np.clip(guess, low, high).astype(np.int64)
    exponent -= _below_power(wide, exponent) & (exponent > low)
    exponent += ~_below_power(wide, exponent + 1) & (exponent < high)
    return exponent


def _below_power(wide, exponent):
    """`wide < 10**exponent`, exactly, for exponents in [-6, 11].

    Negative powers are not exact in float64, so `wide * 10**-exponent < 1`
    is compared instead: a float32 value times 10**6 or less is exact.
    """
    power = _POWERS[np.abs(exponent)]
    return np.where(exponent >= 0, wide < power, wide * power < 1)


def _round(wide, magnitude, exponent, digits):
    """Whether `digits` significant digits read back exactly, and them."""
    shift = digits - 1 - exponent
    power = _POWERS[np.abs(shift)]
    up = shift >= 0
    mantissa = np.rint(np.where(up, wide * power, wide / power))
    decimal = np.where(up, mantissa / power, mantissa * power)
    halfway = (decimal.view(np.uint64) & _LOW_BITS) == _HALFWAY
    exact = (decimal.astype(np.float32) == magnitude) & ~halfway
    return exact, mantissa.astype(np.int64)


def _characters(mantissa, digits, exponent, negative):
    """Lays out the digits with the sign, zeros and point."""
    count = len(mantissa)
    source = np.empty((count, _DIGITS + 4), dtype=np.uint8)
    left_aligned = (mantissa * _INT_POWERS[_DIGITS - digits]).astype(np.uint32)
    for position in range(_DIGITS - 1, -1, -1):
        left_aligned, digit = np.divmod(left_aligned, np.uint32(10))
        source[:, position] = digit
    source[:, :_DIGITS] += ord("0")
    source[:, _DIGITS:] = _SOURCE_CHARS
    layout = ((exponent - _MIN_EXPONENT) * _DIGITS + digits - 1) * 2
    layout += negative
    # One flat gather: row r's characters come from source[r, layout].
    rows = np.arange(count, dtype=np.int32) * np.int32(_DIGITS + 4)
    return np.take(source.reshape(-1), rows[:, None] + _LAYOUTS[layout])

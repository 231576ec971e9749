"""Exact, vectorized parsing of the decimal numbers of a text vector file.

The text readers hand this module a byte buffer and the start and end of
every numeric field; it returns the float64 values with one numpy pass per
step, never a Python call per number. The value of each field is exactly
the correctly rounded double of its decimal text, i.e. what `float(text)`
gives, so casting it to float32 yields the same bits as gensim's
`np.float32(text)`.

How a plain field (an optional sign, digits, at most one ".") is parsed:
the 16 bytes that end at the field's end are gathered as two little-endian
64-bit words; bytes before the field start are masked off; the digits are
combined 8 at a time with the classic SIMD-within-a-register multiply and
shift steps, the "." counting as a 0 digit. That integer `P` and the number
`k` of digits after the point give the digit string `M` as an exact integer
below 2**53, and `M / 10**k` is one correctly rounded division of two exact
doubles. Fields with an exponent ("1.5e-05") reuse the same code for the
mantissa and the exponent and finish with `M * 10**(e - k)`, exact when
`|e - k| <= 22`. Everything else (longer fields, "nan", "1_000", more than
15 significant digits) goes through numpy's string-to-float conversion,
which is Python's `float`.
"""

import numpy as np

_WIDTH = 16
# Fields parsed per pass: the scratch arrays stay in the CPU caches.
_BATCH = 1 << 15
_U64 = np.uint64
_LOW7 = _U64(0x7F7F7F7F7F7F7F7F)
_HIGH = _U64(0x8080808080808080)
_TEN_UP = _U64(0x7676767676767676)
_ZEROS = _U64(0x3030303030303030)
_DOT = _U64(0x1E1E1E1E1E1E1E1E)  # "." XOR "0" in every byte
_ONE = _U64(1)
_SEVEN = _U64(7)
_FF = _U64(0xFF)
_MAX_EXACT = _U64(2**53)


def _valid_masks():
    """Byte masks of the last `n` bytes of a 16-byte window, n = 0..16."""
    masks = np.zeros((_WIDTH + 1, 2), dtype=np.uint64)
    for n in range(_WIDTH + 1):
        bits = 0
        for column in range(_WIDTH - n, _WIDTH):
            bits |= 0xFF << (8 * column)
        masks[n] = (bits & (2**64 - 1), bits >> 64)
    return masks


def _scale_tables():
    """Divisors indexed by `k + 17 * negative`, with k = 16 for no point.

    For a field whose digit string, the point read as a 0, is the integer
    `P` with `k` digits after the point: `ip = floor(P / first)`,
    `M = P - second * ip` and `value = M / third`.
    """
    first = np.empty(2 * (_WIDTH + 1))
    second = np.empty_like(first)
    third = np.empty_like(first)
    for negative in (0, 1):
        for k in range(_WIDTH + 1):
            i = k + (_WIDTH + 1) * negative
            if k < _WIDTH:
                first[i] = 10.0 ** (k + 1)
                second[i] = 9 * 10.0**k
                third[i] = 10.0**k
            else:
                first[i], second[i], third[i] = np.inf, 0.0, 1.0
            if negative:
                third[i] = -third[i]
    return first, second, third


_MASKS = _valid_masks()
_FIRST, _SECOND, _THIRD = _scale_tables()
_POW10 = 10.0 ** np.arange(23)


def windows(buf):
    """A view of `buf` with one 16-byte record starting at every offset."""
    return np.ndarray(
        shape=(len(buf) - _WIDTH + 1,),
        dtype=f"V{_WIDTH}",
        buffer=buf,
        strides=(1,),
    )


class _Work:
    """Scratch arrays reused from batch to batch (no allocation per op)."""

    def __init__(self, size):
        self.pairs = [np.empty((size, 2), dtype=np.uint64) for _ in range(4)]
        self.counts = np.empty((size, 2), dtype=np.uint8)
        self.whole = np.empty(size, dtype=np.uint64)


def _digits(buf, view, starts, ends, work):
    """Parses plain decimals into (P, k, negative, has_point, ok) arrays.

    `P` is the field's digits read as one integer, its point as a 0 digit,
    and `k` the number of digits after the point.
    """
    m = len(starts)
    valid, other, dots, scratch = (a[:m] for a in work.pairs)
    length = ends - starts
    words = view[ends - _WIDTH].view(np.uint64).reshape(m, 2)
    np.take(_MASKS, np.clip(length, 0, _WIDTH), axis=0, out=valid)
    words ^= _ZEROS  # Digits become the bytes 0..9.
    # The high bit of every byte in the field that is not a digit...
    np.bitwise_and(words, _LOW7, out=other)
    other += _TEN_UP
    other |= words
    other &= _HIGH
    other &= valid
    # ... and of every "." byte.
    np.bitwise_xor(words, _DOT, out=dots)
    np.bitwise_and(dots, _LOW7, out=scratch)
    scratch += _LOW7
    scratch |= dots
    np.invert(scratch, out=dots)
    dots &= _HIGH
    dots &= valid
    # Keep the digits only, then combine them pairwise: 2, 4, 8 digits.
    np.right_shift(other, _SEVEN, out=scratch)
    scratch *= _FF
    np.invert(scratch, out=scratch)
    scratch &= valid
    words &= scratch
    for narrow, wide, scale, bits in (
        (np.uint16, np.uint16, 10, 8),
        (np.uint32, np.uint32, 100, 16),
        (np.uint64, np.uint64, 10000, 32),
    ):
        w = words.view(narrow)
        t = scratch.view(wide)
        np.right_shift(w, wide(bits), out=t)
        w &= wide((1 << bits) - 1)
        w *= wide(scale)
        w += t
    whole = work.whole[:m]
    np.multiply(words[:, 0], _U64(100_000_000), out=whole)
    whole += words[:, 1]
    # Bits from the point up, per half: 8 * (digits after it) + 1.
    np.subtract(dots, _ONE, out=scratch)
    np.invert(scratch, out=scratch)
    above = np.bitwise_count(scratch, out=work.counts[:m])
    has_point = (above[:, 0] | above[:, 1]) != 0
    k = np.where(
        above[:, 0] != 0,
        (above[:, 0].astype(np.intp) + 63) >> 3,
        above[:, 1] >> 3,
    )
    first = buf[starts]
    negative = first == 45
    signed = negative | (first == 43)
    n_dots = np.bitwise_count(dots, out=work.counts[:m])
    n_dots = n_dots[:, 0] + n_dots[:, 1]
    n_other = np.bitwise_count(other, out=work.counts[:m])
    n_other = n_other[:, 0] + n_other[:, 1]
    ok = length <= _WIDTH
    ok &= n_dots <= 1
    ok &= n_other == n_dots + signed
    ok &= length > n_other
    ok &= whole < _MAX_EXACT
    return whole, k, negative, has_point, ok


def _plain(buf, view, starts, ends, work):
    whole, k, negative, has_point, ok = _digits(buf, view, starts, ends, work)
    index = np.where(has_point, k, _WIDTH)
    index += (_WIDTH + 1) * negative
    value = whole.astype(np.float64)
    integer_part = value / _FIRST[index]
    np.floor(integer_part, out=integer_part)
    integer_part *= _SECOND[index]
    value -= integer_part
    value /= _THIRD[index]
    return value, ok


def _mantissa(buf, view, starts, ends, work):
    """Exact digit string `M` (as float64), digits after the point, sign."""
    whole, k, negative, has_point, ok = _digits(buf, view, starts, ends, work)
    k = np.where(has_point, k, 0)
    value = whole.astype(np.float64)
    integer_part = np.floor(value / (_POW10[k] * 10)) * has_point
    value -= integer_part * (9 * _POW10[k])
    return value, k, negative, ok


def _with_exponent(buf, view, starts, ends, work):
    """Values of fields "<decimal>e<integer>"; ok is False for the rest."""
    values = np.zeros(len(starts))
    ok = np.zeros(len(starts), dtype=bool)
    length = ends - starts
    window = view[ends - _WIDTH].view(np.uint8).reshape(-1, _WIDTH)
    inside = np.arange(_WIDTH) >= (_WIDTH - length)[:, None]
    is_mark = ((window | 0x20) == ord("e")) & inside
    column = is_mark.argmax(axis=1)
    mark = ends - _WIDTH + column
    has_mark = is_mark[np.arange(len(starts)), column] & (mark > starts)
    which = np.flatnonzero(has_mark)
    mark = mark[which]
    digits, k, negative, good = _mantissa(buf, view, starts[which], mark, work)
    power, power_ok = _plain(buf, view, mark + 1, ends[which], work)
    power_ok &= (power == np.round(power)) & (np.abs(power) < 400)
    shift = np.where(power_ok, power, 0).astype(np.intp) - k
    good &= power_ok & (np.abs(shift) <= 22)
    shift = np.where(good, shift, 0)
    scale = _POW10[np.abs(shift)]
    result = np.where(shift >= 0, digits * scale, digits / scale)
    values[which] = np.where(negative, -result, result)
    ok[which] = good
    return values, ok


def parse_fields(buf, starts, ends, texts_of):
    """Returns the float64 values of the fields `buf[starts[i]:ends[i]]`.

    Args:
        buf: uint8 array; at least 16 bytes must precede every field end.
        starts: int array of field starts.
        ends: int array of field ends (exclusive), same shape as `starts`.
        texts_of: callable taking the flat indices of the fields the fast
            paths could not read and returning their decoded texts.

    Returns:
        A float64 array shaped like `starts`. Raises `ValueError` from
        numpy's conversion when a field is not a number; callers locate it
        with `first_bad_number`.
    """
    shape = starts.shape
    starts = starts.ravel()
    ends = ends.ravel()
    view = windows(buf)
    values = np.empty(len(starts))
    ok = np.empty(len(starts), dtype=bool)
    work = _Work(min(len(starts), _BATCH))
    for i in range(0, len(starts), _BATCH):
        batch = slice(i, i + _BATCH)
        values[batch], ok[batch] = _plain(
            buf, view, starts[batch], ends[batch], work
        )
    if ok.all():
        return values.reshape(shape)
    rest = np.flatnonzero(~ok)
    for i in range(0, len(rest), _BATCH):
        batch = rest[i : i + _BATCH]
        more, more_ok = _with_exponent(
            buf, view, starts[batch], ends[batch], work
        )
        values[batch[more_ok]] = more[more_ok]
        ok[batch[more_ok]] = True
    rest = np.flatnonzero(~ok)
    if len(rest):
        values[rest] = to_float64(texts_of(rest))
    return values.reshape(shape)


def to_float64(texts):
    """float64 array of `texts` as `float` reads them (inf beyond range)."""
    with np.errstate(over="ignore", under="ignore"):
        return np.array(texts, dtype=str).astype(np.float64)


def first_bad_number(texts):
    """Index of the first text that `float` rejects, or None."""
    for i, text in enumerate(texts):
        try:
            float(text)
        except ValueError:
            return i
    return None

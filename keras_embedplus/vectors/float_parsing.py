"""Exact, vectorized parsing of the decimal numbers of a text vector file.

The text readers hand this module a byte buffer and the start and end of
every numeric field; it returns the float64 values with one numpy pass per
step, never a Python call per number. The value of each field is exactly
the correctly rounded double of its decimal text, i.e. what `float(text)`
gives, so casting it to float32 yields the same bits as gensim's
`np.float32(text)`.

How a plain field (an optional sign, digits, at most one ".") is parsed:
the 8 bytes that end at the field's end are gathered as a little-endian
64-bit word (16 bytes, two words, for the rarer fields of 9 to 16 bytes);
bytes before the field start are masked off; the digits are combined with
the classic SIMD-within-a-register multiply and shift steps, the "."
counting as a 0 digit. That integer `P` and the number `k` of digits after
the point give the digit string `M` as an exact integer below 2**53, and
`M / 10**k` is one correctly rounded division of two exact doubles. Fields
with an exponent ("1.5e-05") reuse the same code for the mantissa and the
exponent and finish with `M * 10**(e - k)`, exact when `|e - k| <= 22`.
Everything else (longer fields, "nan", "1_000", more than 15 significant
digits) goes through numpy's string-to-float conversion, which is Python's
`float`.
"""

import numpy as np

# Fields parsed per pass: the scratch arrays stay in the CPU caches.
_BATCH = 1 << 14
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
# Two-digit pairs sit in bytes 0, 2, 4, 6; these combine them to 8 digits.
_PAIRS = _U64(0x000000FF000000FF)
_EARLY_PAIRS = _U64(100 + (1_000_000 << 32))
_LATE_PAIRS = _U64(1 + (10_000 << 32))
_LONGEST = 16  # Bytes of the longest field read by the fast paths.
# Fewer fields than this left over are cheaper to convert one by one.
_FEW = 256


def _valid_masks(words):
    """Byte masks of the last `n` bytes of a window of `words` words."""
    width = 8 * words
    masks = np.zeros((width + 1, words), dtype=np.uint64)
    for n in range(width + 1):
        bits = 0
        for column in range(width - n, width):
            bits |= 0xFF << (8 * column)
        for i in range(words):
            masks[n, i] = (bits >> (64 * i)) & (2**64 - 1)
    return masks


def _scale_tables():
    """Divisors indexed by `point + 17 * negative`.

    `point` is 0 for a field without a point and `k + 1` for one with `k`
    digits after it. With `P` the field's digits read as one integer (the
    point as a 0 digit): `M = P - second * floor(P / first)` is the digit
    string without the point, and `value = M / third`.
    """
    first = np.empty(2 * (_LONGEST + 1))
    second = np.empty_like(first)
    third = np.empty_like(first)
    for negative in (0, 1):
        sign = -1.0 if negative else 1.0
        i = (_LONGEST + 1) * negative
        first[i], second[i], third[i] = np.inf, 0.0, sign
        for k in range(_LONGEST):
            i = k + 1 + (_LONGEST + 1) * negative
            first[i] = 10.0 ** (k + 1)
            second[i] = 9 * 10.0**k
            third[i] = sign * 10.0**k
    return first, second, third


_MASKS = {1: _valid_masks(1), 2: _valid_masks(2)}
_FIRST, _SECOND, _THIRD = _scale_tables()
_POW10 = 10.0 ** np.arange(23)


class _Fields:
    """A buffer, its fields' bounds and reusable scratch arrays."""

    def __init__(self, buf, starts, ends):
        self.buf = buf
        self.starts = starts
        self.ends = ends
        size = 2 * min(len(starts), _BATCH)
        self.valid = np.empty(size, dtype=np.uint64)
        self.scratch = np.empty(size, dtype=np.uint64)
        # The non-digits, then the points (one bitwise_count for both).
        self.marks = np.empty(2 * size, dtype=np.uint64)
        self.counts = np.empty(2 * size, dtype=np.uint8)
        self.above = np.empty(size, dtype=np.uint8)
        self.whole = np.empty(size // 2, dtype=np.uint64)
        self.windows = {
            words: np.ndarray(
                shape=(len(buf) - 8 * words + 1,),
                dtype=f"V{8 * words}",
                buffer=buf,
                strides=(1,),
            )
            for words in (1, 2)
        }


def _digits(fields, starts, ends, words):
    """Parses plain decimals into (P, point, negative, ok) arrays.

    `P` is the field's digits read as one integer, its point as a 0 digit;
    `point` is 0 without a point, else 1 + the number of digits after it.
    """
    m = len(starts)
    width = 8 * words
    valid = fields.valid[: m * words].reshape(m, words)
    scratch = fields.scratch[: m * words].reshape(m, words)
    marks = fields.marks[: 2 * m * words].reshape(2, m, words)
    other, dots = marks
    length = ends - starts
    window = fields.windows[words][ends - width]
    window = window.view(np.uint64).reshape(m, words)
    np.take(_MASKS[words], np.minimum(length, width), axis=0, out=valid)
    window ^= _ZEROS  # Digits become the bytes 0..9.
    # The high bit of every byte in the field that is not a digit...
    np.bitwise_and(window, _LOW7, out=other)
    other += _TEN_UP
    other |= window
    other &= _HIGH
    other &= valid
    # ... and of every "." byte.
    np.bitwise_xor(window, _DOT, out=scratch)
    np.bitwise_and(scratch, _LOW7, out=dots)
    dots += _LOW7
    dots |= scratch
    np.invert(dots, out=dots)
    dots &= _HIGH
    dots &= valid
    # Keep the digits only, then combine them: pairs, then 8 digits.
    np.right_shift(other, _SEVEN, out=scratch)
    scratch *= _FF
    np.invert(scratch, out=scratch)
    scratch &= valid
    window &= scratch
    np.right_shift(window, _U64(8), out=scratch)
    window *= _U64(10)
    window += scratch
    np.right_shift(window, _U64(16), out=scratch)
    scratch &= _PAIRS
    scratch *= _LATE_PAIRS
    window &= _PAIRS
    window *= _EARLY_PAIRS
    window += scratch
    window >>= _U64(32)
    if words == 1:
        whole = window[:, 0]
    else:
        whole = fields.whole[:m]
        np.multiply(window[:, 0], _U64(100_000_000), out=whole)
        whole += window[:, 1]
    counts = fields.counts[: 2 * m * words].reshape(2, m, words)
    np.bitwise_count(marks, out=counts)
    n_other, n_dots = counts[:, :, 0]
    if words == 2:
        n_other = n_other + counts[0, :, 1]
        n_dots = n_dots + counts[1, :, 1]
    # Bits from the point up in its word: 8 * (digits after it) + 1; a
    # point in the first of two words also has the 64 bits of the second.
    np.subtract(dots, _ONE, out=scratch)
    np.invert(scratch, out=scratch)
    above = fields.above[: m * words].reshape(m, words)
    np.bitwise_count(scratch, out=above)
    point = above[:, -1] + np.uint8(7)
    if words == 2:
        point += above[:, 0]
        point += (above[:, 0] != 0).view(np.uint8) << np.uint8(6)
    point >>= np.uint8(3)
    # Fields with two points count too far; they are not ok, but their
    # `point` indexes the scale tables before `ok` drops them.
    np.minimum(point, np.uint8(_LONGEST), out=point)
    first = fields.buf[starts]
    negative = first == 45
    ok = length <= width
    ok &= n_dots <= 1
    ok &= n_other == n_dots + (negative | (first == 43))
    ok &= length > n_other
    if words == 2:
        ok &= whole < _MAX_EXACT
    return whole, point, negative, ok


def _plain(fields, starts, ends, words):
    whole, point, negative, ok = _digits(fields, starts, ends, words)
    index = negative.view(np.uint8) * np.uint8(_LONGEST + 1)
    index += point
    value = whole.astype(np.float64)
    integer_part = value / _FIRST.take(index)
    np.floor(integer_part, out=integer_part)
    integer_part *= _SECOND.take(index)
    value -= integer_part
    value /= _THIRD.take(index)
    return value, ok


def _mantissa(fields, starts, ends):
    """Exact digit string `M` (as float64), digits after the point, sign."""
    whole, point, negative, ok = _digits(fields, starts, ends, 2)
    has_point = point > 0
    k = np.maximum(point.astype(np.intp) - 1, 0)
    value = whole.astype(np.float64)
    integer_part = np.floor(value / (_POW10[k] * 10)) * has_point
    value -= integer_part * (9 * _POW10[k])
    return value, k, negative, ok


def _with_exponent(fields, starts, ends):
    """Values of fields "<decimal>e<integer>"; ok is False for the rest."""
    values = np.zeros(len(starts))
    ok = np.zeros(len(starts), dtype=bool)
    length = ends - starts
    window = fields.windows[2][ends - _LONGEST]
    window = window.view(np.uint8).reshape(-1, _LONGEST)
    inside = np.arange(_LONGEST) >= (_LONGEST - length)[:, None]
    is_mark = ((window | 0x20) == ord("e")) & inside
    column = is_mark.argmax(axis=1)
    mark = ends - _LONGEST + column
    has_mark = is_mark[np.arange(len(starts)), column] & (mark > starts)
    which = np.flatnonzero(has_mark)
    mark = mark[which]
    digits, k, negative, good = _mantissa(fields, starts[which], mark)
    # The exponent is an integer: a sign and digits, no point.
    whole, point, power_negative, power_ok = _digits(
        fields, mark + 1, ends[which], 1
    )
    power_ok &= point == 0
    power = whole.astype(np.float64)
    power[power_negative] *= -1
    power_ok &= np.abs(power) < 400
    shift = np.where(power_ok, power, 0).astype(np.intp) - k
    good &= power_ok & (np.abs(shift) <= 22)
    shift = np.where(good, shift, 0)
    scale = _POW10[np.abs(shift)]
    result = np.where(shift >= 0, digits * scale, digits / scale)
    values[which] = np.where(negative, -result, result)
    ok[which] = good
    return values, ok


def _in_batches(parse, fields, which, values, ok, *args):
    """Runs `parse` on the fields `which` (a slice or indices), in batches."""
    starts = fields.starts[which]
    ends = fields.ends[which]
    indices = np.arange(len(fields.starts))[which]
    for i in range(0, len(starts), _BATCH):
        batch = slice(i, i + _BATCH)
        found, found_ok = parse(fields, starts[batch], ends[batch], *args)
        where = indices[batch][found_ok]
        values[where] = found[found_ok]
        ok[where] = True


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
    fields = _Fields(buf, starts.ravel(), ends.ravel())
    values = np.empty(len(fields.starts))
    ok = np.empty(len(fields.starts), dtype=bool)
    for i in range(0, len(values), _BATCH):
        batch = slice(i, i + _BATCH)
        values[batch], ok[batch] = _plain(
            fields, fields.starts[batch], fields.ends[batch], 1
        )
    if not ok.all():
        rest = np.flatnonzero(~ok)
        long = rest[fields.ends[rest] - fields.starts[rest] > 8]
        _in_batches(_plain, fields, long, values, ok, 2)
        rest = np.flatnonzero(~ok)
        if len(rest) > _FEW:
            _in_batches(_with_exponent, fields, rest, values, ok)
            rest = np.flatnonzero(~ok)
        if len(rest):
            values[rest] = to_float64(texts_of(rest))
    return values.reshape(shape)


def to_float64(texts):
    """float64 array of `texts` as `float` reads them (inf beyond range)."""
    if any("\x00" in text for text in texts):
        # numpy's strings drop trailing NULs, which float() refuses.
        raise ValueError("a NUL byte in a number")
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

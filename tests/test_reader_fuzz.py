"""Differential fuzz tests of the readers against simple reference readers.

Random valid files, mutated the way files break (cut anywhere, bytes
flipped, spacing changed, lines repeated or dropped, headers altered),
around the readers' thresholds (more than 256 exponent fields, the end of
a 256 KiB block), read by the package's readers and by the line-by-line
readers of `tests/reference_readers.py`: both must give the same vectors,
bit for bit, or both refuse.

The fuzz tests run a bounded number of examples. A long session:

    READER_FUZZ_EXAMPLES=20000 python -m pytest -p no:cacheprovider \\
        tests/test_reader_fuzz.py
"""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from keras_embedplus.vectors import VectorFileError
from keras_embedplus.vectors import read_vectors
from tests import reference_readers
from tests.reference_readers import Refused
from tests.test_hostile_files import binary

FUZZ = settings(
    max_examples=int(os.environ.get("READER_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def read(path, **kwargs):
    return read_vectors(path, progress=False, **kwargs)


def write(directory, data, name="v.txt"):
    path = directory / name
    path.write_bytes(data)
    return str(path)


WORDS = st.text(
    st.sampled_from(list("abcxyz0123456789.-é")), min_size=1, max_size=5
)
STYLES = ["%r", "%.5g", "%e", "%.3f"]
MUTATION_BYTES = list(b" \t\n\r0.e-+a\x00\xff\x1c") + [0xC3]


def _text_file(rows, dim, style, header):
    lines = []
    for word, values in rows:
        if style == "%r":
            texts = [repr(float(v)) for v in values]
        else:
            texts = [style % v for v in values]
        lines.append(word.encode() + b" " + " ".join(texts).encode())
    if header:
        lines.insert(0, b"%d %d" % (len(rows), dim))
    return b"\n".join(lines) + b"\n"


@st.composite
def mutated(draw, make):
    """A valid file from `make`, then up to three mutations."""
    data = draw(make)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(
            st.sampled_from(
                [
                    "cut",
                    "flip",
                    "insert",
                    "delete",
                    "double space",
                    "repeat line",
                    "drop line",
                    "header",
                    "blank lines",
                ]
            )
        )
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "cut":
            data = data[:at]
        elif kind == "flip" and data:
            byte = draw(st.sampled_from(MUTATION_BYTES))
            data = data[:at] + bytes([byte]) + data[at + 1 :]
        elif kind == "insert":
            byte = draw(st.sampled_from(MUTATION_BYTES))
            data = data[:at] + bytes([byte]) + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + 1 :]
        elif kind == "double space":
            data = data[:at] + data[at:].replace(b" ", b"  ", 1)
        elif kind in ("repeat line", "drop line", "header", "blank lines"):
            lines = data.split(b"\n")
            i = at % len(lines)
            if kind == "repeat line":
                lines.insert(i, lines[i])
            elif kind == "drop line":
                del lines[i]
            elif kind == "header":
                parts = lines[0].split(b" ")
                j = draw(st.integers(0, len(parts) - 1))
                delta = draw(st.sampled_from([-1, 1, 1000]))
                if parts[j].isdigit():
                    parts[j] = b"%d" % max(int(parts[j]) + delta, 0)
                lines[0] = b" ".join(parts)
            else:
                lines.insert(i, draw(st.sampled_from([b"", b" ", b"\r"])))
            data = b"\n".join(lines)
    return data


@st.composite
def text_files(draw):
    dim = draw(st.integers(1, 4))
    # Up to 120 rows: more than the 256 exponent fields after which the
    # fast exponent path runs.
    rows = draw(
        st.lists(
            st.tuples(
                WORDS,
                st.lists(
                    st.floats(-1e3, 1e3, width=32), min_size=dim, max_size=dim
                ),
            ),
            min_size=1,
            max_size=draw(st.sampled_from([3, 120])),
        )
    )
    style = draw(st.sampled_from(STYLES))
    return draw(st.booleans()), _text_file(rows, dim, style, False), rows, dim


@st.composite
def text_cases(draw):
    header, _, rows, dim = draw(text_files())
    style = draw(st.sampled_from(STYLES))
    make = st.just(_text_file(rows, dim, style, header))
    return header, draw(mutated(make))


def _outcome(function):
    try:
        return function()
    except (Refused, VectorFileError) as error:
        return error


def _assert_same(ours, reference, path):
    if isinstance(reference, Refused) or isinstance(ours, VectorFileError):
        assert isinstance(ours, VectorFileError), (
            f"ours read {ours[0]} where the reference refuses: {reference}"
        )
        assert isinstance(reference, Refused), (
            f"ours refuses ({ours}) where the reference reads {reference[0]}"
        )
        assert str(ours).startswith(f"{path}, line ") or str(ours).startswith(
            f"{path}, record "
        ), str(ours)
        return
    words, matrix = reference
    kv = ours
    assert kv.index_to_key == words
    np.testing.assert_array_equal(
        kv.vectors.view(np.uint32), matrix.view(np.uint32)
    )


@FUZZ
@given(case=text_cases())
def test_fuzz_text_reader_equals_the_reference(tmp_path_factory, case):
    header, data = case
    path = write(tmp_path_factory.mktemp("fuzz"), data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = _outcome(
            lambda: read(path, format="word2vec" if header else "glove")[0]
        )
    reference = _outcome(
        lambda: reference_readers.read_text(data, header=header)
    )
    _assert_same(ours, reference, path)


@st.composite
def binary_cases(draw):
    dim = draw(st.integers(1, 4))
    words = draw(st.lists(WORDS, min_size=1, max_size=30))
    if draw(st.booleans()):  # A word with a space, as "new york".
        i = draw(st.integers(0, len(words) - 1))
        words[i] = words[i] + " " + words[i]
    vectors = draw(
        st.lists(
            st.lists(
                st.floats(width=32, allow_nan=False, allow_infinity=False),
                min_size=dim,
                max_size=dim,
            ),
            min_size=len(words),
            max_size=len(words),
        )
    )
    data = binary(words, vectors, newline_after=draw(st.booleans()))
    return draw(mutated(st.just(data)))


@FUZZ
@given(data=binary_cases())
def test_fuzz_binary_reader_equals_the_reference(tmp_path_factory, data):
    path = write(tmp_path_factory.mktemp("fuzz"), data, "v.bin")
    ours = _outcome(lambda: read(path, format="word2vec-binary")[0])
    reference = _outcome(lambda: reference_readers.read_binary(data))
    _assert_same(ours, reference, path)


def _big_text(header):
    rng = np.random.default_rng(3)
    values = rng.normal(0, 1e-3, (4000, 10))  # 40,000 exponent fields.
    rows = [(f"w{i}", row) for i, row in enumerate(values)]
    return _text_file(rows, 10, "%e", header)


BLOCK_END = 1 << 18


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize(
    "mutation",
    [
        ("none", 0, b""),
        ("cut", BLOCK_END - 1, b""),
        ("cut", BLOCK_END, b""),
        ("cut", BLOCK_END + 1, b""),
        ("insert", BLOCK_END - 1, b"\t"),
        ("insert", BLOCK_END, b"  "),
        ("insert", BLOCK_END + 1, b"."),
        ("insert", BLOCK_END, b"\n"),
        ("replace", BLOCK_END, b"\x00"),
        ("replace", 2 * BLOCK_END + 5, b"-"),
    ],
    ids=lambda m: f"{m[0]}@{m[1]}" if isinstance(m, tuple) else str(m),
)
def test_big_files_around_the_block_end_equal_the_reference(
    tmp_path, header, mutation
):
    data = _big_text(header)
    kind, at, extra = mutation
    if kind == "cut":
        data = data[:at]
    elif kind == "insert":
        data = data[:at] + extra + data[at:]
    elif kind == "replace":
        data = data[:at] + extra + data[at + 1 :]
    path = write(tmp_path, data)
    ours = _outcome(
        lambda: read(path, format="word2vec" if header else "glove")[0]
    )
    reference = _outcome(
        lambda: reference_readers.read_text(data, header=header)
    )
    _assert_same(ours, reference, path)


@pytest.mark.parametrize("bad_repeat", [None, "1 nan", "x 1"])
@pytest.mark.parametrize("where", [10, 32_767, 32_768, 40_000])
def test_repeats_around_the_index_batch_equal_the_reference(
    tmp_path, where, bad_repeat
):
    # Words are indexed in batches of 32,768 until a first repeat: the
    # outcome must not depend on where a repeat or a bad repeat falls.
    lines = [b"w%d %d.5 -%d" % (i, i, i) for i in range(45_000)]
    lines.insert(where, b"w3 9 9")
    lines.insert(where + 5000, b"w7 " + (bad_repeat or "8 8").encode())
    lines.insert(44_000, b"w44000 1 1")
    data = b"\n".join(lines) + b"\n"
    path = write(tmp_path, data)
    ours = _outcome(lambda: read(path, format="glove")[0])
    reference = _outcome(
        lambda: reference_readers.read_text(data, header=False)
    )
    _assert_same(ours, reference, path)
    if bad_repeat is None:
        assert ours.index_to_key[:4] == ["w0", "w1", "w2", "w3"]
        np.testing.assert_array_equal(ours["w3"], [3.5, -3])

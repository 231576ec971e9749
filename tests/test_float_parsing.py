"""The vectorized number parser equals Python's float() on every text."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from keras_embedplus.vectors.float_parsing import parse_fields


def parse(texts):
    """Parses `texts` laid out as one space-separated line."""
    line = (" " * 16 + " ".join(texts) + "\n").encode()
    starts, position = [], 16
    for text in texts:
        starts.append(position)
        position += len(text.encode()) + 1
    starts = np.array(starts)
    ends = starts + [len(text.encode()) for text in texts]
    return parse_fields(
        np.frombuffer(line, dtype=np.uint8),
        starts,
        ends,
        lambda flat: [texts[i] for i in flat],
    )


def assert_parsed_like_float(texts):
    values = parse(texts)
    expected = np.array([float(text) for text in texts])
    np.testing.assert_array_equal(
        values.view(np.uint64), expected.view(np.uint64)
    )


DIGITS = st.text("0123456789", max_size=18)
DECIMAL = st.builds(
    lambda sign, whole, point, fraction, exponent: (
        sign + whole + point + fraction + exponent
    ),
    st.sampled_from(["", "-", "+"]),
    DIGITS,
    st.sampled_from(["", "."]),
    DIGITS,
    st.sampled_from(["", "e", "E"]).flatmap(
        lambda e: (
            st.just("")
            if not e
            else st.builds(
                lambda s, d: e + s + d,
                st.sampled_from(["", "-", "+"]),
                st.text("0123456789", min_size=1, max_size=3),
            )
        )
    ),
).filter(
    lambda text: any(c.isdigit() for c in text.split("e")[0].split("E")[0])
)


def _is_float(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.lists(DECIMAL.filter(_is_float), min_size=1, max_size=40))
def test_decimals_parse_exactly(texts):
    assert_parsed_like_float(texts)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=40))
def test_shortest_reprs_round_trip(values):
    texts = [repr(value) for value in values]
    assert_parsed_like_float(texts)
    np.testing.assert_array_equal(parse(texts), values)


def test_hard_cases():
    assert_parsed_like_float(
        [
            "1.0000000596046447753906251",  # Rounds once to float64 first.
            "9007199254740993",
            "0.1",
            "-0",
            "-0.0e5",
            "1e22",
            "1e23",
            "1.5e-22",
            "123456789012345.6",
            "1234567890123456",
            ".5",
            "5.",
            "-.5e1",
            "nan",
            "-inf",
            "1_000",
            "1e-400",
            "1e400",
            "00000000000000000000000000001.5",
        ]
    )


def test_not_a_number_raises():
    with pytest.raises(ValueError):
        parse(["1.5", "1.2.3"])


NUMBERISH = st.text("0123456789.-+eE", min_size=1, max_size=18)


def assert_same_verdict_as_float(texts):
    """`parse` raises iff float() rejects one text, else equals float()."""
    try:
        expected = np.array([float(text) for text in texts])
    except ValueError:
        with pytest.raises(ValueError):
            parse(texts)
        return
    np.testing.assert_array_equal(
        parse(texts).view(np.uint64), expected.view(np.uint64)
    )


# The exponent path runs only when more than 256 fields are left over by
# the plain path: validity must not depend on how many share a batch.
@settings(max_examples=200, deadline=None)
@given(
    text=NUMBERISH,
    padding=st.sampled_from([0, 1, 255, 256, 257, 400]),
    position=st.integers(0, 400),
)
def test_validity_does_not_depend_on_the_batch(text, padding, position):
    texts = ["1.5e-05"] * padding
    texts.insert(min(position, padding), text)
    assert_same_verdict_as_float(texts)


@pytest.mark.parametrize(
    "bad",
    [
        "1e-05.",
        "1e-.0",
        "1e.5",
        "1e5.",
        "1e",
        "1e-",
        "2e+-3",
        "e5",
        # Two points across the two words of a long field (an IndexError
        # once, found by the reader fuzz test).
        "-0.00.000e+00",
        "-0.0000000.0000",
        "1.2345678.1234567",
    ],
)
@pytest.mark.parametrize("padding", [0, 300, 20_000])
def test_malformed_exponents_are_refused_in_any_batch(bad, padding):
    with pytest.raises(ValueError):
        parse(["1.5e-05"] * padding + [bad])

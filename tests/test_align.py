"""Tests of `align_vectors`, the vocabulary forms and `Coverage`."""

import keras
import numpy as np
import pytest
from gensim.models import FastText
from gensim.models import KeyedVectors
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from keras_embedplus.vectors import Coverage
from keras_embedplus.vectors import align_vectors
from keras_embedplus.vectors import vocabulary as vocabulary_lib

WORDS = ["the", "cat", "sat", "on", "mat", "hope", "NASA", "Paris", "paris"]


def make_vectors(words=WORDS, dim=4, seed=0):
    vectors = KeyedVectors(dim)
    values = np.random.default_rng(seed).normal(0.5, 2.0, (len(words), dim))
    vectors.add_vectors(list(words), values.astype(np.float32))
    return vectors


@pytest.fixture(scope="module")
def vectors():
    return make_vectors()


@pytest.fixture(scope="module")
def fasttext():
    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["hope", "is"]]
    model = FastText(
        sentences * 10,
        vector_size=6,
        min_count=1,
        epochs=2,
        bucket=500,
        min_n=2,
        max_n=4,
        workers=1,
        seed=3,
    )
    return model.wv


def test_list_rows_are_the_vectors_of_their_tokens(vectors):
    vocabulary = ["cat", "the", "hope"]
    matrix, coverage = align_vectors(vectors, vocabulary)
    assert matrix.shape == (3, 4)
    assert matrix.dtype == np.float32
    for row, word in enumerate(vocabulary):
        np.testing.assert_array_equal(matrix[row], vectors[word])
    assert (coverage.found, coverage.total, coverage.reserved) == (3, 3, 0)
    assert coverage.missing == ()
    assert coverage.ratio == 1.0
    assert not coverage.oov_mask.any()


@pytest.mark.parametrize(
    "vocabulary",
    [("cat", "qwzx", "the"), np.array(["cat", "qwzx", "the"])],
    ids=["tuple", "array"],
)
def test_tuple_and_array_vocabularies(vectors, vocabulary):
    matrix, coverage = align_vectors(vectors, vocabulary, oov="zeros")
    np.testing.assert_array_equal(matrix[0], vectors["cat"])
    np.testing.assert_array_equal(matrix[1], np.zeros(4))
    np.testing.assert_array_equal(matrix[2], vectors["the"])
    assert coverage.missing == ("qwzx",)
    assert type(coverage.missing[0]) is str


def test_dict_vocabulary_with_unused_row_zero(vectors):
    # Keras 2's Tokenizer.word_index starts at 1: row 0 is no word's.
    word_index = {"the": 1, "cat": 2, "qwzx": 3}
    matrix, coverage = align_vectors(vectors, word_index, oov="mean")
    assert matrix.shape == (4, 4)
    np.testing.assert_array_equal(matrix[0], np.zeros(4))
    np.testing.assert_array_equal(matrix[1], vectors["the"])
    np.testing.assert_array_equal(matrix[2], vectors["cat"])
    # "mean": of the vectors the vocabulary found.
    found = np.stack([vectors["the"], vectors["cat"]])
    np.testing.assert_allclose(matrix[3], found.mean(0), rtol=1e-6)
    assert coverage.reserved == 1
    assert coverage.words == 3
    assert coverage.missing == ("qwzx",)
    np.testing.assert_array_equal(coverage.oov_mask, [0, 0, 0, 1])


def test_keras_io_dict_aligns_like_the_layer(vectors):
    layer = keras.layers.TextVectorization(vocabulary=["the", "qwzx", "cat"])
    words = layer.get_vocabulary()
    word_index = dict(zip(words, range(len(words)), strict=True))
    from_layer, layer_coverage = align_vectors(vectors, layer, seed=1)
    from_dict, dict_coverage = align_vectors(vectors, word_index, seed=1)
    from_list, list_coverage = align_vectors(vectors, words, seed=1)
    np.testing.assert_array_equal(from_layer, from_dict)
    np.testing.assert_array_equal(from_layer, from_list)
    assert repr(layer_coverage) == repr(dict_coverage) == repr(list_coverage)


def test_text_vectorization_ids_select_the_right_vectors(vectors):
    layer = keras.layers.TextVectorization(
        vocabulary=["the", "cat", "qwzx", "hope"]
    )
    matrix, coverage = align_vectors(vectors, layer, seed=0)
    assert layer.get_vocabulary()[:2] == ["", "[UNK]"]
    np.testing.assert_array_equal(matrix[0], np.zeros(4))
    assert np.any(matrix[1] != 0)  # [UNK] gets the OOV policy
    assert coverage.reserved == 2
    assert coverage.missing == ("qwzx",)
    np.testing.assert_array_equal(coverage.oov_mask, [0, 1, 0, 0, 1, 0])

    embedding = keras.layers.Embedding(
        len(matrix), 4, weights=[matrix], mask_zero=True
    )
    ids = layer(["hope the cat unseen"])
    looked_up = keras.ops.convert_to_numpy(embedding(ids))[0]
    for position, word in enumerate(["hope", "the", "cat"]):
        np.testing.assert_array_equal(looked_up[position], vectors[word])
    np.testing.assert_array_equal(looked_up[3], matrix[1])


def test_adapted_text_vectorization(vectors):
    layer = keras.layers.TextVectorization()
    layer.adapt(["the cat sat on the mat", "the qwzx"])
    matrix, coverage = align_vectors(vectors, layer, oov="zeros")
    words = layer.get_vocabulary()
    assert len(matrix) == len(words)
    for row, word in enumerate(words[2:], start=2):
        if word in vectors.key_to_index:
            np.testing.assert_array_equal(matrix[row], vectors[word])
    assert coverage.missing == ("qwzx",)
    assert coverage.found == 5


def test_unadapted_layer_is_an_error(vectors):
    with pytest.raises(ValueError, match="empty vocabulary.*adapt"):
        align_vectors(vectors, keras.layers.TextVectorization())


@pytest.mark.parametrize(
    "kwargs, padding_rows, oov_rows",
    [
        ({}, [], [0]),
        ({"mask_token": ""}, [0], [1]),
        ({"num_oov_indices": 2}, [], [0, 1]),
        ({"num_oov_indices": 2, "mask_token": ""}, [0], [1, 2]),
        ({"num_oov_indices": 0}, [], []),
        ({"mask_token": "<pad>", "oov_token": "<unk>"}, [0], [1]),
        ({"mask_token": "", "output_mode": "one_hot"}, [], [0]),
    ],
)
def test_string_lookup_reserved_rows(vectors, kwargs, padding_rows, oov_rows):
    layer = keras.layers.StringLookup(vocabulary=["cat", "the"], **kwargs)
    matrix, coverage = align_vectors(vectors, layer, oov="mean")
    reserved = len(padding_rows) + len(oov_rows)
    assert matrix.shape == (reserved + 2, 4)
    assert coverage.reserved == reserved
    assert coverage.missing == ()
    for row in padding_rows:
        np.testing.assert_array_equal(matrix[row], np.zeros(4))
    for row in oov_rows:
        found = np.stack([vectors["cat"], vectors["the"]])
        np.testing.assert_allclose(matrix[row], found.mean(0), 1e-6)
    np.testing.assert_array_equal(matrix[reserved], vectors["cat"])
    np.testing.assert_array_equal(matrix[reserved + 1], vectors["the"])
    np.testing.assert_array_equal(np.flatnonzero(coverage.oov_mask), oov_rows)
    if kwargs.get("output_mode", "int") == "int":
        ids = keras.ops.convert_to_numpy(layer(["the", "cat"]))
        np.testing.assert_array_equal(ids, [reserved + 1, reserved])


def test_string_lookup_oov_rows_get_distinct_random_vectors(vectors):
    layer = keras.layers.StringLookup(vocabulary=["cat"], num_oov_indices=3)
    matrix, _ = align_vectors(vectors, layer, seed=0)
    assert len(np.unique(matrix[:3], axis=0)) == 3


def test_vocabulary_rows_pass_through(vectors):
    layer = keras.layers.StringLookup(vocabulary=["cat"], mask_token="")
    rows = vocabulary_lib.vocabulary_rows(layer)
    assert rows.tokens == ("", "[UNK]", "cat")
    assert list(rows.kinds) == [
        vocabulary_lib.PADDING,
        vocabulary_lib.OOV,
        vocabulary_lib.WORD,
    ]
    assert vocabulary_lib.vocabulary_rows(rows) is rows
    from_rows, _ = align_vectors(vectors, rows, seed=0)
    from_layer, _ = align_vectors(vectors, layer, seed=0)
    np.testing.assert_array_equal(from_rows, from_layer)


def test_object_whose_get_vocabulary_marks_nothing(vectors):
    class Tokenizer:
        def get_vocabulary(self):
            return ["[PAD]", "[UNK]", "cat"]

    matrix, coverage = align_vectors(
        vectors, Tokenizer(), oov="zeros", mask_token="[PAD]"
    )
    assert coverage.reserved == 2
    np.testing.assert_array_equal(coverage.oov_mask, [0, 1, 0])
    np.testing.assert_array_equal(matrix[2], vectors["cat"])


def test_reserved_tokens_can_be_turned_off(vectors):
    _, coverage = align_vectors(
        vectors, ["", "[UNK]", "cat"], mask_token=None, oov_token=None
    )
    assert coverage.reserved == 0
    assert coverage.missing == ("", "[UNK]")


def test_lowercase_fallback(vectors):
    vocabulary = ["Hope", "nasa", "PARIS", "Paris", "Qwzx"]
    matrix, coverage = align_vectors(vectors, vocabulary)
    np.testing.assert_array_equal(matrix[0], vectors["hope"])
    np.testing.assert_array_equal(matrix[1], vectors["NASA"])  # any case
    np.testing.assert_array_equal(matrix[2], vectors["paris"])  # lower first
    np.testing.assert_array_equal(matrix[3], vectors["Paris"])  # exact wins
    assert (coverage.found, coverage.found_lowercase) == (1, 3)
    assert coverage.missing == ("Qwzx",)
    assert coverage.ratio == 0.8

    _, coverage = align_vectors(vectors, vocabulary, lowercase_fallback=False)
    assert (coverage.found, coverage.found_lowercase) == (1, 0)
    assert coverage.missing == ("Hope", "nasa", "PARIS", "Qwzx")


def test_any_case_match_prefers_the_first_key():
    vectors = make_vectors(["Apple", "APPLE"])
    matrix, _ = align_vectors(vectors, ["aPPle"])
    np.testing.assert_array_equal(matrix[0], vectors["Apple"])


def test_oov_zeros(vectors):
    matrix, coverage = align_vectors(vectors, ["qwzx", "cat"], oov="zeros")
    np.testing.assert_array_equal(matrix[0], np.zeros(4))
    np.testing.assert_array_equal(coverage.oov_mask, [True, False])


def test_oov_random_is_seeded_and_follows_the_vectors_statistics():
    vectors = make_vectors([f"w{i}" for i in range(3000)], dim=3)
    # The vocabulary finds 2,000 of the 3,000 vectors: their statistics.
    vocabulary = [f"q{i}" for i in range(4000)] + [f"w{i}" for i in range(2000)]
    first, _ = align_vectors(vectors, vocabulary, seed=7)
    again, _ = align_vectors(vectors, vocabulary, seed=7)
    other, _ = align_vectors(vectors, vocabulary, seed=8)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[:4000], other[:4000])
    np.testing.assert_array_equal(first[4000], vectors["w0"])
    random_rows = first[:4000]
    table = vectors.vectors[:2000].astype(np.float64)
    np.testing.assert_allclose(random_rows.mean(0), table.mean(0), atol=0.1)
    np.testing.assert_allclose(random_rows.std(0), table.std(0), rtol=0.05)


def test_oov_mean(vectors):
    matrix, _ = align_vectors(
        vectors, ["qwzx", "cat", "the"], oov="mean", dtype="float64"
    )
    assert matrix.dtype == np.float64
    found = np.stack([vectors["cat"], vectors["the"]]).astype(np.float64)
    np.testing.assert_allclose(matrix[0], found.mean(0), rtol=1e-12)


@pytest.mark.parametrize("found", [[], ["cat"]])
def test_fewer_than_two_vectors_found(vectors, found):
    vocabulary = [f"q{i}" for i in range(3000)] + found
    matrix, _ = align_vectors(vectors, vocabulary, oov="random", seed=0)
    # No spread to estimate: standard normal samples.
    np.testing.assert_allclose(matrix[:3000].mean(0), 0, atol=0.1)
    np.testing.assert_allclose(matrix[:3000].std(0), 1, rtol=0.05)
    matrix, _ = align_vectors(vectors, vocabulary, oov="mean")
    expected = vectors["cat"] if found else np.zeros(4)
    np.testing.assert_array_equal(matrix[0], expected)


def test_oov_callable_receives_the_tokens_of_the_rows_to_fill(vectors):
    received = []

    def fill(tokens):
        received.append(tokens)
        return np.full((len(tokens), 4), 7.0)

    matrix, _ = align_vectors(vectors, ["", "[UNK]", "qwzx", "cat"], oov=fill)
    assert received == [["[UNK]", "qwzx"]]
    np.testing.assert_array_equal(matrix[:, 0], [0, 7, 7, vectors["cat"][0]])


def test_oov_callable_of_the_wrong_shape(vectors):
    with pytest.raises(ValueError, match=r"shape \(1, 4\).*\(4,\)"):
        align_vectors(vectors, ["qwzx"], oov=lambda tokens: np.zeros(4))


def test_subword_rows_equal_gensim_vectors(fasttext):
    vocabulary = ["", "[UNK]", "the", "Hope", "cats", "hoping", "x"]
    matrix, coverage = align_vectors(fasttext, vocabulary, oov="subword")
    np.testing.assert_array_equal(matrix[:2], np.zeros((2, 6)))
    np.testing.assert_array_equal(matrix[2], fasttext["the"])
    np.testing.assert_array_equal(matrix[3], fasttext["hope"])
    for row in (4, 5, 6):
        assert vocabulary[row] not in fasttext.key_to_index
        np.testing.assert_array_equal(
            matrix[row], fasttext.get_vector(vocabulary[row])
        )
    assert coverage.missing == ("cats", "hoping", "x")
    assert coverage.found_subword == 3
    assert coverage.ratio == 0.4
    np.testing.assert_array_equal(coverage.oov_mask, [0, 1, 0, 0, 1, 1, 1])


def test_subword_words_in_batches(fasttext, monkeypatch):
    # A tiny budget builds the words one per batch; rows must not change.
    from keras_embedplus.vectors import align

    vocabulary = [f"w{i}xyz" for i in range(30)] + ["ab", "abcdefghij"]
    expected, _ = align_vectors(fasttext, vocabulary, oov="subword")
    monkeypatch.setattr(align, "_SUBWORD_BUDGET", 1)
    batched, _ = align_vectors(fasttext, vocabulary, oov="subword")
    np.testing.assert_array_equal(batched, expected)
    for row, word in enumerate(vocabulary):
        np.testing.assert_array_equal(expected[row], fasttext.get_vector(word))


def test_fasttext_with_another_policy_does_not_use_subwords(fasttext):
    assert "cats" in fasttext  # gensim answers True for any word
    matrix, coverage = align_vectors(fasttext, ["cats"], oov="zeros")
    np.testing.assert_array_equal(matrix[0], np.zeros(6))
    assert coverage.missing == ("cats",)
    assert coverage.found_subword == 0


def test_subword_without_subwords_is_an_error(vectors):
    with pytest.raises(ValueError, match="subword information.*'random'"):
        align_vectors(vectors, ["cat"], oov="subword")


@pytest.mark.parametrize(
    "vocabulary, error, message",
    [
        (["cat", "the", "cat"], ValueError, "'cat' twice, at rows 0 and 2"),
        ([], ValueError, "empty"),
        ({}, ValueError, "empty"),
        (["", "[UNK]"], ValueError, "no words"),
        (["cat", 3], TypeError, "row 1 holds 3 of type int"),
        (["cat", b"the"], TypeError, "row 1 holds b'the'"),
        ({"cat": 0, "the": 0}, ValueError, "both 'cat' and 'the' to row 0"),
        ({"cat": -1}, ValueError, "non-negative.*'cat' -> -1"),
        ({"cat": 1.0}, ValueError, "non-negative.*'cat' -> 1.0"),
        ({"cat": True}, ValueError, "non-negative.*'cat' -> True"),
        ({3: 0}, TypeError, "key of the vocabulary dict holds 3"),
        ({"cat", "the"}, TypeError, "Received: vocabulary of type set"),
        ("cat the", TypeError, "Received: vocabulary of type str"),
        (np.array([["cat"]]), TypeError, "of type ndarray"),
    ],
)
def test_bad_vocabularies(vectors, vocabulary, error, message):
    with pytest.raises(error, match=message):
        align_vectors(vectors, vocabulary)


def test_integer_lookup_tokens_are_their_integers_as_strings():
    # Vectors keyed by ids, as node2vec or item2vec files are.
    vectors = make_vectors(["4", "5", "-1"])
    layer = keras.layers.IntegerLookup(vocabulary=[4, 7, 5], mask_token=0)
    matrix, coverage = align_vectors(vectors, layer, oov="zeros")
    # Rows: 0 mask, 1 OOV (-1: not the word "-1"), then 4, 7, 5.
    np.testing.assert_array_equal(matrix[[2, 4]], vectors.vectors[:2])
    assert not matrix[[0, 1, 3]].any()
    assert coverage.missing == ("7",) and coverage.reserved == 2
    with pytest.raises(TypeError, match="pass the `IntegerLookup` layer"):
        align_vectors(vectors, layer.get_vocabulary())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"oov": "glove"}, "`oov` must be one of.*Received: oov='glove'"),
        ({"dtype": "int32"}, "float dtype.*Received: dtype='int32'"),
        ({"dtype": "nonsense"}, "float dtype"),
    ],
)
def test_bad_arguments(vectors, kwargs, message):
    with pytest.raises(ValueError, match=message):
        align_vectors(vectors, ["cat"], **kwargs)


def test_vectors_must_be_keyed_vectors():
    with pytest.raises(TypeError, match="KeyedVectors.*type ndarray"):
        align_vectors(np.zeros((2, 3)), ["cat"])
    # Empty vectors (a file that has none of the words): coverage 0.
    matrix, coverage = align_vectors(KeyedVectors(3), ["cat"], oov="zeros")
    np.testing.assert_array_equal(matrix, np.zeros((1, 3)))
    assert coverage.ratio == 0.0 and coverage.missing == ("cat",)


def test_coverage_str_and_repr(vectors):
    vocabulary = ["", "[UNK]", "the", "Hope"] + [f"q{i}" for i in range(12)]
    _, coverage = align_vectors(vectors, vocabulary)
    text = str(coverage)
    assert text.splitlines()[0] == (
        "Coverage: 2 of 14 words (14.3%) have pretrained vectors"
    )
    assert "found as written:      1" in text
    assert "found in another case: 1" in text
    assert "missing:               12, e.g. 'q0', 'q1'," in text
    assert "'q9', ..." in text and "'q10'" not in text
    assert "reserved rows:         2" in text
    assert repr(coverage) == (
        "Coverage(found=1, found_lowercase=1, found_subword=0, missing=12, "
        "reserved=2, total=16, ratio=0.1429)"
    )


def test_coverage_percent_never_rounds_to_the_ends():
    def coverage(found, words):
        missing = tuple(f"q{i}" for i in range(words - found))
        return Coverage(words, 0, found, 0, 0, missing, np.zeros(words, bool))

    assert "(>99.9%)" in str(coverage(9999, 10000))
    assert "(<0.1%)" in str(coverage(1, 10000))
    assert "(100.0%)" in str(coverage(5, 5))
    assert "(0.0%)" in str(coverage(0, 5))


def test_coverage_is_frozen(vectors):
    _, coverage = align_vectors(vectors, ["cat", "qwzx"])
    with pytest.raises(AttributeError):
        coverage.found = 3
    with pytest.raises(ValueError, match="read-only"):
        coverage.oov_mask[0] = True


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(WORDS + ["Cat", "THE", "qwzx", "zz", "Zz"]),
        min_size=1,
        max_size=20,
        unique=True,
    ),
    st.booleans(),
)
def test_every_row_is_its_word_or_the_policy(vocabulary, lowercase):
    vectors = make_vectors()
    matrix, coverage = align_vectors(
        vectors, vocabulary, oov="zeros", lowercase_fallback=lowercase
    )
    key_to_index = vectors.key_to_index
    lower = [w for w in vocabulary if w not in key_to_index]
    found_lowercase = 0
    for row, word in enumerate(vocabulary):
        key = word
        if word not in key_to_index and lowercase:
            key = word.lower()
            found_lowercase += key in key_to_index
        if key in key_to_index:
            np.testing.assert_array_equal(matrix[row], vectors[key])
            assert not coverage.oov_mask[row]
        else:
            np.testing.assert_array_equal(matrix[row], np.zeros(4))
            assert coverage.oov_mask[row]
    assert coverage.found == len(vocabulary) - len(lower)
    assert coverage.found_lowercase == found_lowercase
    assert (
        coverage.found + coverage.found_lowercase + len(coverage.missing)
        == coverage.total
    )

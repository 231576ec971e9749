"""SubwordIds and fastText's n-gram hashing, against gensim and a reference.

gensim's `compute_ngrams_bytes` / `ft_hash_bytes` / `ft_ngram_hashes` are
the reference for unicode words; a byte-by-byte transcription of fastText's
`Dictionary::computeSubwords` is the reference for byte strings that are
not UTF-8 (which gensim cannot take).
"""

import json

import numpy as np
import pytest
import tensorflow as tf
from gensim.models.fasttext import ft_ngram_hashes
from gensim.models.fasttext_inner import compute_ngrams_bytes
from gensim.models.fasttext_inner import ft_hash_bytes
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import keras_embedplus
from keras_embedplus.layers.fasttext_hash import ngram_hashes

# Words of every kind: ASCII, accents, CJK, emoji (4-byte UTF-8), NUL.
WORD = st.text(
    alphabet=st.one_of(
        st.characters(max_codepoint=0x7F),
        st.characters(min_codepoint=0x80, max_codepoint=0x7FF),
        st.characters(
            min_codepoint=0x800,
            max_codepoint=0xFFFF,
            exclude_categories=("Cs",),
        ),
        st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
    ),
    max_size=12,
)
SIZES = st.tuples(st.integers(0, 7), st.integers(0, 8))


def gensim_hashes(word, minn, maxn):
    return [ft_hash_bytes(n) for n in compute_ngrams_bytes(word, minn, maxn)]


def reference_ids(word, vocabulary, minn, maxn, bucket):
    """The rows fastText looks up for `word`, by gensim's functions."""
    if word == "":
        return []
    ids = [vocabulary.index(word)] if word in vocabulary else []
    if bucket and maxn:
        ids += [
            len(vocabulary) + h
            for h in ft_ngram_hashes(word, minn, maxn, bucket)
        ]
    return ids


def fasttext_bytes_reference(word, minn, maxn):
    """fastText's computeSubwords + hash on raw bytes, transcribed."""
    data = b"<" + word + b">"
    hashes = []
    for i in range(len(data)):
        if data[i] & 0xC0 == 0x80:
            continue
        j, n = i, 1
        while j < len(data) and n <= maxn:
            j += 1
            while j < len(data) and data[j] & 0xC0 == 0x80:
                j += 1
            if n >= minn and not (n == 1 and (i == 0 or j == len(data))):
                h = 2166136261
                for b in data[i:j]:
                    h ^= (b - 256 if b >= 128 else b) & 0xFFFFFFFF
                    h = (h * 16777619) & 0xFFFFFFFF
                hashes.append(h)
            n += 1
    return hashes


@settings(max_examples=60, deadline=None)
@given(words=st.lists(WORD, max_size=8), sizes=SIZES)
def test_hashes_equal_gensims_on_random_unicode_words(words, sizes):
    minn, maxn = sizes
    got = ngram_hashes(tf.constant(words, tf.string), minn, maxn)
    assert got.to_list() == [gensim_hashes(w, minn, maxn) for w in words]


@pytest.mark.parametrize(
    "word",
    ["a" * 300, "é" * 100, "😀" * 40, "naïve café", "日本語", "\x00x", ">"],
)
@pytest.mark.parametrize("sizes", [(3, 6), (1, 1), (1, 12), (6, 3), (0, 0)])
def test_hashes_of_long_and_odd_words(word, sizes):
    got = ngram_hashes(tf.constant([word, "", word]), *sizes).to_list()
    expected = gensim_hashes(word, *sizes)
    assert got == [expected, gensim_hashes("", *sizes), expected]


@settings(max_examples=40, deadline=None)
@given(
    words=st.lists(st.binary(max_size=10), max_size=6),
    sizes=st.tuples(st.integers(1, 5), st.integers(1, 6)),
)
def test_hashes_of_bytes_that_are_not_utf8_follow_fasttext(words, sizes):
    got = ngram_hashes(tf.constant(words, tf.string), *sizes).to_list()
    assert got == [fasttext_bytes_reference(w, *sizes) for w in words]


def test_hashes_inside_tf_function_and_tf_data():
    words = ["hello", "wörld", ""]
    expected = [gensim_hashes(w, 3, 6) for w in words]
    function = tf.function(lambda w: ngram_hashes(w, 3, 6))
    assert function(tf.constant(words)).to_list() == expected
    dataset = tf.data.Dataset.from_tensors(tf.constant(words)).map(
        lambda w: ngram_hashes(w, 3, 6).to_tensor(-1)
    )
    padded = next(iter(dataset)).numpy()
    assert [[h for h in row if h >= 0] for row in padded] == expected


@settings(max_examples=40, deadline=None)
@given(
    vocabulary=st.lists(WORD.filter(bool), unique=True, max_size=6),
    others=st.lists(WORD, max_size=6),
    sizes=SIZES,
    bucket=st.sampled_from([0, 1, 7, 2_000_000]),
)
def test_ids_equal_gensims_rows(vocabulary, others, sizes, bucket):
    minn, maxn = sizes
    words = vocabulary[:3] + others
    layer = keras_embedplus.SubwordIds(
        vocabulary, minn=minn, maxn=maxn, bucket=bucket, ragged=True
    )
    got = layer(tf.constant(words, tf.string)).to_list()
    assert got == [
        reference_ids(w, vocabulary, minn, maxn, bucket) for w in words
    ]


def test_dense_ids_are_padded_with_the_pad_id():
    vocabulary = ["cat", "dog"]
    words = ["cat", "cot", "", "dogs"]
    expected = [reference_ids(w, vocabulary, 3, 4, 10) for w in words]
    width = max(len(ids) for ids in expected)
    for mask_zero, pad in ((False, -1), (True, 0)):
        layer = keras_embedplus.SubwordIds(
            vocabulary, minn=3, maxn=4, bucket=10, mask_zero=mask_zero
        )
        assert layer.pad_id == pad
        assert layer.input_dim == 12 + mask_zero
        got = np.asarray(layer(np.array(words)))
        shift = int(mask_zero)
        assert got.tolist() == [
            [i + shift for i in ids] + [pad] * (width - len(ids))
            for ids in expected
        ]


def test_shapes_of_tokens_of_any_rank():
    layer = keras_embedplus.SubwordIds(["a"], minn=1, maxn=2, bucket=5)
    one = np.asarray(layer(tf.constant("a")))
    assert one.ndim == 1
    batch = np.asarray(layer(tf.constant([["a", "b"], ["", "ab"]])))
    assert batch.shape[:2] == (2, 2)
    np.testing.assert_array_equal(batch[0, 0, : len(one)], one)
    assert (batch[1, 0] == -1).all()
    ragged = keras_embedplus.SubwordIds(
        ["a"], minn=1, maxn=2, bucket=5, ragged=True
    )
    tokens = tf.ragged.constant([["a"], ["", "ab", "b"]])
    ids = ragged(tokens)
    assert ids.shape.rank == 3
    assert ids.to_list()[1][0] == []
    assert ids.to_list()[0][0] == one.tolist()
    # Ragged tokens with dense ids: missing tokens are padding.
    dense = np.asarray(layer(tokens))
    assert dense.shape[:2] == (2, 3)
    assert (dense[0, 1:] == -1).all()


def test_output_length_pads_to_a_fixed_shape_and_refuses_longer_tokens():
    layer = keras_embedplus.SubwordIds(
        ["cat"], minn=3, maxn=3, bucket=10, output_length=6
    )
    assert np.asarray(layer(["cat", ""])).shape == (2, 6)
    dataset = tf.data.Dataset.from_tensor_slices(["cat", "x"]).batch(2)
    assert dataset.map(layer).element_spec.shape.as_list() == [None, 6]
    with pytest.raises(tf.errors.InvalidArgumentError, match="output_length"):
        layer(["catastrophe"])


def test_runs_in_tf_data_and_in_a_tensorflow_model():
    import keras

    layer = keras_embedplus.SubwordIds(["cat"], minn=3, maxn=3, bucket=10)
    words = ["cat", "cats", ""]
    eager = np.asarray(layer(words))
    dataset = tf.data.Dataset.from_tensor_slices(words).batch(3).map(layer)
    np.testing.assert_array_equal(next(iter(dataset)).numpy(), eager)
    inputs = keras.Input((), dtype="string")
    model = keras.Model(inputs, layer(inputs))
    np.testing.assert_array_equal(
        model.predict(tf.constant(words), verbose=0), eager
    )


def test_config_carries_the_vocabulary_and_round_trips():
    layer = keras_embedplus.SubwordIds(
        ["ünï", "b"], minn=2, maxn=5, bucket=9, mask_zero=True, name="ids"
    )
    config = layer.get_config()
    json.dumps(config)
    revived = keras_embedplus.SubwordIds.from_config(config)
    assert revived.get_config() == config
    words = ["ünï", "b", "ünïcode"]
    np.testing.assert_array_equal(
        np.asarray(revived(words)), np.asarray(layer(words))
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary": "cat"}, "not a single string"),
        ({"vocabulary": ["a", "a"]}, "must not repeat"),
        ({"vocabulary": ["a", 1]}, "only strings"),
        ({"vocabulary": [], "minn": -1}, "minn"),
        ({"vocabulary": [], "bucket": 2.5}, "bucket"),
        ({"vocabulary": [], "mask_zero": 1}, "mask_zero"),
        ({"vocabulary": [], "output_length": 0}, "output_length"),
        ({"vocabulary": [], "output_length": 3, "ragged": True}, "ragged"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_embedplus.SubwordIds(**kwargs)


def test_refuses_ids_as_tokens():
    layer = keras_embedplus.SubwordIds(["a"])
    with pytest.raises(ValueError, match="expects string tokens"):
        layer(tf.constant([1, 2]))


def test_a_model_with_the_layer_saves_and_reloads(tmp_path):
    import keras

    ids = keras_embedplus.SubwordIds(
        ["cät", "dog"], minn=2, maxn=3, bucket=7, mask_zero=True
    )
    tokens = keras.Input((2,), dtype="string")
    bag = keras_embedplus.EmbeddingBag(ids.input_dim, 3, mask_zero=True)
    model = keras.Model(tokens, bag(ids(tokens)))
    words = tf.constant([["cät", "dogs"], ["", "ünseen"]])
    expected = model.predict(words, verbose=0)
    model.save(tmp_path / "ids.keras")
    revived = keras.saving.load_model(tmp_path / "ids.keras", safe_mode=True)
    np.testing.assert_array_equal(revived.predict(words, verbose=0), expected)
    assert not expected[1, 0].any()

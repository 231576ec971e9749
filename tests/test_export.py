import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keras import ops

import keras_embedplus
from keras_embedplus.tools import export
from keras_embedplus.vectors import load_vectors

TABLE = np.arange(12, dtype="float32").reshape(6, 2) / 10


def test_layer_table_is_the_lookup_of_every_id():
    layer = keras_embedplus.LookupEmbedding(6, 2, weights=TABLE)
    np.testing.assert_array_equal(export.layer_table(layer), TABLE)
    dense = keras_embedplus.OneHotDense(6, 2, weights=TABLE)
    np.testing.assert_array_equal(export.layer_table(dense), TABLE)
    keras_layer = keras.layers.Embedding(6, 2, weights=TABLE)
    np.testing.assert_array_equal(export.layer_table(keras_layer), TABLE)


def test_layer_table_merges_lora():
    layer = keras_embedplus.LookupEmbedding(6, 2, weights=TABLE)
    layer.enable_lora(1)
    layer.lora_embeddings_b.assign(np.ones((1, 2), "float32"))
    expected = ops.convert_to_numpy(layer(np.arange(6)))
    assert not np.array_equal(expected, TABLE)
    np.testing.assert_allclose(export.layer_table(layer), expected)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_layer_table_dequantizes(mode):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(20_000, 4)).astype("float32")
    layer = keras_embedplus.LookupEmbedding(20_000, 4, weights=table)
    layer.quantize(mode)
    exported = export.layer_table(layer)
    assert exported.dtype == np.float32
    np.testing.assert_allclose(
        exported, ops.convert_to_numpy(layer(np.arange(20_000)))
    )
    tolerance = 0.05 if mode == "int8" else 0.5
    assert np.abs(exported - table).max() < tolerance


def test_layer_table_includes_trained_oov_rows():
    layer = keras_embedplus.PretrainedEmbedding(
        6, 2, weights=TABLE, trainable_oov=True, oov_ids=[4]
    )
    layer.oov_embeddings.assign(np.array([[9.0, 9.0]], "float32"))
    expected = TABLE.copy()
    expected[4] = 9.0
    np.testing.assert_array_equal(export.layer_table(layer), expected)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(layer(np.arange(6))), export.layer_table(layer)
    )


def test_layer_table_refuses_other_layers_and_unbuilt_ones():
    with pytest.raises(TypeError, match="Received: Dense"):
        export.layer_table(keras.layers.Dense(3))
    with pytest.raises(ValueError, match="'words' is not built"):
        export.layer_table(keras_embedplus.Embedding(6, 2, name="words"))


VOCAB = ["", "[UNK]", "good", "great", "bad", "awful"]
WORD_TABLE = np.array(
    [
        [0.0, 0.0],
        [0.5, 0.5],
        [1.0, 0.1],
        [0.9, 0.2],
        [-1.0, 0.1],
        [-0.8, 0.3],
    ],
    dtype="float32",
)


def _word_layer():
    return keras_embedplus.Embedding(6, 2, weights=WORD_TABLE)


def test_to_keyed_vectors_keeps_the_word_rows():
    vectors = keras_embedplus.to_keyed_vectors(_word_layer(), VOCAB)
    assert vectors.index_to_key == ["good", "great", "bad", "awful"]
    np.testing.assert_array_equal(vectors.vectors, WORD_TABLE[2:])
    assert vectors.vectors.dtype == np.float32
    assert vectors.most_similar("good", topn=1)[0][0] == "great"
    assert vectors.most_similar("bad", topn=1)[0][0] == "awful"


def test_to_keyed_vectors_on_a_trained_layer():
    keras.utils.set_random_seed(0)
    layer = keras_embedplus.Embedding(6, 2, input_length=1)
    model = keras.Sequential(
        [layer, keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.5), "mse")
    ids = np.array([[2], [3], [4], [5]])
    model.fit(
        ids, np.array([[1.0], [1.0], [-1.0], [-1.0]]), epochs=50, verbose=0
    )
    vectors = keras_embedplus.to_keyed_vectors(layer, VOCAB)
    np.testing.assert_array_equal(vectors["great"], layer.get_weights()[0][3])
    assert vectors.most_similar("good", topn=1)[0][0] == "great"


def test_to_keyed_vectors_with_a_dict_and_a_text_vectorization():
    word_index = {"good": 1, "great": 2, "bad": 3}  # Keras 2 Tokenizer style
    vectors = keras_embedplus.to_keyed_vectors(_word_layer(), word_index)
    assert vectors.index_to_key == ["good", "great", "bad"]
    np.testing.assert_array_equal(vectors["bad"], WORD_TABLE[3])

    text = keras.layers.TextVectorization()
    text.adapt(["good great", "good bad awful"])
    layer = keras_embedplus.Embedding(text.vocabulary_size(), 2, weights=None)
    layer.build()
    vectors = keras_embedplus.to_keyed_vectors(layer, text)
    words = text.get_vocabulary(include_special_tokens=False)
    assert vectors.index_to_key == words
    table = layer.get_weights()[0]
    for word in words:
        row = int(np.asarray(text([word]))[0, 0])
        np.testing.assert_array_equal(vectors[word], table[row])


def test_vocabulary_past_the_table_is_refused():
    with pytest.raises(
        ValueError, match=r"7 rows.*has 6.*\['extra'\] at row\(s\) \[6\]"
    ):
        keras_embedplus.to_keyed_vectors(_word_layer(), [*VOCAB, "extra"])
    # Reserved rows past the table are not words: nothing is lost.
    vectors = keras_embedplus.to_keyed_vectors(_word_layer(), [*VOCAB, ""])
    assert vectors.index_to_key == ["good", "great", "bad", "awful"]


def _lookup_ids(lookup, tokens):
    return np.asarray(lookup(np.array(tokens))).astype("int64")


@pytest.mark.parametrize(
    "options",
    [{}, {"mask_token": 0}, {"mask_token": 0, "num_oov_indices": 2}],
)
def test_integer_lookup_exports_its_integers_as_words(tmp_path, options):
    values = [7, 12, 0, 3] if "mask_token" not in options else [7, 12, 3]
    lookup = keras.layers.IntegerLookup(vocabulary=values, **options)
    table = np.arange(lookup.vocabulary_size() * 2, dtype="float32")
    layer = keras_embedplus.Embedding(
        lookup.vocabulary_size(), 2, weights=table.reshape(-1, 2)
    )
    vectors = keras_embedplus.to_keyed_vectors(layer, lookup)
    assert vectors.index_to_key == [str(value) for value in values]
    # The row of each word is the id the lookup gives it.
    expected = layer.get_weights()[0][_lookup_ids(lookup, values)]
    np.testing.assert_array_equal(vectors.vectors, expected)
    assert "-1" not in vectors.key_to_index

    path = keras_embedplus.save_vectors(layer, lookup, tmp_path / "v.txt")
    assert load_vectors(path).index_to_key == vectors.index_to_key
    _, metadata = keras_embedplus.export_projector(
        layer, lookup, tmp_path / "projector"
    )
    with open(metadata, encoding="utf-8") as file:
        assert file.read().splitlines() == vectors.index_to_key


def test_a_list_of_integers_points_to_the_lookup_layer():
    lookup = keras.layers.IntegerLookup(vocabulary=[7, 12])
    with pytest.raises(TypeError, match="pass the `IntegerLookup` layer"):
        keras_embedplus.to_keyed_vectors(
            keras_embedplus.Embedding(3, 2, input_length=1),
            lookup.get_vocabulary(),
        )


def test_a_list_of_strings_keeps_what_it_is_given():
    # IntegerLookup's OOV token as a string is an ordinary token in a list.
    vocabulary = ["-1", "7", "12"]
    layer = keras_embedplus.Embedding(3, 2, input_length=1)
    vectors = keras_embedplus.to_keyed_vectors(layer, vocabulary)
    assert vectors.index_to_key == vocabulary


def test_mask_zero_makes_row_zero_padding_for_every_tool(tmp_path):
    layer = keras_embedplus.Embedding(
        4, 2, mask_zero=True, weights=WORD_TABLE[:4]
    )
    words = ["pad", "good", "great", "bad"]
    vectors = keras_embedplus.to_keyed_vectors(layer, words)
    assert vectors.index_to_key == ["good", "great", "bad"]
    np.testing.assert_array_equal(vectors.vectors, WORD_TABLE[1:4])


def test_text_vectorization_and_string_lookup_rows_are_their_ids():
    text = keras.layers.TextVectorization()
    text.adapt(["b a c", "c d"])
    lookup = keras.layers.StringLookup(
        vocabulary=["x", "y"], mask_token="", num_oov_indices=2
    )
    for vocabulary, expected_words, ids in [
        (
            text,
            text.get_vocabulary(include_special_tokens=False),
            lambda words: np.asarray(text(np.array(words)))[:, 0],
        ),
        (lookup, ["x", "y"], lambda words: _lookup_ids(lookup, words)),
    ]:
        size = len(vocabulary.get_vocabulary())
        layer = keras_embedplus.Embedding(
            size, 3, input_length=1, weights=np.eye(size, 3, dtype="float32")
        )
        layer.build()
        vectors = keras_embedplus.to_keyed_vectors(layer, vocabulary)
        assert vectors.index_to_key == list(expected_words)
        np.testing.assert_array_equal(
            vectors.vectors,
            layer.get_weights()[0][ids(list(expected_words))],
        )


_TOKENS = st.text(
    alphabet=st.characters(
        whitelist_categories=("L", "N"), max_codepoint=0x2FF
    ),
    min_size=1,
    max_size=6,
)


def _reference_words(vocabulary, mask_zero):
    """The rows that are words, written out the simplest way."""
    return [
        (row, token)
        for row, token in enumerate(vocabulary)
        if token not in ("", "[UNK]") and not (mask_zero and row == 0)
    ]


@settings(max_examples=30, deadline=None)
@given(
    words=st.lists(_TOKENS, min_size=1, max_size=12, unique=True),
    reserved=st.lists(
        st.tuples(st.integers(0, 12), st.sampled_from(["", "[UNK]"])),
        max_size=4,
    ),
    extra_rows=st.integers(0, 3),
    mask_zero=st.booleans(),
    fmt=st.sampled_from(["word2vec", "word2vec-binary", "projector"]),
    seed=st.integers(0, 2**16),
)
def test_export_then_read_gives_exactly_the_word_rows(
    tmp_path_factory, words, reserved, extra_rows, mask_zero, fmt, seed
):
    vocabulary = list(words)
    for position, token in reserved:
        vocabulary.insert(min(position, len(vocabulary)), token)
    expected = _reference_words(vocabulary, mask_zero)
    table = (
        np.random.default_rng(seed)
        .normal(size=(len(vocabulary) + extra_rows, 3))
        .astype("float32")
    )
    layer = keras_embedplus.Embedding(
        len(table), 3, mask_zero=mask_zero, weights=table
    )
    if not expected:
        with pytest.raises(ValueError):
            keras_embedplus.to_keyed_vectors(layer, vocabulary)
        return
    directory = tmp_path_factory.mktemp("export")
    if fmt == "projector":
        vectors_tsv, metadata = keras_embedplus.export_projector(
            layer, vocabulary, directory
        )
        read = np.loadtxt(vectors_tsv, delimiter="\t", ndmin=2)
        with open(metadata, encoding="utf-8") as file:
            keys = file.read().splitlines()
        np.testing.assert_allclose(read, table[[r for r, _ in expected]])
    else:
        path = keras_embedplus.save_vectors(
            layer, vocabulary, directory / "v.txt", format=fmt
        )
        read_back = load_vectors(path)
        keys = read_back.index_to_key
        np.testing.assert_array_equal(
            read_back.vectors, table[[r for r, _ in expected]]
        )
    assert keys == [token for _, token in expected]


@pytest.mark.parametrize(
    "format, gensim_kwargs",
    [
        ("word2vec", {}),
        ("word2vec-binary", {"binary": True}),
        pytest.param(
            "glove",
            {"no_header": True},
            # gensim's no_header reader leaves its line-counting file open.
            marks=pytest.mark.filterwarnings(
                "ignore::pytest.PytestUnraisableExceptionWarning"
            ),
        ),
    ],
)
def test_save_vectors_reads_back_exactly(tmp_path, format, gensim_kwargs):
    from gensim.models import KeyedVectors

    from keras_embedplus.vectors import load_vectors

    path = keras_embedplus.save_vectors(
        _word_layer(), VOCAB, tmp_path / "new" / "v.txt", format=format
    )
    assert path == tmp_path / "new" / "v.txt"
    for vectors in (
        KeyedVectors.load_word2vec_format(path, **gensim_kwargs),
        load_vectors(path),
    ):
        assert vectors.index_to_key == ["good", "great", "bad", "awful"]
        np.testing.assert_array_equal(vectors.vectors, WORD_TABLE[2:])


def test_save_vectors_names_a_token_the_format_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="new york"):
        keras_embedplus.save_vectors(
            _word_layer(),
            ["", "[UNK]", "good", "new york", "bad", "x"],
            tmp_path / "v.txt",
        )


def test_export_projector_writes_the_words_and_vectors(tmp_path):
    vectors_path, metadata_path = keras_embedplus.export_projector(
        _word_layer(), VOCAB, tmp_path / "projector"
    )
    rows = np.loadtxt(vectors_path, delimiter="\t", dtype="float32")
    np.testing.assert_array_equal(rows, WORD_TABLE[2:])
    with open(metadata_path, encoding="utf-8") as file:
        assert file.read().splitlines() == ["good", "great", "bad", "awful"]
    config = (tmp_path / "projector" / "projector_config.pbtxt").read_text()
    assert 'tensor_path: "vectors.tsv"' in config


@settings(max_examples=20, deadline=None)
@given(
    values=st.lists(
        st.integers(1, 10_000), min_size=1, max_size=8, unique=True
    ),
    mask_token=st.sampled_from([None, 0]),
    num_oov_indices=st.integers(0, 2),
)
def test_integer_lookup_rows_are_the_ids_it_gives(
    values, mask_token, num_oov_indices
):
    lookup = keras.layers.IntegerLookup(
        vocabulary=values,
        mask_token=mask_token,
        num_oov_indices=num_oov_indices,
    )
    size = lookup.vocabulary_size()
    table = np.arange(size * 2, dtype="float32").reshape(size, 2)
    layer = keras_embedplus.Embedding(size, 2, weights=table)
    vectors = keras_embedplus.to_keyed_vectors(layer, lookup)
    assert sorted(vectors.index_to_key) == sorted(map(str, values))
    for value, row in zip(values, _lookup_ids(lookup, values), strict=True):
        np.testing.assert_array_equal(vectors[str(value)], table[row])

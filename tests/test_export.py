import keras
import numpy as np
import pytest

import keras_embedplus
from keras_embedplus.tools import export

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
    expected = np.asarray(layer(np.arange(6)))
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
    np.testing.assert_allclose(exported, np.asarray(layer(np.arange(20_000))))
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
        np.asarray(layer(np.arange(6))), export.layer_table(layer)
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
    with pytest.raises(ValueError, match=r"7 rows.*has 6.*\['extra'\]"):
        keras_embedplus.to_keyed_vectors(_word_layer(), [*VOCAB, "extra"])


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

    from keras_embedplus.vectors.read import load_vectors

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

"""SubwordEmbedding: fastText's vectors in a layer, against gensim's.

`make test` runs this file on TensorFlow, JAX and PyTorch. On every backend
the ids are made by TensorFlow ops (`layer.subword_ids`, eagerly or in
`tf.data`) and the bag runs on the backend; on TensorFlow the layer also
takes the strings inside a model.
"""

import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from gensim.models.fasttext import load_facebook_vectors
from gensim.test.utils import datapath
from keras import ops

import keras_embedplus
from tests.harness import requires_tensorflow

BACKEND = keras.backend.backend()
# gensim's shipped fastText models: old and new .bin formats, Czech with
# minn=2 (non_ascii), Russian (crime-and-punishment), a cp852 vocabulary.
FILES = [
    "lee_fasttext.bin",
    "lee_fasttext_new.bin",
    "non_ascii_fasttext.bin",
    "crime-and-punishment.bin",
    "toy-model.bin",
    "cp852_fasttext.bin",
]
UNSEEN = ["nighttime", "zzyzx", "ñandú", "Достоевский", "日本", "xy"]


def words_of(vectors):
    return vectors.index_to_key[:40] + vectors.index_to_key[-5:] + UNSEEN


def numpy(x):
    return ops.convert_to_numpy(x)


@pytest.mark.parametrize("name", FILES)
def test_vectors_equal_gensims_for_known_and_unseen_words(name):
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(datapath(name))
    vectors = load_facebook_vectors(datapath(name))
    words = words_of(vectors)
    expected = np.stack([vectors[word] for word in words])
    np.testing.assert_allclose(
        numpy(layer(np.array(words))), expected, atol=1e-5, rtol=0
    )
    # The two steps apart: ids (TensorFlow ops), then the bag (backend).
    np.testing.assert_allclose(
        numpy(layer(layer.subword_ids(np.array(words)))),
        expected,
        atol=1e-5,
        rtol=0,
    )


def test_empty_string_gives_zeros_and_shapes_follow_the_tokens():
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(
        datapath("toy-model.bin")
    )
    out = numpy(layer(np.array([["the", ""], ["", "zzyzx"]])))
    assert out.shape == (2, 2, 5)
    assert not out[0, 1].any() and not out[1, 0].any()
    assert out[0, 0].any() and out[1, 1].any()
    assert numpy(layer(np.array([""]))).tolist() == [[0.0] * 5]


def ids_dataset(layer, words, targets, batch_size=4):
    """Ids made in tf.data, as a JAX or PyTorch model is fed."""
    data = tf.data.Dataset.from_tensor_slices((words, targets))
    return data.batch(batch_size).map(
        lambda tokens, y: (layer.subword_ids(tokens), y)
    )


def test_ids_from_tf_data_give_the_same_vectors_in_a_model():
    name = "lee_fasttext_new.bin"
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(datapath(name))
    vectors = load_facebook_vectors(datapath(name))
    words = np.array(words_of(vectors))
    ids = keras.Input((None,), dtype="int32")
    model = keras.Model(ids, layer(ids))
    dataset = ids_dataset(layer, words, np.zeros(len(words)))
    predicted = model.predict(dataset.map(lambda x, y: x), verbose=0)
    expected = np.stack([vectors[word] for word in words])
    np.testing.assert_allclose(predicted, expected, atol=1e-5, rtol=0)


def moved_rows(before, after):
    return set(np.flatnonzero(np.abs(after - before).sum(axis=1)).tolist())


def test_fine_tuning_moves_only_the_rows_looked_up():
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(
        datapath("toy-model.bin"), trainable=True
    )
    words = np.array(["the", "zzyzx", "", "of"])
    targets = np.ones((4, 5), "float32")
    ids = keras.Input((None,), dtype="int32")
    model = keras.Model(ids, layer(ids))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    before = layer.get_weights()[0].copy()
    model.fit(ids_dataset(layer, words, targets), verbose=0, shuffle=False)
    after = layer.get_weights()[0]
    looked_up = set(numpy(layer.subword_ids(words)).ravel().tolist()) - {0}
    assert moved_rows(before, after) == looked_up
    assert 0 not in looked_up and not after[0].any()  # the padding row


def test_from_fasttext_is_frozen_by_default():
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(
        datapath("toy-model.bin")
    )
    assert not layer.trainable and not layer.trainable_weights
    assert len(layer.non_trainable_weights) == 1
    vectors = load_facebook_vectors(datapath("toy-model.bin"))
    table = layer.get_weights()[0]
    assert table.shape == (1 + len(vectors) + vectors.bucket, 5)
    np.testing.assert_array_equal(
        table[1 : 1 + len(vectors)], vectors.vectors_vocab
    )
    np.testing.assert_array_equal(
        table[1 + len(vectors) :], vectors.vectors_ngrams
    )


def test_a_saved_model_reloads_without_the_bin(tmp_path):
    source = tmp_path / "model.bin"
    shutil.copy(datapath("crime-and-punishment.bin"), source)
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(
        source, trainable=True
    )
    words = np.array(["и", "the", "Раскольников", "zzyzx", ""])
    ids = keras.Input((None,), dtype="int32")
    model = keras.Model(ids, keras.layers.Dense(3)(layer(ids)))
    x = numpy(layer.subword_ids(words))
    expected = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    os.remove(source)
    revived = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(revived.predict(x, verbose=0), expected)
    revived_layer = revived.layers[1]
    assert isinstance(revived_layer, keras_embedplus.SubwordEmbedding)
    assert revived_layer.trainable
    np.testing.assert_array_equal(numpy(revived_layer.subword_ids(words)), x)


@requires_tensorflow
def test_strings_inside_a_tensorflow_model_fit_save_and_reload(tmp_path):
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(
        datapath("toy-model.bin"), trainable=True
    )
    tokens = keras.Input((2,), dtype="string")
    model = keras.Model(
        tokens, keras.layers.Dense(1)(keras.layers.Flatten()(layer(tokens)))
    )
    model.compile(optimizer="adam", loss="mse")
    words = tf.constant([["the", "zzyzx"], ["of", ""]])
    before = layer.get_weights()[0].copy()
    model.fit(words, np.ones((2, 1)), epochs=2, verbose=0)
    looked_up = set(numpy(layer.subword_ids(words)).ravel().tolist()) - {0}
    assert moved_rows(before, layer.get_weights()[0]) == looked_up
    path = tmp_path / "strings.keras"
    model.save(path)
    revived = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        revived.predict(words, verbose=0), model.predict(words, verbose=0)
    )


@requires_tensorflow
def test_the_gradient_of_the_table_is_row_sparse_on_tensorflow():
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(
        datapath("toy-model.bin"), trainable=True
    )
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant(["the", "zzyzx"])))
    (gradient,) = tape.gradient(loss, layer.trainable_variables)
    assert isinstance(gradient, tf.IndexedSlices)


def test_to_keyed_vectors_gives_gensims_vectors_for_any_words():
    name = "lee_fasttext.bin"
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(datapath(name))
    vectors = load_facebook_vectors(datapath(name))
    words = words_of(vectors)
    exported = keras_embedplus.to_keyed_vectors(layer, ["", *words])
    assert exported.index_to_key == words
    np.testing.assert_allclose(
        exported.vectors,
        np.stack([vectors[word] for word in words]),
        atol=1e-5,
        rtol=0,
    )


def test_config_round_trip_and_a_fresh_layer():
    layer = keras_embedplus.SubwordEmbedding(
        ["ünï", "b"], 4, minn=2, maxn=4, bucket=11, name="sub"
    )
    config = layer.get_config()
    assert {"input_dim", "combiner", "mask_zero"}.isdisjoint(config)
    assert (config["vocabulary"], config["bucket"]) == (["ünï", "b"], 11)
    revived = keras_embedplus.SubwordEmbedding.from_config(config)
    assert revived.get_config() == config
    assert numpy(revived(np.array(["ünïcode"]))).shape == (1, 4)
    assert layer.input_dim == 2 + 11 + 1


@pytest.mark.parametrize("argument", ["input_dim", "combiner", "mask_zero"])
def test_derived_arguments_are_refused(argument):
    with pytest.raises(ValueError, match=f"`{argument}` of a SubwordEmb"):
        keras_embedplus.SubwordEmbedding(["a"], 2, **{argument: 3})


def test_a_fine_tuned_layer_writes_a_fasttext_bin_gensim_reads_back(
    tmp_path,
):
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(
        datapath("crime-and-punishment.bin"), trainable=True
    )
    table = layer.get_weights()[0]
    noise = np.random.default_rng(0).normal(size=table.shape)
    layer.set_weights(
        [
            (table + noise * (np.arange(len(table)) > 0)[:, None]).astype(
                "float32"
            )
        ]
    )
    path = keras_embedplus.save_vectors(
        layer, None, tmp_path / "out" / "tuned.bin", format="fasttext-bin"
    )
    vectors = load_facebook_vectors(str(path))
    words = words_of(vectors)
    np.testing.assert_allclose(
        np.stack([vectors[word] for word in words]),
        numpy(layer(np.array(words))),
        atol=1e-5,
        rtol=0,
    )
    with pytest.raises(ValueError, match="own vocabulary"):
        keras_embedplus.save_vectors(
            layer, ["x"], tmp_path / "x.bin", format="fasttext-bin"
        )
    with pytest.raises(ValueError, match="needs a `SubwordEmbedding`"):
        keras_embedplus.save_vectors(
            keras_embedplus.Embedding(3, 2, input_length=1),
            None,
            tmp_path / "y.bin",
            format="fasttext-bin",
        )


def test_the_shared_layer_checks_on_ids():
    from tests.harness import run_layer_test

    vocabulary = ["night", "time", "ünï"]
    make_ids = keras_embedplus.SubwordIds(
        vocabulary, minn=2, maxn=4, bucket=50, mask_zero=True
    )
    ids = numpy(make_ids(np.array(["night", "nighttime", "", "ünïcode"])))
    run_layer_test(
        keras_embedplus.SubwordEmbedding,
        {
            "vocabulary": vocabulary,
            "output_dim": 3,
            "minn": 2,
            "maxn": 4,
            "bucket": 50,
        },
        ids,
        expected_output_shape=(4, 3),
        expected_num_trainable_weights=1,
    )


def test_input_length_is_refused():
    with pytest.raises(ValueError, match="no `input_length`"):
        keras_embedplus.SubwordEmbedding(["a"], 2, input_length=4)


@requires_tensorflow
@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_a_quantized_layer_still_takes_strings(mode):
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(
        datapath("lee_fasttext_new.bin")
    )
    words = tf.constant(["night", "nighttime", ""])
    expected = numpy(layer(words))
    layer.quantize(mode)
    got = numpy(layer(words))
    assert got.shape == expected.shape and not got[2].any()
    np.testing.assert_allclose(
        got, expected, atol=0.5 if mode == "int4" else 0.1
    )


def test_weights_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"len\(vocabulary\) \+ bucket \+ 1"):
        keras_embedplus.SubwordEmbedding(
            ["a"], 2, bucket=3, weights=np.zeros((4, 2))
        )
    layer = keras_embedplus.SubwordEmbedding(
        ["a"], 2, bucket=3, weights=[np.ones((5, 2))]
    )
    assert layer.get_config()["embeddings_initializer"]["class_name"] == (
        "RandomUniform"
    )
    assert layer.get_weights()[0].sum() == 10


def test_subword_ids_give_backend_tensors_eagerly_and_tf_tensors_in_tf_data():
    layer = keras_embedplus.SubwordIds(["cat"], minn=3, maxn=3, bucket=10)
    eager = layer(np.array(["cat", "cats"]))
    assert keras.ops.is_tensor(eager)
    assert keras.backend.standardize_dtype(eager.dtype) == "int32"
    dataset = tf.data.Dataset.from_tensor_slices(["cat", "cats"]).batch(2)
    (in_pipeline,) = list(dataset.map(layer))
    assert isinstance(in_pipeline, tf.Tensor)
    np.testing.assert_array_equal(in_pipeline.numpy(), numpy(eager))
    from gensim.models.fasttext import ft_ngram_hashes

    assert numpy(eager).tolist() == [
        [0] + [1 + h for h in ft_ngram_hashes("cat", 3, 3, 10)],
        [1 + h for h in ft_ngram_hashes("cats", 3, 3, 10)],
    ]


def test_tools_refuse_its_raw_rows_and_plot_its_vectors(tmp_path):
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(
        datapath("toy-model.bin")
    )
    words = ["the", "of", "zzyzx"]
    with pytest.raises(TypeError, match="not word vectors"):
        keras_embedplus.plot_embeddings(layer, words, tmp_path / "a.png")
    vectors = keras_embedplus.to_keyed_vectors(layer, words)
    keras_embedplus.plot_embeddings(vectors, words, tmp_path / "b.png")
    assert (tmp_path / "b.png").is_file()


def test_a_file_without_subword_rows_is_refused_by_name():
    path = datapath("pang_lee_polarity_fasttext.bin")  # supervised
    with pytest.raises(ValueError, match="no character n-gram rows") as info:
        keras_embedplus.SubwordEmbedding.from_fasttext(path)
    assert "pang_lee_polarity_fasttext.bin" in str(info.value)

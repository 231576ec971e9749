import keras
import numpy as np
import pytest
from gensim.models import KeyedVectors
from keras import ops

from keras_embedplus import PretrainedEmbedding
from tests.harness import id_error
from tests.harness import requires_tensorflow
from tests.harness import run_layer_test
from tests.harness import table

WORDS = ["hope", "to", "see", "you", "soon", "nice", "again"]
RNG = np.random.default_rng(0)
PRETRAINED = RNG.normal(size=(len(WORDS), 4)).astype("float32")
VECTORS = KeyedVectors(4)
VECTORS.add_vectors(WORDS, PRETRAINED)
# Row 0 padding, row 1 OOV, then words; "Soon" is found through lowercase,
# "qwzx" and "blorp" have no vector.
VOCABULARY = ["", "[UNK]", "hope", "to", "see", "you", "Soon", "qwzx", "blorp"]
IDS = np.array([[2, 3, 4, 5, 6], [7, 3, 4, 5, 8]], dtype="int32")
TRAINABLE_ROWS = [1, 7, 8]
FROZEN_ROWS = [0, 2, 3, 4, 5, 6]


def from_vectors(**kwargs):
    return PretrainedEmbedding.from_vectors(
        VECTORS, VOCABULARY, **{"seed": 1, **kwargs}
    )


def test_layer_harness_frozen():
    run_layer_test(
        PretrainedEmbedding,
        {},
        IDS,
        expected_output_shape=(2, 5, 4),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=1,
        run_training_check=False,
        make_layer=from_vectors,
    )


def test_layer_harness_trainable_oov_with_mask():
    run_layer_test(
        PretrainedEmbedding,
        {"trainable_oov": True, "mask_zero": True},
        IDS,
        expected_output_shape=(2, 5, 4),
        expected_num_trainable_weights=1,
        expected_num_non_trainable_weights=2,
        expected_mask=IDS != 0,
        make_layer=from_vectors,
    )


def test_rows_are_the_pretrained_vectors_and_coverage_is_reported():
    layer = from_vectors(oov="zeros")
    table = ops.convert_to_numpy(layer.embeddings)
    for row, token in enumerate(VOCABULARY):
        if token.lower() in WORDS:
            np.testing.assert_array_equal(table[row], VECTORS[token.lower()])
        else:
            np.testing.assert_array_equal(table[row], np.zeros(4))
    coverage = layer.coverage
    assert (coverage.found, coverage.found_lowercase) == (4, 1)
    assert coverage.missing == ("qwzx", "blorp")
    assert coverage.reserved == 2
    assert "qwzx" in str(coverage)


def fit_a_few_steps(layer, optimizer):
    model = keras.Sequential([keras.Input((5,), dtype="int32"), layer])
    model.compile(optimizer, "mse")
    model.fit(IDS, np.ones((2, 5, 4)), epochs=3, verbose=0)
    return model


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: keras.optimizers.SGD(0.5),
        lambda: keras.optimizers.AdamW(0.1, weight_decay=0.5),
    ],
    ids=["sgd", "adamw"],
)
def test_trainable_oov_trains_only_rows_without_vectors(optimizer):
    layer = from_vectors(trainable_oov=True)
    before = table(layer)
    fit_a_few_steps(layer, optimizer())
    after = table(layer)
    np.testing.assert_array_equal(after[FROZEN_ROWS], before[FROZEN_ROWS])
    # Rows 7 and 8 were looked up and moved; row 1 ([UNK]) was not.
    assert not np.array_equal(after[[7, 8]], before[[7, 8]])
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(IDS)), after[IDS])


@pytest.mark.filterwarnings("ignore:The model does not have any trainable")
def test_frozen_layer_does_not_move_and_can_be_unfrozen(tmp_path):
    layer = from_vectors()
    before = table(layer)
    model = fit_a_few_steps(layer, keras.optimizers.SGD(0.5))
    np.testing.assert_array_equal(table(layer), before)
    layer.trainable = True
    assert len(layer.trainable_weights) == 1
    model.compile(keras.optimizers.SGD(0.5), "mse")
    model.fit(IDS, np.ones((2, 5, 4)), verbose=0)
    assert not np.array_equal(table(layer)[2], before[2])
    path = tmp_path / "fine_tuned.keras"
    model.save(path)
    revived = keras.saving.load_model(path, safe_mode=True)
    assert revived.layers[0].trainable
    assert revived.layers[0].pretrained_trainable
    assert len(revived.layers[0].trainable_weights) == 1


def test_saved_model_reloads_without_the_vector_file(tmp_path):
    vector_file = tmp_path / "vectors.txt"
    VECTORS.save_word2vec_format(str(vector_file))
    layer = PretrainedEmbedding.from_vectors(
        str(vector_file), VOCABULARY, trainable_oov=True, seed=3
    )
    model = fit_a_few_steps(layer, keras.optimizers.SGD(0.5))
    expected = model.predict(IDS, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    vector_file.unlink()
    revived = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(revived.predict(IDS, verbose=0), expected)
    np.testing.assert_array_equal(table(revived.layers[0]), table(layer))


def test_path_loads_only_the_vocabulary(tmp_path):
    vector_file = tmp_path / "vectors.txt"
    VECTORS.save_word2vec_format(str(vector_file))
    layer = PretrainedEmbedding.from_vectors(
        str(vector_file), VOCABULARY, oov="zeros"
    )
    reference = from_vectors(oov="zeros")
    np.testing.assert_array_equal(table(layer), table(reference))


def test_path_finds_words_in_any_case_as_in_memory(tmp_path):
    # The file's only forms are "iPhone" and "McDonald": no lower, UPPER or
    # Title variant of the vocabulary's words.
    words = ["iPhone", "the", "McDonald", "IPHONE"]
    vectors = KeyedVectors(4)
    vectors.add_vectors(words, RNG.normal(size=(4, 4)).astype("float32"))
    vector_file = tmp_path / "vectors.txt"
    vectors.save_word2vec_format(str(vector_file))
    vocabulary = ["", "[UNK]", "iphone", "mcdonald", "The", "nope"]
    layer = PretrainedEmbedding.from_vectors(
        str(vector_file), vocabulary, oov="zeros"
    )
    reference = PretrainedEmbedding.from_vectors(
        vectors, vocabulary, oov="zeros"
    )
    np.testing.assert_array_equal(table(layer), table(reference))
    # The first form in the file wins: "iPhone", not "IPHONE".
    np.testing.assert_array_equal(table(layer)[2], vectors["iPhone"])
    assert layer.coverage.found_lowercase == 3
    assert layer.coverage.missing == ("nope",)


def test_text_vectorization_vocabulary():
    vectorizer = keras.layers.TextVectorization(output_sequence_length=5)
    vectorizer.adapt(["Hope to see you soon", "Nice to see you again"])
    layer = PretrainedEmbedding.from_vectors(
        VECTORS, vectorizer, mask_zero=True, oov="zeros"
    )
    assert layer.input_dim == len(vectorizer.get_vocabulary())
    assert layer.coverage.missing == ()
    ids = vectorizer(["hope to see"])
    output = ops.convert_to_numpy(layer(ids))
    np.testing.assert_array_equal(output[0, :3], PRETRAINED[[0, 1, 2]])
    np.testing.assert_array_equal(output[0, 3:], np.zeros((2, 4)))
    mask = ops.convert_to_numpy(layer.compute_mask(ids))
    np.testing.assert_array_equal(mask, [[True, True, True, False, False]])


def test_mask_zero_needs_padding_first():
    with pytest.raises(ValueError, match="row 0 of the vocabulary is the word"):
        PretrainedEmbedding.from_vectors(VECTORS, WORDS, mask_zero=True)


def test_input_length_in_a_sequential_model():
    model = keras.Sequential()
    model.add(from_vectors(input_length=5))
    assert model.output_shape == (None, 5, 4)
    assert model.count_params() == len(VOCABULARY) * 4


def test_bad_id_names_the_layer():
    layer = from_vectors(name="glove")
    with pytest.raises(id_error(), match=r"`glove`.*received id 9,"):
        layer(np.array([[9]]))


def test_quantize_is_refused_with_trainable_oov_and_works_without():
    layer = from_vectors(trainable_oov=True)
    with pytest.raises(NotImplementedError, match="trainable_oov"):
        layer.quantize("int8")
    layer = from_vectors()
    layer.quantize("int8")
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(IDS)),
        table(from_vectors())[IDS],
        atol=0.05,
    )


@requires_tensorflow
def test_ragged_ids_with_trainable_oov():
    import tensorflow as tf

    layer = from_vectors(trainable_oov=True)
    ragged = tf.ragged.constant([[2, 7], [8]])
    output = layer(ragged)
    np.testing.assert_array_equal(
        output.flat_values.numpy(), table(layer)[[2, 7, 8]]
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"trainable_oov": True}, "needs `oov_ids`"),
        ({"trainable_oov": "yes"}, "`trainable_oov` must be a boolean"),
        ({"oov_ids": [0, 9]}, "`oov_ids` must be distinct"),
        ({"oov_ids": [1, 1]}, "`oov_ids` must be distinct"),
        ({"pretrained_trainable": 1}, "`pretrained_trainable` must be"),
        ({"trainable": 1}, "`trainable` must be a boolean"),
        ({"weights": np.zeros((3, 4))}, "expects `weights` of shape"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PretrainedEmbedding(5, 4, **kwargs)


def test_mask_zero_refuses_unk_at_id_0_of_a_dict_too():
    vocabulary = {"[UNK]": 0, "hope": 1, "to": 2}
    with pytest.raises(ValueError, match=r"id 0.*'\[UNK\]'.*mask_token"):
        PretrainedEmbedding.from_vectors(VECTORS, vocabulary, mask_zero=True)


class CountingVocabulary:
    """A lookup-like vocabulary that counts how often it is read."""

    def __init__(self, tokens):
        self.tokens = tokens
        self.reads = 0

    def get_vocabulary(self, include_special_tokens=True):
        self.reads += 1
        return list(self.tokens if include_special_tokens else self.tokens[2:])


@pytest.mark.parametrize("mask_zero", [False, True])
def test_from_vectors_reads_the_vocabulary_once(mask_zero, tmp_path):
    from keras_embedplus.vectors.vocabulary import vocabulary_rows

    tokens = ["", "[UNK]", "hope", "to", "Soon"]
    alone = CountingVocabulary(tokens)
    vocabulary_rows(alone)
    path = tmp_path / "vectors.txt"
    path.write_text("hope 1 2\nto 3 4\nsoon 5 6\n", encoding="utf-8")
    for source in (VECTORS, path):
        vocabulary = CountingVocabulary(tokens)
        layer = PretrainedEmbedding.from_vectors(
            source, vocabulary, mask_zero=mask_zero, oov="zeros"
        )
        assert vocabulary.reads == alone.reads
        assert layer.coverage.found_lowercase == 1


def test_a_numpy_integer_seed_is_a_seed():
    # Python's and numpy's integers are integers, as everywhere in the
    # package; booleans are not (see test_pretrained_contract).
    np.testing.assert_array_equal(
        table(from_vectors(seed=np.int64(3))), table(from_vectors(seed=3))
    )

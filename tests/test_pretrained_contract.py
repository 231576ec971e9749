"""`PretrainedEmbedding` keeps Keras' contract: `trainable`, weights, seeds.

Run on TensorFlow, JAX and PyTorch: `layer.trainable = True` used to be a
no-op on TensorFlow only (Keras' TF layer skips an assignment of the value
an attribute already has).
"""

import warnings

import keras
import numpy as np
import pytest
from gensim.models import KeyedVectors
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keras import ops

import keras_embedplus
from keras_embedplus import PretrainedEmbedding
from keras_embedplus.vectors import for_vocabulary
from tests.harness import run_layer_test
from tests.harness import table

WORDS = ["hope", "to", "see", "you", "soon"]
PRETRAINED = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
VECTORS = KeyedVectors(4)
VECTORS.add_vectors(WORDS, PRETRAINED)
# Row 0 padding, row 1 [UNK], rows 2-5 words with vectors, 6-7 without.
VOCABULARY = ["", "[UNK]", "hope", "to", "see", "you", "qwzx", "blorp"]
IDS = np.array([[2, 3, 6, 7], [4, 5, 6, 2]], dtype="int32")
PRETRAINED_ROWS = [2, 3, 4, 5]
OOV_ROWS = [6, 7]  # looked up; [UNK] (row 1) is not
NO_TRAINABLE_WEIGHTS = "ignore:The model does not have any trainable"


def from_vectors(**kwargs):
    return PretrainedEmbedding.from_vectors(
        VECTORS, VOCABULARY, **{"seed": 1, **kwargs}
    )


def fit(model, steps=2):
    # AdamW's weight decay moves every trainable row, looked up or not.
    model.compile(keras.optimizers.AdamW(0.05, weight_decay=0.5), "mse")
    model.fit(IDS, np.ones((2, 4, 4)), epochs=steps, verbose=0)


def sequential(layer):
    return keras.Sequential([keras.Input((4,), dtype="int32"), layer])


def moved_rows(layer, train):
    before = table(layer)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The model does not have any")
        train()
    after = table(layer)
    return [
        row
        for row in range(len(before))
        if not np.array_equal(before[row], after[row])
    ]


def default():
    return from_vectors()


def constructor_true():
    return from_vectors(trainable=True)


def attribute_true():
    layer = from_vectors()
    layer.trainable = True
    return layer


def oov_only():
    return from_vectors(trainable_oov=True)


def oov_then_attribute_true():
    # The case TensorFlow's setattr short cut swallowed: already `True`.
    layer = from_vectors(trainable_oov=True)
    assert layer.trainable is True
    layer.trainable = True
    return layer


def oov_constructor_false():
    return from_vectors(trainable_oov=True, trainable=False)


def oov_attribute_false():
    layer = from_vectors(trainable_oov=True)
    layer.trainable = False
    return layer


def direct_constructor_true():
    return PretrainedEmbedding(8, 4, weights=table(default()), trainable=True)


ALL_ROWS = PRETRAINED_ROWS + OOV_ROWS + [0, 1]
# (make the layer, its `trainable`, rows AdamW may move, rows that must move)
STATES = {
    "default": (default, False, [], []),
    "constructor_true": (constructor_true, True, ALL_ROWS, ALL_ROWS),
    "attribute_true": (attribute_true, True, ALL_ROWS, ALL_ROWS),
    "direct_true": (direct_constructor_true, True, ALL_ROWS, ALL_ROWS),
    "oov_only": (oov_only, True, OOV_ROWS + [1], OOV_ROWS),
    "oov_then_true": (oov_then_attribute_true, True, ALL_ROWS, ALL_ROWS),
    "oov_false": (oov_constructor_false, False, [], []),
    "oov_attribute_false": (oov_attribute_false, False, [], []),
}


@pytest.mark.parametrize("state", STATES)
def test_trainable_is_the_switch_and_survives_a_reload(state, tmp_path):
    make, trainable, may_move, must_move = STATES[state]
    layer = make()
    assert layer.trainable is trainable
    model = sequential(layer)
    moved = moved_rows(layer, lambda: fit(model))
    assert set(must_move) - {0, 1} <= set(moved) <= set(may_move), moved
    assert layer.pretrained_trainable == (2 in may_move)
    path = tmp_path / "model.keras"
    model.save(path)
    revived = keras.saving.load_model(path, safe_mode=True)
    again = revived.layers[0]
    assert again.trainable is trainable
    assert again.pretrained_trainable == layer.pretrained_trainable
    assert [w.path for w in again.trainable_weights] == [
        w.path for w in layer.trainable_weights
    ]
    np.testing.assert_array_equal(table(again), table(layer))
    moved_again = moved_rows(again, lambda: fit(revived))
    assert set(must_move) - {0, 1} <= set(moved_again) <= set(may_move)


@pytest.mark.filterwarnings(NO_TRAINABLE_WEIGHTS)
def test_model_trainable_freezes_and_unfreezes_the_table():
    layer = from_vectors(trainable_oov=True)
    model = sequential(layer)
    model.trainable = False
    assert moved_rows(layer, lambda: fit(model)) == []
    model.trainable = True  # Keras' "unfreeze the base model": all of it
    assert set(PRETRAINED_ROWS) <= set(moved_rows(layer, lambda: fit(model)))


def test_deprecated_pretrained_trainable_agrees_with_trainable():
    layer = from_vectors(trainable_oov=True)
    with pytest.warns(DeprecationWarning, match="layer.trainable = True"):
        layer.pretrained_trainable = True
    assert layer.trainable and layer.pretrained_trainable
    assert len(layer.trainable_weights) == 2
    with pytest.warns(DeprecationWarning):
        layer.pretrained_trainable = False
    assert layer.trainable and not layer.pretrained_trainable
    assert [w.name for w in layer.trainable_weights] == ["oov_embeddings"]
    # As a constructor argument alone it still means `trainable=True`.
    layer = PretrainedEmbedding(3, 2, pretrained_trainable=True, input_length=1)
    assert layer.trainable and len(layer.trainable_weights) == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"trainable": False, "pretrained_trainable": True}, "contradicts"),
        ({"trainable": True, "pretrained_trainable": False}, "nothing to"),
        ({"trainable": "yes"}, "`trainable` must be a boolean"),
    ],
)
def test_contradictory_switches_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PretrainedEmbedding(3, 2, **kwargs)


def test_layer_harness_fine_tuned():
    run_layer_test(
        PretrainedEmbedding,
        {"trainable": True},
        IDS,
        expected_output_shape=(2, 4, 4),
        expected_num_trainable_weights=1,
        make_layer=from_vectors,
    )


def trained_oov_layer():
    layer = from_vectors(trainable_oov=True)
    model = sequential(layer)
    fit(model)
    return layer, model


def test_weights_are_the_table_the_layer_computes_with(tmp_path):
    layer, model = trained_oov_layer()
    outputs = ops.convert_to_numpy(layer(IDS))
    weights = layer.get_weights()
    np.testing.assert_array_equal(weights[0][IDS], outputs)
    np.testing.assert_array_equal(table(layer), weights[0])
    # The tools read the same table.
    kv = keras_embedplus.to_keyed_vectors(layer, VOCABULARY)
    np.testing.assert_array_equal(kv["qwzx"], weights[0][6])
    history = keras_embedplus.EmbeddingHistory(layer)
    history.set_model(model)
    history.on_train_begin()
    np.testing.assert_array_equal(history.snapshots[0], weights[0])
    # The `.keras` file holds that table too.
    model.save(tmp_path / "m.keras")
    revived = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(
        revived.layers[0].get_weights()[0], weights[0]
    )


def test_set_weights_with_one_table_sets_every_row():
    layer, _ = trained_oov_layer()
    new = np.arange(32, dtype="float32").reshape(8, 4)
    layer.set_weights([new])
    np.testing.assert_array_equal(layer.get_weights()[0], new)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(IDS)), new[IDS])
    # And the full list round-trips, as Keras' does.
    other, _ = trained_oov_layer()
    other.set_weights(layer.get_weights())
    np.testing.assert_array_equal(ops.convert_to_numpy(other(IDS)), new[IDS])
    with pytest.raises(ValueError, match="shape"):
        layer.set_weights([new[:3]])
    with pytest.raises(ValueError, match="length 2"):
        layer.set_weights([new, new])
    # A full list whose table contradicts its OOV rows is refused.
    weights = layer.get_weights()
    weights[0] = weights[0] + 1.0
    with pytest.raises(ValueError, match="disagree"):
        layer.set_weights(weights)


def test_model_level_weights_round_trip():
    layer, model = trained_oov_layer()
    expected = model.predict(IDS, verbose=0)
    _, copy = trained_oov_layer()
    copy.set_weights(model.get_weights())
    np.testing.assert_array_equal(copy.predict(IDS, verbose=0), expected)


def test_loading_options_are_every_keyword_of_load_vectors():
    assert for_vocabulary.loading_options() >= {
        "format",
        "limit",
        "encoding",
        "allow_pickle",
        "progress",
    }
    assert "vocabulary" not in for_vocabulary.loading_options()


def write_latin1(path):
    path.write_bytes(
        "2 2\ncaf\xe9 1.0 2.0\nna\xefve 3.0 4.0\n".encode("latin-1")
    )


def test_from_vectors_forwards_encoding_format_and_limit(tmp_path):
    path = tmp_path / "latin.vec"
    write_latin1(path)
    with pytest.raises(keras_embedplus.VectorFileError, match="latin-1"):
        PretrainedEmbedding.from_vectors(path, ["café"], oov="zeros")
    layer = PretrainedEmbedding.from_vectors(
        path,
        ["", "café", "naïve"],
        oov="zeros",
        encoding="latin-1",
        format="word2vec",
        limit=1,
    )
    np.testing.assert_array_equal(
        table(layer), [[0, 0], [1, 2], [0, 0]]
    )  # `limit=1`: "naïve" was not read
    assert layer.coverage.missing == ("naïve",)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"limit": 0}, "`limit` must be a positive integer"),
        ({"encoding": "nope"}, "Unknown `encoding`"),
        ({"input_length": -1}, "`input_length` must be a positive"),
        ({"nonsense": 1}, "Unrecognized keyword arguments"),
        ({"oov": "glove"}, "`oov` must be one of"),
        ({"seed": "7"}, "`seed` must be"),
        ({"seed": True}, "`seed` must be"),
        ({"trainable": "no"}, "`trainable` must be a boolean"),
        ({"trainable_oov": 1}, "`trainable_oov` must be a boolean"),
    ],
)
def test_arguments_are_checked_before_the_file_is_read(kwargs, match):
    # The file does not exist: the argument's error must come first.
    with pytest.raises(ValueError, match=match):
        PretrainedEmbedding.from_vectors("no/such/file.txt", WORDS, **kwargs)


def test_loading_options_need_a_path():
    with pytest.raises(ValueError, match="`limit` only apply"):
        PretrainedEmbedding.from_vectors(VECTORS, WORDS, limit=3)


def write_vectors(path, vectors=VECTORS):
    vectors.save_word2vec_format(str(path))
    return path


@pytest.mark.parametrize("seed", [None, 5])
def test_random_rows_are_the_same_for_a_path_and_loaded_vectors(tmp_path, seed):
    path = write_vectors(tmp_path / "v.txt")
    # One found word, then three: a path reads only those.
    for vocabulary in (["", "hope", "qwzx"], VOCABULARY):
        keras.utils.set_random_seed(3)
        from_path = PretrainedEmbedding.from_vectors(
            path, vocabulary, seed=seed
        )
        keras.utils.set_random_seed(3)
        loaded = keras_embedplus.load_vectors(path)
        from_memory = PretrainedEmbedding.from_vectors(
            loaded, vocabulary, seed=seed
        )
        np.testing.assert_array_equal(table(from_path), table(from_memory))


def test_random_rows_follow_keras_global_seed():
    def rows():
        return table(from_vectors(seed=None))

    keras.utils.set_random_seed(11)
    first = rows()
    keras.utils.set_random_seed(11)
    np.testing.assert_array_equal(rows(), first)
    keras.utils.set_random_seed(12)
    assert not np.array_equal(rows()[OOV_ROWS], first[OOV_ROWS])
    # An explicit seed wins over the global one.
    keras.utils.set_random_seed(13)
    a = table(from_vectors(seed=4))
    keras.utils.set_random_seed(14)
    np.testing.assert_array_equal(table(from_vectors(seed=4)), a)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.sampled_from(WORDS + ["Hope", "TO", "zz", "qq", "Zz"]),
        min_size=1,
        max_size=8,
        unique=True,
    ),
    st.sampled_from(["random", "mean", "zeros"]),
)
def test_path_and_vectors_agree_on_any_vocabulary(
    tmp_path_factory, vocabulary, oov
):
    path = tmp_path_factory.mktemp("v") / "v.txt"
    write_vectors(path)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "None of the")
        a = PretrainedEmbedding.from_vectors(path, vocabulary, oov=oov, seed=2)
        b = PretrainedEmbedding.from_vectors(
            VECTORS, vocabulary, oov=oov, seed=2
        )
    np.testing.assert_array_equal(table(a), table(b))
    assert repr(a.coverage) == repr(b.coverage)


def test_no_word_in_the_file_gives_zero_coverage_and_a_warning(tmp_path):
    path = write_vectors(tmp_path / "v.txt")
    with pytest.warns(UserWarning, match="None of the 2 vocabulary words"):
        layer = PretrainedEmbedding.from_vectors(
            path, ["", "[UNK]", "qwzx", "blorp"], oov="zeros"
        )
    assert layer.coverage.ratio == 0.0
    np.testing.assert_array_equal(table(layer), np.zeros((4, 4)))


def test_coverage_is_not_restored_by_a_reload(tmp_path):
    # Documented: the coverage report belongs to `from_vectors`, not to
    # the saved model.
    model = sequential(from_vectors())
    model.save(tmp_path / "m.keras")
    revived = keras.saving.load_model(tmp_path / "m.keras")
    assert revived.layers[0].coverage is None


@pytest.mark.parametrize("wrap", [list, tuple, np.asarray])
def test_weights_argument_takes_keras_2_list(wrap):
    matrix = table(default())
    weights = matrix if wrap is np.asarray else wrap([matrix])
    layer = PretrainedEmbedding(8, 4, weights=weights, input_length=4)
    np.testing.assert_array_equal(layer.get_weights()[0], matrix)
    assert layer.trainable is False


def test_lora_trains_the_update_only_and_reloads(tmp_path):
    layer = from_vectors(lora_rank=2)
    assert layer.trainable and not layer.pretrained_trainable
    names = sorted(w.name for w in layer.trainable_weights)
    assert names == ["lora_embeddings_a", "lora_embeddings_b"]
    model = sequential(layer)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras").layers[0]
    assert again.trainable and not again.pretrained_trainable
    # Asking a frozen layer for an update means training the update.
    frozen = from_vectors()
    frozen.enable_lora(2)
    assert len(frozen.trainable_weights) == 2
    with pytest.raises(NotImplementedError, match="LoRA"):
        from_vectors(trainable_oov=True).enable_lora(2)


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from([None, True, False]),
    st.booleans(),
    st.lists(
        st.tuples(st.sampled_from(["layer", "model"]), st.booleans()),
        max_size=4,
    ),
)
def test_trainable_state_matches_a_simple_reference(
    trainable, trainable_oov, assignments
):
    """Any constructor switch, then any `trainable` assignments (on the
    layer or its model), against the rule written out plainly."""
    kwargs = {} if trainable is None else {"trainable": trainable}
    layer = from_vectors(trainable_oov=trainable_oov, **kwargs)
    model = sequential(layer)
    # The reference: (does the layer train, do its pretrained rows train)
    on = trainable_oov if trainable is None else trainable
    pretrained = bool(trainable)
    model_on = True
    for target, value in assignments:
        if target == "layer":
            layer.trainable = value
        else:
            model.trainable = value
            # Keras' TF layers (a model too) skip an assignment of the value
            # the attribute already has: the model's setter never runs.
            if value == model_on and keras.backend.backend() == "tensorflow":
                continue
            model_on = value
        on = pretrained = value
    assert layer.trainable is on
    assert layer.pretrained_trainable is (on and pretrained)
    expected = []
    if on and pretrained:
        expected.append("embeddings")
    if on and trainable_oov:
        expected.append("oov_embeddings")
    assert sorted(w.name for w in layer.trainable_weights) == expected
    # A frozen model hides the weights of its layers, as in Keras.
    in_model = expected if model_on else []
    assert sorted(w.name for w in model.trainable_weights) == in_model
    config = layer.get_config()
    revived = PretrainedEmbedding.from_config(config)
    revived.build()
    assert revived.trainable is on
    assert sorted(w.name for w in revived.trainable_weights) == expected


def test_gensim_latin1_file_through_from_vectors():
    from gensim.test.utils import datapath

    path = datapath("pang_lee_polarity_fasttext.vec")  # line 150: latin-1
    with pytest.raises(keras_embedplus.VectorFileError, match="encoding="):
        PretrainedEmbedding.from_vectors(path, ["", "the"], oov="zeros")
    kv = keras_embedplus.load_vectors(path, encoding="latin-1")
    words = ["", "[UNK]", *kv.index_to_key[140:160]]
    layer = PretrainedEmbedding.from_vectors(
        path, words, encoding="latin-1", oov="zeros"
    )
    assert layer.coverage.ratio == 1.0
    np.testing.assert_array_equal(table(layer)[2:], kv.vectors[140:160])

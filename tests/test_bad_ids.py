"""A bad id never costs the model, and is never silent on a compiled path.

`make test` runs this file under KERAS_BACKEND=tensorflow, jax and torch.
Every path a Keras model runs a step on is tried: the layer called
eagerly, `fit`/`predict`/`evaluate` in a graph (`tf.function`), with
`run_eagerly=True`, with `jit_compile=False` and with `jit_compile=True`
(XLA on TensorFlow, `jax.jit` on JAX, `torch.compile` on PyTorch).
"""

import os
import warnings

import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

import keras_embedplus
from keras_embedplus import CheckIds
from keras_embedplus import LookupEmbedding
from keras_embedplus import OneHotDense
from keras_embedplus import PretrainedEmbedding

BACKEND = keras.backend.backend()
TABLE = np.arange(10, dtype="float32").reshape(5, 2)
GOOD = np.array([[1, 2, 0], [4, 3, 2]])
BAD = np.array([[1, 7, 0], [4, 3, -2]])
TARGETS = np.zeros((2, 1), "float32")

PATHS = {
    "default": {},
    "run_eagerly": {"run_eagerly": True},
    "jit_compile=False": {"jit_compile": False},
    "jit_compile=True": {"jit_compile": True},
}


def lookup(**kwargs):
    return LookupEmbedding(5, 2, weights=TABLE, name="words", **kwargs)


def one_hot(**kwargs):
    return OneHotDense(
        5, 2, weights=TABLE, input_mode="ids", name="words", **kwargs
    )


def pretrained(**kwargs):
    return PretrainedEmbedding(
        5,
        2,
        weights=TABLE,
        trainable_oov=True,
        oov_ids=[3],
        name="words",
        **kwargs,
    )


LAYERS = pytest.mark.parametrize(
    "make_layer", [lookup, one_hot, pretrained], ids=lambda f: f.__name__
)


def raises_in_the_step(compile_kwargs):
    """Whether the step itself raises, rather than `CheckIds` after it."""
    if BACKEND == "torch":
        return True  # eager, and torch.compile runs the check outside
    if BACKEND == "jax":
        return False  # jax.jit, or Keras' trainer (see bad_id_record)
    return not compile_kwargs.get("jit_compile")  # TF: all but XLA


def error_type(compile_kwargs):
    if BACKEND == "tensorflow" and raises_in_the_step(compile_kwargs):
        import tensorflow as tf

        return tf.errors.InvalidArgumentError
    return ValueError


def model_of(layer, **compile_kwargs):
    inputs = keras.Input((3,), dtype="int32")
    flat = keras.layers.Flatten()(layer(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(flat))
    model.compile("adam", "mse", **compile_kwargs)
    return model


def assert_names_the_id(error, bad):
    message = str(error)
    assert "`words`" in message, message
    assert f"received id {bad}," in message, message
    assert "input_dim=5" in message, message


def assert_model_still_works(model, tmp_path, weights_before=None, train=True):
    """It predicts, reads its weights, trains, saves and reloads."""
    output = model.predict(GOOD, verbose=0)
    if weights_before is not None:
        assert np.isfinite(output).all()
        weights = model.get_weights()
        for before, after in zip(weights_before, weights, strict=True):
            np.testing.assert_array_equal(before, after)
    if train:
        model.fit(GOOD, TARGETS, verbose=0)
    expected = model.predict(GOOD, verbose=0)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    # Keras 3.15.1 cannot reload the state of an optimizer that never ran.
    revived = keras.saving.load_model(path, safe_mode=True, compile=train)
    np.testing.assert_array_equal(revived.predict(GOOD, verbose=0), expected)


@LAYERS
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("run", ["predict", "evaluate", "fit"])
def test_bad_id_errors_then_the_model_still_works(
    make_layer, path, run, tmp_path
):
    compile_kwargs = PATHS[path]
    # torch.compile of a train step warns from inside PyTorch (a non-leaf
    # .grad) under pytest's warnings-as-errors, and is slow.
    train = not (BACKEND == "torch" and path == "jit_compile=True")
    if not train and run == "fit":
        pytest.skip("torch.compile of a train step; predict covers it")
    model = model_of(make_layer(), **compile_kwargs)
    model.predict(GOOD, verbose=0)
    before = model.get_weights()
    args = (BAD,) if run == "predict" else (BAD, TARGETS)
    with pytest.raises(error_type(compile_kwargs)) as info:
        getattr(model, run)(*args, verbose=0, callbacks=[CheckIds()])
    # The worst id of the batch: the one farthest outside the vocabulary,
    # wherever the layer records; the first out-of-range bound otherwise.
    assert_names_the_id(info.value, 7)
    if run != "fit" or raises_in_the_step(compile_kwargs):
        # Nothing was applied: the weights are those before the call.
        assert_model_still_works(model, tmp_path, before, train=train)
    else:
        # A compiled train step cannot stop itself: it was applied with
        # NaN rows before `CheckIds` raised (docs/scaling.md says so).
        assert_model_still_works(model, tmp_path)


@pytest.mark.skipif(BACKEND != "jax", reason="Keras' JAX trainer")
@pytest.mark.parametrize("path", ["run_eagerly", "jit_compile=False"])
def test_issue_reproducer_jax_without_jit(path, tmp_path):
    """The exact case of the issue: on Keras 3.15.1 an error raised in a
    non-jit JAX step left every variable empty."""
    inputs = keras.Input((1,), dtype="int32")
    layer = keras_embedplus.Embedding(41, 4, name="words")
    model = keras.Model(inputs, keras.layers.Flatten()(layer(inputs)))
    model.compile(**PATHS[path])
    with pytest.raises(ValueError, match=r"received id 46,.*input_dim=41"):
        model.predict(np.array([[46]]), verbose=0, callbacks=[CheckIds()])
    assert model.predict(np.array([[3]]), verbose=0).shape == (1, 4)
    assert len(model.get_weights()) == 1
    model.save(os.path.join(tmp_path, "m.keras"))


@pytest.mark.skipif(BACKEND == "torch", reason="PyTorch always raises")
@pytest.mark.parametrize("every_batch", [False, True])
def test_every_batch_stops_fit_at_the_bad_step(every_batch):
    ids = np.concatenate([GOOD, BAD, GOOD, GOOD])
    targets = np.zeros((len(ids), 1), "float32")
    model = model_of(lookup(), jit_compile=True)
    with pytest.raises(ValueError, match="received id 7,"):
        model.fit(
            ids,
            targets,
            batch_size=2,
            shuffle=False,
            verbose=0,
            callbacks=[CheckIds(every_batch=every_batch)],
        )
    steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    if every_batch and BACKEND == "tensorflow":
        assert steps == 2  # stopped right after the bad step
    elif not every_batch:
        assert steps == 4  # the whole epoch ran


def test_every_batch_must_be_a_boolean():
    with pytest.raises(ValueError, match="every_batch"):
        CheckIds(every_batch="yes")


@pytest.mark.skipif(BACKEND == "torch", reason="PyTorch always raises")
def test_without_check_ids_the_rows_are_nan_and_the_next_run_starts_clean():
    inputs = keras.Input((3,), dtype="int32")
    model = keras.Model(inputs, lookup()(inputs))
    model.compile(jit_compile=True)
    rows = model.predict(BAD, verbose=0)
    assert np.isnan(rows[0, 1]).all() and np.isnan(rows[1, 2]).all()
    np.testing.assert_array_equal(rows[0, [0, 2]], TABLE[[1, 0]])
    # The ids recorded while no callback listened are not reported later.
    model.predict(GOOD, verbose=0, callbacks=[CheckIds()])


@pytest.mark.parametrize("policy, fill", [("nan", np.nan), ("zero", 0.0)])
@pytest.mark.parametrize("path", PATHS)
@LAYERS
def test_nan_and_zero_policies_never_raise(make_layer, policy, fill, path):
    layer = make_layer(on_bad_id=policy)
    expected = np.where(
        ((BAD >= 0) & (BAD < 5))[..., None], TABLE[np.clip(BAD, 0, 4)], fill
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(BAD)), expected
    )
    inputs = keras.Input((3,), dtype="int32")
    model = keras.Model(inputs, make_layer(on_bad_id=policy)(inputs))
    model.compile(**PATHS[path])
    rows = model.predict(BAD, verbose=0, callbacks=[CheckIds()])
    np.testing.assert_array_equal(rows, expected)
    assert model.get_layer("words").get_config()["on_bad_id"] == policy


@pytest.mark.skipif(BACKEND == "torch", reason="nothing compiled to record")
@hypothesis.settings(max_examples=15, deadline=None)
@hypothesis.given(
    ids=st.lists(st.integers(-40, 40), min_size=1, max_size=12),
)
def test_check_ids_reports_the_count_and_the_worst_id(ids):
    """Differential: the record against a numpy count of the bad ids."""
    ids = np.array([ids], dtype="int32")
    bad = ids[(ids < 0) | (ids >= 5)]
    inputs = keras.Input((ids.shape[1],), dtype="int32")
    model = keras.Model(inputs, lookup()(inputs))
    model.compile(jit_compile=True)
    if not bad.size:
        model.predict(ids, verbose=0, callbacks=[CheckIds()])
        return
    with pytest.raises(ValueError) as info:
        model.predict(ids, verbose=0, callbacks=[CheckIds()])
    worst = np.abs(bad).max()
    assert f"received id {worst}," in str(
        info.value
    ) or f"received id {-worst}," in str(info.value)
    plural = "s" if bad.size > 1 else ""
    assert f"({bad.size} bad id{plural} in a compiled step" in str(info.value)


@pytest.mark.skipif(
    BACKEND == "torch", reason="Keras quantizes Dense on TF/JAX"
)
@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_quantized_model_keeps_the_signal_under_xla(mode, tmp_path):
    """A quantized Dense downstream turns NaN into an ordinary number; the
    record does not depend on the NaN surviving."""
    model = keras.Sequential(
        [
            keras.Input((3,), dtype="int32"),
            lookup(),
            keras.layers.Flatten(),
            keras.layers.Dense(1, name="head"),
        ]
    )
    with warnings.catch_warnings(record=True):  # Flatten: nothing to do
        warnings.simplefilter("always")
        model.quantize(mode)
    assert model.get_layer("head").quantization_mode == mode
    model.compile(jit_compile=True)
    good = model.predict(GOOD, verbose=0)
    assert np.isfinite(good).all()
    with pytest.raises(ValueError) as info:
        model.predict(BAD, verbose=0, callbacks=[CheckIds()])
    assert_names_the_id(info.value, 7)
    np.testing.assert_array_equal(model.predict(GOOD, verbose=0), good)
    path = os.path.join(tmp_path, "quantized.keras")
    model.save(path)
    # compile=False: Keras 3.15.1 cannot reload the state of an optimizer
    # that never ran (here: compiled for predict only).
    revived = keras.saving.load_model(path, compile=False)
    # Not bit-equal: the revived model is not compiled with XLA.
    np.testing.assert_allclose(revived.predict(GOOD, verbose=0), good, 1e-6)


def test_the_record_is_not_a_weight():
    """get_weights/set_weights, counts and the save format are Keras'."""
    layer = lookup()
    model = model_of(layer, jit_compile=True)
    if BACKEND != "torch":
        model.predict(BAD, verbose=0)  # records, without CheckIds
    assert len(layer.weights) == 1 and len(layer.get_weights()) == 1
    layer.set_weights([TABLE * 2])
    assert model.count_params() == 10 + 7
    assert "on_bad_id" in layer.get_config()


# input_length: the layer takes the length it was built for, or says so.


@pytest.mark.parametrize("make_layer", [LookupEmbedding, OneHotDense])
def test_input_of_another_length_than_input_length_raises(make_layer):
    with pytest.raises(ValueError, match=r"length 6 .*length 8"):
        make_layer(10, 2, input_length=6)(keras.Input((8,), dtype="int32"))
    layer = make_layer(10, 2, input_length=5)
    with pytest.raises(ValueError, match=r"length 5 .*length 3"):
        layer(np.zeros((2, 3), "int32"))
    with pytest.raises(ValueError, match=r"length 5 .*shape \(3,\)"):
        layer(np.zeros((3,), "int32"))
    assert layer(np.zeros((2, 5), "int32")).shape == (2, 5, 2)
    # An unknown length is taken.
    assert make_layer(10, 2, input_length=6)(
        keras.Input((None,), dtype="int32")
    ).shape == (None, None, 2)


def test_summary_shows_only_shapes_the_layer_outputs():
    model = keras.Sequential([LookupEmbedding(10, 2, input_length=5)])
    with pytest.raises(ValueError, match="length 5"):
        model(np.zeros((1, 3), "int32"))
    if BACKEND != "jax":
        # On JAX, Keras 3.15.1 loses the model after any error raised in a
        # predict step, its own shape errors included (docs/scaling.md).
        with pytest.raises(ValueError, match="length 5"):
            model.predict(np.zeros((1, 3), "int32"), verbose=0)
    lines = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    assert "(None, 5, 2)" in "\n".join(lines)
    assert model.predict(np.zeros((1, 5), "int32"), verbose=0).shape == (
        1,
        5,
        2,
    )


# `[UNK]` at id 0 with mask_zero=True: every unknown token would be masked.


@pytest.mark.parametrize(
    "make_lookup",
    [
        lambda: keras.layers.StringLookup(vocabulary=["a", "b"]),
        lambda: keras.layers.IntegerLookup(vocabulary=[7, 9]),
        lambda: ["[UNK]", "a", "b"],
    ],
    ids=["StringLookup", "IntegerLookup", "list"],
)
def test_from_vectors_refuses_unk_at_id_0_with_mask_zero(make_lookup):
    import gensim

    vectors = gensim.models.KeyedVectors(2)
    vectors.add_vectors(["a", "b"], np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"id 0.*\[UNK\].*mask_token"):
        PretrainedEmbedding.from_vectors(vectors, make_lookup(), mask_zero=True)


def test_from_vectors_takes_a_lookup_with_a_mask_token():
    import gensim

    vectors = gensim.models.KeyedVectors(2)
    vectors.add_vectors(["a", "b"], np.ones((2, 2)))
    lookup_layer = keras.layers.StringLookup(
        vocabulary=["a", "b"], mask_token=""
    )
    layer = PretrainedEmbedding.from_vectors(
        vectors, lookup_layer, mask_zero=True, oov="zeros"
    )
    assert layer.input_dim == 4 and layer.coverage.found == 2

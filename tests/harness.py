"""The checks every layer of the package goes through, in one call.

Modelled on Keras' own `run_layer_test`: a new layer gets the config round
trip, `.keras` save/load under `safe_mode=True`, weight counts, eager and
symbolic calls, one `fit` step, masking and mixed precision by calling
`run_layer_test` with its arguments and a batch of inputs.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    *,
    expected_output_shape,
    expected_num_trainable_weights,
    expected_num_non_trainable_weights=0,
    expected_mask=None,
    run_training_check=True,
    run_mixed_precision_check=True,
    make_layer=None,
):
    """Runs the shared checks on `layer_cls(**init_kwargs)`.

    Args:
        layer_cls: The layer class.
        init_kwargs: Dict. Arguments of the constructor.
        input_data: Numpy array. A batch of inputs.
        expected_output_shape: Tuple. Shape of the output for `input_data`.
        expected_num_trainable_weights: Integer.
        expected_num_non_trainable_weights: Integer.
        expected_mask: Optional boolean array, the expected output mask, or
            `None` when the layer should give no mask.
        run_training_check: Boolean. Whether to run one `fit` step and check
            that trainable weights move.
        run_mixed_precision_check: Boolean.
        make_layer: Optional callable taking keyword arguments and returning
            a layer, for layers built by a factory (defaults to
            `layer_cls`).
    """
    make_layer = make_layer or layer_cls
    _check_config_round_trip(layer_cls, make_layer(**init_kwargs))
    layer = make_layer(**init_kwargs)
    output = layer(input_data)
    assert tuple(output.shape) == tuple(expected_output_shape), (
        f"{layer_cls.__name__} gave shape {tuple(output.shape)}, expected "
        f"{tuple(expected_output_shape)}"
    )
    assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert (
        len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    )
    _check_mask(layer, input_data, expected_mask)
    _check_weights_contract(layer, input_data, output)
    _check_trainable_switch(make_layer(**init_kwargs), input_data)
    _check_symbolic_call(make_layer, init_kwargs, input_data, output)
    _check_save_and_load(make_layer, init_kwargs, input_data)
    if run_training_check:
        _check_training(make_layer, init_kwargs, input_data)
    if run_mixed_precision_check:
        _check_mixed_precision(make_layer, init_kwargs, input_data)


def _check_config_round_trip(layer_cls, layer):
    config = layer.get_config()
    text = json.dumps(config)  # raises if an array slipped into the config
    assert "weights" not in config
    assert len(text) < 4000, "get_config() must not contain the table"
    revived = layer_cls.from_config(config)
    assert revived.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is layer_cls
    assert revived.get_config() == config


def _check_mask(layer, input_data, expected_mask):
    mask = layer.compute_mask(input_data)
    if expected_mask is None:
        assert mask is None
        return
    np.testing.assert_array_equal(ops.convert_to_numpy(mask), expected_mask)
    # The mask travels to the next layer in a functional model.
    inputs = keras.Input(input_data.shape[1:], dtype=str(input_data.dtype))
    outputs = layer(inputs)
    assert outputs._keras_mask is not None


def _check_weights_contract(layer, input_data, output):
    """`get_weights()[0]` is the table, and `set_weights` takes it back."""
    weights = layer.get_weights()
    if isinstance(layer, keras.layers.Embedding) and not layer.lora_enabled:
        np.testing.assert_array_equal(
            weights[0], ops.convert_to_numpy(layer.embeddings)
        )
        table = np.asarray(weights[0]) + 1.0
        layer.set_weights([table])  # one table, as for Keras' Embedding
        np.testing.assert_array_equal(
            ops.convert_to_numpy(layer.embeddings), table
        )
    layer.set_weights(weights)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(layer(input_data)), ops.convert_to_numpy(output)
    )


def _check_trainable_switch(layer, input_data):
    """`trainable` means what it means in Keras, on every backend."""
    layer(input_data)
    layer.trainable = False
    assert layer.trainable is False and layer.trainable_weights == []
    layer.trainable = True
    assert layer.trainable is True
    if any("float" in w.dtype for w in layer.weights):
        assert layer.trainable_weights, "trainable=True trains no weight"
    # Assigning the value it already has (a no-op in Keras' TF layers)
    # must leave it as it is.
    count = len(layer.trainable_weights)
    layer.trainable = True
    assert len(layer.trainable_weights) == count


def _functional_model(make_layer, init_kwargs, input_data):
    inputs = keras.Input(input_data.shape[1:], dtype=str(input_data.dtype))
    outputs = make_layer(**init_kwargs)(inputs)
    return keras.Model(inputs, outputs)


def _check_symbolic_call(make_layer, init_kwargs, input_data, eager_output):
    model = _functional_model(make_layer, init_kwargs, input_data)
    assert tuple(model.output.shape[1:]) == tuple(eager_output.shape[1:])
    assert model.output.dtype == keras.backend.standardize_dtype(
        eager_output.dtype
    )
    assert model.predict(input_data, verbose=0).shape == eager_output.shape


def _check_save_and_load(make_layer, init_kwargs, input_data):
    model = _functional_model(make_layer, init_kwargs, input_data)
    expected = model.predict(input_data, verbose=0)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        revived = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        revived.predict(input_data, verbose=0), expected
    )
    assert type(revived.layers[-1]) is type(model.layers[-1])


def _check_training(make_layer, init_kwargs, input_data):
    model = _functional_model(make_layer, init_kwargs, input_data)
    before = [ops.convert_to_numpy(w) for w in model.trainable_weights]
    targets = np.ones(model.output.shape[1:], "float32")[None]
    targets = np.repeat(targets, len(input_data), axis=0)
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    history = model.fit(input_data, targets, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert any(
        not np.array_equal(b, a) for b, a in zip(before, after, strict=True)
    ), "one fit step did not move any trainable weight"


def _check_mixed_precision(make_layer, init_kwargs, input_data):
    layer = make_layer(**{**init_kwargs, "dtype": "mixed_float16"})
    output = layer(input_data)
    assert keras.backend.standardize_dtype(output.dtype) == "float16"
    for weight in layer.weights:
        if "float" in weight.dtype:
            assert weight.dtype == "float32"


def table(layer):
    """The layer's effective table, `layer.embeddings`, as a numpy array."""
    return np.array(ops.convert_to_numpy(layer.embeddings))


def id_error():
    """The error a bad id raises on the current backend."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.errors.InvalidArgumentError
    return ValueError


requires_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TensorFlow-only feature (ragged/sparse tensors, graph checks)",
)


def run_python(*parts, **env):
    """Runs the script `parts` in a fresh Python; returns its stdout lines.

    Each part is dedented on its own; the repository is on `PYTHONPATH` and
    `env` adds variables. The script must exit with status 0.
    """
    script = "".join(textwrap.dedent(part) for part in parts)
    python_path = os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": python_path, **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def results_on_other_backends(module, folder):
    """Runs `python -m module PATH` on JAX and PyTorch, fresh processes.

    `module` (e.g. `"tests.sparse_parity"`) saves its results to the `.npz`
    file PATH; returns `{backend: {name: array}}` for `"jax"` and
    `"torch"`, to compare with what the TensorFlow process computes.
    """
    results = {}
    for backend in ("jax", "torch"):
        path = os.path.join(folder, f"{backend}.npz")
        run_python(
            "import sys, runpy\n",
            f"sys.argv = [{module!r}, {path!r}]\n",
            f"runpy.run_module({module!r}, run_name='__main__')\n",
            KERAS_BACKEND=backend,
            JAX_PLATFORMS="cpu",
            TF_CPP_MIN_LOG_LEVEL="2",
        )
        with np.load(path) as stored:
            results[backend] = dict(stored)
    return results


def load_benchmark(name):
    """The module `benchmarks/<name>.py`, loaded by path (not a package)."""
    import importlib.util

    path = os.path.join(
        os.path.dirname(os.path.dirname(__file__)), "benchmarks", name + ".py"
    )
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""Adversarial cases for a table looked up several times in one step.

`tests/test_shared_lookup.py` checks the tape arrangements the shared
handle was designed for; these are the ones a user can also build: tapes
that watch by hand, persistent and higher-order tapes, Jacobians, forward
accumulators, recomputed gradients, `tf.gradients`, control flow, nested
functions, a call with `training=False`, LoRA, mixed precision and every
lookup layer called more than once. Each compares the gradient with a numpy
sum of the occurrences' gradients, and checks that each row is in the
`tf.IndexedSlices` once (XLA's zero padding slices aside).
"""

import gc

import keras
import numpy as np
import pytest

import keras_embedplus

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="row-sparse gradients are TensorFlow's",
)
FIRST = np.array([[1, 2, 1]], "int32")
SECOND = np.array([[1, 3, 0]], "int32")
MODES = ["eager", "function", "xla"]


def known_bug(reason):
    """A case the shared handle gets wrong today, reported to the lead."""
    return pytest.mark.xfail(strict=True, reason=reason)


def modes_failing(reason, *failing):
    """`MODES`, those in `failing` marked as a known bug."""
    return [
        pytest.param(mode, marks=known_bug(reason)) if mode in failing else mode
        for mode in MODES
    ]


EAGER_TAPES = (
    "eagerly, a persistent tape or several tapes count as 'several tapes', "
    "and each lookup then gets a fresh shared tensor: rows not joined"
)
STOPPED = (
    "eagerly, tape.stop_recording() needs a persistent tape, which counts "
    "as several tapes (EAGER_TAPES): rows not joined"
)
NESTED = (
    "lookups in two calls of a tf.function: each call's gradient is built "
    "apart and joins its own rows; the tape concatenates the calls' slices"
)
RELOADED = (
    "a reloaded SavedModel's shared tensor is a plain Identity (its join is "
    "not saved): one slice per occurrence reaches the optimizer; main "
    "summed each lookup's rows"
)


def expected(*calls):
    """The dense gradient of `sum(weight * lookup(ids))` over `calls`."""
    gradient = np.zeros((6, 2), "float32")
    for ids, weight in calls:
        for row in np.ravel(ids):
            gradient[row] += weight
    return gradient


TWICE = expected((FIRST, 2.0), (SECOND, 3.0))


def layer_and_table(**kwargs):
    layer = keras_embedplus.LookupEmbedding(6, 2, **kwargs)
    layer.build((None, 3))
    return layer, layer.embeddings.value


def loss(layer, first=2.0, second=3.0, **call_kwargs):
    import tensorflow as tf

    call_kwargs.setdefault("training", True)
    return tf.reduce_sum(
        tf.cast(layer(FIRST, **call_kwargs), "float32") * first
    ) + tf.reduce_sum(tf.cast(layer(SECOND, **call_kwargs), "float32") * second)


def assert_rows_once(gradient, want):
    import tensorflow as tf

    assert isinstance(gradient, tf.IndexedSlices), type(gradient)
    indices = np.asarray(gradient.indices)
    values = np.asarray(gradient.values).reshape(len(indices), -1)
    # Under XLA, padding repeats a looked-up row with zero slices.
    real = np.abs(values).sum(axis=1) > 0
    assert len(set(indices[real])) == real.sum(), indices
    np.testing.assert_allclose(tf.convert_to_tensor(gradient), want, atol=1e-6)


def assert_dense_or_rows_once(gradient, want):
    """A dense gradient holds each row once too (`while_loop` gives one)."""
    import tensorflow as tf

    if isinstance(gradient, tf.IndexedSlices):
        assert_rows_once(gradient, want)
    else:
        np.testing.assert_allclose(gradient, want, atol=1e-6)


def run(function, mode):
    import tensorflow as tf

    if mode == "eager":
        return function
    return tf.function(function, jit_compile=mode == "xla")


# Tapes a user arranges by hand.


@pytest.mark.parametrize("mode", modes_failing(EAGER_TAPES, "eager"))
def test_persistent_tape_two_gradients(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradients():
        with tf.GradientTape(persistent=True) as tape:
            value = loss(layer)
            other = loss(layer, 5.0, 7.0)
        return tape.gradient(value, table), tape.gradient(other, table)

    first, second = run(gradients, mode)()
    assert_rows_once(first, TWICE)
    assert_rows_once(second, expected((FIRST, 5.0), (SECOND, 7.0)))


@pytest.mark.parametrize("mode", MODES)
def test_tape_watching_the_variable_by_hand(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(table)
            value = loss(layer)
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), TWICE)


@pytest.mark.parametrize("mode", MODES)
def test_tape_watching_by_hand_after_a_lookup(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            layer(FIRST, training=True)
            tape.watch(table)
            value = loss(layer)
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), TWICE)


@pytest.mark.parametrize("mode", MODES)
def test_tape_that_watches_nothing_gives_none(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            value = loss(layer)
        return tape.gradient(value, table)

    assert run(gradient, mode)() is None


@pytest.mark.parametrize("mode", modes_failing(STOPPED, "eager"))
def test_lookup_with_recording_stopped_between_two_lookups(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape(persistent=True) as tape:
            value = tf.reduce_sum(layer(FIRST, training=True) * 2.0)
            with tape.stop_recording():
                layer(SECOND, training=True)
            value += tf.reduce_sum(layer(SECOND, training=True) * 3.0)
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), TWICE)


@pytest.mark.parametrize("mode", MODES)
def test_regularizer_reads_the_whole_table_beside_two_lookups(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape() as tape:
            value = loss(layer) + tf.reduce_sum(table) * 0.5
        return tape.gradient(value, table)

    got = run(gradient, mode)()
    np.testing.assert_allclose(tf.convert_to_tensor(got), TWICE + 0.5)


@pytest.mark.parametrize("mode", MODES)
def test_second_order_gradient(mode):
    import tensorflow as tf

    layer, table = layer_and_table()
    weights = table.numpy()

    def gradient():
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                value = tf.reduce_sum(
                    tf.square(layer(FIRST, training=True))
                ) + tf.reduce_sum(tf.square(layer(SECOND, training=True)))
            first = tf.convert_to_tensor(inner.gradient(value, table))
            penalty = tf.reduce_sum(tf.square(first))
        return first, outer.gradient(penalty, table)

    first, second = run(gradient, mode)()
    counts = expected((FIRST, 1.0), (SECOND, 1.0))
    # d/dW sum(c^2 W^2), c the count of each row: 2 c^2 * 2 W... spelled out:
    # first = 2 c W, penalty = sum(4 c^2 W^2), its gradient 8 c^2 W.
    np.testing.assert_allclose(first, 2 * counts * weights, rtol=1e-5)
    np.testing.assert_allclose(
        tf.convert_to_tensor(second), 8 * counts**2 * weights, rtol=1e-5
    )


@pytest.mark.parametrize("mode", MODES)
def test_second_order_through_a_function_with_its_own_tape(mode):
    # The inner gradient is taken by a tape inside a tf.function; the
    # outer tape differentiates the call, through that tape's gradient.
    import tensorflow as tf

    layer, table = layer_and_table()
    weights = table.numpy()

    @tf.function
    def inner_gradient():
        with tf.GradientTape() as inner:
            value = tf.reduce_sum(tf.square(layer(FIRST, training=True)))
            value += tf.reduce_sum(tf.square(layer(SECOND, training=True)))
        return tf.convert_to_tensor(inner.gradient(value, table))

    def gradient():
        with tf.GradientTape() as outer:
            penalty = tf.reduce_sum(tf.square(inner_gradient()))
        return outer.gradient(penalty, table)

    counts = expected((FIRST, 1.0), (SECOND, 1.0))
    got = tf.convert_to_tensor(run(gradient, mode)())
    np.testing.assert_allclose(got, 8 * counts**2 * weights, rtol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_batch_beside_a_full_one(mode):
    import tensorflow as tf

    layer, table = layer_and_table()
    empty = np.zeros((0, 3), "int32")

    def gradient():
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer(empty, training=True))
            value += tf.reduce_sum(layer(FIRST, training=True) * 2.0)
            value += tf.reduce_sum(layer(SECOND, training=True) * 3.0)
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), TWICE)


@pytest.mark.parametrize("use_pfor", [True, False])
def test_jacobian_of_two_lookups(use_pfor):
    import tensorflow as tf

    layer, table = layer_and_table()

    @tf.function
    def jacobian():
        with tf.GradientTape() as tape:
            output = tf.concat(
                [layer(FIRST, training=True), layer(SECOND, training=True)], 1
            )
        return tape.jacobian(output, table, experimental_use_pfor=use_pfor)

    got = jacobian().numpy()
    assert got.shape == (1, 6, 2, 6, 2)
    want = np.zeros_like(got)
    for position, row in enumerate(np.concatenate([FIRST, SECOND], 1)[0]):
        for column in range(2):
            want[0, position, column, row, column] = 1.0
    np.testing.assert_allclose(got, want)


def test_forward_accumulator_through_two_lookups():
    # Forward mode failed inside the gather from the shared handle; a
    # table an accumulator tracks is summed per lookup instead.
    import tensorflow as tf

    layer, table = layer_and_table()
    tangent = np.arange(12, dtype="float32").reshape(6, 2)
    with tf.autodiff.ForwardAccumulator(table, tangent) as accumulator:
        value = loss(layer)
    got = accumulator.jvp(value)
    np.testing.assert_allclose(got, np.sum(TWICE * tangent), rtol=1e-6)


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_recompute_grad_around_the_lookups(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    @tf.recompute_grad
    def block(first, second):
        return tf.reduce_sum(layer(first, training=True) * 2.0) + (
            tf.reduce_sum(layer(second, training=True) * 3.0)
        )

    def gradient():
        with tf.GradientTape() as tape:
            value = block(tf.constant(FIRST), tf.constant(SECOND))
        return tape.gradient(value, table)

    got = run(gradient, mode)()
    np.testing.assert_allclose(tf.convert_to_tensor(got), TWICE)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_tf_gradients_without_a_tape(jit_compile):
    import tensorflow as tf

    layer, table = layer_and_table()

    @tf.function(jit_compile=jit_compile)
    def gradient():
        gradient = tf.gradients(loss(layer), table)[0]
        return gradient.indices, gradient.values

    indices, values = gradient()
    assert_rows_once(tf.IndexedSlices(values, indices, (6, 2)), TWICE)


@pytest.mark.parametrize("mode", modes_failing(EAGER_TAPES, "eager"))
def test_two_tapes_open_at_once(mode):
    # A GAN's training step: one tape per model, both open at once.
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradients():
        with tf.GradientTape() as one, tf.GradientTape() as two:
            value = loss(layer)
            doubled = value * 2.0
        return one.gradient(value, table), two.gradient(doubled, table)

    first, second = run(gradients, mode)()
    assert_rows_once(first, TWICE)
    assert_rows_once(second, 2.0 * TWICE)


@pytest.mark.parametrize("mode", MODES)
def test_gradient_of_both_lookups_outputs(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape() as tape:
            first = layer(FIRST, training=True)
            second = layer(SECOND, training=True)
        return tape.gradient(
            [first, second],
            table,
            output_gradients=[tf.fill((1, 3, 2), 2.0), tf.fill((1, 3, 2), 3.0)],
        )

    assert_rows_once(run(gradient, mode)(), TWICE)


@pytest.mark.parametrize("mode", MODES)
def test_int32_and_int64_ids(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer(FIRST, training=True) * 2.0)
            wide = tf.constant(SECOND, "int64")
            value += tf.reduce_sum(layer(wide, training=True) * 3.0)
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), TWICE)


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_ragged_and_dense_ids(mode):
    import tensorflow as tf

    layer, table = layer_and_table()
    ragged = tf.ragged.constant([[1, 3], [0]])

    def gradient():
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer(FIRST, training=True) * 2.0)
            value += tf.reduce_sum(
                layer(ragged, training=True).flat_values * 3.0
            )
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), TWICE)


# Control flow and nested functions.


@pytest.mark.parametrize("mode", MODES)
def test_lookups_in_both_branches_of_a_cond(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient(flag):
        with tf.GradientTape() as tape:
            value = tf.cond(
                flag, lambda: loss(layer), lambda: loss(layer, 1.0, 1.0)
            )
            value += tf.reduce_sum(layer(FIRST, training=True))
        return tape.gradient(value, table)

    got = run(gradient, mode)(tf.constant(True))
    assert_rows_once(got, TWICE + expected((FIRST, 1.0)))


@pytest.mark.parametrize("flag", [True, False])
@pytest.mark.parametrize("mode", MODES)
def test_a_lookup_in_one_branch_only(mode, flag):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient(flag):
        with tf.GradientTape() as tape:
            value = tf.cond(flag, lambda: loss(layer), lambda: tf.constant(0.0))
            value += tf.reduce_sum(layer(FIRST, training=True))
        return tape.gradient(value, table)

    got = run(gradient, mode)(tf.constant(flag))
    want = (TWICE if flag else 0.0) + expected((FIRST, 1.0))
    assert_dense_or_rows_once(got, want)


@pytest.mark.parametrize("mode", MODES)
def test_a_switch_case_inside_a_while_loop(mode):
    import tensorflow as tf

    layer, table = layer_and_table()
    branches = [
        lambda: tf.reduce_sum(layer(FIRST, training=True) * 2.0),
        lambda: tf.reduce_sum(layer(SECOND, training=True) * 3.0),
        lambda: tf.constant(0.0),
    ]

    def gradient():
        with tf.GradientTape() as tape:

            def body(step, total):
                return step + 1, total + tf.switch_case(step, branches)

            _, value = tf.while_loop(
                lambda step, _: step < 3,
                body,
                (tf.constant(0), 0.0),
                maximum_iterations=3,
            )
            value += tf.reduce_sum(layer(FIRST, training=True))
        return tape.gradient(value, table)

    got = run(gradient, mode)()
    assert_dense_or_rows_once(got, TWICE + expected((FIRST, 1.0)))


@pytest.mark.parametrize("mode", MODES)
def test_tape_reset_between_lookups(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape() as tape:
            layer(SECOND, training=True)
            tape.reset()
            value = loss(layer)
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), TWICE)


@pytest.mark.parametrize("mode", MODES)
def test_float64_table(mode):
    import tensorflow as tf

    layer, _ = layer_and_table(dtype="float64")
    table = layer.embeddings.value

    def gradient():
        with tf.GradientTape() as tape:
            value = loss(layer)
        return tape.gradient(value, table)

    got = run(gradient, mode)()
    assert got.values.dtype == tf.float64
    assert_rows_once(got, TWICE)


@pytest.mark.parametrize("mode", MODES)
def test_lookups_in_a_while_loop(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape() as tape:

            def body(step, total):
                return step + 1, total + loss(layer)

            # XLA differentiates a loop only with its maximum known.
            _, value = tf.while_loop(
                lambda step, _: step < 3,
                body,
                (tf.constant(0), 0.0),
                maximum_iterations=3,
            )
            value += tf.reduce_sum(layer(FIRST, training=True))
        return tape.gradient(value, table)

    got = run(gradient, mode)()
    assert_dense_or_rows_once(got, 3 * TWICE + expected((FIRST, 1.0)))


@pytest.mark.parametrize("mode", MODES)
def test_lookups_in_map_fn(mode):
    import tensorflow as tf

    layer, table = layer_and_table()
    both = np.concatenate([FIRST, SECOND])
    weights = np.array([2.0, 3.0], "float32")

    def gradient():
        with tf.GradientTape() as tape:
            sums = tf.map_fn(
                lambda ids: tf.reduce_sum(layer(ids[None], training=True)),
                tf.constant(both),
                fn_output_signature=tf.float32,
            )
            value = tf.reduce_sum(sums * weights)
            value += tf.reduce_sum(layer(FIRST, training=True))
        return tape.gradient(value, table)

    got = run(gradient, mode)()
    assert_dense_or_rows_once(got, TWICE + expected((FIRST, 1.0)))


def test_lookups_in_vectorized_map():
    import tensorflow as tf

    layer, table = layer_and_table()
    both = np.concatenate([FIRST, SECOND])
    weights = np.array([2.0, 3.0], "float32")

    @tf.function
    def gradient():
        with tf.GradientTape() as tape:
            sums = tf.vectorized_map(
                lambda ids: tf.reduce_sum(layer(ids[None], training=True)),
                tf.constant(both),
            )
            value = tf.reduce_sum(sums * weights)
            value += tf.reduce_sum(layer(FIRST, training=True))
        return tape.gradient(value, table)

    assert_dense_or_rows_once(gradient(), TWICE + expected((FIRST, 1.0)))


@pytest.mark.parametrize("mode", modes_failing(NESTED, *MODES))
def test_nested_functions(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    @tf.function
    def inner(ids, weight):
        return tf.reduce_sum(layer(ids, training=True) * weight)

    def gradient():
        with tf.GradientTape() as tape:
            value = inner(FIRST, 2.0) + inner(SECOND, 3.0)
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), TWICE)


# Gradients TensorFlow builds from the graph's registered op gradients, not
# from the tape's records: a `tf.function` called under a tape outside it,
# `tf.gradients`, a reloaded SavedModel. Each lookup's rows must be once
# there too (as `_gather_summed`'s `tf.custom_gradient` gave them).

ONCE = expected((FIRST, 2.0))


@pytest.mark.parametrize("mode", MODES)
def test_one_lookup_in_a_function_called_under_a_tape(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    @tf.function
    def forward(ids):
        return tf.reduce_sum(layer(ids, training=True) * 2.0)

    def gradient():
        with tf.GradientTape() as tape:
            value = forward(FIRST)
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), ONCE)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_tf_gradients_of_one_lookup(jit_compile):
    import tensorflow as tf

    layer, table = layer_and_table()

    @tf.function(jit_compile=jit_compile)
    def gradient():
        value = tf.reduce_sum(layer(FIRST, training=True) * 2.0)
        gradient = tf.gradients(value, table)[0]
        return gradient.indices, gradient.values

    indices, values = gradient()
    assert_rows_once(tf.IndexedSlices(values, indices, (6, 2)), ONCE)


@known_bug(RELOADED)
def test_reloaded_saved_model_trains_each_row_once(tmp_path):
    import tensorflow as tf

    layer, table = layer_and_table()
    module = tf.Module()
    module.table = table
    module.forward = tf.function(
        lambda first, second: (
            tf.reduce_sum(layer(first, training=True) * 2.0)
            + tf.reduce_sum(layer(second, training=True) * 3.0)
        ),
        input_signature=[tf.TensorSpec((None, 3), tf.int32)] * 2,
    )
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    with tf.GradientTape() as tape:
        value = loaded.forward(FIRST, SECOND)
    assert_rows_once(tape.gradient(value, loaded.table), TWICE)


def test_saved_train_step_reloads_and_trains_as_before(tmp_path):
    """A SavedModel whose signature is a whole Adam step (gradient inside)."""
    import tensorflow as tf

    def module_and_table():
        layer, table = layer_and_table(embeddings_initializer="ones")
        optimizer = keras.optimizers.Adam(0.1)
        optimizer.build([layer.embeddings])
        module = tf.Module()
        module.layer, module.table = layer, table
        module.optimizer_variables = [v.value for v in optimizer.variables]

        @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.int32)] * 2)
        def step(first, second):
            with tf.GradientTape() as tape:
                value = tf.reduce_sum(layer(first, training=True) * 2.0)
                value += tf.reduce_sum(layer(second, training=True) * 3.0)
            gradient = tape.gradient(value, table)
            optimizer.apply([gradient], [layer.embeddings])
            return gradient.indices

        module.step = step
        return module, table

    saved, _ = module_and_table()
    tf.saved_model.save(saved, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    in_memory, table = module_and_table()
    for _ in range(2):
        indices = loaded.step(FIRST, SECOND).numpy()
        in_memory.step(FIRST, SECOND)
    assert sorted(indices) == [0, 1, 2, 3]
    np.testing.assert_allclose(loaded.table.numpy(), table.numpy(), rtol=1e-6)
    # Adam's first steps move every looked-up row by the learning rate.
    np.testing.assert_allclose(table.numpy()[:4], 1.0 - 0.2, rtol=1e-5)


def test_exported_model_calling_the_layer_twice_serves_its_predictions(
    tmp_path,
):
    import tensorflow as tf

    first = keras.Input((3,), dtype="int32")
    second = keras.Input((3,), dtype="int32")
    lookup = keras_embedplus.LookupEmbedding(6, 2)
    joined = keras.layers.Concatenate()([lookup(first), lookup(second)])
    model = keras.Model([first, second], keras.layers.Dense(1)(joined))
    model.export(str(tmp_path), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path))
    served = loaded.serve([FIRST, SECOND])
    np.testing.assert_allclose(
        served, model.predict([FIRST, SECOND], verbose=0)
    )


# Calls that differ.


@pytest.mark.parametrize("mode", MODES)
def test_a_call_with_training_false_beside_a_training_call(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer(FIRST, training=True) * 2.0)
            value += tf.reduce_sum(layer(SECOND, training=False) * 3.0)
            value += tf.reduce_sum(layer(SECOND, training=True) * 5.0)
        return tape.gradient(value, table)

    got = run(gradient, mode)()
    want = expected((FIRST, 2.0), (SECOND, 8.0))
    np.testing.assert_allclose(tf.convert_to_tensor(got), want)


@pytest.mark.parametrize("mode", MODES)
def test_training_false_still_gives_each_row_once(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape() as tape:
            value = loss(layer, training=False)
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), TWICE)


@pytest.mark.parametrize("mode", MODES)
def test_a_write_between_two_lookups_is_seen_by_the_second(mode):
    import tensorflow as tf

    layer, table = layer_and_table(embeddings_initializer="zeros")

    def rows():
        with tf.GradientTape():
            before = layer(FIRST, training=True)
            table.assign_add(tf.ones((6, 2)))
            after = layer(FIRST, training=True)
        return before, after

    before, after = run(rows, mode)()
    np.testing.assert_allclose(before, np.zeros((1, 3, 2)))
    np.testing.assert_allclose(after, np.ones((1, 3, 2)))


def test_trainable_toggled_between_calls():
    import tensorflow as tf

    layer, table = layer_and_table()
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(layer(FIRST, training=True) * 2.0)
        layer.trainable = False
        frozen = layer(SECOND, training=True)
        layer.trainable = True
        value += tf.reduce_sum(frozen * 3.0)
        value += tf.reduce_sum(layer(SECOND, training=True) * 5.0)
    # A frozen call reads the variable: its gradient still reaches the
    # variable, as for `keras.layers.Embedding` (a plain read).
    got = tape.gradient(value, table)
    want = expected((FIRST, 2.0), (SECOND, 8.0))
    np.testing.assert_allclose(tf.convert_to_tensor(got), want)


@pytest.mark.parametrize("mode", MODES)
def test_three_calls(mode):
    import tensorflow as tf

    layer, table = layer_and_table()

    def gradient():
        with tf.GradientTape() as tape:
            value = loss(layer) + tf.reduce_sum(layer(FIRST, training=True))
        return tape.gradient(value, table)

    assert_rows_once(run(gradient, mode)(), TWICE + expected((FIRST, 1.0)))


@pytest.mark.parametrize("mode", MODES)
def test_two_layers_stay_independent(mode):
    import tensorflow as tf

    one, one_table = layer_and_table()
    two, two_table = layer_and_table()

    def gradients():
        with tf.GradientTape() as tape:
            value = loss(one) + tf.reduce_sum(two(SECOND, training=True) * 7.0)
            value += tf.reduce_sum(two(FIRST, training=True))
        return tape.gradient(value, [one_table, two_table])

    one_gradient, two_gradient = run(gradients, mode)()
    assert_rows_once(one_gradient, TWICE)
    assert_rows_once(two_gradient, expected((SECOND, 7.0), (FIRST, 1.0)))


@pytest.mark.parametrize("mode", MODES)
def test_lora_table_looked_up_twice(mode):
    import tensorflow as tf

    layer, _ = layer_and_table()
    layer.enable_lora(1)
    a, b = layer.lora_embeddings_a, layer.lora_embeddings_b
    b.assign(np.ones((1, 2), "float32"))

    def gradients():
        with tf.GradientTape() as tape:
            value = loss(layer)
        return tape.gradient(value, [a.value, b.value])

    got_a, _ = run(gradients, mode)()
    # d/dA of sum(w * (A B)[ids]) = (dense table gradient) @ B^T.
    want = TWICE @ np.ones((2, 1), "float32") * layer.lora_alpha
    np.testing.assert_allclose(tf.convert_to_tensor(got_a), want, rtol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("mode", MODES)
def test_mixed_precision(policy, mode):
    import tensorflow as tf

    layer, _ = layer_and_table(dtype=policy)
    table = layer.embeddings.value

    def gradient():
        with tf.GradientTape() as tape:
            value = loss(layer)
        return tape.gradient(value, table)

    got = run(gradient, mode)()
    assert got.values.dtype == tf.float32
    assert_rows_once(got, TWICE)


# Every lookup layer called more than once.


def pretrained_layer():
    import gensim

    vectors = gensim.models.KeyedVectors(2)
    vectors.add_vectors(["a", "b"], np.ones((2, 2), "float32"))
    layer = keras_embedplus.PretrainedEmbedding.from_vectors(
        vectors, ["", "a", "c", "d", "b", "e"], oov="zeros", trainable_oov=True
    )
    layer.build((None, 3))
    return layer


@pytest.mark.parametrize("mode", MODES)
def test_pretrained_oov_rows_looked_up_twice(mode):
    import tensorflow as tf

    layer = pretrained_layer()
    oov = layer.oov_embeddings.value
    # Words "c", "d", "e" (ids 2, 3, 5) are OOV rows 0, 1, 2; "" (0) and
    # "a" (1) have vectors.
    first = np.array([[2, 3, 2]], "int32")
    second = np.array([[2, 5, 1]], "int32")

    def gradient():
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer(first, training=True) * 2.0)
            value += tf.reduce_sum(layer(second, training=True) * 3.0)
        return tape.gradient(value, oov)

    got = run(gradient, mode)()
    want = np.zeros((3, 2), "float32")
    want[0] = 2 * 2.0 + 3.0
    want[1] = 2.0
    want[2] = 3.0
    assert_rows_once(got, want)


@pytest.mark.parametrize("combiner", ["sum", "mean"])
@pytest.mark.parametrize("mode", MODES)
def test_embedding_bag_called_twice(combiner, mode):
    import tensorflow as tf

    layer = keras_embedplus.EmbeddingBag(6, 2, combiner=combiner)
    layer.build((None, 3))
    table = layer.embeddings.value

    def gradient():
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer(FIRST, training=True) * 2.0)
            value += tf.reduce_sum(layer(SECOND, training=True) * 3.0)
        return tape.gradient(value, table)

    scale = 1.0 if combiner == "sum" else 1.0 / 3
    want = expected((FIRST, 2.0 * scale), (SECOND, 3.0 * scale))
    got = run(gradient, mode)()
    assert_rows_once(got, want)


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_subword_embedding_called_twice(mode):
    import tensorflow as tf

    layer = keras_embedplus.SubwordEmbedding(
        ["", "cat", "cats"], 2, minn=3, maxn=3, bucket=8
    )
    words = np.array([["cat", "cats"]])
    layer(words)
    table = layer.embeddings.value

    def gradient():
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer(words, training=True) * 2.0)
            value += tf.reduce_sum(layer(words[:, :1], training=True) * 3.0)
        return tape.gradient(value, table)

    twice = tf.convert_to_tensor(run(gradient, mode)()).numpy()

    def one_call(scale):
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer(words, training=True) * scale)
        return tf.convert_to_tensor(tape.gradient(value, table)).numpy()

    def first_word():
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer(words[:, :1], training=True) * 3.0)
        return tf.convert_to_tensor(tape.gradient(value, table)).numpy()

    np.testing.assert_allclose(twice, one_call(2.0) + first_word(), rtol=1e-6)
    got = run(gradient, mode)()
    assert_rows_once(got, twice)


@pytest.mark.parametrize("mode", MODES)
def test_one_hot_dense_called_twice(mode):
    import tensorflow as tf

    layer = keras_embedplus.OneHotDense(6, 2)
    layer.build((None, 3))
    table = layer.trainable_weights[0].value

    def gradient():
        with tf.GradientTape() as tape:
            value = loss(layer, training=None)
        return tape.gradient(value, table)

    got = run(gradient, mode)()
    np.testing.assert_allclose(tf.convert_to_tensor(got), TWICE)
    if isinstance(got, tf.IndexedSlices):
        assert_rows_once(got, TWICE)


# Memory: nothing a step makes outlives it.


def test_eager_steps_keep_no_tensors_alive():
    import tensorflow as tf

    layer, table = layer_and_table()
    optimizer = keras.optimizers.Adam(0.01)

    def step():
        with tf.GradientTape() as tape:
            value = loss(layer)
        optimizer.apply_gradients([(tape.gradient(value, table), table)])

    def live():
        gc.collect()
        return sum(isinstance(o, tf.Tensor) for o in gc.get_objects())

    for _ in range(20):
        step()
    before = live()
    for _ in range(200):
        step()
    assert live() <= before + 5


def test_retracing_keeps_no_graph_alive():
    import weakref

    import tensorflow as tf

    layer, table = layer_and_table()
    graphs = []

    @tf.function(reduce_retracing=False)
    def step(ids):
        graphs.append(weakref.ref(tf.compat.v1.get_default_graph()))
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer(ids, training=True))
            value += tf.reduce_sum(layer(ids[:, :1], training=True))
        return tape.gradient(value, table)

    for length in range(1, 5):
        step(np.ones((1, length), "int32"))
    del step
    gc.collect()
    assert len(graphs) == 4
    assert [g() for g in graphs] == [None] * 4

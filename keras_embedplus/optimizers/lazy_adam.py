import keras
from keras import ops

from keras_embedplus.optimizers import row_sparse


@keras.saving.register_keras_serializable(package="keras_embedplus")
class LazyAdam(keras.optimizers.Adam):
    """Adam that updates only the table rows a batch looked up.

    A lookup (`keras_embedplus.LookupEmbedding`, `keras.layers.Embedding`)
    touches a few rows of its table per batch, and on TensorFlow its
    gradient says so: it is a `tf.IndexedSlices` holding only those rows.
    `keras.optimizers.Adam` turns it into a dense gradient and updates the
    moments and the value of every row of the table at every step. LazyAdam
    updates the moments and values of the looked-up rows only (the sparse
    update TF-Addons' `LazyAdam` made), so a step costs in proportion to the
    batch instead of the vocabulary. Ids repeated in a batch count once,
    with their gradients summed, exactly as in the dense gradient.

    How it differs from Adam: Adam keeps moving a row that a batch did not
    look up, because its momentum is not zero (and decays both moments). In
    LazyAdam such a row, and its moments, stay exactly as they were until
    the row is looked up again; the step count in the bias correction stays
    global. When every row is looked up at every step, and for dense
    gradients (`Dense` kernels, `keras_embedplus.OneHotDense`, every
    variable on JAX and PyTorch), LazyAdam computes exactly what Adam
    computes; otherwise training takes a somewhat different path, the
    trade TF-Addons' `LazyAdam` made for large tables.

    The base optimizer arguments behave as in Adam, with these points:
    `weight_decay` (decoupled, scaled by the learning rate as in Keras)
    decays only the rows being updated, like TF-Addons' `AdamW` on sparse
    gradients; `clipnorm`, `clipvalue` and `global_clipnorm` apply to the
    gradient with repeated ids summed, so they clip the true gradient,
    and `global_clipnorm` keeps it sparse; `use_ema` averages every row at
    every step, as in Adam, at the cost of one pass over the table;
    `gradient_accumulation_steps` is refused, because Keras accumulates
    gradients in dense buffers and would update every row;
    `loss_scale_factor` fails in Keras 3.15 for any optimizer given a
    row-sparse gradient (use the `"mixed_float16"` dtype policy, whose
    `LossScaleOptimizer` works).

    On TensorFlow the sparse update works eagerly, in `tf.function`, with
    XLA (`jit_compile=True`), with mixed precision (inside Keras'
    `LossScaleOptimizer`) and under `tf.distribute` strategies. On JAX and
    PyTorch, gradients of lookups are dense arrays, so LazyAdam is Adam
    there: correct, not faster.

    By name: once `keras_embedplus` is imported,
    `model.compile(optimizer="lazy_adam")` makes a `LazyAdam()`, and so do
    `"lazyadam"`, `"LazyAdam"`, `"keras_embedplus>LazyAdam"` and the dict
    `{"class_name": "LazyAdam", "config": {"learning_rate": 0.01}}`:
    `keras.optimizers.get` finds these names among Keras' custom objects.
    Keras
    matches its own optimizers in any case (`"ADAM"`) but custom ones only
    as written, so other spellings get Keras' "Could not interpret
    optimizer identifier" error. A name you registered yourself (e.g.
    with `keras.saving.get_custom_objects()["lazy_adam"] = MyAdam`) before
    importing `keras_embedplus` keeps its meaning.

    Args:
        learning_rate: Float, a
            `keras.optimizers.schedules.LearningRateSchedule`, or a callable
            without arguments returning the value. The learning rate.
            Defaults to `0.001`.
        beta_1: Float. Decay rate of the first moment estimates. Defaults
            to `0.9`.
        beta_2: Float. Decay rate of the second moment estimates. Defaults
            to `0.999`.
        epsilon: Float. Small constant added to the root of the second
            moment ("epsilon hat" of Kingma and Ba). Defaults to `1e-7`.
        amsgrad: Boolean. Whether to use the AMSGrad variant (the running
            maximum of the second moment, per row). Defaults to `False`.
        name: Optional string. Name of the optimizer; defaults to
            `"lazy_adam"`.
        **kwargs: The base optimizer arguments of `keras.optimizers.Adam`
            (`weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`,
            `loss_scale_factor`), with the points above.

    Example:

    >>> import keras
    >>> import keras_embedplus
    >>> import numpy as np
    >>> table = keras_embedplus.LookupEmbedding(10, 2)
    >>> model = keras.Sequential([
    ...     keras.Input((3,), dtype="int32"),
    ...     table,
    ...     keras.layers.GlobalAveragePooling1D(),
    ...     keras.layers.Dense(1),
    ... ])
    >>> model.compile(keras_embedplus.optimizers.LazyAdam(0.01), "mse")
    >>> _ = model.fit(np.array([[1, 2, 3]]), np.ones((1, 1)), verbose=0)
    >>> before = table.get_weights()[0]
    >>> _ = model.fit(np.array([[4, 5, 6]]), np.ones((1, 1)), verbose=0)
    >>> after = table.get_weights()[0]

    Rows 1-3 were not looked up in the second step: LazyAdam left them as
    they were where gradients are row-sparse (TensorFlow), while Adam (and
    LazyAdam with the dense gradients of JAX and PyTorch) moved them on
    their momentum.

    >>> sparse = keras.backend.backend() == "tensorflow"
    >>> bool((after[1:4] == before[1:4]).all()) == sparse
    True
    >>> bool((after[4:7] != before[4:7]).all())  # looked up: moved
    True
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        name=None,
        **kwargs,
    ):
        steps = kwargs.get("gradient_accumulation_steps")
        if steps is not None:
            raise ValueError(
                "`gradient_accumulation_steps` is not supported by "
                "LazyAdam: Keras accumulates gradients in dense buffers, "
                "so every row of a table would be updated at every "
                "update, as with Adam. Use `keras.optimizers.Adam` for "
                "gradient accumulation, or a larger batch. Received: "
                f"gradient_accumulation_steps={steps!r}"
            )
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            name=name,
            **kwargs,
        )

    def update_step(self, gradient, variable, learning_rate):
        if row_sparse.is_row_sparse(gradient):
            self._update_rows(gradient, variable, learning_rate)
            return
        decay = self._weight_decay_of(variable, variable, learning_rate)
        if decay is not None:
            self.assign_sub(variable, decay)
        super().update_step(gradient, variable, learning_rate)

    def _update_rows(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        indices, gradient = row_sparse.row_totals(gradient)
        gradient = ops.cast(gradient, dtype)
        lr = ops.cast(learning_rate, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), step)
        alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)

        m_var = self._momentums[index]
        m = row_sparse.gather_rows(m_var, indices)
        m = ops.add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        v_var = self._velocities[index]
        v = row_sparse.gather_rows(v_var, indices)
        v = ops.add(
            v,
            ops.multiply(
                ops.subtract(ops.square(gradient), v), 1 - self.beta_2
            ),
        )
        rows = row_sparse.gather_rows(variable, indices)
        # Outside XLA the indices are distinct. Under XLA every position of
        # a row holds that row's whole gradient, so the new rows are equal
        # wherever a row repeats. Either way writing them is exact.
        self.assign(m_var, row_sparse.rows_at(indices, m))
        self.assign(v_var, row_sparse.rows_at(indices, v))
        if self.amsgrad:
            v_hat_var = self._velocity_hats[index]
            v_hat = row_sparse.gather_rows(v_hat_var, indices)
            v = ops.maximum(v_hat, v)
            self.assign(v_hat_var, row_sparse.rows_at(indices, v))
        decay = self._weight_decay_of(variable, rows, learning_rate)
        if decay is not None:
            rows = ops.subtract(rows, decay)
        rows = ops.subtract(
            rows,
            ops.divide(
                ops.multiply(m, alpha), ops.add(ops.sqrt(v), self.epsilon)
            ),
        )
        self.assign(variable, row_sparse.rows_at(indices, rows))

    def _weight_decay_of(self, variable, values, learning_rate):
        """Returns what decoupled weight decay takes off `values`, or None."""
        if self.weight_decay is None or not self._use_weight_decay(variable):
            return None
        lr = ops.cast(learning_rate, variable.dtype)
        weight_decay = ops.cast(self.weight_decay, variable.dtype)
        return ops.multiply(ops.multiply(values, weight_decay), lr)

    def _apply_weight_decay(self, variables):
        # Keras decays every variable in full before `update_step`; LazyAdam
        # decays in `update_step`, where it knows which rows it updates.
        return

    def _clip_gradients(self, grads):
        if not (self.clipnorm or self.clipvalue or self.global_clipnorm):
            return grads
        grads = [
            row_sparse.combine_duplicates(g)
            if row_sparse.is_row_sparse(g)
            else g
            for g in grads
        ]
        if not self.global_clipnorm or not any(
            row_sparse.is_row_sparse(g) for g in grads
        ):
            return super()._clip_gradients(grads)
        # Keras' global clipping would make row-sparse gradients dense.
        squares = [
            ops.sum(ops.square(ops.cast(row_sparse.values(g), "float32")))
            for g in grads
            if g is not None
        ]
        norm = ops.sqrt(ops.sum(ops.stack(squares)))
        # A non-finite norm poisons every gradient, as in Keras.
        scale = ops.where(
            ops.isfinite(norm),
            ops.minimum(1.0, self.global_clipnorm / norm),
            float("nan"),
        )
        return [
            None
            if g is None
            else row_sparse.with_values(
                g, row_sparse.values(g) * ops.cast(scale, g.dtype)
            )
            for g in grads
        ]


# Keras resolves optimizer strings among its own optimizers, then among the
# global custom objects by exact name: register the short names there, as
# `keras.saving.get_custom_objects()` allows, without replacing a user's.
for _name in ("lazy_adam", "lazyadam", "LazyAdam"):
    keras.saving.get_custom_objects().setdefault(_name, LazyAdam)
del _name

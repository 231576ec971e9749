import keras
from keras import ops

from keras_embedplus.layers import ids as ids_lib
from keras_embedplus.layers.bad_id_record import carry_record


@keras.saving.register_keras_serializable(package="keras_embedplus")
class LookupEmbedding(keras.layers.Embedding):
    """Turns integer ids into dense vectors by looking up rows of a table.

    The layer holds a trainable table of shape `(input_dim, output_dim)`;
    id `i` selects row `i`. That is exactly `one_hot(i, input_dim) @ table`
    (see `keras_embedplus.OneHotDense`), computed without building the
    one-hot vectors. The table starts random (`embeddings_initializer`) and
    gradient descent moves only the rows that were looked up.

    It is `keras.layers.Embedding` with two things Keras 3 dropped or never
    had: `input_length` works as in Keras 2 (the layer, and a `Sequential`
    model it starts, are built at once, so `model.summary()` shows shapes
    and parameter counts), and ids outside `[0, input_dim)` raise an error
    that names the layer, the id and `input_dim` on CPU and GPU alike,
    instead of a buried graph error on CPU and silent zeros on GPU (where
    a compiled step cannot raise, the `keras_embedplus.CheckIds` callback
    raises it after the step). Everything else
    (masking, `weights=`, LoRA, int8/int4 quantization, ragged and sparse
    inputs, mixed precision) behaves as in Keras.

    Args:
        input_dim: Integer. Size of the vocabulary, i.e. maximum id + 1.
        output_dim: Integer. Dimension of the dense embedding.
        input_length: Optional integer. Length of the input sequences. When
            given, the layer is built at once and a `Sequential` model whose
            first layer it is gets the input shape `(None, input_length)`.
        embeddings_initializer: Initializer for the table.
        embeddings_regularizer: Regularizer applied to the table.
        embeddings_constraint: Constraint applied to the table.
        mask_zero: Boolean. Whether id 0 is padding to be masked out; if
            `True`, `input_dim` should be the vocabulary size + 1.
        weights: Optional float matrix of shape `(input_dim, output_dim)`:
            the initial table.
        lora_rank: Optional integer. Rank of a LoRA update of the table;
            works together with `weights` (the update starts at zero, so
            the layer starts from the given table).
        lora_alpha: Optional number. Scale of the LoRA update.
        check_ids: Boolean, default `True`. Whether to check that every id
            lies in `[0, input_dim)`.
        on_bad_id: String, what an id outside `[0, input_dim)` does (with
            `check_ids=True`). `"raise"` (default): an error, wherever the
            step can raise; where it cannot (XLA, `jax.jit`, Keras' JAX
            trainer) the rows of bad ids are NaN and
            `keras_embedplus.CheckIds` raises the error after the step.
            `"nan"`: NaN rows, never an error. `"zero"`: zero rows, never
            an error.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        inputs: Integer tensor of ids, any shape; ragged and sparse tensors
            on TensorFlow. Ids of other dtypes than int32 and int64 (uint8,
            int16, floats) are cast to int32, as in Keras.
        training: Optional boolean, passed by Keras; the lookup is the same
            either way. (On TensorFlow a trainable table is gathered from
            the handle shared by the step's lookups of it, whose gradient
            holds each looked-up row once, with `training=False` too: Keras'
            fine-tuning idiom calls a model with `training=False` and still
            trains its weights.)

    Masking:
        With `mask_zero=True` the layer outputs the mask `inputs != 0`.

    Errors:
        With `on_bad_id="raise"`, an id outside `[0, input_dim)` raises
        `tf.errors.InvalidArgumentError` on TensorFlow (eagerly, in
        `tf.function` and inside `fit`/`predict`) and `ValueError` on
        PyTorch and in eager JAX calls. Where no error can be raised inside
        the step (`jit_compile=True` on TensorFlow; `fit`, `predict` and
        `evaluate` on JAX, with or without jit) the rows of bad ids are
        NaN, and the callback `keras_embedplus.CheckIds()` raises a
        `ValueError` naming the layer, the id and `input_dim` after the
        step. The model stays usable after any of these errors.
        Inputs of another length than `input_length` raise a `ValueError`
        naming both lengths.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential()
    >>> model.add(keras_embedplus.Embedding(5, 2, input_length=5))
    >>> model.output_shape
    (None, 5, 2)
    >>> model.count_params()
    10
    >>> layer = keras_embedplus.LookupEmbedding(
    ...     3, 2, weights=np.array([[0., 0.], [1., 2.], [3., 4.]]))
    >>> keras.ops.convert_to_numpy(layer(np.array([2, 1])))
    array([[3., 4.],
           [1., 2.]], dtype=float32)
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        input_length=None,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        weights=None,
        lora_rank=None,
        lora_alpha=None,
        check_ids=True,
        on_bad_id="raise",
        **kwargs,
    ):
        input_length = ids_lib.validate_input_length(input_length)
        on_bad_id = ids_lib.validate_on_bad_id(on_bad_id)
        if not isinstance(check_ids, bool):
            raise ValueError(
                "`check_ids` must be a boolean. "
                f"Received: check_ids={check_ids!r}"
            )
        # Keras builds the layer with its LoRA weights before it sets
        # `weights`, then refuses a single table for its three weights: the
        # update is enabled once the table is in place instead.
        lora_after_weights = weights is not None and lora_rank is not None
        # Set before Keras' `__init__`, which builds the layer when given
        # `weights`: `build` reads them.
        self.check_ids = check_ids
        self.on_bad_id = on_bad_id
        super().__init__(
            input_dim,
            output_dim,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
            embeddings_constraint=embeddings_constraint,
            mask_zero=mask_zero,
            weights=weights,
            lora_rank=None if lora_after_weights else lora_rank,
            lora_alpha=None if lora_after_weights else lora_alpha,
            **kwargs,
        )
        if lora_after_weights:
            self.enable_lora(lora_rank, lora_alpha=lora_alpha)
        self.input_length = input_length
        if input_length is not None:
            # Keras 2 behaviour: `Sequential.add` builds the model from this.
            self._input_shape_arg = (input_length,)
            self.build((None, input_length))

    def build(self, input_shape=None):
        if self.check_ids and self.on_bad_id == "raise":
            # JAX: the bad-id record becomes state the steps carry; only
            # `build` (or `__init__`) may add state to a Keras layer.
            carry_record(self)
        super().build(input_shape)

    def call(self, inputs, training=None):
        ids = self._checked_ids(inputs)
        rows = ops.cast(self._gather(ids), self.compute_dtype)
        return self._guarded(ids, rows)

    def compute_output_shape(self, input_shape):
        ids_lib.check_input_length(self, input_shape)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config["input_length"] = self.input_length
        config["check_ids"] = self.check_ids
        config["on_bad_id"] = self.on_bad_id
        return config

    def quantize(self, mode=None, type_check=True, config=None):
        # Keras refuses to quantize subclasses unless asked not to check;
        # the lookup is the same computation, so its quantization applies.
        super().quantize(mode, type_check=False, config=config)

    def _int8_call(self, inputs, training=None):
        ids = self._checked_ids(inputs)
        rows = super()._int8_call(ids_lib.gather_ids(self, ids), training)
        return self._guarded(ids, rows)

    def _int4_call(self, inputs, training=None):
        ids = self._checked_ids(inputs)
        rows = super()._int4_call(ids_lib.gather_ids(self, ids), training)
        return self._guarded(ids, rows)

    def _checked_ids(self, inputs):
        ids_lib.check_input_length(self, inputs.shape)
        if not ids_lib.is_index_dtype(inputs.dtype):
            inputs = ops.cast(inputs, "int32")
        if self.check_ids:
            inputs = ids_lib.check_ids(self, inputs)
        return inputs

    def _gather(self, ids):
        # With LoRA the table is computed; otherwise read the variable.
        table = self.embeddings if self.lora_enabled else self._embeddings
        return ids_lib.gather_rows(table, ids_lib.gather_ids(self, ids))

    def _guarded(self, ids, rows):
        if self.check_ids:
            return ids_lib.guard_rows(self, ids, rows)
        return rows

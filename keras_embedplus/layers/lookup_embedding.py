import keras
from keras import ops

from keras_embedplus.layers import ids as ids_lib


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
    that names the layer, the id and `input_dim` on every device, instead
    of a buried graph error on CPU and silent zeros on GPU. Everything else
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
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        inputs: Integer tensor of ids, any shape; ragged and sparse tensors
            on TensorFlow. Ids of other dtypes than int32 and int64 (uint8,
            int16, floats) are cast to int32, as in Keras.
        training: Optional boolean, passed by Keras. On TensorFlow, `False`
            (`predict`, `evaluate`) skips the numbering of repeated ids that
            lets the gradient hold each looked-up row once.

    Masking:
        With `mask_zero=True` the layer outputs the mask `inputs != 0`.

    Errors:
        An id outside `[0, input_dim)` raises `tf.errors.InvalidArgumentError`
        on TensorFlow (eagerly and inside `fit`/`predict`) and `ValueError`
        on other backends where the ids are concrete values (eager JAX,
        PyTorch). Where no error can be raised (`jit_compile=True` on
        TensorFlow, and `fit`/`predict` on JAX, which run under `jax.jit`)
        the rows of bad ids are NaN instead.

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
        **kwargs,
    ):
        input_length = ids_lib.validate_input_length(input_length)
        if not isinstance(check_ids, bool):
            raise ValueError(
                "`check_ids` must be a boolean. "
                f"Received: check_ids={check_ids!r}"
            )
        # Keras builds the layer with its LoRA weights before it sets
        # `weights`, then refuses a single table for its three weights: the
        # update is enabled once the table is in place instead.
        lora_after_weights = weights is not None and lora_rank is not None
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
        self.check_ids = check_ids
        if input_length is not None:
            # Keras 2 behaviour: `Sequential.add` builds the model from this.
            self._input_shape_arg = (input_length,)
            self.build((None, input_length))

    def call(self, inputs, training=None):
        ids = self._checked_ids(inputs)
        rows = ops.cast(self._gather(ids, training), self.compute_dtype)
        return self._guarded(ids, rows)

    def get_config(self):
        config = super().get_config()
        config["input_length"] = self.input_length
        config["check_ids"] = self.check_ids
        return config

    def quantize(self, mode=None, type_check=True, config=None):
        # Keras refuses to quantize subclasses unless asked not to check;
        # the lookup is the same computation, so its quantization applies.
        super().quantize(mode, type_check=False, config=config)

    def _int8_call(self, inputs, training=None):
        ids = self._checked_ids(inputs)
        return self._guarded(ids, super()._int8_call(ids, training))

    def _int4_call(self, inputs, training=None):
        ids = self._checked_ids(inputs)
        return self._guarded(ids, super()._int4_call(ids, training))

    def _checked_ids(self, inputs):
        if not ids_lib.is_index_dtype(inputs.dtype):
            inputs = ops.cast(inputs, "int32")
        if self.check_ids:
            inputs = ids_lib.check_ids(self, inputs)
        return inputs

    def _gather(self, ids, training=None):
        # With LoRA the table is computed; otherwise read the variable.
        table = self.embeddings if self.lora_enabled else self._embeddings
        return ids_lib.gather_rows(table, ids, training)

    def _guarded(self, ids, rows):
        if self.check_ids:
            return ids_lib.guard_rows(self, ids, rows)
        return rows

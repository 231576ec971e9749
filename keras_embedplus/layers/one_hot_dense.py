import keras
from keras import ops

from keras_embedplus.layers import float_ids
from keras_embedplus.layers import ids as ids_lib
from keras_embedplus.layers.lookup_embedding import LookupEmbedding

INPUT_MODES = ("auto", "ids", "probabilities")


@keras.saving.register_keras_serializable(package="keras_embedplus")
class OneHotDense(LookupEmbedding):
    """Multiplies one-hot vectors by a table: the lookup, written as Dense.

    Each id `i` becomes the one-hot vector `one_hot(i, input_dim)`, which is
    multiplied by a kernel of shape `(input_dim, output_dim)`: a `Dense`
    layer without bias or activation. The product picks row `i` of the
    kernel, so the layer computes exactly what `keras_embedplus.
    LookupEmbedding` computes, and `set_weights(lookup.get_weights())`
    makes the two give the same outputs. It exists to show that identity,
    and because it also accepts what a lookup cannot: float inputs of shape
    `(..., input_dim)` that are distributions over the vocabulary (a
    softmax or Gumbel-softmax output), giving the weighted mix of rows.

    The price of the matrix product is a cost proportional to `input_dim`
    per id and a dense gradient over the whole table, which is why
    frameworks gather rows instead (see the benchmarks).

    Args:
        input_dim: Integer. Size of the vocabulary, i.e. maximum id + 1.
        output_dim: Integer. Dimension of the output vectors.
        input_length: Optional integer. Length of the input sequences; when
            given the layer is built at once, as `LookupEmbedding` is, for
            ids of shape `(batch, input_length)`.
        input_mode: String. `"ids"`: inputs are integer ids. `"probabilities"`:
            inputs are float tensors of shape `(..., input_dim)`. `"auto"`
            (default): a float input whose last axis has `input_dim`
            entries is probabilities unless its shape fits the ids the
            layer was built for (`(batch, input_length)`, or the shape of
            the first ids it read); anything else is ids. Float ids must be
            whole numbers: `2.5` or NaN is a bad id (not id 2) and follows
            `on_bad_id`, as an id outside the vocabulary does.
        **kwargs: The other arguments of `LookupEmbedding` (initializer,
            regularizer, constraint, `mask_zero`, `weights`, LoRA,
            `check_ids`) and the base layer arguments.

    Call arguments:
        inputs: Integer ids of any shape (ragged and sparse tensors on
            TensorFlow, read as the lookup reads them), or float
            probabilities of shape `(..., input_dim)`.

    Masking:
        With `mask_zero=True`, id inputs give the mask `inputs != 0`;
        probability inputs give no mask.

    Example:

    >>> import numpy as np
    >>> table = np.array([[0., 0.], [1., 2.], [3., 4.]])
    >>> layer = keras_embedplus.OneHotDense(3, 2, weights=table)
    >>> keras.ops.convert_to_numpy(layer(np.array([2, 1])))
    array([[3., 4.],
           [1., 2.]], dtype=float32)
    >>> keras.ops.convert_to_numpy(layer(np.array([[0., 0.5, 0.5]])))
    array([[2., 3.]], dtype=float32)
    """

    def __init__(self, input_dim, output_dim, input_mode="auto", **kwargs):
        if input_mode not in INPUT_MODES:
            raise ValueError(
                f"`input_mode` must be one of {INPUT_MODES}. "
                f"Received: input_mode={input_mode!r}"
            )
        self._ids_shape = None
        super().__init__(input_dim, output_dim, **kwargs)
        self.input_mode = input_mode
        if self.input_length is not None:
            self._ids_shape = (None, self.input_length)

    def call(self, inputs):
        if self._takes_probabilities(inputs):
            return ops.matmul(
                ops.cast(inputs, self.compute_dtype), self._kernel()
            )
        good = None
        if _is_dense_float(inputs):
            # Bad float ids (2.5, NaN, 7.0) follow `on_bad_id` there.
            inputs, good = float_ids.whole_ids(self, inputs)
        ids = self._checked_ids(inputs)
        rows = self._guarded(
            ids,
            ids_lib.map_ids(ids_lib.gather_ids(self, ids), self._one_hot_rows),
        )
        if good is not None:
            fill = ops.cast(float_ids.fill_value(self), rows.dtype)
            rows = ops.where(ops.expand_dims(good, -1), rows, fill)
        return rows

    def compute_mask(self, inputs, mask=None):
        if self._takes_probabilities(inputs):
            return None
        return super().compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape):
        # A shape alone cannot tell "auto" inputs apart; it reads ids.
        if self.input_mode == "probabilities":
            return (*input_shape[:-1], self.output_dim)
        return super().compute_output_shape(input_shape)

    def compute_output_spec(self, inputs):
        if self._takes_probabilities(inputs):
            return keras.KerasTensor(
                (*inputs.shape[:-1], self.output_dim), dtype=self.compute_dtype
            )
        return super().compute_output_spec(inputs)

    def get_config(self):
        config = super().get_config()
        config["input_mode"] = self.input_mode
        return config

    def quantize(self, mode=None, type_check=True, config=None):
        raise NotImplementedError(
            f"Layer '{self.name}' (OneHotDense) cannot be quantized: its "
            "one-hot product exists to show the mechanism. Quantize a "
            "`keras_embedplus.LookupEmbedding` with the same weights "
            "instead; it computes the same outputs."
        )

    def _kernel(self):
        return ops.cast(self.embeddings, self.compute_dtype)

    def _one_hot_rows(self, ids):
        one_hot = ops.one_hot(ids, self.input_dim, dtype=self.compute_dtype)
        return ops.matmul(one_hot, self._kernel())

    def _takes_probabilities(self, inputs):
        if self.input_mode != "auto":
            return self.input_mode == "probabilities"
        shape = tuple(inputs.shape)
        if (
            "float" in keras.backend.standardize_dtype(inputs.dtype)
            and shape
            and shape[-1] == self.input_dim
            and not _fits(shape, self._ids_shape)
        ):
            return True
        if self._ids_shape is None:
            # The first ids fix the shape later float inputs are read by.
            self._ids_shape = (None, *shape[1:])
        return False


def _fits(shape, ids_shape):
    """Whether an input of `shape` can be ids of shape `ids_shape`."""
    if ids_shape is None or len(shape) != len(ids_shape):
        return False
    return all(
        a is None or b is None or a == b
        for a, b in zip(shape[1:], ids_shape[1:], strict=True)
    )


def _is_dense_float(inputs):
    dtype = keras.backend.standardize_dtype(inputs.dtype)
    return "float" in dtype and not (
        keras.backend.backend() == "tensorflow"
        and type(inputs).__name__ in ("RaggedTensor", "SparseTensor")
    )

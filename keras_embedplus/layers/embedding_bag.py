import keras
from keras import ops

from keras_embedplus.layers import bags
from keras_embedplus.layers.lookup_embedding import LookupEmbedding

COMBINERS = ("sum", "mean", "sqrtn", "max")


@keras.saving.register_keras_serializable(package="keras_embedplus")
class EmbeddingBag(LookupEmbedding):
    """Looks up a bag of ids and reduces their rows to one vector.

    A bag is the last axis of the ids: the words of a sentence, the
    categorical features of a user, the n-grams of a word. The layer looks
    up each id's row, as `keras_embedplus.LookupEmbedding` does, and
    reduces the rows of a bag with `combiner`, so ids of shape
    `(batch, bag_len)` give `(batch, output_dim)` and
    `(batch, n_bags, bag_len)` give `(batch, n_bags, output_dim)`.

    With per-id weights `w` (`wᵢ = 1` when none are given) and the padding
    entries left out of the bag:

    - `"sum"`: `Σ wᵢ·rowᵢ`;
    - `"mean"`: `Σ wᵢ·rowᵢ / Σ wᵢ`;
    - `"sqrtn"`: `Σ wᵢ·rowᵢ / √(Σ wᵢ²)`;
    - `"max"`: the element-wise maximum of the rows (no weights).

    An empty bag (all padding) gives zeros with every combiner, never NaN,
    and its gradient is zero, where `Embedding(mask_zero=True)` followed
    by `GlobalAveragePooling1D` gives NaN.

    The layer is a `LookupEmbedding`: `input_length`, the id check,
    `weights=` (the initial table), initializers, regularizers, LoRA,
    int8/int4 quantization and mixed precision work as there, and on
    TensorFlow the gradient of the table is row-sparse with each looked-up
    row once, so `keras_embedplus.optimizers.LazyAdam` updates only those.

    Args:
        input_dim: Integer. Size of the vocabulary, i.e. maximum id + 1.
        output_dim: Integer. Dimension of the dense embedding.
        combiner: String, `"mean"` (default), `"sum"`, `"sqrtn"` or
            `"max"`: how the rows of a bag are reduced.
        mask_zero: Boolean. Whether id 0 is padding, left out of every bag;
            if `True`, `input_dim` should be the vocabulary size + 1.
        **kwargs: The other arguments of `keras_embedplus.LookupEmbedding`
            (`input_length`, `embeddings_initializer`, `weights`,
            `lora_rank`, `check_ids`, ...) and base layer arguments.

    Call arguments:
        inputs: Integer tensor of ids of rank >= 1 whose last axis holds the
            bags. On TensorFlow also a `tf.RaggedTensor` (each bag its own
            length) or a `tf.SparseTensor` (the missing entries are not in
            the bag). On JAX, a sparse `BCOO` with `mask_zero=True` only
            (made dense, its missing entries are padding).
        weights: Optional float tensor of the same shape (and, for ragged
            or sparse ids, the same structure) as `inputs`: the weight of
            each id in its bag. Not with `combiner="max"`.
        training: Optional boolean, passed by Keras.

    Masking:
        The output has no time axis left to mask: the layer outputs no
        mask, whatever `mask_zero`.

    Example:

    >>> import numpy as np
    >>> layer = keras_embedplus.EmbeddingBag(
    ...     4, 2, combiner="mean", mask_zero=True,
    ...     weights=np.array([[9., 9.], [1., 2.], [3., 4.], [5., 0.]]))
    >>> ids = np.array([[1, 2, 0], [3, 0, 0], [0, 0, 0]])
    >>> keras.ops.convert_to_numpy(layer(ids))
    array([[2., 3.],
           [5., 0.],
           [0., 0.]], dtype=float32)
    >>> sums = keras_embedplus.EmbeddingBag(
    ...     4, 2, combiner="sum", weights=layer.get_weights()[0])
    >>> keras.ops.convert_to_numpy(
    ...     sums(np.array([[1, 2]]), weights=np.array([[2., 0.5]])))
    array([[3.5, 6. ]], dtype=float32)
    """

    # `input_length` is the length of a bag: the last axis of the ids.
    _input_length_axis = -1

    def __init__(
        self,
        input_dim,
        output_dim,
        combiner="mean",
        mask_zero=False,
        **kwargs,
    ):
        if combiner not in COMBINERS:
            raise ValueError(
                "`combiner` must be one of "
                f"{', '.join(repr(c) for c in COMBINERS)}. "
                f"Received: combiner={combiner!r}"
            )
        super().__init__(input_dim, output_dim, mask_zero=mask_zero, **kwargs)
        self.combiner = combiner

    def call(self, inputs, weights=None, training=None):
        return self._bag(inputs, weights, training, quantized=None)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            raise ValueError(
                f"Layer `{self.name}` (EmbeddingBag) needs ids of rank >= 1: "
                "their last axis holds the bags. Received: input_shape=()"
            )
        return (*input_shape[:-1], self.output_dim)

    def compute_output_spec(self, inputs, weights=None, training=None):
        shape = self.compute_output_shape(inputs.shape)
        # Ragged ids of rank 3+ keep their ragged outer axes.
        ragged = bool(getattr(inputs, "ragged", False)) and len(shape) > 2
        return keras.KerasTensor(shape, dtype=self.compute_dtype, ragged=ragged)

    def get_config(self):
        config = super().get_config()
        config["combiner"] = self.combiner
        return config

    def _int8_call(self, inputs, weights=None, training=None):
        return self._bag(inputs, weights, training, quantized="_int8_call")

    def _int4_call(self, inputs, weights=None, training=None):
        return self._bag(inputs, weights, training, quantized="_int4_call")

    def _bag(self, inputs, weights, training, quantized):
        if weights is not None and self.combiner == "max":
            raise ValueError(
                f"Layer `{self.name}` (EmbeddingBag) has combiner='max', "
                "which takes no per-id `weights`: the maximum of weighted "
                "rows has no standard meaning. Use combiner='sum', 'mean' "
                "or 'sqrtn', or call the layer without `weights`."
            )
        ids = self._checked_ids(inputs)

        def rows_of(flat_ids):
            # Dense ids, already checked: the rows, in the compute dtype.
            if quantized is None:
                rows = self._gather(flat_ids)
            else:
                # keras.layers.Embedding's quantized lookup.
                lookup = getattr(super(LookupEmbedding, self), quantized)
                rows = lookup(flat_ids, training)
            rows = ops.cast(rows, self.compute_dtype)
            return self._guarded(flat_ids, rows)

        return bags.reduce_bags(
            ids,
            weights,
            rows_of,
            combiner=self.combiner,
            mask_zero=self.mask_zero,
            layer_name=self.name,
            dtype=self.compute_dtype,
        )

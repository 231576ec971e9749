import os

import keras
import numpy as np
from keras import ops

from keras_embedplus.layers import ids as ids_lib
from keras_embedplus.layers.lookup_embedding import LookupEmbedding


@keras.saving.register_keras_serializable(package="keras_embedplus")
class PretrainedEmbedding(LookupEmbedding):
    """A lookup whose table comes from pretrained vectors, frozen by default.

    Build it with `PretrainedEmbedding.from_vectors(vectors_or_path,
    vocabulary)`: the vectors (GloVe, word2vec, fastText, read through
    `keras_embedplus.load_vectors`) are aligned to your vocabulary, row `i`
    holding the vector of token `i`; tokens without a pretrained vector get
    a row chosen by the `oov` policy, and `layer.coverage` tells how many
    were found.

    The pretrained rows are frozen: the layer has no trainable weights
    unless you ask for them. `trainable_oov=True` trains only the rows of
    tokens that had no pretrained vector (kept in a separate small
    variable) while the pretrained rows stay exactly fixed. Setting
    `layer.pretrained_trainable = True` unfreezes the pretrained rows for
    fine-tuning (compile the model again afterwards), and
    `layer.trainable = False` freezes everything, as for any Keras layer.
    A saved `.keras` model reloads without the vector file: the table
    travels in the weights, never in the config.

    Args:
        input_dim: Integer. Number of rows (vocabulary size).
        output_dim: Integer. Dimension of the vectors.
        trainable_oov: Boolean. Whether the rows listed in `oov_ids` train
            while the pretrained rows stay frozen.
        oov_ids: Optional sequence of integers: the ids whose rows had no
            pretrained vector. Required with `trainable_oov=True` (given by
            `from_vectors`).
        num_oov_rows: Integer. The length of `oov_ids`; only `from_config`
            passes it, as the ids themselves are saved with the weights.
        pretrained_trainable: Boolean, default `False`. Whether the
            pretrained rows train. Also a settable attribute; it is kept in
            the config so a fine-tuned layer reloads as it was.
        **kwargs: The arguments of `keras_embedplus.LookupEmbedding`
            (`weights`, `mask_zero`, `input_length`, `check_ids`, ...) and
            the base layer arguments.

    Call arguments:
        inputs: Integer tensor of ids in `[0, input_dim)`.

    Masking:
        With `mask_zero=True` the layer outputs the mask `inputs != 0`; id
        0 must then be padding (as in a `TextVectorization` vocabulary).

    Example:

    >>> import gensim
    >>> vectors = gensim.models.KeyedVectors(2)
    >>> vectors.add_vectors(["hope", "to"], np.array([[1., 2.], [3., 4.]]))
    >>> layer = keras_embedplus.PretrainedEmbedding.from_vectors(
    ...     vectors, ["hope", "to", "see"], oov="zeros")
    >>> print(layer.coverage.found, "of", layer.coverage.total)
    2 of 3
    >>> keras.ops.convert_to_numpy(layer(np.array([0, 2])))
    array([[1., 2.],
           [0., 0.]], dtype=float32)
    >>> len(layer.trainable_weights)
    0
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        trainable_oov=False,
        oov_ids=None,
        num_oov_rows=None,
        pretrained_trainable=False,
        **kwargs,
    ):
        weights = kwargs.pop("weights", None)
        _check_bool("trainable_oov", trainable_oov)
        oov_ids = _validate_oov_ids(oov_ids, input_dim)
        if oov_ids is not None:
            num_oov_rows = len(oov_ids)
        if trainable_oov and num_oov_rows is None:
            raise ValueError(
                "`trainable_oov=True` needs `oov_ids`, the ids whose rows "
                "had no pretrained vector. Build the layer with "
                "`PretrainedEmbedding.from_vectors(...)`, which passes them."
            )
        _check_bool("pretrained_trainable", pretrained_trainable)
        self.trainable_oov = trainable_oov
        self.num_oov_rows = int(num_oov_rows or 0)
        # Read by `build`, which `input_length` may call from the base init.
        self._pretrained_trainable = pretrained_trainable
        super().__init__(input_dim, output_dim, **kwargs)
        self.coverage = None
        if weights is not None or oov_ids is not None:
            self.build()
        if weights is not None:
            self._set_table(np.asarray(weights), oov_ids)
        elif oov_ids is not None and trainable_oov:
            self._set_oov_positions(oov_ids)

    @classmethod
    def from_vectors(
        cls,
        vectors_or_path,
        vocabulary,
        *,
        oov="random",
        lowercase_fallback=True,
        trainable_oov=False,
        mask_zero=False,
        seed=None,
        **layer_kwargs,
    ):
        """Builds the layer from pretrained vectors aligned to a vocabulary.

        Args:
            vectors_or_path: A `gensim.models.KeyedVectors`, or the path of
                a vector file in any format `keras_embedplus.load_vectors`
                reads (only the vocabulary's words are kept).
            vocabulary: A list of tokens (row `i` = token `i`), a dict
                token -> id, or a Keras `TextVectorization`/`StringLookup`
                layer (its padding and `[UNK]` rows are handled).
            oov: String. Row for tokens without a vector: `"random"`,
                `"zeros"`, `"mean"` or `"subword"` (fastText vectors).
            lowercase_fallback: Boolean. Look up `"hope"` when `"Hope"` has
                no vector.
            trainable_oov: Boolean. Train the rows of tokens that had no
                pretrained vector while the others stay frozen.
            mask_zero: Boolean. Id 0 is padding and is masked.
            seed: Optional integer for the `"random"` policy.
            **layer_kwargs: Other layer arguments (`name`, `input_length`,
                `dtype`, ...).

        Returns:
            A `PretrainedEmbedding` with `.coverage` set.
        """
        from keras_embedplus.vectors import vocabulary as vocabulary_lib
        from keras_embedplus.vectors.align import align_vectors

        if mask_zero:
            _refuse_oov_at_padding(vocabulary)
        rows = vocabulary_lib.vocabulary_rows(vocabulary)
        if mask_zero and rows.kinds[0] == vocabulary_lib.WORD:
            raise ValueError(
                "`mask_zero=True` reserves id 0 for padding, but row 0 of the "
                f"vocabulary is the word {rows.tokens[0]!r}. Put the padding "
                'token ("") first, as TextVectorization does.'
            )
        if isinstance(vectors_or_path, (str, os.PathLike)):
            vectors = _load_for(vectors_or_path, rows, lowercase_fallback)
        else:
            vectors = vectors_or_path
        matrix, coverage = align_vectors(
            vectors,
            vocabulary,
            oov=oov,
            lowercase_fallback=lowercase_fallback,
            seed=seed,
        )
        oov_ids = np.flatnonzero(coverage.oov_mask)
        layer = cls(
            input_dim=matrix.shape[0],
            output_dim=matrix.shape[1],
            weights=matrix,
            trainable_oov=trainable_oov,
            oov_ids=oov_ids if trainable_oov else None,
            mask_zero=mask_zero,
            **layer_kwargs,
        )
        layer.coverage = coverage
        return layer

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        if self.quantization_mode is None:
            self._embeddings.trainable = self._pretrained_trainable
        if self.trainable_oov:
            self.oov_embeddings = self.add_weight(
                shape=(self.num_oov_rows, self.output_dim),
                initializer="zeros",
                name="oov_embeddings",
                trainable=True,
            )
            self.oov_positions = self.add_weight(
                shape=(self.input_dim,),
                initializer=keras.initializers.Constant(-1),
                dtype="int32",
                name="oov_positions",
                trainable=False,
            )

    def call(self, inputs):
        ids = self._checked_ids(inputs)
        outputs = self._gather(ids)
        if self.trainable_oov:
            outputs = ids_lib.map_values(ids, outputs, self._with_oov_rows)
        return self._guarded(ids, ops.cast(outputs, self.compute_dtype))

    def get_config(self):
        config = super().get_config()
        config["trainable_oov"] = self.trainable_oov
        config["num_oov_rows"] = self.num_oov_rows
        config["pretrained_trainable"] = self.pretrained_trainable
        return config

    @property
    def pretrained_trainable(self):
        """Boolean. Whether the pretrained rows train; settable."""
        if self.built and self.quantization_mode is None:
            return bool(self._embeddings.trainable)
        return self._pretrained_trainable

    @pretrained_trainable.setter
    def pretrained_trainable(self, value):
        _check_bool("pretrained_trainable", value)
        self._pretrained_trainable = value
        if self.built and self.quantization_mode is None:
            self._embeddings.trainable = value

    @property
    def variable_serialization_spec(self):
        spec = dict(super().variable_serialization_spec)
        if self.trainable_oov:
            spec[None] = [*spec[None], "oov_embeddings", "oov_positions"]
        return spec

    def quantize(self, mode=None, type_check=True, config=None):
        if self.trainable_oov:
            raise NotImplementedError(
                f"Layer '{self.name}' (PretrainedEmbedding) cannot be "
                "quantized with `trainable_oov=True`: its trained OOV rows "
                "live outside the table. Rebuild it with "
                "`PretrainedEmbedding(..., weights=layer.full_table())` and "
                "quantize that."
            )
        super().quantize(mode, type_check=type_check, config=config)

    def full_table(self):
        """Returns the whole table as numpy, trained OOV rows included."""
        table = ops.convert_to_numpy(self.embeddings).copy()
        if self.trainable_oov:
            positions = ops.convert_to_numpy(self.oov_positions)
            rows = np.flatnonzero(positions >= 0)
            oov = ops.convert_to_numpy(self.oov_embeddings)
            table[rows] = oov[positions[rows]]
        return table

    def _with_oov_rows(self, ids, rows):
        positions = ids_lib.gather_rows(
            self.oov_positions, ids_lib.gather_ids(self, ids)
        )
        oov_rows = ids_lib.gather_rows(
            self.oov_embeddings, ops.maximum(positions, 0)
        )
        is_oov = ops.expand_dims(ops.greater_equal(positions, 0), -1)
        return ops.where(is_oov, ops.cast(oov_rows, rows.dtype), rows)

    def _set_table(self, table, oov_ids):
        expected = (self.input_dim, self.output_dim)
        if table.shape != expected:
            raise ValueError(
                f"Layer '{self.name}' expects `weights` of shape {expected}. "
                f"Received: weights.shape={table.shape}"
            )
        self._embeddings.assign(table.astype(self._embeddings.dtype))
        if self.trainable_oov and oov_ids is not None:
            self._set_oov_positions(oov_ids)
            self.oov_embeddings.assign(table[oov_ids].astype("float32"))

    def _set_oov_positions(self, oov_ids):
        positions = np.full((self.input_dim,), -1, dtype="int32")
        positions[oov_ids] = np.arange(len(oov_ids), dtype="int32")
        self.oov_positions.assign(positions)


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(
            f"`{name}` must be a boolean. Received: {name}={value!r}"
        )


def _validate_oov_ids(oov_ids, input_dim):
    if oov_ids is None:
        return None
    oov_ids = np.asarray(oov_ids)
    if oov_ids.size == 0:
        return oov_ids.astype("int64")
    if (
        oov_ids.ndim != 1
        or not np.issubdtype(oov_ids.dtype, np.integer)
        or oov_ids.min() < 0
        or oov_ids.max() >= input_dim
        or len(np.unique(oov_ids)) != len(oov_ids)
    ):
        raise ValueError(
            "`oov_ids` must be distinct integer ids in [0, input_dim). "
            f"Received: oov_ids={oov_ids!r} with input_dim={input_dim}"
        )
    return oov_ids


def _refuse_oov_at_padding(vocabulary):
    """Raises if id 0 is the OOV token, which `mask_zero=True` would mask."""
    if hasattr(vocabulary, "get_vocabulary"):
        tokens = list(vocabulary.get_vocabulary())
    elif isinstance(vocabulary, (list, tuple, np.ndarray)):
        tokens = list(vocabulary)
    else:
        return  # a dict: `vocabulary_rows` reads row 0 from its indices
    oov_token = getattr(vocabulary, "oov_token", "[UNK]")
    if tokens[:1] == [oov_token]:
        raise ValueError(
            "`mask_zero=True` reserves id 0 for padding, but id 0 of the "
            f"vocabulary is the OOV ([UNK]) token {oov_token!r}: every "
            "unknown token would be masked as padding (and a masked "
            "average over a row of unknown tokens is NaN). `StringLookup` "
            "and `IntegerLookup` put it there unless given a `mask_token`: "
            'build the lookup with `mask_token=""` (`mask_token=0` for '
            "`IntegerLookup`) so that padding is id 0 and [UNK] id 1, or "
            "pass `mask_zero=False`."
        )


def _load_for(path, rows, lowercase_fallback):
    """Reads a vector file keeping only the words the vocabulary can use."""
    from keras_embedplus.vectors import vocabulary as vocabulary_lib
    from keras_embedplus.vectors.read import AnyCase
    from keras_embedplus.vectors.read import load_vectors

    words = {
        token
        for token, kind in zip(rows.tokens, rows.kinds, strict=True)
        if kind == vocabulary_lib.WORD
    }
    if lowercase_fallback:
        # Every case of a word, as the alignment's fallback would see them
        # in the whole file.
        words = AnyCase(words)
    return load_vectors(path, vocabulary=words)

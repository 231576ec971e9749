import keras
import numpy as np
from keras import ops

from keras_embedplus.layers.embedding_bag import EmbeddingBag
from keras_embedplus.layers.subword_ids import SubwordIds


@keras.saving.register_keras_serializable(package="keras_embedplus")
class SubwordEmbedding(EmbeddingBag):
    """fastText's word vectors, for known and unseen words, as a Keras layer.

    fastText gives a word the mean of its own row (when the word is in the
    vocabulary) and of the rows of its character n-grams (`minn` to `maxn`
    characters of `"<" + word + ">"`, hashed into `bucket` rows), so it
    has a vector for any word, even one it never saw. This layer holds the
    same table, word rows then n-gram rows, and computes that mean: on a
    fastText `.bin` made by `from_fasttext` its output equals gensim's
    `load_facebook_vectors(path)[word]`.

    It is two steps. `layer.subword_ids`, a `keras_embedplus.SubwordIds`,
    turns strings into the ids of a token's rows (TensorFlow ops), and the
    layer itself is a mean `keras_embedplus.EmbeddingBag` over those ids.
    On TensorFlow the layer takes the strings directly. On JAX and PyTorch
    make the ids in `tf.data` with `layer.subword_ids` and call the layer on
    them: the two steps give the same vectors.

    The table has `len(vocabulary) + bucket + 1` rows: row 0 is padding
    (never part of a bag), row `1 + i` is word `i` and row
    `1 + len(vocabulary) + b` is n-gram bucket `b`. With
    `trainable=True` (the default of the constructor; `from_fasttext`
    freezes by default) fitting moves only the rows that were looked up,
    row-sparse on TensorFlow. A model saves to `.keras` and loads without
    the `.bin`: the vocabulary, `minn`, `maxn` and `bucket` are in the
    config and the table in the weights.

    Args:
        vocabulary: List of strings. The words with their own row.
        output_dim: Integer. Dimension of the vectors.
        minn: Integer, default 3. Shortest n-gram, in characters.
        maxn: Integer, default 6. Longest n-gram, in characters; 0 for none.
        bucket: Integer, default 2000000. Number of n-gram rows.
        **kwargs: The other arguments of `keras_embedplus.EmbeddingBag`
            (`weights` of shape `(len(vocabulary) + bucket + 1,
            output_dim)`, `embeddings_initializer`, ...) and base layer
            arguments (`trainable`, `name`, `dtype`, ...).

    Call arguments:
        inputs: A string tensor of tokens, any shape (TensorFlow, or numpy
            strings in eager mode on any backend), giving `inputs.shape +
            (output_dim,)`; or the int ids `layer.subword_ids` made from
            such tokens, giving `ids.shape[:-1] + (output_dim,)`. The empty
            string is padding and gives zeros. (fastText would give the
            empty string the row of the n-gram `"<>"` when `minn <= 2`.)
        training: Optional boolean, passed by Keras.

    Masking:
        The layer outputs no mask.

    Example:

    >>> from gensim.models.fasttext import load_facebook_vectors
    >>> from gensim.test.utils import datapath
    >>> path = datapath("lee_fasttext_new.bin")
    >>> layer = keras_embedplus.SubwordEmbedding.from_fasttext(path)
    >>> vectors = keras.ops.convert_to_numpy(
    ...     layer(np.array(["night", "nighttime", ""])))
    >>> vectors.shape
    (3, 10)
    >>> gensim_vectors = load_facebook_vectors(path)
    >>> bool(np.allclose(vectors[1], gensim_vectors["nighttime"], atol=1e-5))
    True
    >>> bool(vectors[2].any())
    False
    """

    def __init__(
        self,
        vocabulary,
        output_dim,
        minn=3,
        maxn=6,
        bucket=2_000_000,
        **kwargs,
    ):
        if kwargs.get("input_length") is not None:
            raise ValueError(
                "SubwordEmbedding takes tokens of any length, so it has no "
                "`input_length`: give the shape to `keras.Input` instead. "
                f"Received: input_length={kwargs['input_length']!r}"
            )
        for derived in ("input_dim", "combiner", "mask_zero"):
            if derived in kwargs:
                raise ValueError(
                    f"`{derived}` of a SubwordEmbedding follows from its "
                    "vocabulary and `bucket`; do not pass it. "
                    f"Received: {derived}={kwargs[derived]!r}"
                )
        subword_ids = SubwordIds(
            vocabulary,
            minn=minn,
            maxn=maxn,
            bucket=bucket,
            mask_zero=True,
            name=f"{kwargs.get('name') or 'subword_embedding'}_ids",
        )
        # The table is set once the sub-layer is in place: Keras accepts no
        # new sub-layer once `weights=` has built the layer.
        weights = kwargs.pop("weights", None)
        super().__init__(
            subword_ids.input_dim,
            output_dim,
            combiner="mean",
            mask_zero=True,
            **kwargs,
        )
        self.subword_ids = subword_ids
        if weights is not None:
            self._build_from(weights)
        self.vocabulary = subword_ids.vocabulary
        self.minn = subword_ids.minn
        self.maxn = subword_ids.maxn
        self.bucket = subword_ids.bucket
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True

    @classmethod
    def from_fasttext(cls, path, *, trainable=False, **kwargs):
        """Makes the layer from a fastText `.bin` model file.

        Reads the file with `keras_embedplus.load_vectors` (the new and old
        `.bin` formats of fastText's unsupervised models) and keeps its
        vocabulary, `minn`, `maxn`, `bucket` and both tables.

        Args:
            path: String or path. A fastText `.bin` file.
            trainable: Boolean, default `False`. Whether fitting fine-tunes
                the word and n-gram rows.
            **kwargs: Other arguments of the constructor (`name`,
                `dtype`, ...).

        Returns:
            A `SubwordEmbedding`.
        """
        from keras_embedplus.vectors.read import load_vectors

        vectors = load_vectors(path, format="fasttext-bin")
        if not hasattr(vectors, "vectors_ngrams"):
            raise ValueError(
                f"{path}: the loader found word vectors but no character "
                "n-gram rows (a supervised fastText model keeps none that "
                "gensim reads). SubwordEmbedding needs an unsupervised "
                "fastText .bin (skipgram or cbow); for these word vectors "
                "use `PretrainedEmbedding.from_vectors`."
            )
        table = np.concatenate(
            [
                np.zeros((1, vectors.vector_size), "float32"),
                np.asarray(vectors.vectors_vocab, "float32"),
                np.asarray(vectors.vectors_ngrams, "float32"),
            ]
        )
        vocabulary = list(vectors.index_to_key)
        sizes = {
            "minn": vectors.min_n,
            "maxn": vectors.max_n,
            "bucket": vectors.bucket,
        }
        del vectors  # gensim's copies go before the layer's variable comes
        return cls(
            vocabulary,
            table.shape[1],
            **sizes,
            weights=table,
            trainable=trainable,
            **kwargs,
        )

    def call(self, inputs, training=None):
        return super().call(self._ids_of(inputs), training=training)

    def compute_output_spec(self, inputs, training=None):
        if _is_strings(inputs):
            shape = tuple(inputs.shape) + (self.output_dim,)
            return keras.KerasTensor(shape, dtype=self.compute_dtype)
        return super().compute_output_spec(inputs)

    def get_config(self):
        config = super().get_config()
        for derived in ("input_dim", "combiner", "mask_zero"):
            config.pop(derived, None)
        config.update(
            {
                "vocabulary": list(self.vocabulary),
                "minn": self.minn,
                "maxn": self.maxn,
                "bucket": self.bucket,
            }
        )
        return config

    def _int8_call(self, inputs, weights=None, training=None):
        return super()._int8_call(self._ids_of(inputs), weights, training)

    def _int4_call(self, inputs, weights=None, training=None):
        return super()._int4_call(self._ids_of(inputs), weights, training)

    def _build_from(self, table):
        """Builds the layer with `table` as its initial value.

        The table becomes the variable's initial value directly, instead of
        Keras' `weights=` path (a random table, then an assignment), which
        holds three copies of a fastText table at once.
        """
        if isinstance(table, (list, tuple)) and len(table) == 1:
            table = table[0]
        table = np.asarray(table)
        expected = (self.input_dim, self.output_dim)
        if table.shape != expected:
            raise ValueError(
                f"`weights` of layer '{self.name}' must have the shape "
                f"(len(vocabulary) + bucket + 1, output_dim) = {expected}: "
                "row 0 is padding, then the word rows and the n-gram rows. "
                f"Received: weights.shape={table.shape}"
            )
        configured = self.embeddings_initializer
        self.embeddings_initializer = lambda shape, dtype=None: ops.cast(
            table, dtype
        )
        try:
            self.build()
        finally:
            self.embeddings_initializer = configured

    def _ids_of(self, inputs):
        if _is_strings(inputs):
            return self.subword_ids(inputs)
        return inputs

    def token_vectors(self, tokens):
        """Returns the vectors of `tokens` (a list of strings) as numpy.

        The same vectors as calling the layer, made in chunks, for known
        and unseen words alike; `keras_embedplus.to_keyed_vectors` uses it.
        """
        tokens = [str(token) for token in tokens]
        chunks = [
            ops.convert_to_numpy(self(np.array(tokens[i : i + 4096])))
            for i in range(0, len(tokens), 4096)
        ]
        if not chunks:
            return np.zeros((0, self.output_dim), "float32")
        return np.concatenate(chunks).astype("float32")


def _is_strings(inputs):
    """Whether `inputs` are tokens (strings) rather than ids."""
    if isinstance(inputs, (str, bytes, list, tuple)):
        return True
    dtype = getattr(inputs, "dtype", None)
    if isinstance(dtype, np.dtype):
        return dtype.kind in "USO"
    return getattr(dtype, "name", dtype) == "string"

import keras
import numpy as np

from keras_embedplus.layers.fasttext_hash import ngram_hashes
from keras_embedplus.vectors.arguments import check_integer


@keras.saving.register_keras_serializable(package="keras_embedplus")
class SubwordIds(keras.layers.Layer):
    """Maps string tokens to the ids of their fastText word and n-gram rows.

    fastText keeps one table whose first `len(vocabulary)` rows are words
    and whose next `bucket` rows are hashed character n-grams. A token's
    rows are its word row (when the token is in the vocabulary) and the
    rows of the n-grams of `"<" + token + ">"` that have `minn` to `maxn`
    characters, each at row `len(vocabulary) + hash(ngram) % bucket`, with
    fastText's FNV-1a hash over the UTF-8 bytes, exactly as gensim's
    `ft_ngram_hashes` (non-ASCII tokens included). A token that is not in
    the vocabulary gets only its n-gram rows; the empty string gets no
    rows at all: it is padding.

    The layer is preprocessing written in TensorFlow ops: it runs eagerly,
    inside a TensorFlow model, and inside `tf.data` on every backend, so
    the ids of a JAX or PyTorch model are made in the input pipeline. Feed
    them to `keras_embedplus.SubwordEmbedding` (which makes them itself
    from strings on TensorFlow) or to a mean `EmbeddingBag`.

    Args:
        vocabulary: List of strings. The words with their own row, row `i`
            for word `i`; no duplicates.
        minn: Integer, default 3. Shortest n-gram, in characters.
        maxn: Integer, default 6. Longest n-gram, in characters; 0 for no
            n-grams (fastText's supervised default).
        bucket: Integer, default 2000000. Number of n-gram rows; 0 for no
            n-grams.
        mask_zero: Boolean, default `False`. If `True`, every id is shifted
            up by one so that id 0 is padding: word `i` is id `i + 1` and
            the padded dense form pads with 0 (for a layer with
            `mask_zero=True` and `input_dim = len(vocabulary) + bucket +
            1`). If `False`, ids are the rows themselves (words in
            `[0, len(vocabulary))`, n-grams in `[len(vocabulary),
            len(vocabulary) + bucket)`) and the dense form pads with -1.
        ragged: Boolean, default `False`. Whether to output a
            `tf.RaggedTensor` (TensorFlow only) instead of padded ids.
        output_length: Optional integer. Pad the dense output to this many
            ids per token (a fixed shape for XLA and JAX); a token with
            more rows raises an error. By default the dense output is as
            long as the longest token's ids in the batch.
        **kwargs: Base layer arguments (`name`, ...).

    Call arguments:
        inputs: String tensor of tokens, any shape (ragged on TensorFlow):
            numpy arrays, lists, `tf.Tensor` or `tf.RaggedTensor`.

    Returns:
        int32 ids of shape `inputs.shape + (length,)`: padded with
        `pad_id`, or ragged in the last axis with `ragged=True`. Within a
        token, the word id comes first, then the n-gram ids in fastText's
        order (by start character, then by length); an n-gram that occurs
        twice in a token appears twice, as in fastText.

    Example:

    >>> layer = keras_embedplus.SubwordIds(
    ...     ["cat", "dog"], minn=3, maxn=3, bucket=10)
    >>> keras.ops.convert_to_numpy(layer(["cat", "cot", ""]))
    array([[ 0,  9,  3,  8],
           [11,  7,  6, -1],
           [-1, -1, -1, -1]], dtype=int32)
    """

    def __init__(
        self,
        vocabulary,
        minn=3,
        maxn=6,
        bucket=2_000_000,
        mask_zero=False,
        ragged=False,
        output_length=None,
        **kwargs,
    ):
        import tensorflow as tf

        kwargs.setdefault("dtype", "string")
        super().__init__(**kwargs)
        self.vocabulary = _check_vocabulary(vocabulary)
        self.minn = _check_count("minn", minn)
        self.maxn = _check_count("maxn", maxn)
        self.bucket = _check_count("bucket", bucket)
        for name, value in (("mask_zero", mask_zero), ("ragged", ragged)):
            if not isinstance(value, bool):
                raise ValueError(
                    f"`{name}` must be a boolean. Received: {name}={value!r}"
                )
        if output_length is not None:
            output_length = _check_count("output_length", output_length)
            if output_length == 0 or ragged:
                raise ValueError(
                    "`output_length` must be a positive integer, and only "
                    "with `ragged=False`. Received: "
                    f"output_length={output_length}, ragged={ragged}"
                )
        self.mask_zero = mask_zero
        self.ragged = ragged
        self.output_length = output_length
        self.input_dim = len(self.vocabulary) + self.bucket + int(mask_zero)
        self.pad_id = 0 if mask_zero else -1
        self._has_ngrams = (
            self.bucket > 0 and self.maxn > 0 and self.maxn >= self.minn
        )
        with tf.init_scope():
            keys = tf.constant(self.vocabulary or [""], tf.string)
            values = tf.range(tf.size(keys, out_type=tf.int64))
            if not self.vocabulary:
                values = values - 1  # an empty vocabulary: nothing found
            self._table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(keys, values), -1
            )
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.supports_jit = False
        self.built = True

    def call(self, inputs):
        import tensorflow as tf

        tokens, was_native = _to_tf_strings(inputs)
        if isinstance(tokens, tf.RaggedTensor):
            if self.ragged:
                ids = tokens.with_flat_values(self._ids(tokens.flat_values))
                return _from_tf(ids, was_native)
            tokens = tokens.to_tensor(default_value="")
        flat = self._ids(tf.reshape(tokens, [-1]))
        if self.ragged:
            ids = flat
            for size in reversed(tokens.shape[1:]):
                ids = tf.RaggedTensor.from_uniform_row_length(ids, size)
            if tokens.shape.rank == 0:
                ids = ids[0]
            return _from_tf(ids, was_native)
        lengths = flat.row_lengths()
        if self.output_length is None:
            width = tf.reduce_max(tf.concat([lengths, [0]], 0))
        else:
            width = self.output_length
            longest = tf.reduce_max(tf.concat([lengths, [0]], 0))
            check = tf.debugging.assert_less_equal(
                longest,
                tf.constant(width, tf.int64),
                message=(
                    f"Layer `{self.name}` (SubwordIds) got a token with more "
                    f"ids than output_length={width}: a word's ids are its "
                    "word row and its n-grams. Raise `output_length` (or "
                    "leave it None), or shorten the tokens."
                ),
            )
            with tf.control_dependencies([check]):
                flat = tf.identity(flat)
        dense = flat.to_tensor(
            default_value=tf.constant(self.pad_id, tf.int32),
            shape=tf.stack([tf.shape(flat, out_type=tf.int64)[0], width]),
        )
        shape = tf.concat([tf.shape(tokens, out_type=tf.int64), [width]], 0)
        return _from_tf(tf.reshape(dense, shape), was_native)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_length,)

    def compute_output_spec(self, inputs):
        shape = self.compute_output_shape(inputs.shape)
        return keras.KerasTensor(shape, dtype="int32", ragged=self.ragged)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": list(self.vocabulary),
                "minn": self.minn,
                "maxn": self.maxn,
                "bucket": self.bucket,
                "mask_zero": self.mask_zero,
                "ragged": self.ragged,
                "output_length": self.output_length,
            }
        )
        return config

    def _ids(self, tokens):
        """Returns the ragged ids `(len(tokens), None)` of 1-D tokens."""
        import tensorflow as tf

        n_tokens = tf.shape(tokens, out_type=tf.int64)[0]
        present = tf.strings.length(tokens) > 0
        word = self._table.lookup(tokens)
        has_word = tf.logical_and(word >= 0, present)
        words = tf.RaggedTensor.from_value_rowids(
            tf.boolean_mask(word, has_word),
            tf.where(has_word)[:, 0],
            nrows=n_tokens,
        )
        parts = [words]
        if self._has_ngrams:
            hashes = ngram_hashes(tokens, self.minn, self.maxn)
            rows = hashes.value_rowids()
            keep = tf.gather(present, rows)
            parts.append(
                tf.RaggedTensor.from_value_rowids(
                    tf.boolean_mask(
                        hashes.flat_values % self.bucket + len(self.vocabulary),
                        keep,
                    ),
                    tf.boolean_mask(rows, keep),
                    nrows=n_tokens,
                )
            )
        ids = tf.concat(parts, axis=1) if len(parts) > 1 else words
        if self.mask_zero:
            ids = ids + 1
        return tf.cast(ids, tf.int32)


def _check_vocabulary(vocabulary):
    if isinstance(vocabulary, (str, bytes)):
        raise ValueError(
            "`vocabulary` must be a list of strings, not a single string. "
            f"Received: vocabulary={vocabulary!r:.60}"
        )
    if isinstance(vocabulary, np.ndarray):
        vocabulary = vocabulary.tolist()
    words = []
    for word in vocabulary:
        if isinstance(word, bytes):
            word = word.decode("utf-8")
        if not isinstance(word, str):
            raise ValueError(
                "`vocabulary` must contain only strings. "
                f"Received: {word!r} ({type(word).__name__})"
            )
        words.append(word)
    if len(set(words)) != len(words):
        seen = set()
        repeated = next(w for w in words if w in seen or seen.add(w))
        raise ValueError(
            "`vocabulary` must not repeat a word (each word has one row). "
            f"Received {repeated!r} twice."
        )
    return words


def _check_count(name, value):
    return check_integer(name, value)


def _to_tf_strings(inputs):
    """Returns `(tf string tensor, whether the input was a TF tensor)`."""
    import tensorflow as tf

    if isinstance(inputs, (tf.Tensor, tf.RaggedTensor)):
        if inputs.dtype != tf.string:
            raise ValueError(
                "SubwordIds expects string tokens. "
                f"Received a tensor of dtype {inputs.dtype.name}"
            )
        return inputs, True
    if not isinstance(inputs, (str, bytes, list, tuple, np.ndarray)):
        inputs = keras.ops.convert_to_numpy(inputs)
    return tf.convert_to_tensor(inputs, tf.string), False


def _from_tf(ids, was_native):
    """Ids as TF tensors for TF inputs or the TF backend, else numpy-backed
    tensors of the current backend."""
    import tensorflow as tf

    if was_native or keras.backend.backend() == "tensorflow":
        return ids
    if isinstance(ids, tf.RaggedTensor):
        return ids
    return keras.ops.convert_to_tensor(ids.numpy())

"""Getting a trained table out of a layer: as an array, vectors or files."""

import pathlib

import keras
import numpy as np
from keras import ops

# Quantized tables are read through the layer, this many ids at a time.
_CHUNK = 8192


def layer_table(layer):
    """Returns the table a layer looks rows up in, as a float32 array.

    Row `i` is the vector the layer outputs for id `i`: the layer's
    `embeddings` (which merge in LoRA updates and the trained OOV rows of
    a `PretrainedEmbedding`), or for int8/int4 quantized tables the
    dequantized rows the layer outputs.

    Args:
        layer: A built `keras.layers.Embedding` (`LookupEmbedding`,
            `OneHotDense`, `PretrainedEmbedding` or Keras' own).

    Returns:
        A numpy array of shape `(input_dim, output_dim)`.
    """
    if not isinstance(layer, keras.layers.Embedding):
        raise TypeError(
            "Expected an embedding layer (a `keras.layers.Embedding` such "
            "as `keras_embedplus.LookupEmbedding`). "
            f"Received: {type(layer).__name__}"
        )
    if hasattr(layer, "token_vectors"):
        raise TypeError(
            f"Layer '{layer.name}' ({type(layer).__name__}) makes a word's "
            "vector from several rows (its word row and its n-gram rows), "
            "so its rows are not word vectors. Pass "
            "`keras_embedplus.to_keyed_vectors(layer, words)` instead of "
            "the layer (plots take those vectors too)."
        )
    if not layer.built:
        raise ValueError(
            f"Layer '{layer.name}' is not built yet, so it has no table: "
            "call it on some ids, build its model, or give it "
            "`input_length`."
        )
    if layer.quantization_mode is None:
        return np.asarray(ops.convert_to_numpy(layer.embeddings), "float32")
    chunks = [
        ops.convert_to_numpy(
            layer(np.arange(start, min(start + _CHUNK, layer.input_dim)))
        )
        for start in range(0, layer.input_dim, _CHUNK)
    ]
    return np.concatenate(chunks).astype("float32")


def word_rows(layer, vocabulary):
    """The rows of a layer's table that are words, and their tokens.

    The one rule every tool (`to_keyed_vectors`, `save_vectors`,
    `export_projector`, `plot_embeddings`, `EmbeddingHistory.plot`)
    follows: a row is a word unless the vocabulary marks it as padding, an
    OOV row or an unused row (see `vectors/vocabulary.py`), and row 0 is
    padding when the layer has `mask_zero=True`.

    Args:
        layer: An embedding layer (its `input_dim` and `mask_zero` count).
        vocabulary: A list of tokens, a dict token -> row, a Keras
            `TextVectorization`/`StringLookup`/`IntegerLookup` layer, or a
            `VocabularyRows`.

    Returns:
        A tuple `(ids, tokens)`: the ascending row ids (a numpy int64
        array) and the token of each.

    Raises:
        ValueError: when a word's row is past the layer's table.
    """
    from keras_embedplus.vectors import vocabulary as vocabulary_lib

    rows = vocabulary_lib.vocabulary_rows(vocabulary)
    ids = rows.word_ids(mask_zero=bool(getattr(layer, "mask_zero", False)))
    if not len(ids):
        raise ValueError(
            f"The vocabulary has no words for layer '{layer.name}': its "
            "only word is at row 0, which the layer's `mask_zero=True` "
            "makes the padding row. Pass the vocabulary the layer's ids "
            "were made with."
        )
    beyond = ids[ids >= layer.input_dim]
    if len(beyond):
        raise ValueError(
            f"The vocabulary has {len(rows)} rows but layer '{layer.name}' "
            f"has {layer.input_dim} (rows [0, {layer.input_dim})): "
            f"{len(beyond)} word(s) have ids past the table, e.g. "
            f"{[rows.tokens[row] for row in beyond[:5]]} at row(s) "
            f"{beyond[:5].tolist()}. Pass the vocabulary the layer's ids "
            "were made with."
        )
    return ids, [rows.tokens[row] for row in ids]


def to_keyed_vectors(layer, vocabulary):
    """Returns a layer's word vectors as gensim `KeyedVectors`.

    Row `i` of the layer's table becomes the vector of the word the
    vocabulary puts at row `i`, so gensim's tools (`most_similar`,
    `similarity`, `doesnt_match`, ...) work on a trained layer. Rows that
    are not words are left out, so that they neither show up as neighbours
    nor break the text formats: the padding row (the mask token, `""` in
    a list; and row 0 whenever the layer has `mask_zero=True`), OOV rows
    (the OOV token, `"[UNK]"` in a list) and rows no word maps to. A list
    or dict keeps every other token it is given.

    Args:
        layer: A built embedding layer (`LookupEmbedding`, `OneHotDense`,
            `PretrainedEmbedding`, or Keras' `Embedding`), or a
            `SubwordEmbedding`, whose vectors for the vocabulary's words
            (known or unseen) are computed from its rows.
        vocabulary: A list of tokens (row `i` = token `i`), a dict
            token -> row, or a Keras `TextVectorization`, `StringLookup` or
            `IntegerLookup` layer: the vocabulary the ids were made with.
            An `IntegerLookup`'s tokens become the strings of its integers
            (`7` -> `"7"`), its OOV and mask rows left out.

    Returns:
        A `gensim.models.KeyedVectors` with one float32 vector per word, in
        row order.

    Example:

    >>> table = np.array([[0., 0.], [1., 0.], [0.9, 0.1], [0., 1.]])
    >>> layer = keras_embedplus.Embedding(4, 2, weights=table)
    >>> vectors = keras_embedplus.to_keyed_vectors(
    ...     layer, ["", "good", "great", "bad"])
    >>> vectors.index_to_key
    ['good', 'great', 'bad']
    >>> vectors.most_similar("good", topn=1)[0][0]
    'great'
    """
    from gensim.models import KeyedVectors

    if hasattr(layer, "token_vectors"):
        return _string_layer_vectors(layer, vocabulary)
    table = layer_table(layer)
    ids, tokens = word_rows(layer, vocabulary)
    vectors = KeyedVectors(table.shape[1])
    vectors.add_vectors(tokens, table[ids])
    return vectors


def save_vectors(layer, vocabulary, path, format="word2vec"):
    """Writes a layer's word vectors to a file gensim and others can read.

    The words are those of `to_keyed_vectors(layer, vocabulary)`; the file
    reads back with `keras_embedplus.load_vectors` and with gensim
    (`KeyedVectors.load_word2vec_format`, with `no_header=True` for GloVe).

    Args:
        layer: A built embedding layer.
        vocabulary: A list of tokens, a dict token -> row, or a
            `TextVectorization`, `StringLookup` or `IntegerLookup` layer,
            as in `to_keyed_vectors`.
        path: String or path-like. The file to write (missing parent
            directories are created); a `.gz` or `.bz2` suffix compresses
            it.
        format: String, default `"word2vec"`. `"word2vec"` (text with a
            `"<count> <dim>"` header), `"word2vec-binary"` or `"glove"`
            (text, no header); or, for a `SubwordEmbedding` only,
            `"fasttext-bin"`: a fastText `.bin` with its word and n-gram
            rows (pass `vocabulary=None`: the layer's own vocabulary is
            written), which gensim's `load_facebook_vectors` reads back
            with the layer's vectors for every word.

    Returns:
        The `pathlib.Path` of the written file.

    Example:

    >>> import pathlib
    >>> import tempfile
    >>> from gensim.models import KeyedVectors
    >>> layer = keras_embedplus.Embedding(
    ...     3, 2, weights=np.array([[0., 0.], [1., 2.], [3., 4.]]))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trained.txt"
    >>> keras_embedplus.save_vectors(layer, ["", "hope", "soon"], path).name
    'trained.txt'
    >>> KeyedVectors.load_word2vec_format(path)["soon"]
    array([3., 4.], dtype=float32)
    """
    from keras_embedplus.vectors.write import write_vectors

    if format == "fasttext-bin":
        return _save_fasttext(layer, vocabulary, path)
    vectors = to_keyed_vectors(layer, vocabulary)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_vectors(vectors, path, format=format)
    return path


def export_projector(layer, vocabulary, directory):
    """Writes a layer's word vectors for TensorBoard's Embedding Projector.

    Writes `vectors.tsv`, `metadata.tsv` (the words) and
    `projector_config.pbtxt` into `directory`: run
    `tensorboard --logdir DIRECTORY` and open the Projector tab, or load
    the two TSV files at https://projector.tensorflow.org.

    Args:
        layer: A built embedding layer with `output_dim >= 2`.
        vocabulary: A list of tokens, a dict token -> row, or a
            `TextVectorization`, `StringLookup` or `IntegerLookup` layer,
            as in `to_keyed_vectors`.
        directory: String or path-like. Created if missing.

    Returns:
        A tuple `(vectors_path, metadata_path)` of strings.

    Example:

    >>> import pathlib
    >>> import tempfile
    >>> layer = keras_embedplus.Embedding(
    ...     3, 2, weights=np.array([[0., 0.], [1., 2.], [3., 4.]]))
    >>> vectors_path, metadata_path = keras_embedplus.export_projector(
    ...     layer, ["", "hope", "soon"], tempfile.mkdtemp())
    >>> print(pathlib.Path(metadata_path).read_text())
    hope
    soon
    """
    from keras_embedplus.vectors.write import write_projector

    return write_projector(to_keyed_vectors(layer, vocabulary), directory)


def _save_fasttext(layer, vocabulary, path):
    from keras_embedplus.tools.fasttext_export import write_fasttext_bin

    if not hasattr(layer, "token_vectors"):
        raise ValueError(
            "`format='fasttext-bin'` needs a `SubwordEmbedding` (a table of "
            f"words and n-grams). Received: {type(layer).__name__}"
        )
    if vocabulary is not None and list(vocabulary) != list(layer.vocabulary):
        raise ValueError(
            "A fastText .bin holds the layer's own vocabulary: pass "
            "`vocabulary=None` with `format='fasttext-bin'`."
        )
    return write_fasttext_bin(layer, path)


def _string_layer_vectors(layer, vocabulary):
    """The vectors of a layer that embeds strings (`SubwordEmbedding`):
    every word of the vocabulary has one, in its vocabulary or not."""
    from gensim.models import KeyedVectors

    from keras_embedplus.vectors import vocabulary as vocabulary_lib

    rows = vocabulary_lib.vocabulary_rows(vocabulary)
    words = [rows.tokens[row] for row in rows.word_ids()]
    vectors = KeyedVectors(layer.output_dim)
    vectors.add_vectors(words, layer.token_vectors(words))
    return vectors

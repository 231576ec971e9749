"""Writing a `SubwordEmbedding` back to a fastText `.bin` model file.

gensim writes the file (`gensim.models.fasttext.save_facebook_model`) from
a `FastText` model holding the layer's vocabulary, `minn`, `maxn`,
`bucket`, word rows and n-gram rows; gensim and fastText read it back with
the same vectors for every word. The file's word counts are placeholders
(decreasing, to keep the layer's word order) and its output layer is
untrained: it is a file of vectors, not a model to train further.
"""

import pathlib

import numpy as np


def write_fasttext_bin(layer, path):
    """Writes `layer` (a built `SubwordEmbedding`) to the `.bin` at `path`."""
    from gensim.models.fasttext import FastText
    from gensim.models.fasttext import save_facebook_model

    words = list(layer.vocabulary)
    if not words:
        raise ValueError(
            f"Layer '{layer.name}' has no vocabulary words: a fastText .bin "
            "needs at least one word."
        )
    table = np.asarray(layer.get_weights()[0], "float32")
    model = FastText(
        vector_size=layer.output_dim,
        min_n=layer.minn,
        max_n=layer.maxn,
        bucket=layer.bucket,
        min_count=1,
    )
    model.build_vocab_from_freq(
        {word: len(words) - row for row, word in enumerate(words)}
    )
    if model.wv.index_to_key != words:
        raise ValueError(
            f"gensim reordered the vocabulary of layer '{layer.name}', so "
            "its rows would be written under the wrong words."
        )
    model.wv.vectors_vocab[:] = table[1 : 1 + len(words)]
    model.wv.vectors_ngrams[:] = table[1 + len(words) :]
    model.wv.adjust_vectors()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_facebook_model(model, str(path))
    return path

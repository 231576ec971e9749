"""Train a table, then take its word vectors out of Keras.

A `TextVectorization` layer turns twelve short reviews into ids, a small
classifier learns their sentiment, and the trained embedding table leaves
Keras three ways: as gensim `KeyedVectors` (to ask `most_similar`), as a
word2vec text file (read back by `keras_embedplus.load_vectors`, by gensim
and by `keras-embedplus neighbors`), and as TensorBoard Embedding
Projector files. The padding and `[UNK]` rows are left out.

Usage: python examples/export_trained_vectors.py [--out DIR]
Files go to DIR (default: a new temporary directory).
"""

import argparse
import pathlib
import tempfile

import keras
import numpy as np

import keras_embedplus

REVIEWS = [
    ("the movie was good", 1),
    ("a great film", 1),
    ("good acting and a great plot", 1),
    ("the film was wonderful", 1),
    ("wonderful and good", 1),
    ("a great movie", 1),
    ("the movie was bad", 0),
    ("an awful film", 0),
    ("bad acting and an awful plot", 0),
    ("the film was boring", 0),
    ("boring and bad", 0),
    ("an awful movie", 0),
]


def main(out_dir):
    out_dir = pathlib.Path(out_dir)
    keras.utils.set_random_seed(0)
    texts = [text for text, _ in REVIEWS]
    labels = np.array([[label] for _, label in REVIEWS], dtype="float32")
    vectorize = keras.layers.TextVectorization(output_sequence_length=6)
    vectorize.adapt(texts)
    ids = np.asarray(vectorize(texts))

    embedding = keras_embedplus.Embedding(
        vectorize.vocabulary_size(), 4, input_length=6, mask_zero=True
    )
    model = keras.Sequential(
        [
            embedding,
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        keras.optimizers.SGD(learning_rate=2.0), "binary_crossentropy"
    )
    model.fit(ids, labels, epochs=60, batch_size=4, verbose=0)

    # 1. As gensim KeyedVectors: the words only, in vocabulary order.
    vectors = keras_embedplus.to_keyed_vectors(embedding, vectorize)
    print(f"{len(vectors)} words of dimension {vectors.vector_size}")
    for word in ("good", "awful"):
        nearest = ", ".join(w for w, _ in vectors.most_similar(word, topn=3))
        print(f"most similar to {word!r}: {nearest}")

    # 2. As a word2vec text file, which reads back exactly.
    path = keras_embedplus.save_vectors(
        embedding, vectorize, out_dir / "trained_vectors.txt"
    )
    again = keras_embedplus.load_vectors(path)
    assert again.index_to_key == vectors.index_to_key
    assert np.array_equal(again.vectors, vectors.vectors)
    print(f"wrote {path}; try: keras-embedplus neighbors {path} good -k 3")

    # 3. For TensorBoard's Embedding Projector.
    vectors_tsv, metadata_tsv = keras_embedplus.export_projector(
        embedding, vectorize, out_dir / "projector"
    )
    print(f"wrote {vectors_tsv} and {metadata_tsv}")


def parse_out_dir():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="directory for the files (default: a new temporary directory)",
    )
    return parser.parse_args().out or tempfile.mkdtemp()


if __name__ == "__main__":
    main(parse_out_dir())

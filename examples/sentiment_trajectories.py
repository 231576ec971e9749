"""Watch word vectors organise themselves while a tiny classifier trains.

Twelve short reviews, labelled positive or negative, train a model whose
first layer is a 2-D embedding. `EmbeddingHistory` records the table after
every epoch: the positive words drift one way, the negative words the
other, and the words that say nothing about sentiment ("the", "movie",
"film") barely move, because the loss gains nothing from moving them.
"a" and "an" travel as far as "great" and "awful": here "a" only occurs in
positive reviews and "an" only in negative ones, and training learns
whatever separates the labels. "unseen" is in the vocabulary but in no
review, so it never moves at all.

Usage: python examples/sentiment_trajectories.py [--out DIR]
Pictures go to DIR (default: a new temporary directory).
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
LENGTH = 6


def main(out_dir):
    keras.utils.set_random_seed(0)
    words = ["<pad>", "unseen"]
    for text, _ in REVIEWS:
        words += [w for w in text.split() if w not in words]
    index = {word: i for i, word in enumerate(words)}
    ids = np.zeros((len(REVIEWS), LENGTH), dtype="int32")
    for row, (text, _) in enumerate(REVIEWS):
        tokens = [index[w] for w in text.split()]
        ids[row, : len(tokens)] = tokens
    labels = np.array([[label] for _, label in REVIEWS], dtype="float32")

    embedding = keras_embedplus.Embedding(
        len(words), 2, input_length=LENGTH, mask_zero=True
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
    history = keras_embedplus.EmbeddingHistory(embedding)
    fit = model.fit(
        ids, labels, epochs=60, callbacks=[history], verbose=0, batch_size=4
    )
    print(f"loss {fit.history['loss'][0]:.3f} -> {fit.history['loss'][-1]:.3f}")

    snapshots = history.snapshots
    print(f"snapshots: {snapshots.shape} (start + 60 epochs, rows, dims)")
    distance = np.linalg.norm(snapshots[-1] - snapshots[0], axis=-1)
    for row in np.argsort(-distance):
        print(f"{words[row]:>10} moved {distance[row]:.3f}")

    # With mask_zero=True, row 0 ("<pad>") is padding: the pictures leave
    # it out.
    out_dir = pathlib.Path(out_dir)
    paths = [
        history.plot(
            out_dir / "sentiment_trajectories.png",
            labels=words,
            title="Word vectors while a sentiment classifier trains",
        ),
        keras_embedplus.plot_embeddings(
            embedding,
            words,
            out_dir / "sentiment_table.png",
            title="The trained table",
        ),
    ]
    for path in paths:
        print(f"wrote {path}")


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

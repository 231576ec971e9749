"""Watch word2vec move the rows of a table (the picture of docs/training.md).

A toy corpus of sentences about animals or about vehicles trains a
skip-gram model with 2-dimensional tables, so the rows can be drawn as
points; `keras_embedplus.EmbeddingHistory` records the target table after
every epoch. Words of one topic drift together; "piano" and "violin" are in
the vocabulary but never in the corpus, so their rows never move.

Usage: python examples/word2vec_rows.py [--out DIR]
Writes DIR/word2vec_rows.png (default: a new temporary directory); the
copy in docs/img/ is made by `python examples/word2vec_rows.py --out
docs/img`.
"""

import argparse
import pathlib
import tempfile

import keras
import numpy as np

import keras_embedplus

VOCABULARY = ["", "cat", "dog", "mouse", "pet", "car", "bus", "truck",
              "road", "piano", "violin"]  # fmt: skip


def toy_corpus(sentences=200, length=6, seed=0):
    """Sentences drawn from the animal words (ids 1-4) or vehicles (5-8)."""
    rng = np.random.default_rng(seed)
    topics = [np.arange(1, 5), np.arange(5, 9)]
    return [rng.choice(topics[i % 2], length) for i in range(sentences)]


def skipgram_model(vocabulary_size, dim, negatives):
    target = keras.Input((), dtype="int32")
    context = keras.Input((1 + negatives,), dtype="int32")
    targets = keras_embedplus.Embedding(vocabulary_size, dim)
    contexts = keras_embedplus.Embedding(vocabulary_size, dim)
    scores = keras.ops.einsum("bd,bkd->bk", targets(target), contexts(context))
    model = keras.Model([target, context], scores)
    model.compile(
        keras_embedplus.optimizers.LazyAdam(learning_rate=0.05),
        keras.losses.BinaryCrossentropy(from_logits=True),
    )
    return model, targets


def main(out_dir):
    keras.utils.set_random_seed(0)
    dataset = keras_embedplus.data.skipgram_dataset(
        toy_corpus(), len(VOCABULARY), window=2, negatives=2, subsample=0,
        batch_size=64, seed=0,
    )  # fmt: skip
    model, targets = skipgram_model(len(VOCABULARY), 2, negatives=2)
    history = keras_embedplus.EmbeddingHistory(targets)
    model.fit(dataset, epochs=15, callbacks=[history], verbose=0, shuffle=False)
    path = history.plot(
        pathlib.Path(out_dir) / "word2vec_rows.png",
        labels=VOCABULARY,
        rows=range(1, len(VOCABULARY)),
        title="Skip-gram training moves the rows of the words it sees",
    )
    moved = np.abs(history.snapshots[-1] - history.snapshots[0]).sum(axis=1)
    print(
        "rows that never moved:",
        [VOCABULARY[i] for i in np.flatnonzero(moved == 0)],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="output directory")
    args = parser.parse_args()
    main(args.out or tempfile.mkdtemp(prefix="word2vec_rows_"))

"""A Siamese question-pair model: one pretrained table read by both inputs.

The classic "Siamese Manhattan LSTM" (MaLSTM) on Quora question pairs
encodes both questions of a pair with the same layers, the embedding
included, and scores the pair by how close the two encodings are. Here,
synthetic question pairs and a word2vec file written on the spot stand in
for Quora's pairs and the GoogleNews vectors, and
`PretrainedEmbedding.from_vectors(path, vocabulary, trainable=True)`
replaces building the matrix by hand and `Embedding(..., weights=[m])`.
The table is fine-tuned with Adam.

One layer called on two inputs looks its table up twice in each step. On
TensorFlow both lookups' gradients are joined, so a row both questions
read reaches Adam once, with its total, as on JAX and PyTorch. The script
trains the same model in a fresh process for each backend (Keras picks
its backend once per process) and prints how far apart the trained tables
are. The encoder is a mean of the word vectors and the score
`exp(-squared distance)`: with MaLSTM's LSTM and Manhattan distance Adam
turns rounding differences into visible ones (see docs/performance.md).

    python examples/siamese_questions.py [--out DIR]
        [--backends jax,tensorflow,torch]
"""

import argparse
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

DIM = 300
MAX_LENGTH = 25


def question_pairs(rng, count=512, words=1500):
    """Pairs of word lists; 40% are duplicates (mostly the same words)."""
    vocabulary = [f"w{i}" for i in range(words)]

    def question():
        ids = rng.zipf(1.3, rng.integers(4, MAX_LENGTH + 1)) % words
        return [vocabulary[i] for i in ids]

    pairs, labels = [], []
    for _ in range(count):
        first = question()
        duplicate = rng.random() < 0.4
        if duplicate:
            second = [
                w if rng.random() < 0.7 else vocabulary[rng.integers(words)]
                for w in first
            ]
        else:
            second = question()
        pairs.append((first, second))
        labels.append(float(duplicate))
    return pairs, np.array(labels, "float32")[:, None], vocabulary


def write_word2vec_file(path, vocabulary, rng):
    """The stand-in for GoogleNews: vectors for 70% of the words."""
    import gensim

    from keras_embedplus.vectors import write_vectors

    known = [word for word in vocabulary if rng.random() < 0.7]
    vectors = gensim.models.KeyedVectors(DIM)
    vectors.add_vectors(known, 0.1 * rng.normal(size=(len(known), DIM)))
    write_vectors(vectors, path)


def train(out_dir):
    """Trains on this process's backend; saves the table, returns it."""
    import keras

    import keras_embedplus

    rng = np.random.default_rng(0)
    pairs, labels, _ = question_pairs(rng)
    # The vocabulary of the questions, id 0 for padding.
    vocabulary = [""] + sorted({w for pair in pairs for q in pair for w in q})
    index = {word: i for i, word in enumerate(vocabulary)}
    left, right = (
        keras.utils.pad_sequences(
            [[index[w] for w in pair[side]] for pair in pairs], MAX_LENGTH
        )
        for side in (0, 1)
    )
    lookup = keras_embedplus.PretrainedEmbedding.from_vectors(
        os.path.join(out_dir, "vectors.txt"),
        vocabulary,
        oov="random",
        seed=1,
        trainable=True,
    )
    first = keras.Input((MAX_LENGTH,), dtype="int32")
    second = keras.Input((MAX_LENGTH,), dtype="int32")
    encode = keras.layers.GlobalAveragePooling1D()
    score = keras.layers.Lambda(
        lambda pair: keras.ops.exp(
            -keras.ops.sum(
                keras.ops.square(pair[0] - pair[1]), axis=1, keepdims=True
            )
        ),
        output_shape=(1,),
    )([encode(lookup(first)), encode(lookup(second))])
    model = keras.Model([first, second], score)
    model.compile(keras.optimizers.Adam(0.001), "mean_squared_error")
    before = model.evaluate([left, right], labels, verbose=0)
    model.fit(
        [left, right], labels, batch_size=64, epochs=3, shuffle=False, verbose=0
    )
    after = model.evaluate([left, right], labels, verbose=0)
    table = lookup.get_weights()[0]
    backend = keras.backend.backend()
    np.save(os.path.join(out_dir, f"table_{backend}.npy"), table)
    both = len(np.intersect1d(left, right))
    print(
        f"{backend}: {table.shape[0]} x {table.shape[1]} table, {both} ids "
        f"read by both questions, loss {before:.4f} -> {after:.4f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="directory to write into")
    parser.add_argument(
        "--backends",
        default="jax,tensorflow,torch",
        help="comma-separated Keras backends, each trained in a new process",
    )
    parser.add_argument("--train-here", action="store_true", help="internal")
    args = parser.parse_args()
    out_dir = args.out or tempfile.mkdtemp()
    os.makedirs(out_dir, exist_ok=True)
    if args.train_here:
        return train(out_dir)
    rng = np.random.default_rng(0)
    _, _, vocabulary = question_pairs(rng)
    write_word2vec_file(
        os.path.join(out_dir, "vectors.txt"),
        vocabulary,
        np.random.default_rng(1),
    )
    backends = args.backends.split(",")
    for backend in backends:
        done = subprocess.run(
            [sys.executable, __file__, "--out", out_dir, "--train-here"],
            env={**os.environ, "KERAS_BACKEND": backend},
            capture_output=True,
            text=True,
        )
        print(done.stdout, end="")
        if done.returncode:
            sys.exit(f"training on {backend} failed:\n{done.stderr}")
    tables = {
        b: np.load(os.path.join(out_dir, f"table_{b}.npy")) for b in backends
    }
    first, *others = backends
    differences = [np.abs(tables[b] - tables[first]).max() for b in others]
    for backend, difference in zip(others, differences, strict=True):
        print(f"largest difference, {backend} from {first}: {difference:.2g}")
    same = all(difference < 1e-5 for difference in differences)
    print(f"Same table on every backend (within 1e-5): {same}")


if __name__ == "__main__":
    main()

"""Aligning and writing vectors, against their peers, measured in one run.

Three tables, on seeded synthetic vectors (400k x 100 by default, the size
of glove.6B.100d):

1. `align_vectors` for a 50k-word vocabulary (45k words found as written,
   2k in another case, 3k missing) against the keras-io recipe's loop
   (`embedding_matrix[i] = vectors[word]` for each word).
2. `write_vectors` against gensim's `save_word2vec_format`, text and
   binary, on the first 100k vectors.
3. The float formatter of the text formats (the internal
   `float_formatting`) against numpy's float-to-string conversion, on
   the same values.

Each timing is the median over interleaved rounds (A, B, A, B, ...) so that
a noisy machine hurts both sides alike.

    python benchmarks/align_write.py            # full run
    python benchmarks/align_write.py --quick    # a smaller, faster run
"""

import argparse
import os
import statistics
import tempfile
import time

# keras_embedplus imports Keras (and TensorFlow) on the way.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from gensim.models import KeyedVectors  # noqa: E402

from keras_embedplus.vectors import align_vectors  # noqa: E402
from keras_embedplus.vectors import float_formatting  # noqa: E402
from keras_embedplus.vectors import write_vectors  # noqa: E402


def synthetic_vectors(count, dim, seed=0):
    rng = np.random.default_rng(seed)
    vectors = KeyedVectors(dim)
    values = rng.normal(0.0, 0.4, (count, dim)).astype(np.float32)
    vectors.add_vectors([f"word{i}" for i in range(count)], values)
    return vectors


def vocabulary_for(count):
    """45k found as written, 2k found in another case, 3k missing (x n/50k)."""
    found, other_case = count * 45 // 50, count * 2 // 50
    missing = count - found - other_case
    words = [f"word{i}" for i in range(found)]
    words += [f"WORD{i}" for i in range(found, found + other_case)]
    return words + [f"unseen{i}" for i in range(missing)]


def keras_io_loop(vectors, vocabulary):
    """The keras-io recipe: a zeros matrix filled word by word."""
    matrix = np.zeros((len(vocabulary), vectors.vector_size), np.float32)
    for i, word in enumerate(vocabulary):
        if word in vectors.key_to_index:
            matrix[i] = vectors[word]
    return matrix


def median_seconds(functions, rounds):
    """Median seconds of each function over interleaved rounds."""
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def table(title, seconds, baseline):
    print(f"\n### {title}\n")
    print("| method | seconds | speed-up vs " + baseline + " |")
    print("|---|---:|---:|")
    for name, value in seconds.items():
        print(f"| {name} | {value:.3f} | {seconds[baseline] / value:.2f}x |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count, words, written, rounds = 400_000, 50_000, 100_000, 5
    if args.quick:
        count, words, written, rounds = 40_000, 5_000, 10_000, 3
    dim = 100
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores)")
    vectors = synthetic_vectors(count, dim)
    vocabulary = vocabulary_for(words)

    seconds = median_seconds(
        {
            "keras-io loop (exact matches only)": lambda: keras_io_loop(
                vectors, vocabulary
            ),
            "align_vectors, zeros, no case fallback": lambda: align_vectors(
                vectors, vocabulary, oov="zeros", lowercase_fallback=False
            ),
            "align_vectors, random, case fallback": lambda: align_vectors(
                vectors, vocabulary, oov="random", seed=0
            ),
        },
        rounds,
    )
    table(
        f"Aligning {count:,} x {dim} vectors to {words:,} words",
        seconds,
        "keras-io loop (exact matches only)",
    )

    subset = KeyedVectors(dim)
    subset.add_vectors(
        vectors.index_to_key[:written], vectors.vectors[:written]
    )
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "vectors")
        seconds = median_seconds(
            {
                "gensim save_word2vec_format, text": lambda: (
                    subset.save_word2vec_format(path)
                ),
                "write_vectors, word2vec text": lambda: write_vectors(
                    subset, path
                ),
                "gensim save_word2vec_format, binary": lambda: (
                    subset.save_word2vec_format(path, binary=True)
                ),
                "write_vectors, word2vec-binary": lambda: write_vectors(
                    subset, path, "word2vec-binary"
                ),
            },
            max(1, rounds - 2),
        )
    table(
        f"Writing {written:,} x {dim} vectors",
        seconds,
        "gensim save_word2vec_format, text",
    )

    values = subset.vectors
    step = (1 << 16) // dim

    def in_chunks(function):
        for start in range(0, len(values), step):
            function(values[start : start + step])

    seconds = median_seconds(
        {
            "numpy astype('S16')": lambda: in_chunks(
                lambda chunk: chunk.astype("S16")
            ),
            "write_vectors' float32 formatter": lambda: in_chunks(
                float_formatting.format_float32
            ),
        },
        rounds,
    )
    table(
        f"Formatting {written * dim:,} float32 values as exact text",
        seconds,
        "numpy astype('S16')",
    )


if __name__ == "__main__":
    main()

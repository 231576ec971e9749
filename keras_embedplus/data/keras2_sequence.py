"""Keras 2's `keras.preprocessing.sequence` skip-gram helpers, for Keras 3.

Same signatures and semantics as in Keras 2 (still reachable there as
`tf.keras.preprocessing.sequence`), computed with numpy instead of a
Python loop per pair.
"""

import random

import numpy as np

from keras_embedplus.vectors.arguments import check_integer

# The Euler-Mascheroni constant, to the 3 digits Keras 2 used.
_EULER_GAMMA = 0.577


def make_sampling_table(size, sampling_factor=1e-5):
    """The chance to keep a word by its frequency rank, as in Keras 2.

    Keras 2's `keras.preprocessing.sequence.make_sampling_table`, with the
    same values. Entry `i` is the probability of keeping the word of rank
    `i` (the `i`-th most frequent; rank 0 stands in for rank 1), from the
    word2vec formula `min(1, sqrt(f / sampling_factor) / (f /
    sampling_factor))` with the frequency `f` of rank `i` estimated by
    Zipf's law. It is the `sampling_table` of `skipgrams`.
    `keras_embedplus.data.skipgram_dataset` counts the frequencies instead
    of assuming Zipf's law.

    Args:
        size: Integer. The number of ranks (the vocabulary size).
        sampling_factor: Float. The `sample` of the word2vec formula.
            Defaults to `1e-5`.

    Returns:
        A float64 numpy array of shape `(size,)`.

    Example:

    >>> table = keras_embedplus.data.make_sampling_table(5)
    >>> table.round(4)
    array([0.0032, 0.0032, 0.0055, 0.0074, 0.0091])
    """
    size = int(size)
    rank = np.maximum(np.arange(size), 1)
    inverse_frequency = (
        rank * (np.log(rank) + _EULER_GAMMA) + 0.5 - 1.0 / (12.0 * rank)
    )
    ratio = sampling_factor * inverse_frequency
    return np.minimum(1.0, ratio / np.sqrt(ratio))


def skipgrams(
    sequence,
    vocabulary_size,
    window_size=4,
    negative_samples=1.0,
    shuffle=True,
    categorical=False,
    sampling_table=None,
    seed=None,
):
    """Skip-gram word pairs of one sequence, as Keras 2 made them.

    Keras 2's `keras.preprocessing.sequence.skipgrams`, with the same
    arguments and results: the couples `[word, neighbour]` with label 1,
    for each non-zero word (kept with probability `sampling_table[word]`
    when a table is given) and each non-zero word at most `window_size`
    positions away; then `int(len(positives) * negative_samples)` couples
    `[word, random id]` with label 0, whose words are the positive words
    shuffled (cycled when more are needed) and whose random ids are drawn
    uniformly from `1` to `vocabulary_size - 1`; then, with
    `shuffle=True`, all couples shuffled together.

    One difference: with a `seed`, every draw is seeded, so the result is
    reproducible (Keras 2 seeded only the final shuffle). Without one the
    draws come from Python's `random` module, as in Keras 2, so
    `random.seed` and `keras.utils.set_random_seed` make them reproducible.
    For training, `keras_embedplus.data.skipgram_dataset` gives a whole
    corpus as a `tf.data.Dataset` with gensim's recipe (negatives by
    frequency, a shrinking window), which learns much better vectors.

    Args:
        sequence: A sequence of integer word ids; id 0 is not a word.
        vocabulary_size: Integer. The largest id plus one.
        window_size: Integer. How far a neighbour may be. Defaults to `4`.
        negative_samples: Float >= 0. Negative couples per positive one.
            Defaults to `1.0`.
        shuffle: Boolean. Whether to shuffle the couples. Defaults to
            `True`.
        categorical: Boolean. Whether labels are `[0, 1]` / `[1, 0]`
            instead of `1` / `0`. Defaults to `False`.
        sampling_table: Array of shape `(vocabulary_size,)` or `None`: the
            chance to keep each word as a target (see
            `make_sampling_table`).
        seed: Integer or `None`. Seed for the random draws.

    Returns:
        `couples, labels`: two lists, the couples as lists
        `[word, other]`, the labels as integers (or lists when
        `categorical=True`).

    Example:

    >>> couples, labels = keras_embedplus.data.skipgrams(
    ...     [1, 2, 3], vocabulary_size=4, window_size=1,
    ...     negative_samples=0, shuffle=False)
    >>> couples, labels
    ([[1, 2], [2, 1], [2, 3], [3, 2]], [1, 1, 1, 1])
    """
    window_size = check_integer("window_size", window_size)
    if seed is None:
        seed = random.getrandbits(64)
    rng = np.random.default_rng(seed)
    words = np.asarray(sequence, dtype="int64").reshape(-1)
    is_target = words != 0
    if sampling_table is not None:
        table = np.asarray(sampling_table)
        draws = rng.random(len(words))
        is_target &= draws <= table[np.where(is_target, words, 0)]
    centers, others = [], []
    for distance in range(1, window_size + 1):
        left = np.arange(max(len(words) - distance, 0))
        right = left + distance
        centers += [
            left[is_target[left] & (words[right] != 0)],
            right[is_target[right] & (words[left] != 0)],
        ]
        others += [centers[-2] + distance, centers[-1] - distance]
    centers = np.concatenate(centers) if centers else np.zeros(0, "int64")
    others = np.concatenate(others) if others else np.zeros(0, "int64")
    order = np.lexsort((others, centers))
    first, second = words[centers[order]], words[others[order]]
    labels = np.ones(len(first), dtype="int64")

    count = int(len(first) * negative_samples) if negative_samples > 0 else 0
    if count:
        if vocabulary_size < 2:
            raise ValueError(
                "`vocabulary_size` must be at least 2 to draw negative "
                f"samples. Received: vocabulary_size={vocabulary_size!r}"
            )
        shuffled = rng.permutation(first)
        first = np.concatenate([first, shuffled[np.arange(count) % len(first)]])
        second = np.concatenate(
            [second, rng.integers(1, vocabulary_size, size=count)]
        )
        labels = np.concatenate([labels, np.zeros(count, dtype="int64")])
    if shuffle:
        order = rng.permutation(len(first))
        first, second, labels = first[order], second[order], labels[order]
    couples = np.stack([first, second], axis=1).tolist()
    if categorical:
        return couples, [[1 - label, label] for label in labels.tolist()]
    return couples, labels.tolist()

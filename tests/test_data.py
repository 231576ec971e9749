"""keras_embedplus.data: skip-gram pairs with gensim's recipe, Keras 2 helpers.

The laws are checked against deliberately simple references: gensim's own
vocabulary (subsampling), a Python loop per pair (the window), Keras 2's
`skipgrams` as still shipped in `tf.keras` (the port), and statistical
tests with fixed seeds (negatives, window, subsampling).
"""

import collections
import random

import keras
import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import keras_embedplus
from keras_embedplus.data import skipgram_data as dataset_lib

skipgram_dataset = keras_embedplus.data.skipgram_dataset


def as_arrays(dataset):
    """One pass of the dataset as numpy: targets, contexts, negatives."""
    targets, contexts, negatives = [], [], []
    for (target, context), labels in dataset:
        assert np.array_equal(labels[:, 0], np.ones(len(labels)))
        assert not np.asarray(labels[:, 1:]).any()
        targets.append(np.asarray(target))
        contexts.append(np.asarray(context[:, 0]))
        negatives.append(np.asarray(context[:, 1:]))
    return (
        np.concatenate(targets),
        np.concatenate(contexts),
        np.concatenate(negatives),
    )


def one_sweep(sequences, vocabulary_size, window, subsample, seed=0):
    """The pairs of one sweep of the corpus, in order, before batching."""
    corpus = dataset_lib._Corpus(sequences, vocabulary_size, None)
    keep = dataset_lib._keep_probability(corpus.counts, subsample)
    cdf = dataset_lib._negative_cdf(corpus.counts, 0.75)
    recipe = dataset_lib._Recipe(keep, cdf, window, 0, shuffle=False)
    rng = np.random.default_rng(seed)
    return recipe.pairs(corpus.tokens, corpus.sentence, rng)[:2]


def random_corpus(seed=0, sentences=200, vocabulary_size=50):
    rng = np.random.default_rng(seed)
    # Zipf-like counts, so subsampling and the unigram law both matter.
    weights = 1.0 / np.arange(1, vocabulary_size)
    weights /= weights.sum()
    return [
        rng.choice(
            np.arange(1, vocabulary_size), rng.integers(1, 30), p=weights
        )
        for _ in range(sentences)
    ]


# Reproducibility.


def test_same_seed_same_batches_and_passes_differ():
    corpus = random_corpus()
    first = skipgram_dataset(corpus, 50, batch_size=64, seed=3)
    again = skipgram_dataset(corpus, 50, batch_size=64, seed=3)
    pass_1, pass_2 = as_arrays(first), as_arrays(first)
    for a, b in zip(pass_1, as_arrays(again), strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(pass_2, as_arrays(again), strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(pass_1[0], pass_2[0])
    other = as_arrays(skipgram_dataset(corpus, 50, batch_size=64, seed=4))
    assert not np.array_equal(pass_1[0], other[0])


def test_a_pass_is_the_same_however_far_the_previous_was_read():
    corpus = random_corpus()
    read_all = skipgram_dataset(corpus, 50, batch_size=64, seed=3)
    as_arrays(read_all)
    read_one = skipgram_dataset(corpus, 50, batch_size=64, seed=3)
    next(iter(read_one))  # prefetching may read further: it must not matter
    for a, b in zip(as_arrays(read_all), as_arrays(read_one), strict=True):
        assert np.array_equal(a, b)


def test_set_random_seed_makes_the_default_seed_reproducible():
    corpus = random_corpus()
    keras.utils.set_random_seed(7)
    first = as_arrays(skipgram_dataset(corpus, 50, batch_size=64))
    keras.utils.set_random_seed(7)
    again = as_arrays(skipgram_dataset(corpus, 50, batch_size=64))
    assert np.array_equal(first[1], again[1])


def test_batches_are_full_and_keras_knows_the_epoch_length():
    corpus = random_corpus()
    dataset = skipgram_dataset(corpus, 50, negatives=3, batch_size=32, seed=0)
    steps = int(dataset.cardinality())
    assert steps > 1
    batches = list(dataset)
    assert len(batches) == steps
    for (target, context), labels in batches:
        assert target.shape == (32,) and target.dtype == "int32"
        assert context.shape == (32, 4) and context.dtype == "int32"
        assert labels.shape == (32, 4) and labels.dtype == "float32"


def test_no_negatives_gives_the_context_alone():
    dataset = skipgram_dataset(
        [[1, 2, 3]], 4, negatives=0, subsample=0, batch_size=2
    )
    (_, context), labels = next(iter(dataset))
    assert context.shape == (2, 1) and labels.shape == (2, 1)


# Subsampling: gensim's formula.


def test_keep_probability_is_gensims():
    from gensim.models import Word2Vec
    from gensim.test.utils import datapath
    from gensim.utils import simple_preprocess

    with open(datapath("lee_background.cor"), encoding="utf-8") as file:
        stories = [simple_preprocess(line) for line in file]
    model = Word2Vec(sample=1e-3, min_count=1)
    model.build_vocab(stories)
    words = model.wv.index_to_key
    counts = np.array([model.wv.get_vecattr(w, "count") for w in words])
    gensim_keep = model.wv.expandos["sample_int"] / (2**32 - 1)
    ours = dataset_lib._keep_probability(counts, 1e-3)
    np.testing.assert_allclose(ours, gensim_keep, atol=1e-9)
    assert (ours < 1).sum() > 20  # the formula really was exercised


@pytest.mark.parametrize("subsample", [1e-3, 0.05, 0.3])
def test_keep_probability_against_a_numpy_reference(subsample):
    counts = np.array([0, 0, 1, 2, 5, 40, 300, 2000, 9000])
    threshold = subsample * counts.sum()
    expected = []
    for count in counts:
        if count == 0:
            expected.append(0.0)
        else:
            ratio = count / threshold
            expected.append(min(1.0, (np.sqrt(ratio) + 1) / ratio))
    ours = dataset_lib._keep_probability(counts, subsample)
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_subsampling_keeps_a_frequent_word_as_often_as_the_formula_says():
    # 4000 sentences [frequent word, a word seen once]: a pair with the
    # frequent word as target exists exactly when its token was kept.
    rare = np.arange(2, 4002)
    corpus = [[1, int(word)] for word in rare]
    targets, _ = one_sweep(corpus, 4002, window=1, subsample=0.1)
    keep = dataset_lib._keep_probability(
        np.bincount(np.concatenate(corpus), minlength=4002), 0.1
    )
    assert keep[2] == 1.0 and 0.6 < keep[1] < 0.7
    kept_share = (targets == 1).sum() / len(corpus)
    assert abs(kept_share - keep[1]) < 4 * np.sqrt(
        keep[1] * (1 - keep[1]) / 4000
    )
    # The dataset applies it: an epoch is about 2 * 0.647 * 4000 pairs.
    dataset = skipgram_dataset(
        corpus, 4002, window=1, subsample=0.1, batch_size=64
    )
    assert 70 < int(dataset.cardinality()) < 92


# Negatives: unigram^0.75 over the words of the corpus only.


def test_negatives_never_padding_oov_or_unseen_and_follow_unigram_075():
    rng = np.random.default_rng(0)
    vocabulary_size = 30
    # Id 1 is the OOV id and is frequent; ids 24.. never occur.
    weights = np.r_[0, 5, 1.0 / np.arange(1, 23), np.zeros(6)]
    weights /= weights.sum()
    corpus = [rng.choice(vocabulary_size, 40, p=weights) for _ in range(300)]
    corpus = [np.r_[s, 0, 0] for s in corpus]  # padded
    dataset = skipgram_dataset(
        corpus,
        vocabulary_size,
        negatives=20,
        subsample=0,
        oov_ids=1,
        batch_size=512,
        seed=1,
    )
    targets, contexts, negatives = as_arrays(dataset)
    for ids in (targets, contexts, negatives):
        assert not np.isin(ids, [0, 1]).any()
        assert ids.max() < 24
    counts = np.bincount(np.concatenate(corpus), minlength=vocabulary_size)
    counts[[0, 1]] = 0
    expected = counts**0.75 / (counts**0.75).sum()
    seen = np.bincount(negatives.ravel(), minlength=vocabulary_size)
    words = counts > 0
    result = scipy.stats.chisquare(seen[words], expected[words] * seen.sum())
    assert result.pvalue > 1e-3
    # The test can tell: plain unigram frequencies fail it.
    unigram = counts / counts.sum()
    assert (
        scipy.stats.chisquare(seen[words], unigram[words] * seen.sum()).pvalue
        < 1e-6
    )


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(0, 10**6), min_size=2, max_size=300),
    seed=st.integers(0, 2**16),
)
def test_negative_draws_equal_searchsorted_on_the_cdf(counts, seed):
    counts = np.array([0, *counts])
    if not counts.any():
        return
    cdf = dataset_lib._negative_cdf(counts, 0.75)
    recipe = dataset_lib._Recipe(None, cdf, 1, 3, shuffle=True)
    drawn = np.random.default_rng(seed).random((500, 3))
    # Draws are in [0, 1): the largest, and draws on the cdf's steps.
    steps = cdf[cdf < 1]
    drawn[0] = [0.0, 1 - 2**-53, 0.5]
    drawn[1] = np.resize(steps, 3)
    drawn[2] = np.resize(steps[::-1], 3)
    expected = np.searchsorted(cdf, drawn, side="right")
    assert np.array_equal(recipe._inverse_cdf(drawn), expected)
    assert counts[expected].all()  # never an id the corpus lacks


# The window.


def python_pairs(tokens, sentence, keep_draws, keep, reach):
    """The skip-gram pairs of one pass, one pair at a time."""
    kept = [
        (t, s)
        for t, s, draw in zip(tokens, sentence, keep_draws, strict=True)
        if draw < keep[t]
    ]
    pairs = []
    for i, (target, sent) in enumerate(kept):
        for j in range(i - reach[i], i + reach[i] + 1):
            if j != i and 0 <= j < len(kept) and kept[j][1] == sent:
                pairs.append((int(target), int(kept[j][0])))
    return collections.Counter(pairs)


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 25), min_size=1, max_size=12),
    window=st.integers(1, 7),
    subsample=st.sampled_from([0, 1e-3, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_pairs_equal_a_python_loop(lengths, window, subsample, seed):
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(0, 9, n) for n in lengths]
    if not any((np.asarray(s) != 0).sum() > 1 for s in sequences):
        return
    corpus = dataset_lib._Corpus(sequences, 9, None)
    keep = dataset_lib._keep_probability(corpus.counts, subsample)
    cdf = dataset_lib._negative_cdf(corpus.counts, 0.75)
    recipe = dataset_lib._Recipe(keep, cdf, window, 2, shuffle=True)
    targets, contexts, negatives = recipe.pairs(
        corpus.tokens, corpus.sentence, np.random.default_rng(seed)
    )
    # The reference replays the same draws: keep, then the windows.
    replay = np.random.default_rng(seed)
    draws = replay.random(len(corpus.tokens))
    kept = (draws < keep[corpus.tokens]).sum()
    reach = replay.integers(1, window + 1, size=kept)
    expected = python_pairs(corpus.tokens, corpus.sentence, draws, keep, reach)
    assert collections.Counter(zip(targets, contexts, strict=True)) == expected
    assert negatives.shape == (len(targets), 2)


def test_window_shrinks_uniformly_and_symmetrically():
    # Distinct ids in one long sequence: distance = |context - target|.
    window, length = 4, 3000
    corpus = [np.arange(1, length + 1)]
    targets, contexts = one_sweep(corpus, length + 1, window, subsample=0)
    offsets = collections.defaultdict(set)
    for target, context in zip(targets, contexts, strict=True):
        offsets[int(target)].add(int(context) - int(target))
    reaches = []
    for target in range(window + 1, length - window):
        found = offsets[target]
        reach = max(found)
        # Every distance up to the reach, on both sides, nothing beyond.
        assert found == set(range(-reach, 0)) | set(range(1, reach + 1))
        reaches.append(reach)
    counts = np.bincount(reaches, minlength=window + 1)[1:]
    assert scipy.stats.chisquare(counts).pvalue > 1e-3


def test_pairs_never_cross_sequences_and_skip_padding_and_oov_first():
    # As in gensim, dropped ids are removed before the window is laid:
    # 5 and 6 are neighbours in [5, 0, 1, 6] once 0 and the OOV 1 go.
    dataset = skipgram_dataset(
        [[5, 0, 1, 6], [7, 8]],
        9,
        window=1,
        subsample=0,
        oov_ids=[1],
        shuffle=False,
        batch_size=2,
        seed=0,
    )
    targets, contexts, _ = as_arrays(dataset)
    assert sorted(zip(targets.tolist(), contexts.tolist(), strict=True)) == [
        (5, 6),
        (6, 5),
        (7, 8),
        (8, 7),
    ]


def test_a_corpus_in_slices_gives_the_same_pairs(monkeypatch):
    # window=1 and no subsampling: the pairs do not depend on the draws.
    corpus = dataset_lib._Corpus(random_corpus(sentences=60), 50, None)
    keep = dataset_lib._keep_probability(corpus.counts, 0)
    cdf = dataset_lib._negative_cdf(corpus.counts, 0.75)
    recipe = dataset_lib._Recipe(keep, cdf, 1, 1, shuffle=True)

    def sweep():
        rng = np.random.default_rng(0)
        pairs = collections.Counter()
        for tokens, sentence in corpus.chunks():
            targets, contexts, _ = recipe.pairs(tokens, sentence, rng)
            pairs.update(zip(targets, contexts, strict=True))
        return pairs

    whole = sweep()
    monkeypatch.setattr(dataset_lib, "_CHUNK_TOKENS", 37)
    assert len(list(corpus.chunks())) > 5
    assert sweep() == whole


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 12), min_size=1, max_size=8),
    batch_size=st.integers(1, 40),
    chunk=st.sampled_from([3, 7, 1 << 20]),
    seed=st.integers(0, 1000),
)
def test_passes_are_sweeps_cut_into_full_batches(
    lengths, batch_size, chunk, seed
):
    # window=1 without subsampling or shuffling: a sweep's pairs are fixed,
    # so a pass must be the sweeps back to back, cut at whole batches.
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(1, 9, n) for n in lengths]
    sweep = [
        (int(s[i]), int(s[j]))
        for s in sequences
        for i in range(len(s))
        for j in (i - 1, i + 1)
        if 0 <= j < len(s)
    ]
    if not sweep:
        return
    saved = dataset_lib._CHUNK_TOKENS
    dataset_lib._CHUNK_TOKENS = chunk
    try:
        dataset = skipgram_dataset(
            sequences,
            9,
            window=1,
            negatives=1,
            subsample=0,
            batch_size=batch_size,
            shuffle=False,
            seed=seed,
        )
        first, second = as_arrays(dataset), as_arrays(dataset)
    finally:
        dataset_lib._CHUNK_TOKENS = saved
    steps = max(1, round(len(sweep) / batch_size))
    if chunk > 20:  # one slice: the epoch length is exact
        assert int(dataset.cardinality()) == steps
    steps = int(dataset.cardinality())
    repeats = -(-steps * batch_size // len(sweep))
    expected = (sweep * repeats)[: steps * batch_size]
    for targets, contexts, negatives in (first, second):
        assert list(zip(targets.tolist(), contexts.tolist(), strict=True)) == (
            expected
        )
        assert np.isin(negatives, np.concatenate(sequences)).all()


# Bad input.


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"window": 0}, "`window` must be a positive integer"),
        ({"negatives": -1}, "`negatives` must be a non-negative integer"),
        ({"batch_size": 0}, "`batch_size` must be a positive integer"),
        ({"subsample": 1.5}, "`subsample` must be a number in [0, 1)"),
        ({"vocabulary_size": 1}, "`vocabulary_size` must be an integer >= 2"),
        ({"oov_ids": 9}, "`oov_ids` must be ids in [0, vocabulary_size=9)"),
        ({"seed": -1}, "`seed` must be a non-negative integer or None"),
        ({"seed": 1.5}, "`seed` must be a non-negative integer or None"),
        ({"seed": True}, "`seed` must be a non-negative integer or None"),
        ({"window": True}, "`window` must be a positive integer"),
    ],
)
def test_invalid_arguments(kwargs, message):
    arguments = {"sequences": [[1, 2, 3]], "vocabulary_size": 9, **kwargs}
    with pytest.raises(ValueError) as error:
        skipgram_dataset(**arguments)
    assert message in str(error.value)


def test_an_id_beyond_the_vocabulary_names_the_sequence_and_the_limit():
    with pytest.raises(ValueError, match=r"Sequence 1 holds the id 12"):
        skipgram_dataset([[1, 2], [3, 12]], 10)


@pytest.mark.parametrize(
    "sequences", [[[1], [2]], [[0, 0, 1]], [[3, 3, 3]]], ids=str
)
def test_nothing_to_pair_is_an_error(sequences):
    with pytest.raises(ValueError, match="nothing to pair"):
        skipgram_dataset(sequences, 4, oov_ids=3)


def test_text_is_refused():
    with pytest.raises(ValueError, match="integer ids"):
        skipgram_dataset([["a", "b"]], 4)


# It feeds a Keras model on the backend under test.


def test_a_skipgram_model_trains_on_the_dataset():
    corpus = random_corpus()
    dataset = skipgram_dataset(corpus, 50, negatives=4, batch_size=128, seed=0)
    target = keras.Input((), dtype="int32")
    context = keras.Input((5,), dtype="int32")
    rows = keras_embedplus.Embedding(50, 8)(target)
    columns = keras_embedplus.Embedding(50, 8)(context)
    scores = keras.ops.einsum("bd,bkd->bk", rows, columns)
    model = keras.Model([target, context], scores)
    model.compile(
        keras_embedplus.optimizers.LazyAdam(0.05),
        keras.losses.BinaryCrossentropy(from_logits=True),
    )
    history = model.fit(dataset, epochs=3, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] < 0.7


# Keras 2's helpers.


def keras2():
    from tensorflow.keras.preprocessing import sequence

    return sequence


@pytest.mark.parametrize("size", [1, 2, 10, 5000])
@pytest.mark.parametrize("factor", [1e-5, 1e-3, 0.5])
def test_make_sampling_table_equals_keras_2(size, factor):
    ours = keras_embedplus.data.make_sampling_table(size, factor)
    theirs = keras2().make_sampling_table(size, sampling_factor=factor)
    assert np.array_equal(ours, theirs)


@settings(max_examples=60, deadline=None)
@given(
    sequence=st.lists(st.integers(0, 6), max_size=30),
    window_size=st.integers(0, 6),
    categorical=st.booleans(),
)
def test_skipgrams_equal_keras_2_in_order(sequence, window_size, categorical):
    arguments = dict(
        window_size=window_size,
        negative_samples=0,
        shuffle=False,
        categorical=categorical,
    )
    ours = keras_embedplus.data.skipgrams(sequence, 7, **arguments)
    theirs = keras2().skipgrams(sequence, 7, **arguments)
    assert ours == theirs


@settings(max_examples=30, deadline=None)
@given(
    sequence=st.lists(st.integers(0, 9), max_size=40),
    negative_samples=st.sampled_from([0.5, 1.0, 2.5]),
    seed=st.integers(0, 1000),
)
def test_skipgrams_negatives_and_shuffle_have_keras_2_semantics(
    sequence, negative_samples, seed
):
    arguments = dict(window_size=3, negative_samples=negative_samples)
    couples, labels = keras_embedplus.data.skipgrams(
        sequence, 10, seed=seed, **arguments
    )
    random.seed(seed)
    theirs, their_labels = keras2().skipgrams(
        sequence, 10, seed=seed, **arguments
    )
    assert len(couples) == len(theirs) and len(labels) == len(couples)
    positives = [c for c, label in zip(couples, labels, strict=True) if label]
    their_positives = [
        c for c, label in zip(theirs, their_labels, strict=True) if label
    ]
    assert sorted(positives) == sorted(their_positives)
    negatives = [
        c for c, label in zip(couples, labels, strict=True) if not label
    ]
    assert len(negatives) == int(len(positives) * negative_samples)
    assert all(1 <= other <= 9 for _, other in negatives)
    # Negative words are the positive words, shuffled and cycled.
    words = collections.Counter(word for word, _ in positives)
    whole, part = divmod(len(negatives), max(len(positives), 1))
    drawn = collections.Counter(word for word, _ in negatives)
    for word, count in drawn.items():
        assert whole * words[word] <= count <= (whole + 1) * words[word]
    # Same seed, same result (Keras 2 seeded only its final shuffle).
    again = keras_embedplus.data.skipgrams(sequence, 10, seed=seed, **arguments)
    assert again == (couples, labels)


def test_skipgrams_follow_pythons_random_without_a_seed():
    random.seed(5)
    first = keras_embedplus.data.skipgrams(list(range(1, 30)), 30)
    random.seed(5)
    assert keras_embedplus.data.skipgrams(list(range(1, 30)), 30) == first


def test_skipgrams_sampling_table_keeps_targets_at_its_rate():
    # Target 1 kept with probability 0.3, target 2 always.
    sequence = [1, 2] * 5000
    table = np.array([0.0, 0.3, 1.0])
    couples, _ = keras_embedplus.data.skipgrams(
        sequence,
        3,
        window_size=1,
        negative_samples=0,
        sampling_table=table,
        seed=0,
    )
    as_target = collections.Counter(word for word, _ in couples)
    share = as_target[1] / as_target[2]
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 10000)


@pytest.mark.parametrize("window_size", [-1, 1.0, True])
def test_skipgrams_refuses_a_window_that_is_no_integer(window_size):
    with pytest.raises(
        ValueError, match="`window_size` must be a non-negative"
    ):
        keras_embedplus.data.skipgrams(
            [1, 2, 3], vocabulary_size=4, window_size=window_size
        )

"""Train word2vec in Keras 3 and compare it with gensim at equal wall time.

Skip-gram with negative sampling on gensim's shipped `lee_background.cor`
(300 news stories, 60,000 tokens): two `keras_embedplus.Embedding` tables
(targets and contexts) whose rows' dot product scores a pair, trained by
`keras_embedplus.optimizers.LazyAdam` on batches from
`keras_embedplus.data.skipgram_dataset` (gensim's data recipe). The same
model is trained, for the same time, on the data recipe of the TensorFlow
word2vec tutorial (Keras 2's `skipgrams` with a Zipf sampling table, window
2, log-uniform negatives), and gensim's own `Word2Vec` is trained on the
same tokens for the same wall time. The vectors leave Keras through
`keras_embedplus.to_keyed_vectors` and all three are scored by gensim:
WordSim353 and SimLex-999 (Spearman's rho against human judgements) and
the Google analogies (`questions-words.txt`).

Few evaluation words occur on so small a corpus (the table shows how many
pairs are scored), so differences under about 0.1 in rho are noise.
gensim's pairs per second are its epochs times the pairs of one pass of the
same recipe (as `skipgram_dataset` counts them), over its training time.

Usage: python examples/word2vec.py [--out DIR] [--seconds S] [--quick]
Files go to DIR (default: a new temporary directory): the trained Keras
vectors as a word2vec text file and `results.json`.
"""

import argparse
import collections
import json
import pathlib
import tempfile
import time

import keras
import numpy as np
from gensim.models import Word2Vec
from gensim.test.utils import datapath
from gensim.utils import simple_preprocess
from keras import ops

import keras_embedplus

MIN_COUNT = 5  # gensim's default: rarer words are out of the vocabulary
# Word pairs scored by people, shipped with gensim.
EVALUATIONS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}


def load_corpus():
    """The stories as lists of words, and a vocabulary sorted by count."""
    with open(datapath("lee_background.cor"), encoding="utf-8") as file:
        stories = [simple_preprocess(line) for line in file]
    counts = collections.Counter(word for story in stories for word in story)
    words = [w for w, c in counts.most_common() if c >= MIN_COUNT]
    # Id 0 is padding and id 1 the out-of-vocabulary id, as in
    # keras.layers.TextVectorization; words follow by falling count.
    vocabulary = ["", "[UNK]"] + words
    index = {word: i for i, word in enumerate(vocabulary)}
    ids = [np.array([index.get(w, 1) for w in story]) for story in stories]
    return stories, vocabulary, ids


def build_model(vocabulary_size, dim):
    """Skip-gram with negative sampling: score = target row . context row."""
    target = keras.Input((), dtype="int32", name="target")
    context = keras.Input((None,), dtype="int32", name="context")
    targets = keras_embedplus.Embedding(
        vocabulary_size,
        dim,
        embeddings_initializer=keras.initializers.RandomUniform(
            -0.5 / dim, 0.5 / dim
        ),
        name="target_table",
    )
    contexts = keras_embedplus.Embedding(
        vocabulary_size, dim, embeddings_initializer="zeros", name="contexts"
    )
    scores = ops.einsum("bd,bkd->bk", targets(target), contexts(context))
    model = keras.Model([target, context], scores)
    model.compile(
        keras_embedplus.optimizers.LazyAdam(learning_rate=0.01),
        keras.losses.BinaryCrossentropy(from_logits=True),
        # Several steps per call into TensorFlow: a step is small.
        steps_per_execution=8,
    )
    return model, targets


class StopAfter(keras.callbacks.Callback):
    """Stops `fit` once `seconds` of training have passed."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps = batch + 1
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def gensim_recipe(ids, vocabulary, batch_size, seed=0):
    return keras_embedplus.data.skipgram_dataset(
        ids,
        len(vocabulary),
        window=5,
        negatives=5,
        subsample=1e-3,
        batch_size=batch_size,
        oov_ids=1,
        seed=seed,
    )


def tutorial_recipe(ids, vocabulary, batch_size, negatives=4, seed=0):
    """The TensorFlow word2vec tutorial's data, as its code makes it.

    Keras 2's `skipgrams` with `make_sampling_table` (which assumes ids are
    frequency ranks: here they are) and window 2, then 4 negatives per pair
    from the log-uniform (Zipf) distribution over ids, like the tutorial's
    `tf.random.log_uniform_candidate_sampler` (drawn here with numpy).
    """
    import tensorflow as tf

    size = len(vocabulary)
    table = keras_embedplus.data.make_sampling_table(size)
    rng = np.random.default_rng(seed)
    pairs = []
    for index, story in enumerate(ids):
        couples, _ = keras_embedplus.data.skipgrams(
            story,
            size,
            window_size=2,
            negative_samples=0,
            sampling_table=table,
            seed=seed + index,
        )
        pairs += couples
    pairs = np.array(pairs, dtype="int32").reshape(-1, 2)
    uniform = rng.random((len(pairs), negatives))
    drawn = np.floor(np.exp(uniform * np.log(size + 1))).astype("int32") - 1
    context = np.concatenate([pairs[:, 1:], np.minimum(drawn, size - 1)], 1)
    labels = np.zeros(context.shape, "float32")
    labels[:, 0] = 1
    data = tf.data.Dataset.from_tensor_slices(((pairs[:, 0], context), labels))
    return data.shuffle(len(pairs), seed=seed).batch(batch_size), len(pairs)


def train_keras(dataset, vocabulary, dim, seconds, epochs=1000, seed=0):
    keras.utils.set_random_seed(seed)
    model, targets = build_model(len(vocabulary), dim)
    stop = StopAfter(seconds)
    start = time.perf_counter()
    history = model.fit(
        dataset, epochs=epochs, callbacks=[stop], verbose=0, shuffle=False
    )
    elapsed = time.perf_counter() - start
    steps = (len(history.epoch) - 1) * int(dataset.cardinality()) + stop.steps
    vectors = keras_embedplus.to_keyed_vectors(targets, vocabulary)
    return vectors, elapsed, steps


def train_gensim(stories, dim, seconds, workers=2, seed=0):
    """gensim's Word2Vec(sg=1), given as many epochs as fit in `seconds`."""

    def train(epochs):
        start = time.perf_counter()
        model = Word2Vec(
            stories,
            vector_size=dim,
            sg=1,
            window=5,
            negative=5,
            sample=1e-3,
            min_count=MIN_COUNT,
            workers=workers,
            epochs=epochs,
            seed=seed,
        )
        return model, time.perf_counter() - start

    _, probe = train(5)
    epochs = max(1, int(round(5 * seconds / probe)))
    model, elapsed = train(epochs)
    return model.wv, elapsed, epochs


def evaluate(vectors):
    """Spearman rho on WordSim353 and SimLex-999, analogy accuracy."""
    scores = {}
    for name, path in EVALUATIONS.items():
        pearson, spearman, oov = vectors.evaluate_word_pairs(datapath(path))
        scores[name] = float(spearman.statistic)
        scores[name + "_oov_percent"] = float(oov)
    accuracy, sections = vectors.evaluate_word_analogies(
        datapath("questions-words.txt")
    )
    scores["analogies"] = float(accuracy)
    total = sections[-1]
    scores["analogies_scored"] = len(total["correct"]) + len(total["incorrect"])
    return scores


def main(out_dir, seconds, dim):
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stories, vocabulary, ids = load_corpus()
    tokens = sum(len(s) for s in stories)
    print(
        f"corpus: {len(stories)} stories, {tokens} tokens, "
        f"{len(vocabulary) - 2} words seen {MIN_COUNT}+ times"
    )
    batch_size = 4096

    rows = {}
    dataset = gensim_recipe(ids, vocabulary, batch_size)
    # gensim trains on the pairs of the same recipe: about this many a pass.
    pass_pairs = int(dataset.cardinality()) * batch_size
    vectors, elapsed, steps = train_keras(dataset, vocabulary, dim, seconds)
    rows["Keras, gensim's recipe"] = (vectors, elapsed, steps * batch_size)
    keras_vectors = vectors
    data, pairs = tutorial_recipe(ids, vocabulary, batch_size)
    vectors, elapsed, steps = train_keras(data, vocabulary, dim, seconds)
    rows["Keras, tutorial recipe"] = (vectors, elapsed, steps * batch_size)
    vectors, elapsed, epochs = train_gensim(stories, dim, seconds)
    rows[f"gensim Word2Vec ({epochs} epochs)"] = (
        vectors,
        elapsed,
        epochs * pass_pairs,
    )

    results = {}
    header = (
        f"{'':32} {'seconds':>7} {'pairs/s':>8} {'WS353':>6} "
        f"{'SL999':>6} {'analog.':>7}"
    )
    print(header)
    for name, (vectors, elapsed, examples) in rows.items():
        scores = evaluate(vectors)
        rate = f"{examples / elapsed:8.0f}"
        print(
            f"{name:32} {elapsed:7.1f} {rate} {scores['wordsim353']:6.3f} "
            f"{scores['simlex999']:6.3f} {scores['analogies']:7.3f}"
        )
        results[name] = {"seconds": elapsed, "examples": examples, **scores}
    first = results["Keras, gensim's recipe"]
    scored = [100 - first[f"{name}_oov_percent"] for name in EVALUATIONS]
    print(
        f"pairs scored: WordSim353 {scored[0]:.0f}%, "
        f"SimLex-999 {scored[1]:.0f}%, "
        f"analogies {first['analogies_scored']}"
    )
    path = out_dir / "word2vec_keras.txt"
    keras_vectors.save_word2vec_format(str(path))
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {path} and {out_dir / 'results.json'}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="output directory")
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="training time per model"
    )
    parser.add_argument(
        "--quick", action="store_true", help="4 s per model, 32 dimensions"
    )
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="word2vec_")
    if args.quick:
        main(out, seconds=4.0, dim=32)
    else:
        main(out, seconds=args.seconds, dim=100)

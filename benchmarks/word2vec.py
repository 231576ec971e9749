"""Skip-gram data and training speed against Keras 2 and gensim, in one run.

On gensim's shipped `lee_background.cor` (58,152 tokens), the script
measures:

1. Data: true pairs per second (each with 5 negatives, window 5) made by
   `keras_embedplus.data.skipgram_dataset` (read through tf.data, batches
   of 4096), by Keras 2's `skipgrams` (from `tf.keras`, which still ships
   it through Keras' legacy module; run over every story with
   `negative_samples=5`) and by this package's `skipgrams` port.
2. Training: pairs per second and quality (WordSim353, SimLex-999,
   analogies) of the Keras skip-gram model of `examples/word2vec.py`
   (`keras_embedplus.Embedding` + `LazyAdam` on `skipgram_dataset`) and of
   gensim's `Word2Vec(sg=1, workers=2)` given the same wall time. gensim's
   pairs per second are its epochs times the pairs of one pass of the same
   recipe, over its training time.

Absolute speeds depend on the machine and its load (printed); the ratios
less so.

    python benchmarks/word2vec.py                  # 40 s of training each
    python benchmarks/word2vec.py --seconds 10     # quicker
    python benchmarks/word2vec.py --seeds 3        # quality over 3 seeds
"""

import argparse
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras_embedplus  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
import word2vec as example  # noqa: E402


def median_rate(function, repeats=3):
    """Median of `repeats` runs of items-per-second; `function` -> items."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        items = function()
        rates.append(items / (time.perf_counter() - start))
    return statistics.median(rates), items


def dataset_pairs(ids, size):
    dataset = keras_embedplus.data.skipgram_dataset(
        ids, size, window=5, negatives=5, batch_size=4096, oov_ids=1, seed=0
    )
    return lambda: sum(len(target) for (target, _), _ in dataset)


def skipgrams_pairs(skipgrams, ids, size):
    # Keras 2 returns the negatives in the couples: count the true ones.
    def run():
        return sum(
            sum(skipgrams(s, size, window_size=5, negative_samples=5.0)[1])
            for s in ids
        )

    return run


def keras2_skipgrams():
    try:
        from tensorflow.keras.preprocessing.sequence import skipgrams
    except ImportError:
        return None
    return skipgrams


def main(seconds, seeds):
    load = os.getloadavg()[0]
    stories, vocabulary, ids = example.load_corpus()
    size = len(vocabulary)
    print(f"load average {load:.2f} at start (2 cores, shared)")

    data = {}
    data["skipgram_dataset (tf.data)"] = median_rate(dataset_pairs(ids, size))
    reference = keras2_skipgrams()
    if reference is not None:
        data["Keras 2 skipgrams (tf.keras)"] = median_rate(
            skipgrams_pairs(reference, ids, size), repeats=1
        )
    data["keras_embedplus.data.skipgrams"] = median_rate(
        skipgrams_pairs(keras_embedplus.data.skipgrams, ids, size)
    )
    pass_pairs = data["skipgram_dataset (tf.data)"][1]

    runs = []
    for seed in range(seeds):
        keras_vectors, keras_seconds, steps = example.train_keras(
            example.gensim_recipe(ids, vocabulary, 4096, seed=seed),
            vocabulary,
            100,
            seconds,
            seed=seed,
        )
        gensim_vectors, gensim_seconds, epochs = example.train_gensim(
            stories, 100, seconds, seed=seed
        )
        keras_run = ("Keras + LazyAdam", keras_vectors, keras_seconds)
        gensim_run = (f"gensim ({epochs} epochs)", gensim_vectors)
        runs.append(
            [
                (*keras_run, steps * 4096),
                (*gensim_run, gensim_seconds, epochs * pass_pairs),
            ]
        )
    first = next(iter(data.values()))[0]
    print("\nData: true pairs per second (5 negatives each), median of 3")
    print(f"{'':34} {'pairs/s':>10} {'ratio':>7}")
    for name, (rate, _) in data.items():
        print(f"{name:34} {rate:10.0f} {first / rate:6.1f}x")
    gensim_rate = np.mean([run[1][3] / run[1][2] for run in runs])
    print(f"{'gensim Word2Vec training':34} {gensim_rate:10.0f}")

    print(
        f"\nTraining, {seconds:.0f} s each, 100 dimensions, seeds 0-{seeds - 1}"
    )
    print(
        f"{'':26} {'seconds':>7} {'pairs/s':>8} {'WS353':>6} {'SL999':>6} "
        f"{'analog.':>7}"
    )
    totals = {}
    for run in runs:
        for index, (name, vectors, elapsed, pairs) in enumerate(run):
            scores = example.evaluate(vectors)
            print(
                f"{name:26} {elapsed:7.1f} {pairs / elapsed:8.0f} "
                f"{scores['wordsim353']:6.3f} {scores['simlex999']:6.3f} "
                f"{scores['analogies']:7.3f}"
            )
            row = [pairs / elapsed, scores["wordsim353"], scores["simlex999"],
                   scores["analogies"]]  # fmt: skip
            totals.setdefault(index, []).append(row)
    for index, name in enumerate(["Keras + LazyAdam", "gensim"]):
        rate, ws, sl, an = np.mean(totals[index], axis=0)
        print(
            f"{'mean ' + name:26} {'':7} {rate:8.0f} {ws:6.3f} {sl:6.3f} "
            f"{an:7.3f}"
        )
    keras_rate = np.mean([row[0] for row in totals[0]])
    print(f"\ndata / training speed: {first / keras_rate:.1f}x")
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--seeds", type=int, default=1, help="training runs")
    args = parser.parse_args()
    main(args.seconds, args.seeds)

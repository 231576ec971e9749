"""A small text classifier on pretrained word vectors, end to end.

1. "Pretrain" word vectors with gensim's word2vec on a small corpus and save
   them in the word2vec text format, as a real vector file would come.
2. Adapt a `TextVectorization` layer to the training sentences.
3. Build `PretrainedEmbedding.from_vectors(path, vectorizer)`: the file is
   read keeping only the vocabulary's words, aligned to the vectorizer's
   ids (padding and [UNK] rows included) and frozen; the coverage report
   says which words had no vector. `trainable_oov=True` lets those rows
   learn while the pretrained rows stay fixed.
4. Train, save the model as `.keras`, reload it without the vector file
   and check that it predicts the same.

    python examples/pretrained_classifier.py [--out DIR]
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gensim  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_embedplus  # noqa: E402

GOOD = ["good", "great", "lovely", "nice", "fine", "superb", "happy"]
BAD = ["bad", "awful", "poor", "terrible", "sad", "ugly", "boring"]
THINGS = ["film", "movie", "book", "meal", "trip", "show", "song"]


def sentences(rng, count):
    """Sentences like 'the film was great' with their labels (1 = good)."""
    texts, labels = [], []
    for _ in range(count):
        label = int(rng.integers(2))
        word = rng.choice(GOOD if label else BAD)
        texts.append(f"the {rng.choice(THINGS)} was really {word}")
        labels.append(label)
    return texts, np.array(labels, dtype="float32")


def pretrain_vectors(path, rng):
    """Word2vec vectors from a corpus where each sentiment has its company."""
    corpus = []
    for _ in range(2000):
        group = GOOD if rng.integers(2) else BAD
        corpus.append(list(rng.choice(group, size=4)) + ["the", "was"])
    model = gensim.models.Word2Vec(
        corpus,
        vector_size=16,
        window=4,
        min_count=1,
        seed=0,
        workers=1,
        epochs=20,
    )
    model.wv.save_word2vec_format(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="directory for the files")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="pretrained_classifier_")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)

    vector_path = os.path.join(out, "vectors.w2v.txt")
    pretrain_vectors(vector_path, rng)
    train_texts, train_labels = sentences(rng, 200)
    test_texts, test_labels = sentences(rng, 100)

    vectorizer = keras.layers.TextVectorization(output_sequence_length=6)
    vectorizer.adapt(train_texts)
    embedding = keras_embedplus.PretrainedEmbedding.from_vectors(
        vector_path, vectorizer, mask_zero=True, trainable_oov=True, seed=0
    )
    print(embedding.coverage)

    inputs = keras.Input((6,), dtype="int64")
    pooled = keras.layers.GlobalAveragePooling1D()(embedding(inputs))
    outputs = keras.layers.Dense(1, activation="sigmoid")(pooled)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["acc"]
    )
    x_train = keras.ops.convert_to_numpy(vectorizer(train_texts))
    x_test = keras.ops.convert_to_numpy(vectorizer(test_texts))
    model.fit(x_train, train_labels, epochs=20, verbose=0)
    _, accuracy = model.evaluate(x_test, test_labels, verbose=0)
    print(f"Test accuracy: {accuracy:.2f}")

    model_path = os.path.join(out, "classifier.keras")
    model.save(model_path)
    os.remove(vector_path)
    revived = keras.saving.load_model(model_path, safe_mode=True)
    same = np.array_equal(
        revived.predict(x_test, verbose=0), model.predict(x_test, verbose=0)
    )
    print(f"Reloaded without the vector file, same predictions: {same}")
    if not same:
        raise SystemExit("the reloaded model predicts differently")


if __name__ == "__main__":
    main()

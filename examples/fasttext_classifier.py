"""fastText's supervised classifier in Keras, then on fastText's subwords.

gensim ships `pang_lee_polarity.cor`: 200 movie-review sentences labelled
`__label__pos` / `__label__neg` (latin-1), the format of fastText's
supervised mode. Two classifiers, trained on 160 sentences and evaluated
on the 40 others:

1. fastText's own model: a sentence is the bag of its word ids and of its
   hashed word bigrams (fastText's `-wordNgrams 2` hash), one
   `EmbeddingBag(combiner="mean")` averages their rows, and a `Dense`
   softmax layer classifies the mean.
2. The same with word vectors from a fastText `.bin` (gensim's shipped
   `lee_fasttext_new.bin`): `SubwordEmbedding.from_fasttext` gives every
   token its fastText vector (unseen words from their character n-grams),
   fine-tuned here. Its ids are made in `tf.data` by `layer.subword_ids`,
   so the model itself runs on any Keras backend. The model is saved and
   reloaded without the `.bin`.

200 sentences are far too few for either model to generalise: both fit the
training sentences and stay near chance on the held-out ones (fastText
itself needs thousands of labelled sentences). The example shows the
pieces working together; give it a real labelled corpus for accuracy.

    python examples/fasttext_classifier.py [--out DIR] [--epochs N]
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from gensim.models.fasttext_inner import ft_hash_bytes  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

import keras_embedplus  # noqa: E402

BUCKET = 2**14  # rows for hashed word bigrams
BATCH = 32


def read_corpus():
    """Returns `(sentences, labels)` of gensim's labelled corpus."""
    sentences, labels = [], []
    with open(datapath("pang_lee_polarity.cor"), encoding="latin-1") as f:
        for line in f:
            label, _, text = line.strip().partition(" ")
            sentences.append(text)
            labels.append(int(label == "__label__pos"))
    return sentences, np.array(labels)


def word_hash(word):
    """fastText's hash of a word, as the signed 32-bit int it keeps."""
    h = ft_hash_bytes(word.encode("utf-8"))
    return h - 2**32 if h >= 2**31 else h


def bag_of_ids(tokens, word_ids):
    """fastText's input for a sentence: word ids, then hashed bigrams.

    Ids start at 1 (0 is padding). Words outside the vocabulary have no
    row, but their hash still enters the bigrams, as in fastText.
    """
    ids = [word_ids[t] for t in tokens if t in word_ids]
    hashes = [word_hash(t) for t in tokens]
    for left, right in zip(hashes, hashes[1:], strict=False):
        h = ((left % 2**64) * 116049371 + right) % 2**64
        ids.append(1 + len(word_ids) + h % BUCKET)
    return ids


def padded(bags):
    width = max(len(bag) for bag in bags)
    return np.array([bag + [0] * (width - len(bag)) for bag in bags])


def bigram_classifier(train, test, epochs):
    (train_texts, y_train), (test_texts, y_test) = train, test
    train_tokens = [text.split() for text in train_texts]
    vocabulary = sorted({t for tokens in train_tokens for t in tokens})
    word_ids = {word: i + 1 for i, word in enumerate(vocabulary)}
    x_train = padded([bag_of_ids(t, word_ids) for t in train_tokens])
    x_test = padded([bag_of_ids(t.split(), word_ids) for t in test_texts])

    inputs = keras.Input((None,), dtype="int32")
    bag = keras_embedplus.EmbeddingBag(
        1 + len(word_ids) + BUCKET, 16, combiner="mean", mask_zero=True
    )(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(bag)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.Adam(0.02),
        "sparse_categorical_crossentropy",
        metrics=["acc"],
    )
    model.fit(x_train, y_train, epochs=epochs, batch_size=BATCH, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    _, train_accuracy = model.evaluate(x_train, y_train, verbose=0)
    print(
        f"Words + hashed bigrams -> EmbeddingBag(mean) -> Dense: "
        f"{len(word_ids)} words, {BUCKET} bigram rows, train accuracy "
        f"{train_accuracy:.2f}, test accuracy {accuracy:.2f}"
    )


def subword_dataset(layer, texts, labels):
    """Tokens -> subword ids and a token mask, in tf.data (any backend)."""

    def to_ids(text, label):
        tokens = tf.strings.split(text).to_tensor("")
        ids = layer.subword_ids(tokens)
        return {"ids": ids, "mask": tokens != ""}, label

    data = tf.data.Dataset.from_tensor_slices((texts, labels))
    return data.batch(BATCH).map(to_ids)


def subword_classifier(train, test, epochs, out):
    path = datapath("lee_fasttext_new.bin")
    layer = keras_embedplus.SubwordEmbedding.from_fasttext(path, trainable=True)
    ids = keras.Input((None, None), dtype="int32", name="ids")
    mask = keras.Input((None,), dtype="bool", name="mask")
    vectors = layer(ids)  # (batch, tokens, dim): a mean bag per token
    sentence = keras.layers.GlobalAveragePooling1D()(vectors, mask=mask)
    outputs = keras.layers.Dense(2, activation="softmax")(sentence)
    model = keras.Model({"ids": ids, "mask": mask}, outputs)
    model.compile(
        keras.optimizers.Adam(0.02),
        "sparse_categorical_crossentropy",
        metrics=["acc"],
    )
    train_data = subword_dataset(layer, *train)
    test_data = subword_dataset(layer, *test)
    model.fit(
        train_data.shuffle(160, seed=0), epochs=epochs, verbose=0, shuffle=False
    )
    _, accuracy = model.evaluate(test_data, verbose=0)
    _, train_accuracy = model.evaluate(train_data, verbose=0)
    print(
        f"fastText subwords ({len(layer.vocabulary)} words + "
        f"{layer.bucket} n-gram rows of dim {layer.output_dim}, "
        f"fine-tuned) -> mean -> Dense: train accuracy "
        f"{train_accuracy:.2f}, test accuracy {accuracy:.2f}"
    )

    model_path = os.path.join(out, "subword_classifier.keras")
    model.save(model_path)
    revived = keras.saving.load_model(model_path, safe_mode=True)
    x_test = test_data.map(lambda x, y: x)
    same = np.allclose(
        revived.predict(x_test, verbose=0),
        model.predict(x_test, verbose=0),
        atol=1e-6,
    )
    print(f"Reloaded without the .bin, same predictions: {same}")
    if not same:
        raise SystemExit("the reloaded model predicts differently")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="directory for the files")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="fasttext_classifier_")
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(0)

    sentences, labels = read_corpus()
    order = np.random.default_rng(0).permutation(len(sentences))
    sentences = [sentences[i] for i in order]
    labels = labels[order]
    train = (sentences[:160], labels[:160])
    test = (sentences[160:], labels[160:])
    print(f"{len(train[0])} training and {len(test[0])} test sentences")

    bigram_classifier(train, test, args.epochs)
    subword_classifier(train, test, args.epochs, out)


if __name__ == "__main__":
    main()

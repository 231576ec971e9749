"""The Q&A walkthrough: what an embedding layer computes, step by step.

It answers the classic question about `Embedding(5, 2, input_length=5)`:
the question's own code runs as written, then the answer's example
("Hope to see you soon" / "Nice to see you again") shows the table, the
lookup, the same numbers as a one-hot product, and a real training run in
which only the rows that were looked up move. `keras-embedplus demo` and
`make demo` run it; it prints readable tables and writes pictures.
"""

import dataclasses
import pathlib

import keras
import numpy as np

from keras_embedplus.layers.lookup_embedding import LookupEmbedding
from keras_embedplus.layers.one_hot_dense import OneHotDense
from keras_embedplus.tools import export
from keras_embedplus.tools import plots
from keras_embedplus.tools.embedding_history import EmbeddingHistory

PHRASES = ("Hope to see you soon", "Nice to see you again")
# The phrase the model is trained on; the other one's words stay put.
TRAINED_PHRASE = 0


@dataclasses.dataclass
class DemoResult:
    """What the walkthrough computed, for tests and notebooks.

    Attributes:
        words: The vocabulary, `words[i]` being the word of id `i`.
        phrase_ids: One list of ids per phrase.
        table_before: The `(7, 2)` table before training.
        table_after: The table after training on the first phrase.
        moved_rows: Ids of the rows that training changed.
        unchanged_rows: Ids of the rows that stayed bit-for-bit the same.
        pictures: Picture name -> path of the written PNG.
    """

    words: list
    phrase_ids: list
    table_before: np.ndarray
    table_after: np.ndarray
    moved_rows: list
    unchanged_rows: list
    pictures: dict


def run_demo(out_dir, *, seed=0, epochs=20):
    """Runs the whole Q&A walkthrough, printing tables and saving pictures.

    Args:
        out_dir: String or `pathlib.Path`. Directory for the pictures
            (created if missing): `table_before.png`, `one_hot_product.png`,
            `table_after.png` and `training_trajectories.png`.
        seed: Integer. Seeds Python, numpy and the backend, so the numbers
            are the same on every run.
        epochs: Integer. Length of the training run.

    Returns:
        A `DemoResult`.
    """
    out_dir = pathlib.Path(out_dir)
    keras.utils.set_random_seed(seed)
    run_question()
    return run_walkthrough(out_dir, epochs=epochs)


def run_question():
    """Runs the question's code, with only the import changed."""
    _heading("1. The question's code, run with keras_embedplus.Embedding")
    model = keras.Sequential()
    model.add(LookupEmbedding(5, 2, input_length=5))
    input_array = np.random.randint(5, size=(1, 5))
    model.compile("rmsprop", "mse")
    output_array = model.predict(input_array, verbose=0)
    weights = model.layers[0].get_weights()[0]
    print(f"model.output_shape = {model.output_shape}")
    print(f"model.count_params() = {model.count_params()}")
    print(f"input_array = {input_array.tolist()}")
    print("output_array =")
    print(output_array)
    print("model.layers[0].get_weights()[0] (the table, one row per id) =")
    print(weights)
    same = np.array_equal(output_array[0], weights[input_array[0]])
    print(
        "Each output vector is the table row of its id: "
        f"output_array[0] == weights[input_array[0]] -> {same}"
    )


def run_walkthrough(out_dir, *, epochs=20):
    """Runs the answer's 7-word example: table, lookup, one-hot, training.

    Args:
        out_dir: String or `pathlib.Path`. Directory for the pictures.
        epochs: Integer. Length of the training run.

    Returns:
        A `DemoResult`.
    """
    out_dir = pathlib.Path(out_dir)
    words, phrase_ids = _vocabulary(PHRASES)
    _heading("2. Words become ids")
    for phrase, ids in zip(PHRASES, phrase_ids, strict=True):
        print(f"{phrase!r:26} -> {ids}")

    _heading(f"3. Embedding({len(words)}, 2, input_length=5): the table")
    lookup = LookupEmbedding(len(words), 2, input_length=5)
    table = export.layer_table(lookup)
    print(format_table(table, words))
    pictures = {
        "table_before": plots.plot_embeddings(
            lookup,
            words,
            out_dir / "table_before.png",
            title="The (7, 2) table before training (random)",
        )
    }

    second = phrase_ids[1]
    _heading(f"4. Phrase 2 {PHRASES[1]!r} looks up rows {second}")
    output = np.asarray(lookup(np.array([second])))[0]
    print(format_table(output, [words[i] for i in second], ids=second))
    print(f"Equal to table[{second}]: {np.array_equal(output, table[second])}")

    _heading("5. The same numbers as a one-hot vector times the table")
    one_hot = np.eye(len(words), dtype="int64")[second]
    print("one_hot(phrase 2), one row per word, one column per id:")
    print(one_hot)
    product = one_hot @ table
    dense = OneHotDense(len(words), 2, input_length=5)
    dense.set_weights(lookup.get_weights())
    dense_output = np.asarray(dense(np.array([second])))[0]
    print("one_hot @ table (numpy):")
    print(product)
    print(
        "Largest difference from the lookup: numpy "
        f"{np.abs(product - output).max():.1e}, OneHotDense with the same "
        f"weights {np.abs(dense_output - output).max():.1e}"
    )
    pictures["one_hot_product"] = plots.plot_one_hot_product(
        second,
        table,
        words,
        out_dir / "one_hot_product.png",
        title="A lookup is a one-hot vector times the table",
    )

    return _train(lookup, words, phrase_ids, out_dir, epochs, pictures)


def format_table(table, words, *, ids=None):
    """Formats rows of a table as the answer prints them: index, embedding.

    Args:
        table: Array of shape `(rows, dim)`.
        words: One word per row.
        ids: Optional ids to show instead of `0 .. rows - 1`.

    Returns:
        The table as a string of lines.
    """
    ids = range(len(table)) if ids is None else ids
    cells = [
        (str(i), word, "[" + ", ".join(f"{v:+.4f}" for v in row) + "]")
        for i, word, row in zip(ids, words, table, strict=True)
    ]
    header = ("index", "word", "embedding")
    widths = [max(len(c[k]) for c in [header, *cells]) for k in range(3)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values):
        return (
            "| "
            + " | ".join(
                v.ljust(w) for v, w in zip(values, widths, strict=True)
            )
            + " |"
        )

    return "\n".join([rule, line(header), rule, *map(line, cells), rule])


def _train(lookup, words, phrase_ids, out_dir, epochs, pictures):
    trained = phrase_ids[TRAINED_PHRASE]
    _heading(
        f"6. Training on phrase {TRAINED_PHRASE + 1} "
        f"{PHRASES[TRAINED_PHRASE]!r} only ({epochs} epochs of SGD)"
    )
    model = keras.Sequential(
        [
            lookup,
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        keras.optimizers.SGD(learning_rate=0.5), "binary_crossentropy"
    )
    print(
        "Model: the same Embedding -> Flatten -> Dense(1, sigmoid), target 1,"
        "\nbinary cross-entropy loss. Gradient descent moves every weight,"
        "\nthe table's rows included, downhill on that loss."
    )
    history = EmbeddingHistory(lookup)
    fit = model.fit(
        np.array([trained]),
        np.array([[1.0]]),
        epochs=epochs,
        callbacks=[history],
        verbose=0,
    )
    losses = fit.history["loss"]
    print(f"loss: {losses[0]:.4f} after epoch 1, {losses[-1]:.4f} at the end")
    before, after = history.snapshots[0], history.snapshots[-1]
    print("The table after training:")
    print(format_table(after, words))
    moved = [i for i in range(len(words)) if (after[i] != before[i]).any()]
    unchanged = [i for i in range(len(words)) if i not in moved]
    for i in range(len(words)):
        distance = float(np.linalg.norm(after[i] - before[i]))
        state = "moved" if i in moved else "unchanged (never looked up)"
        print(f"row {i} {words[i]!r:8} moved by {distance:.4f}: {state}")
    print(f"Rows looked up by the training phrase: {sorted(set(trained))}")
    print(f"Rows that changed: {moved}; rows bit-for-bit the same: {unchanged}")
    pictures["table_after"] = plots.plot_embeddings(
        lookup,
        words,
        out_dir / "table_after.png",
        title=f"The table after {epochs} epochs on phrase 1",
    )
    pictures["training_trajectories"] = history.plot(
        out_dir / "training_trajectories.png",
        labels=words,
        title=f"Rows moving during training on {PHRASES[TRAINED_PHRASE]!r}",
    )
    _heading("Pictures")
    for path in pictures.values():
        print(path)
    return DemoResult(
        words=words,
        phrase_ids=phrase_ids,
        table_before=before,
        table_after=after,
        moved_rows=moved,
        unchanged_rows=unchanged,
        pictures=pictures,
    )


def _vocabulary(phrases):
    """Numbers the words in order of first appearance."""
    index = {}
    phrase_ids = []
    for phrase in phrases:
        tokens = phrase.lower().split()
        phrase_ids.append([index.setdefault(t, len(index)) for t in tokens])
    return list(index), phrase_ids


def _heading(text):
    print(f"\n== {text}")

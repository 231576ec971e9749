import keras
import numpy as np
import pytest
from keras import ops

import keras_embedplus
from tests.pictures import load_picture

TRAIN_IDS = np.array([[0, 1, 2], [2, 1, 0]])


def _model(layer):
    model = keras.Sequential(
        [layer, keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.5), "mse")
    return model


def _fit(model, history, epochs):
    model.fit(
        TRAIN_IDS,
        np.ones((2, 1)),
        epochs=epochs,
        callbacks=[history],
        verbose=0,
    )


@pytest.mark.parametrize(
    "layer_cls", [keras_embedplus.LookupEmbedding, keras_embedplus.OneHotDense]
)
def test_snapshots_hold_the_table_before_and_after_each_epoch(layer_cls):
    layer = layer_cls(5, 3, input_length=3)
    start = ops.convert_to_numpy(layer.embeddings).copy()
    history = keras_embedplus.EmbeddingHistory(layer)
    _fit(_model(layer), history, epochs=3)
    snapshots = history.snapshots
    assert snapshots.shape == (4, 5, 3)
    assert snapshots.dtype == np.float32
    np.testing.assert_array_equal(snapshots[0], start)
    np.testing.assert_array_equal(
        snapshots[-1], ops.convert_to_numpy(layer.embeddings)
    )
    # Rows 0-2 are looked up and move every epoch; rows 3-4 never do.
    steps = np.abs(np.diff(snapshots, axis=0)).max(axis=-1)
    assert (steps[:, :3] > 0).all()
    assert (steps[:, 3:] == 0).all()


def test_a_second_fit_continues_the_record():
    layer = keras_embedplus.Embedding(5, 2, input_length=3)
    model = _model(layer)
    history = keras_embedplus.EmbeddingHistory(layer)
    _fit(model, history, epochs=2)
    after_first = history.snapshots[-1]
    _fit(model, history, epochs=3)
    assert history.snapshots.shape == (6, 5, 2)
    np.testing.assert_array_equal(history.snapshots[2], after_first)


def test_snapshots_before_training_explain_themselves():
    history = keras_embedplus.EmbeddingHistory(keras_embedplus.Embedding(3, 2))
    with pytest.raises(ValueError, match="model.fit"):
        _ = history.snapshots


def test_only_embedding_layers_are_recorded():
    with pytest.raises(TypeError, match="Received: Dense"):
        keras_embedplus.EmbeddingHistory(keras.layers.Dense(2))


@pytest.mark.parametrize("dim", [2, 6])
def test_plot_draws_the_trajectories(tmp_path, dim):
    layer = keras_embedplus.Embedding(5, dim, input_length=3)
    history = keras_embedplus.EmbeddingHistory(layer)
    _fit(_model(layer), history, epochs=4)
    path = history.plot(tmp_path / "moves.png", labels=list("abcde"))
    assert path == tmp_path / "moves.png"
    load_picture(path, size=(640, 520))
    load_picture(history.plot(tmp_path / "some.png", rows=[0, 4]))


def test_plot_checks_labels_and_rows(tmp_path):
    layer = keras_embedplus.Embedding(5, 2, input_length=3, name="t")
    history = keras_embedplus.EmbeddingHistory(layer)
    _fit(_model(layer), history, epochs=1)
    with pytest.raises(ValueError, match=r"'t' has rows \[0, 5\).*`labels`"):
        history.plot(tmp_path / "x.png", labels=list("abcdef"))
    with pytest.raises(ValueError, match=r"rows \[0, 5\).*\[5\]"):
        history.plot(tmp_path / "x.png", rows=[5])
    with pytest.raises(ValueError, match="5 labelled points.*max_points=4"):
        history.plot(tmp_path / "x.png", max_points=4)
    assert not (tmp_path / "x.png").exists()


def _trained_history(**layer_kwargs):
    layer = keras_embedplus.Embedding(5, 3, input_length=3, **layer_kwargs)
    history = keras_embedplus.EmbeddingHistory(layer)
    model = keras.Sequential(
        [layer, keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.5), "mse")
    _fit(model, history, epochs=2)
    return history


def _same_picture(first, second):
    return np.array_equal(load_picture(first), load_picture(second))


def test_plot_takes_the_labels_forms_of_plot_embeddings(tmp_path):
    history = _trained_history()
    words = ["w0", "w1", "w2", "w3", "w4"]
    # The first N labels draw the first N rows, like plot_embeddings.
    first_three = history.plot(tmp_path / "3.png", labels=words[:3], title="t")
    assert _same_picture(
        first_three,
        history.plot(
            tmp_path / "rows.png", labels=words, rows=[0, 1, 2], title="t"
        ),
    )
    assert _same_picture(
        first_three,
        history.plot(
            tmp_path / "dict.png",
            labels={"w0": 0, "w1": 1, "w2": 2},
            title="t",
        ),
    )
    assert not _same_picture(
        first_three,
        history.plot(tmp_path / "all.png", labels=words, title="t"),
    )
    lookup = keras.layers.StringLookup(vocabulary=words[2:], mask_token="")
    assert _same_picture(
        history.plot(tmp_path / "lookup.png", labels=lookup, title="t"),
        history.plot(
            tmp_path / "list.png", labels=["", "[UNK]", *words[2:]], title="t"
        ),
    )


def test_plot_leaves_out_the_padding_row_of_a_masking_layer(tmp_path):
    history = _trained_history(mask_zero=True)
    drawn = history.plot(tmp_path / "masked.png", title="t")
    assert _same_picture(
        drawn, history.plot(tmp_path / "rows.png", rows=[1, 2, 3, 4], title="t")
    )
    assert not _same_picture(
        drawn, history.plot(tmp_path / "all.png", rows=range(5), title="t")
    )

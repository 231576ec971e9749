import sys

import keras
import numpy as np
import pytest
from gensim.models import KeyedVectors

import keras_embedplus
from keras_embedplus.tools import plots
from tests.pictures import load_picture

WORDS = ["hope", "to", "see", "you", "soon", "nice", "again"]


def _layer(dim, *, input_dim=7, seed=0):
    table = np.random.default_rng(seed).normal(size=(input_dim, dim))
    return keras_embedplus.Embedding(
        input_dim, dim, input_length=5, weights=table.astype("float32")
    )


def _vectors(words, dim, seed=0):
    vectors = KeyedVectors(dim)
    rng = np.random.default_rng(seed)
    vectors.add_vectors(words, rng.normal(size=(len(words), dim)))
    return vectors


@pytest.mark.parametrize("dim", [1, 2, 8])
def test_plot_embeddings_draws_a_layer_table(tmp_path, dim):
    path = keras_embedplus.plot_embeddings(
        _layer(dim), WORDS, tmp_path / "table.png"
    )
    assert path == tmp_path / "table.png"
    load_picture(path, size=(640, 520))


def test_plot_embeddings_draws_keyed_vectors(tmp_path):
    vectors = _vectors(WORDS, 50)
    path = keras_embedplus.plot_embeddings(
        vectors, ["see", "you"], tmp_path / "a" / "b" / "kv.png", title="KV"
    )
    load_picture(path, size=(640, 520))


def test_different_tables_give_different_pictures(tmp_path):
    first = load_picture(
        keras_embedplus.plot_embeddings(
            _layer(2, seed=0), WORDS, tmp_path / "0.png"
        )
    )
    second = load_picture(
        keras_embedplus.plot_embeddings(
            _layer(2, seed=1), WORDS, tmp_path / "1.png"
        )
    )
    assert (first != second).any(axis=-1).mean() > 0.01


def test_dict_words_choose_the_rows(tmp_path):
    path = keras_embedplus.plot_embeddings(
        _layer(3), {"see": 2, "again": 6}, tmp_path / "rows.png"
    )
    load_picture(path)


def test_words_none_labels_every_row_by_its_id(tmp_path):
    load_picture(
        keras_embedplus.plot_embeddings(_layer(2), None, tmp_path / "x.png")
    )


def test_row_outside_the_table_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"rows \[0, 7\).*\[9\]"):
        keras_embedplus.plot_embeddings(
            _layer(2), {"far": 9}, tmp_path / "x.png"
        )
    with pytest.raises(ValueError, match=r"rows \[0, 7\).*\[7\]"):
        keras_embedplus.plot_embeddings(
            _layer(2), [*WORDS, "extra"], tmp_path / "x.png"
        )


def test_unknown_keys_are_named(tmp_path):
    with pytest.raises(KeyError, match="zebra"):
        keras_embedplus.plot_embeddings(
            _vectors(WORDS, 4), ["see", "zebra"], tmp_path / "x.png"
        )


def test_unbuilt_layer_and_wrong_objects_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        keras_embedplus.plot_embeddings(
            keras_embedplus.Embedding(3, 2), None, tmp_path / "x.png"
        )
    with pytest.raises(TypeError, match="Dense"):
        keras_embedplus.plot_embeddings(
            keras.layers.Dense(2), None, tmp_path / "x.png"
        )
    with pytest.raises(TypeError, match="ndarray"):
        keras_embedplus.plot_embeddings(
            np.zeros((3, 2)), None, tmp_path / "x.png"
        )


def test_too_many_points_are_refused(tmp_path):
    layer = _layer(2, input_dim=plots.MAX_POINTS + 1)
    with pytest.raises(ValueError, match="1001 labelled points.*Pass the"):
        keras_embedplus.plot_embeddings(layer, None, tmp_path / "x.png")
    vectors = _vectors([f"w{i}" for i in range(plots.MAX_POINTS + 1)], 3)
    with pytest.raises(ValueError, match=r"`max_points=None` to draw all"):
        keras_embedplus.plot_embeddings(vectors, None, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_max_points_sets_the_limit_and_none_lifts_it(tmp_path):
    vectors = _vectors(WORDS, 3)
    with pytest.raises(ValueError, match=r"7 labelled points.*max_points=6"):
        keras_embedplus.plot_embeddings(
            vectors, None, tmp_path / "x.png", max_points=6
        )
    for limit in (7, None):
        load_picture(
            keras_embedplus.plot_embeddings(
                vectors, None, tmp_path / f"{limit}.png", max_points=limit
            )
        )


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_max_points_is_validated(tmp_path, bad):
    with pytest.raises(ValueError, match=f"Received: max_points={bad!r}"):
        keras_embedplus.plot_embeddings(
            _vectors(WORDS, 3), None, tmp_path / "x.png", max_points=bad
        )


def _same_picture(first, second):
    return np.array_equal(load_picture(first), load_picture(second))


def test_a_masking_layer_leaves_out_its_padding_row(tmp_path):
    table = np.random.default_rng(0).normal(size=(7, 3)).astype("float32")
    masked = keras_embedplus.Embedding(
        7, 3, mask_zero=True, input_length=5, weights=table
    )
    plain = keras_embedplus.Embedding(7, 3, input_length=5, weights=table)
    drawn = keras_embedplus.plot_embeddings(
        masked, None, tmp_path / "masked.png", title="t"
    )
    ids = {str(row): row for row in range(1, 7)}
    assert _same_picture(
        drawn,
        keras_embedplus.plot_embeddings(
            plain, ids, tmp_path / "ids.png", title="t"
        ),
    )
    assert not _same_picture(
        drawn,
        keras_embedplus.plot_embeddings(
            plain, None, tmp_path / "all.png", title="t"
        ),
    )
    # The same with labels: the label of row 0 is not drawn either.
    assert _same_picture(
        keras_embedplus.plot_embeddings(
            masked, WORDS, tmp_path / "words.png", title="t"
        ),
        keras_embedplus.plot_embeddings(
            plain,
            dict(zip(WORDS[1:], range(1, 7), strict=True)),
            tmp_path / "dict.png",
            title="t",
        ),
    )


def test_padding_and_oov_rows_of_a_vocabulary_are_left_out(tmp_path):
    layer = _layer(3)
    vocabulary = ["", "[UNK]", "see", "you", "soon"]
    expected = keras_embedplus.plot_embeddings(
        layer, {"see": 2, "you": 3, "soon": 4}, tmp_path / "d.png", title="t"
    )
    for index, words in enumerate(
        [
            vocabulary,
            dict(zip(vocabulary, range(5), strict=True)),
            keras.layers.StringLookup(vocabulary=vocabulary[2:], mask_token=""),
            keras.layers.TextVectorization(vocabulary=vocabulary[2:]),
        ]
    ):
        assert _same_picture(
            keras_embedplus.plot_embeddings(
                layer, words, tmp_path / f"{index}.png", title="t"
            ),
            expected,
        ), words


def test_integer_lookup_labels_rows_by_their_integers(tmp_path):
    lookup = keras.layers.IntegerLookup(vocabulary=[40, 7, 12])
    layer = _layer(2, input_dim=4)
    assert _same_picture(
        keras_embedplus.plot_embeddings(
            layer, lookup, tmp_path / "l.png", title="t"
        ),
        keras_embedplus.plot_embeddings(
            layer, {"40": 1, "7": 2, "12": 3}, tmp_path / "d.png", title="t"
        ),
    )


def test_labelled_rows_is_the_export_rule():
    layer = keras_embedplus.Embedding(
        6, 2, mask_zero=True, input_length=1, name="t"
    )
    layer.build()
    ids, labels = plots.labelled_rows(layer, ["x", "a", "[UNK]", "b"])
    assert ids.tolist() == [1, 3] and labels == ["a", "b"]
    ids, labels = plots.labelled_rows(layer, None)
    assert ids.tolist() == [1, 2, 3, 4, 5]
    assert labels == ["1", "2", "3", "4", "5"]


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "keras-embedplus\['):
        keras_embedplus.plot_embeddings(_layer(2), WORDS, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_projection_keeps_distances_of_points_on_a_plane():
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(20, 2))
    basis, _ = np.linalg.qr(rng.normal(size=(6, 2)))
    points = flat @ basis.T + rng.normal(size=6)
    coords, names = plots.project_2d(points)
    shares = [int(name.split("(")[1].split("%")[0]) for name in names]
    assert names[0].startswith("PC1") and names[1].startswith("PC2")
    assert sum(shares) == 100

    def distances(x):
        return np.linalg.norm(x[:, None] - x[None], axis=-1)

    np.testing.assert_allclose(distances(coords), distances(flat), atol=1e-9)


def test_projection_of_low_dimensions_keeps_the_values():
    points = np.array([[1.0, 2.0], [3.0, -4.0]])
    np.testing.assert_array_equal(plots.project_2d(points)[0], points)
    line, _ = plots.project_2d(np.array([[1.5], [-2.0]]))
    np.testing.assert_array_equal(line, [[1.5, 0.0], [-2.0, 0.0]])


def test_projection_of_one_point_or_identical_points():
    coords, _ = plots.project_2d(np.ones((1, 5)))
    np.testing.assert_array_equal(coords, [[0.0, 0.0]])
    coords, names = plots.project_2d(np.ones((3, 5)))
    np.testing.assert_array_equal(coords, np.zeros((3, 2)))
    assert "0% of variance" in names[0]


def test_one_hot_product_picture(tmp_path):
    table = np.random.default_rng(0).normal(size=(7, 2))
    path = plots.plot_one_hot_product(
        [5, 1, 2, 3, 6], table, WORDS, tmp_path / "product.png", title="t"
    )
    load_picture(path, size=(1000, 380))

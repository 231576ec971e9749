"""Pictures of embedding tables, drawn with matplotlib's Agg renderer.

Figures are made with `matplotlib.figure.Figure` directly, never through
`pyplot`, so drawing works without a display and leaves the user's pyplot
state and backend alone. matplotlib is the optional `plots` extra.
"""

import pathlib

import keras
import numpy as np

from keras_embedplus.tools import export
from keras_embedplus.vectors.arguments import check_integer

# More labelled points than this make an unreadable picture.
MAX_POINTS = 1000


def plot_embeddings(
    layer_or_vectors, words, path, *, title=None, max_points=MAX_POINTS
):
    """Draws embedding vectors as labelled points and saves a PNG.

    Two-dimensional vectors are drawn as they are. Longer vectors are
    projected on their first two principal components (PCA computed with
    numpy's SVD over the drawn points), and the axes say how much of the
    variance each component keeps. One-dimensional vectors lie on a line.

    For a layer, only rows that are words are drawn: not the padding row
    (row 0 of a layer with `mask_zero=True`, or the mask token `""`), nor
    OOV rows (`"[UNK]"`, or those a lookup layer marks), nor rows no word
    maps to: the rule of `keras_embedplus.to_keyed_vectors`.

    At most `max_points` points are drawn (1,000 by default: more labels
    than that cover each other). Asking for more raises a `ValueError`
    that says how many were asked for; pass the words to draw, or
    `max_points=None` to draw every one (labelling is the slow part: a
    few seconds per 1,000 points, about 50 s for 10,000).

    Args:
        layer_or_vectors: An embedding layer (its table is drawn: row `i`
            is word id `i`) or a `gensim.models.KeyedVectors`.
        words: For a layer: a vocabulary. A list of labels, `words[i]`
            labelling row `i` (the first `len(words)` rows are drawn), a
            dict `{word: id}` naming the rows to draw, or a Keras
            `TextVectorization`, `StringLookup` or `IntegerLookup` layer;
            `None` draws every row, labelled by its id. For
            `KeyedVectors`: the keys to draw; `None` draws all of them.
        path: String or `pathlib.Path`. Where to write the PNG; missing
            parent directories are created.
        title: Optional string. The picture's title.
        max_points: Positive integer or `None`. The most points to draw;
            `None` draws any number. Defaults to `1000`.

    Returns:
        The `pathlib.Path` of the written file.

    Example:

    >>> import pathlib
    >>> import tempfile
    >>> layer = keras_embedplus.Embedding(3, 2, input_length=1)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "table.png"
    >>> keras_embedplus.plot_embeddings(layer, ["a", "b", "c"], out).name
    'table.png'
    """
    check_max_points(max_points)
    figure_module = require_matplotlib("plot_embeddings")
    labels, points = _labelled_points(layer_or_vectors, words, max_points)
    figure = figure_module.Figure(figsize=(6.4, 5.2), layout="constrained")
    axes = figure.add_subplot()
    coords, axis_names = project_2d(points)
    axes.scatter(coords[:, 0], coords[:, 1], s=36, color="tab:blue")
    label_points(axes, labels, coords)
    _finish_axes(axes, axis_names)
    axes.set_title(title or _default_title(layer_or_vectors, len(labels)))
    return save_figure(figure, path)


def plot_one_hot_product(ids, table, words, path, *, title=None):
    """Draws `one_hot(ids) @ table == table[ids]` as three annotated grids.

    Args:
        ids: Sequence of integer ids (one phrase).
        table: Array of shape `(input_dim, output_dim)`.
        words: Sequence of `input_dim` strings, the word of each row.
        path: Where to write the PNG.
        title: Optional string. The picture's title.

    Returns:
        The `pathlib.Path` of the written file.
    """
    figure_module = require_matplotlib("plot_one_hot_product")
    ids = np.asarray(ids)
    table = np.asarray(table, "float64")
    one_hot = np.eye(len(table))[ids]
    phrase = [f"{words[i]} ({i})" for i in ids]
    vocabulary = [f"{i} {word}" for i, word in enumerate(words)]
    vocabulary_columns = [f"{i}\n{word}" for i, word in enumerate(words)]
    columns = [str(j) for j in range(table.shape[1])]
    panels = [
        (one_hot, f"one_hot(ids)  {one_hot.shape}", phrase, vocabulary_columns),
        (table, f"x  table  {table.shape}", vocabulary, columns),
        (
            one_hot @ table,
            f"=  table[ids]  {ids.shape + table.shape[1:]}",
            phrase,
            columns,
        ),
    ]
    figure = figure_module.Figure(figsize=(10, 3.8), layout="constrained")
    grid = figure.add_gridspec(
        1, 3, width_ratios=[len(table), table.shape[1], table.shape[1]]
    )
    limit = max(float(np.abs(table).max()), 1e-12)
    for column, (values, heading, row_names, column_names) in enumerate(panels):
        axes = figure.add_subplot(grid[0, column])
        is_one_hot = column == 0
        axes.imshow(
            values,
            cmap="Greys" if is_one_hot else "coolwarm",
            vmin=0 if is_one_hot else -limit,
            vmax=1 if is_one_hot else limit,
            aspect="equal",
        )
        for (row, col), value in np.ndenumerate(values):
            text = f"{value:.0f}" if is_one_hot else f"{value:.3f}"
            axes.text(
                col,
                row,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if is_one_hot and value else "black",
            )
        axes.set_title(heading, fontsize=10)
        axes.set_yticks(range(len(row_names)), row_names, fontsize=8)
        axes.set_xticks(range(len(column_names)), column_names, fontsize=8)
    if title:
        figure.suptitle(title)
    return save_figure(figure, path)


def label_points(axes, labels, coords, colors=None):
    """Writes each label next to its point, away from its nearest neighbour.

    Labels go above and to the right of their point, unless another point
    is close: then they go on the side facing away from it, so two close
    points get their labels on opposite sides.
    """
    coords = np.asarray(coords, "float64")
    span = np.ptp(coords, axis=0) if len(coords) else np.ones(2)
    scaled = coords / np.where(span > 0, span, 1.0)
    for index, (label, point) in enumerate(zip(labels, coords, strict=True)):
        side = np.ones(2)
        distances = np.linalg.norm(scaled - scaled[index], axis=1)
        distances[index] = np.inf
        nearest = int(np.argmin(distances)) if len(coords) > 1 else index
        if distances[nearest] < 0.08:
            away = scaled[index] - scaled[nearest]
            if not away.any():  # the same point: alternate sides
                away = np.full(2, 1.0 if index % 2 else -1.0)
            side = np.where(away >= 0, 1.0, -1.0)
        axes.annotate(
            label,
            tuple(point),
            xytext=(5 * side[0], 4 * side[1]),
            textcoords="offset points",
            ha="left" if side[0] > 0 else "right",
            va="bottom" if side[1] > 0 else "top",
            fontsize=10,
            color="black" if colors is None else colors[index],
        )


def require_matplotlib(feature):
    """Returns `matplotlib.figure`, or says how to install the extra."""
    try:
        import matplotlib.figure
    except ImportError as error:
        raise ImportError(
            f"`{feature}` draws with matplotlib, which is not installed. "
            'Install it with: pip install "keras-embedplus[plots]"'
        ) from error
    return matplotlib.figure


def project_2d(points, fit_points=None):
    """Places `points` in a plane fitted to `fit_points` (default: them).

    Vectors of at most 2 dimensions are kept as they are (one dimension
    gets a zero second coordinate); longer ones go on the two principal
    axes of `fit_points`.

    Returns:
        A tuple `(coords, axis_names)`: an array of shape `(n, 2)` and the
        names of the two axes.
    """
    points = np.asarray(points, "float64")
    dim = points.shape[-1]
    if dim == 1:
        return np.concatenate([points, np.zeros_like(points)], -1), (
            "dimension 0",
            "",
        )
    if dim == 2:
        return points, ("dimension 0", "dimension 1")
    fit_points = points if fit_points is None else fit_points
    fit_points = np.asarray(fit_points, "float64").reshape(-1, dim)
    mean = fit_points.mean(axis=0)
    _, singular, components = np.linalg.svd(
        fit_points - mean, full_matrices=False
    )
    variance = singular**2
    total = variance.sum()
    shares = variance / total if total > 0 else np.zeros_like(variance)
    # Fewer points than 2 give one component; the missing one is zero.
    basis = np.zeros((2, dim))
    basis[: len(components[:2])] = components[:2]
    shares = np.pad(shares[:2], (0, 2 - len(shares[:2])))
    names = tuple(
        f"PC{i + 1} ({shares[i]:.0%} of variance over {dim} dims)"
        for i in range(2)
    )
    return (points - mean) @ basis.T, names


def save_figure(figure, path):
    """Writes `figure` as a PNG at `path`; returns the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path


def check_max_points(max_points):
    check_integer("max_points", max_points, minimum=1, allow_none=True)


def check_point_count(count, max_points, what):
    """Refuses to draw more than `max_points` points, saying what to do."""
    if max_points is not None and count > max_points:
        raise ValueError(
            f"{what} would draw {count} labelled points, more than "
            f"`max_points={max_points}` (labels of more points cover each "
            "other). Pass the words or rows to draw (e.g. the first "
            f"{max_points}), or `max_points=None` to draw all {count}."
        )


def labelled_rows(layer, words, argument="words"):
    """The rows of `layer` to draw for `words`, and their labels.

    `words` is a vocabulary (see `plot_embeddings`) or `None`, which names
    every row by its id. Rows that are not words are left out by
    `export.word_rows`, the rule every tool follows.
    """
    if words is None:
        words = id_vocabulary(layer.input_dim)
    elif isinstance(words, (list, tuple)) or (
        isinstance(words, np.ndarray) and words.ndim == 1
    ):
        words = list(words)
        if len(words) > layer.input_dim:
            raise ValueError(
                f"Layer '{layer.name}' has rows [0, {layer.input_dim}); "
                f"`{argument}` has {len(words)} labels, so it asks for row(s) "
                f"{list(range(layer.input_dim, len(words)))[:10]}."
            )
    return export.word_rows(layer, words)


def id_vocabulary(size):
    """A vocabulary naming each of `size` rows by its id: "0", "1", ..."""
    from keras_embedplus.vectors import vocabulary as vocabulary_lib

    return vocabulary_lib.VocabularyRows(
        tuple(str(row) for row in range(size)),
        np.full(size, vocabulary_lib.WORD, dtype=np.int8),
    )


def _labelled_points(layer_or_vectors, words, max_points):
    if isinstance(layer_or_vectors, keras.layers.Layer):
        return _layer_points(layer_or_vectors, words, max_points)
    from gensim.models import KeyedVectors

    if isinstance(layer_or_vectors, KeyedVectors):
        return _keyed_vector_points(layer_or_vectors, words, max_points)
    raise TypeError(
        "`layer_or_vectors` must be an embedding layer or a "
        "`gensim.models.KeyedVectors`. "
        f"Received: {type(layer_or_vectors).__name__}"
    )


def _layer_points(layer, words, max_points):
    table = export.layer_table(layer)
    ids, labels = labelled_rows(layer, words)
    check_point_count(len(ids), max_points, "`plot_embeddings`")
    return labels, table[ids]


def _keyed_vector_points(vectors, words, max_points):
    if words is None:
        words = list(vectors.index_to_key)
    else:
        words = list(words)
    missing = [word for word in words if word not in vectors.key_to_index]
    if missing:
        raise KeyError(
            f"{len(missing)} of the words are not in the vectors "
            f"(first ones: {missing[:10]})."
        )
    check_point_count(len(words), max_points, "`plot_embeddings`")
    return words, np.stack([vectors[word] for word in words])


def _finish_axes(axes, axis_names):
    axes.set_xlabel(axis_names[0])
    axes.set_ylabel(axis_names[1])
    axes.grid(True, alpha=0.3)
    axes.margins(0.15)
    axes.set_aspect("equal", adjustable="datalim")


def _default_title(layer_or_vectors, count):
    if isinstance(layer_or_vectors, keras.layers.Layer):
        return f"Embedding table of '{layer_or_vectors.name}' ({count} rows)"
    return f"{count} word vectors"

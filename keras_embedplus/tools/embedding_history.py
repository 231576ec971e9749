import keras
import numpy as np

from keras_embedplus.tools import export
from keras_embedplus.tools import plots


class EmbeddingHistory(keras.callbacks.Callback):
    """Records an embedding table during training and draws its movement.

    A Keras callback: pass it to `model.fit(..., callbacks=[history])`. It
    copies the layer's table when training begins and after every epoch,
    so `snapshots[0]` is the table before the first update and
    `snapshots[i]` the table after epoch `i`. A later `fit` call continues
    the same record (its starting table is the last snapshot already
    taken). Each snapshot is a full copy of the table: meant for the small
    tables one wants to look at, not for a 400,000-word vocabulary.

    `plot()` draws each row's path from its first to its last snapshot.
    Rows that were never looked up receive no gradient and stay where they
    are: they are drawn as grey crosses.

    Args:
        layer: An embedding layer of the model being trained
            (`keras_embedplus.LookupEmbedding`, `OneHotDense`, ...).

    Attributes:
        snapshots: numpy array of shape `(epochs + 1, input_dim,
            output_dim)`: the table before training, then after each epoch.

    Example:

    >>> layer = keras_embedplus.Embedding(4, 2, input_length=3)
    >>> model = keras.Sequential([layer, keras.layers.Flatten(),
    ...                           keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> history = keras_embedplus.EmbeddingHistory(layer)
    >>> _ = model.fit(np.array([[0, 1, 2]]), np.array([[1.0]]), epochs=3,
    ...               callbacks=[history], verbose=0)
    >>> history.snapshots.shape
    (4, 4, 2)
    >>> bool((history.snapshots[-1, 3] == history.snapshots[0, 3]).all())
    True
    """

    def __init__(self, layer):
        super().__init__()
        if not isinstance(layer, keras.layers.Embedding):
            raise TypeError(
                "`EmbeddingHistory` records an embedding layer (a "
                "`keras.layers.Embedding` such as "
                "`keras_embedplus.LookupEmbedding`). "
                f"Received: {type(layer).__name__}"
            )
        self.layer = layer
        self._tables = []

    @property
    def snapshots(self):
        if not self._tables:
            raise ValueError(
                "No snapshot yet: pass this `EmbeddingHistory` to "
                "`model.fit(..., callbacks=[...])` first."
            )
        return np.stack(self._tables)

    def on_train_begin(self, logs=None):
        if not self._tables:
            self._record()

    def on_epoch_end(self, epoch, logs=None):
        self._record()

    def plot(
        self,
        path,
        labels=None,
        *,
        rows=None,
        title=None,
        max_points=plots.MAX_POINTS,
    ):
        """Draws every row's trajectory through the snapshots as a PNG.

        Tables of more than 2 dimensions are projected on the two principal
        axes of all snapshots together, so every epoch shares one plane.

        As in `keras_embedplus.plot_embeddings`, rows that are not words
        are not drawn unless `rows` names them: the padding row (row 0 of
        a layer with `mask_zero=True`, or the mask token `""`), OOV rows
        (`"[UNK]"`, or those a lookup layer marks) and rows no word maps
        to.

        Args:
            path: String or `pathlib.Path`. Where to write the PNG.
            labels: The vocabulary, in the forms `plot_embeddings` takes: a
                list of labels, `labels[i]` labelling row `i` (the first
                `len(labels)` rows are drawn, so `vocab[:60]` draws the
                first 60 rows), a dict `{word: id}` naming the rows to
                draw, or a Keras `TextVectorization`, `StringLookup` or
                `IntegerLookup` layer. `None` (the default) draws every
                row, labelled by its id.
            rows: Optional sequence of row ids to draw instead; each is
                labelled by its word in `labels`, or by its id.
            title: Optional string. The picture's title.
            max_points: Positive integer or `None`. The most rows to draw;
                `None` draws any number. Defaults to `1000`.

        Returns:
            The `pathlib.Path` of the written file.
        """
        figure_module = plots.require_matplotlib("EmbeddingHistory.plot")
        plots.check_max_points(max_points)
        snapshots = self.snapshots
        input_dim = snapshots.shape[1]
        ids, tokens = plots.labelled_rows(self.layer, labels, "labels")
        label_of = dict(zip(ids.tolist(), tokens, strict=True))
        if rows is None:
            rows = ids.tolist()
        else:
            rows = [int(row) for row in rows]
            bad = [row for row in rows if not 0 <= row < input_dim]
            if bad:
                raise ValueError(
                    f"The table has rows [0, {input_dim}); `rows` asks "
                    f"for {bad[:10]}."
                )
        plots.check_point_count(
            len(rows), max_points, "`EmbeddingHistory.plot`"
        )
        paths = snapshots[:, rows]
        flat, axis_names = plots.project_2d(paths.reshape(-1, paths.shape[-1]))
        paths = flat.reshape(len(snapshots), len(rows), 2)
        figure = figure_module.Figure(figsize=(6.4, 5.2), layout="constrained")
        axes = figure.add_subplot()
        colors = [
            self._draw_row(axes, paths[:, index], index)
            for index in range(len(rows))
        ]
        plots.label_points(
            axes,
            [label_of.get(row, str(row)) for row in rows],
            paths[-1],
            colors,
        )
        self._draw_legend(axes)
        axes.set_xlabel(axis_names[0])
        axes.set_ylabel(axis_names[1])
        axes.grid(True, alpha=0.3)
        axes.margins(0.15)
        axes.set_aspect("equal", adjustable="datalim")
        epochs = len(snapshots) - 1
        axes.set_title(
            title or f"Embedding table during training ({epochs} epochs)"
        )
        return plots.save_figure(figure, path)

    def _record(self):
        self._tables.append(export.layer_table(self.layer))

    @staticmethod
    def _draw_row(axes, path, index):
        """Draws one row's path; returns the colour to label it with."""
        if (path == path[0]).all():
            axes.scatter(*path[-1], s=40, marker="x", color="grey")
            return "grey"
        color = f"C{index % 10}"
        axes.plot(path[:, 0], path[:, 1], color=color, alpha=0.7)
        axes.scatter(*path[0], s=30, facecolors="none", edgecolors=color)
        axes.scatter(*path[-1], s=36, color=color)
        return color

    @staticmethod
    def _draw_legend(axes):
        handles = [
            axes.scatter([], [], s=30, facecolors="none", edgecolors="black"),
            axes.scatter([], [], s=36, color="black"),
            axes.scatter([], [], s=40, marker="x", color="grey"),
        ]
        axes.legend(
            handles,
            ["before training", "after training", "never moved"],
            fontsize=8,
            loc="best",
        )

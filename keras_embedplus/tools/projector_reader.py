"""Reading back the Embedding Projector files the package writes.

`export_projector` and `write_projector` write `vectors.tsv` (one vector a
line, values separated by tabs) and `metadata.tsv` (one label a line, or a
header line then one row of columns a line). The command line reads the
pair so that `keras-embedplus inspect vectors.tsv` describes it like any
vector file; the words are the labels (the first column), and without a
`metadata.tsv` the row numbers.
"""

import os
import stat

import numpy as np

from keras_embedplus.vectors.keyed_vectors import make_keyed_vectors
from keras_embedplus.vectors.report import LoadReport
from keras_embedplus.vectors.report import VectorFileError

FORMAT = "projector"
VECTORS = "vectors.tsv"
METADATA = "metadata.tsv"


def is_projector(path):
    """Whether `path` names a projector `vectors.tsv` or its directory."""
    path = os.fspath(path)
    if os.path.isdir(path):
        # A cache directory is a cache, whatever else it holds.
        return os.path.isfile(os.path.join(path, VECTORS)) and not (
            os.path.exists(os.path.join(path, "header.json"))
        )
    return path.endswith(".tsv")


def read_projector(path, limit=None):
    """Reads `vectors.tsv` and the `metadata.tsv` beside it.

    Args:
        path: String. The `vectors.tsv` file or the directory holding it.
        limit: Integer or None. Read only the first `limit` vectors.

    Returns:
        A tuple `(KeyedVectors, LoadReport)`.
    """
    if os.path.isdir(path):
        path = os.path.join(path, VECTORS)
    metadata_path = os.path.join(os.path.dirname(path), METADATA)
    has_metadata = os.path.exists(metadata_path)
    rows = []
    dim = None
    lines = 0
    for number, line in enumerate(_lines(path), 1):
        if limit is not None and len(rows) == limit:
            if not has_metadata:
                break
            lines = number  # counted for the labels, not parsed
            continue
        lines = number
        fields = line.split("\t")
        try:
            row = [float(field) for field in fields]
        except ValueError:
            raise VectorFileError(
                path,
                f"{line[:40]!r} is not tab-separated numbers, as a projector "
                "vectors.tsv holds; pass --input-format for another format",
                line=number,
            ) from None
        if dim is None:
            dim = len(row)
        elif len(row) != dim:
            raise VectorFileError(
                path,
                f"has {len(row)} values; expected {dim} (as on line 1)",
                line=number,
            )
        rows.append(row)
    if not rows:
        raise VectorFileError(path, "holds no vectors", line=1)
    report = LoadReport(path, FORMAT, dim=dim, rows=len(rows))
    if not has_metadata:
        report.format = f"{FORMAT} (no {METADATA}: the words are row numbers)"
        labels = [str(i) for i in range(len(rows))]
    else:
        labels = _labels(metadata_path, lines)
        if len(labels) != lines:
            raise VectorFileError(
                metadata_path,
                f"holds {len(labels):,} labels for the {lines:,} vectors of "
                f"{path}; the projector pairs them line by line",
            )
    keys, kept = [], []
    seen = set()
    for i, label in enumerate(labels[: len(rows)]):
        if label in seen:
            report.add_duplicate(label)
            continue
        seen.add(label)
        keys.append(label)
        kept.append(i)
    vectors = np.asarray(rows, dtype=np.float32)[kept]
    report.kept = len(keys)
    return make_keyed_vectors(keys, vectors), report


def _labels(metadata_path, vectors):
    """The first column of `metadata.tsv`, for a `vectors.tsv` of `vectors`
    lines."""
    lines = list(_lines(metadata_path, blank_ok=True))
    if len(lines) == vectors + 1 and "\t" in lines[0]:
        lines = lines[1:]  # A header line names the columns.
    return [line.split("\t")[0] for line in lines]


def _lines(path, blank_ok=False):
    """The lines of a UTF-8 text file, without their line endings."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise VectorFileError(path, "is not a regular file")
        with open(path, encoding="utf-8", newline="") as file:
            for number, line in enumerate(file, 1):
                line = line.rstrip("\r\n")
                if not line and not blank_ok:
                    raise VectorFileError(
                        path,
                        "is blank, which a projector file never is",
                        line=number,
                    )
                yield line
    except UnicodeDecodeError as error:
        raise VectorFileError(path, f"is not UTF-8 ({error.reason})") from None

"""Vector I/O: read files into gensim KeyedVectors, align, write back.

The ground floor: numpy and gensim only, never Keras. Its public names are
the `__all__` below, and only they: the modules behind them are private.

The read path, one concept a module: `source` opens a file and
decompresses it; `detect` names its format; `header` reads what comes
before the rows; `text_format` (with `text_lines` and `float_parsing`),
`binary_format` and `fasttext_format` parse each format into a
`row_sink`, which builds the `keyed_vectors`; `options` holds the checked
options of a read and `read` ties it together. `cache` (with
`cache_files`) keeps a pickle-free copy that reloads in milliseconds;
`vocabulary` turns a vocabulary into table rows, `align` maps vectors
onto them and reports the `coverage`; `write` (with `float_formatting`)
saves vectors back to files. `arguments` holds the integer checks the
whole package shares.
"""

from keras_embedplus.vectors.align import align_vectors
from keras_embedplus.vectors.cache import load_cache
from keras_embedplus.vectors.cache import save_cache
from keras_embedplus.vectors.coverage import Coverage
from keras_embedplus.vectors.detect import detect_format
from keras_embedplus.vectors.read import load_vectors
from keras_embedplus.vectors.read import read_vectors
from keras_embedplus.vectors.report import LoadReport
from keras_embedplus.vectors.report import VectorFileError
from keras_embedplus.vectors.report import VectorFileWarning
from keras_embedplus.vectors.vocabulary import AnyCase
from keras_embedplus.vectors.write import write_projector
from keras_embedplus.vectors.write import write_vectors

__all__ = [
    "AnyCase",
    "Coverage",
    "LoadReport",
    "VectorFileError",
    "VectorFileWarning",
    "align_vectors",
    "detect_format",
    "load_cache",
    "load_vectors",
    "read_vectors",
    "save_cache",
    "write_projector",
    "write_vectors",
]

"""The vocabulary forms the package accepts, turned into table rows.

A vocabulary says which token each row of an embedding table stands for.
It comes in three forms:

- a list or tuple (or 1-D numpy array) of tokens: row `i` is token `i`;
- a dict token -> row index: indices must be distinct non-negative
  integers; rows that no token maps to (such as row 0 of Keras 2's
  `Tokenizer.word_index`, which starts at 1) are unused rows;
- any object with a `get_vocabulary()` method, such as Keras'
  `TextVectorization`, `StringLookup` and `IntegerLookup` (duck-typed: this
  module never imports Keras). An `IntegerLookup`'s integer tokens become
  their decimal strings (`7` -> `"7"`).

Whatever the form, `vocabulary_rows` returns the same thing: each row's
token and kind. A row is a word, the padding row (Keras' mask token, id
0), an OOV row (Keras' OOV token: the row that unknown words map to) or an
unused row. Only word rows are looked up in the pretrained vectors; the
others are "reserved".

For a layer with `get_vocabulary(include_special_tokens=...)`, the layer
itself says which rows are special: the first `len(full) - len(words)`
entries of its vocabulary, of which the last `num_oov_indices` (1 for
`TextVectorization`) are OOV rows and the one before them, if any, is the
padding row. So a custom `mask_token` or `oov_token` and
`num_oov_indices > 1` are handled without looking at the token text.

For a list, a dict, or an object whose `get_vocabulary()` takes no
`include_special_tokens`, the reserved rows are recognized by their
token: `mask_token` (default `""`, as in `TextVectorization`) marks
padding rows and `oov_token` (default `"[UNK]"`, Keras' default) marks OOV
rows; either may be `None` to treat nothing as reserved. That way
`layer.get_vocabulary()` saved as a list, or the keras-io recipe's
`dict(zip(vocab, range(len(vocab))))`, aligns exactly like the layer. A
reserved token may repeat (`StringLookup(num_oov_indices=2)` lists
`"[UNK]"` twice); a word may not.

When vectors are read for a vocabulary only, `AnyCase(words)` is the
filter that keeps the file's words in any case, so that a case fallback
when aligning finds what it would find in the whole file.
"""

import collections.abc
import dataclasses
import inspect

import numpy as np

from keras_embedplus.vectors.arguments import is_integer

WORD = 0
PADDING = 1
OOV = 2
UNUSED = 3


@dataclasses.dataclass(frozen=True)
class VocabularyRows:
    """Each row's token (`None` for unused rows) and kind (`WORD`, ...)."""

    tokens: tuple
    kinds: np.ndarray

    def __len__(self):
        return len(self.tokens)

    def word_ids(self, *, mask_zero=False):
        """The rows that are words, ascending: the one rule every tool uses.

        A row is a word unless the vocabulary marks it as padding, an OOV
        row or an unused row. With `mask_zero=True` (a layer that masks id
        0, as Keras' `mask_zero` means), row 0 is padding whatever token
        the vocabulary puts there.

        Returns:
            A 1-D int64 numpy array of row ids.
        """
        ids = np.flatnonzero(self.kinds == WORD)
        if mask_zero:
            ids = ids[ids != 0]
        return ids


def vocabulary_rows(vocabulary, *, mask_token="", oov_token="[UNK]"):
    """Returns the `VocabularyRows` of a list, dict or layer vocabulary.

    Args:
        vocabulary: A list/tuple/1-D array of tokens, a dict token -> row
            index, an object with `get_vocabulary()`, or a `VocabularyRows`
            (returned as is).
        mask_token: String or `None`. For lists, dicts and objects whose
            `get_vocabulary()` does not mark special tokens: the token of
            padding rows.
        oov_token: String or `None`. Likewise, the token of OOV rows.

    Returns:
        A `VocabularyRows`.

    Raises:
        TypeError: for an unsupported vocabulary or a token that is not a
            string.
        ValueError: for an empty vocabulary, a repeated word, or a dict
            with a bad or repeated index.
    """
    if isinstance(vocabulary, VocabularyRows):
        return vocabulary
    if hasattr(vocabulary, "get_vocabulary"):
        return _layer_rows(vocabulary, mask_token, oov_token)
    if isinstance(vocabulary, collections.abc.Mapping):
        return _dict_rows(vocabulary, mask_token, oov_token)
    if isinstance(vocabulary, (list, tuple)) or (
        isinstance(vocabulary, np.ndarray) and vocabulary.ndim == 1
    ):
        return _list_rows(list(vocabulary), mask_token, oov_token)
    raise TypeError(
        "`vocabulary` must be a list or tuple of tokens (row i = token i), "
        "a dict token -> row index, or a layer with `get_vocabulary()` "
        "such as `TextVectorization` or `StringLookup`. Received: "
        f"vocabulary of type {type(vocabulary).__name__}"
    )


def _token(token, where):
    if isinstance(token, str):
        return str(token)  # np.str_ -> str, for readable reports
    hint = ""
    if is_integer(token):
        hint = (
            " For integer ids, pass the `IntegerLookup` layer itself: its "
            "tokens become strings and its OOV and mask rows are left out."
        )
    raise TypeError(
        f"Vocabulary tokens must be strings; {where} holds {token!r} "
        f"of type {type(token).__name__}.{hint}"
    )


def _layer_token(token, where):
    """A lookup layer's token as a string: `IntegerLookup`'s 7 -> "7"."""
    if is_integer(token):
        return str(int(token))
    return _token(token, where)


def _kind(token, mask_token, oov_token):
    if mask_token is not None and token == mask_token:
        return PADDING
    if oov_token is not None and token == oov_token:
        return OOV
    return WORD


def _check_unique(tokens, kinds):
    first_row = {}
    for row, (token, kind) in enumerate(zip(tokens, kinds, strict=True)):
        if kind != WORD:
            continue
        seen = first_row.setdefault(token, row)
        if seen != row:
            raise ValueError(
                f"The vocabulary holds the word {token!r} twice, at rows "
                f"{seen} and {row}. Each word needs "
                "exactly one row: remove the repeat."
            )


def _rows(tokens, kinds):
    kinds = np.asarray(kinds, dtype=np.int8)
    if not np.any(kinds == WORD):
        raise ValueError(
            "The vocabulary has no words, only reserved tokens "
            f"({len(tokens)} rows). Pass the words to align."
        )
    return VocabularyRows(tuple(tokens), kinds)


def _list_rows(tokens, mask_token, oov_token):
    if not tokens:
        raise ValueError("The vocabulary is empty. Pass at least one word.")
    tokens = [_token(t, f"row {i}") for i, t in enumerate(tokens)]
    kinds = [_kind(t, mask_token, oov_token) for t in tokens]
    _check_unique(tokens, kinds)
    return _rows(tokens, kinds)


def _dict_rows(mapping, mask_token, oov_token):
    if not mapping:
        raise ValueError("The vocabulary is empty. Pass at least one word.")
    token_at = {}
    for token, index in mapping.items():
        token = _token(token, "a key of the vocabulary dict")
        if not is_integer(index) or index < 0:
            raise ValueError(
                "Vocabulary dict indices must be non-negative integers. "
                f"Received: {token!r} -> {index!r}"
            )
        index = int(index)
        other = token_at.setdefault(index, token)
        if other != token:
            raise ValueError(
                f"The vocabulary dict maps both {other!r} and {token!r} to "
                f"row {index}. Each row needs exactly one token."
            )
    size = max(token_at) + 1
    tokens = [token_at.get(row) for row in range(size)]
    kinds = [
        UNUSED if token is None else _kind(token, mask_token, oov_token)
        for token in tokens
    ]
    return _rows(tokens, kinds)


def _marks_special_tokens(get_vocabulary):
    try:
        parameters = inspect.signature(get_vocabulary).parameters
    except (TypeError, ValueError):
        return False
    return "include_special_tokens" in parameters


def _layer_rows(layer, mask_token, oov_token):
    name = type(layer).__name__
    if not _marks_special_tokens(layer.get_vocabulary):
        return _list_rows(list(layer.get_vocabulary()), mask_token, oov_token)
    full = list(layer.get_vocabulary(include_special_tokens=True))
    words = list(layer.get_vocabulary(include_special_tokens=False))
    if not words:
        raise ValueError(
            f"The {name} has an empty vocabulary. Call its `adapt()` "
            "method or pass `vocabulary=` when creating it, then align."
        )
    num_special = len(full) - len(words)
    num_oov = int(getattr(layer, "num_oov_indices", 1))
    num_padding = num_special - num_oov
    if num_padding not in (0, 1) or full[num_special:] != words:
        raise ValueError(
            f"Cannot tell which of the first {num_special} rows of this "
            f"{name}'s vocabulary are padding and which are OOV rows "
            f"(num_oov_indices={num_oov}). Pass `layer.get_vocabulary()` "
            "as a list and set `mask_token` and `oov_token`."
        )
    tokens = [
        _layer_token(t, f"row {i} of the {name}") for i, t in enumerate(full)
    ]
    kinds = [PADDING] * num_padding + [OOV] * num_oov
    kinds += [WORD] * len(words)
    _check_unique(tokens, kinds)
    return _rows(tokens, kinds)


def check_words(name, words):
    """`words`, refused with an error if it is a single string."""
    if isinstance(words, (str, bytes)):
        raise ValueError(
            f"`{name}` must be an iterable of words, not a single string. "
            f"Received: {name}={words[:40]!r}"
        )
    return words


class AnyCase:
    """A `vocabulary` filter that keeps its words in any case.

    `load_vectors(path, vocabulary=AnyCase(["iphone"]))` keeps "iphone",
    "iPhone" and "IPHONE" wherever the file has them, so that aligning the
    loaded vectors with a case fallback finds what it would find in the
    whole file. Words are compared by `str.lower()`.

    Args:
        words: Iterable of strings.

    Example:

    >>> from keras_embedplus.vectors import AnyCase
    >>> "iPhone" in AnyCase(["iphone"]), "phone" in AnyCase(["iphone"])
    (True, False)
    """

    def __init__(self, words):
        self.words = frozenset(check_words("words", words))
        self.lowered = frozenset(word.lower() for word in self.words)

    def __contains__(self, word):
        if word in self.words:
            return True
        return isinstance(word, str) and word.lower() in self.lowered

    def __iter__(self):
        return iter(self.words)

    def __len__(self):
        return len(self.words)

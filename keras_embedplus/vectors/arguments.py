"""Argument checks the whole package shares, in Keras' voice.

The ground floor imports nothing of Keras, so the layers, the tools and
the data functions can all check their integer arguments here, the same
way: Python and numpy integers are integers, booleans are not.
"""

import numbers


def is_integer(value):
    """Whether `value` is an integer (Python's or numpy's), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_integer(name, value, *, minimum=0, allow_none=False):
    """Raises `ValueError` unless `value` is an integer >= `minimum`.

    Args:
        name: String. The argument's name, for the message.
        value: The argument.
        minimum: Integer, 0 or 1. The smallest value allowed: the message
            asks for a "non-negative" (0) or "positive" (1) integer.
        allow_none: Boolean. Whether None is allowed too.

    Returns:
        `value` as a Python integer (or None).

    Example:

    >>> check_integer("limit", 0, minimum=1, allow_none=True)
    Traceback (most recent call last):
    ...
    ValueError: `limit` must be a positive integer or None. Received: limit=0
    """
    if value is None and allow_none:
        return None
    if not is_integer(value) or value < minimum:
        what = {0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}"
        )
        what += " or None" if allow_none else ""
        raise ValueError(f"`{name}` must be {what}. Received: {name}={value!r}")
    return int(value)

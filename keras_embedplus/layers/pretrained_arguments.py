"""The checks of `PretrainedEmbedding`'s arguments, and its freezing rule."""

import numpy as np


def trainable_state(trainable, pretrained_trainable, something_else_trains):
    """The layer's `trainable` and whether its pretrained rows train.

    `trainable=True` trains the whole table and `False` nothing; without
    it the pretrained rows are frozen and the layer trains only what else
    it holds (OOV rows, a LoRA update). `pretrained_trainable` is what
    `get_config` records; given alone, `True` means `trainable=True`.
    """
    for name, value in [
        ("trainable", trainable),
        ("pretrained_trainable", pretrained_trainable),
    ]:
        if value is not None:
            check_bool(name, value)
    if trainable is None:
        pretrained = bool(pretrained_trainable)
        return pretrained or something_else_trains, pretrained
    if pretrained_trainable is None:
        return trainable, trainable
    if pretrained_trainable and not trainable:
        raise ValueError(
            "`trainable=False` freezes the whole layer, so "
            "`pretrained_trainable=True` contradicts it. Pass only "
            "`trainable`. Received: trainable=False, "
            "pretrained_trainable=True"
        )
    if trainable and not pretrained_trainable and not something_else_trains:
        raise ValueError(
            "`trainable=True` with `pretrained_trainable=False` and no "
            "`trainable_oov` leaves nothing to train. Pass only "
            "`trainable=True` to fine-tune the table. Received: "
            "trainable=True, pretrained_trainable=False"
        )
    return trainable, pretrained_trainable


def check_bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(
            f"`{name}` must be a boolean. Received: {name}={value!r}"
        )


def validate_oov_ids(oov_ids, input_dim):
    if oov_ids is None:
        return None
    oov_ids = np.asarray(oov_ids)
    if oov_ids.size == 0:
        return oov_ids.astype("int64")
    if (
        oov_ids.ndim != 1
        or not np.issubdtype(oov_ids.dtype, np.integer)
        or oov_ids.min() < 0
        or oov_ids.max() >= input_dim
        or len(np.unique(oov_ids)) != len(oov_ids)
    ):
        raise ValueError(
            "`oov_ids` must be distinct integer ids in [0, input_dim). "
            f"Received: oov_ids={oov_ids!r} with input_dim={input_dim}"
        )
    return oov_ids

"""Checks that a file is a real, non-blank PNG picture."""

import numpy as np
from PIL import Image


def load_picture(path, *, size=None):
    """Opens `path` as a PNG; checks its size and that something is drawn.

    Returns:
        The pixels as a uint8 array of shape `(height, width, 3)`.
    """
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.mode in ("RGB", "RGBA")
        if size is not None:
            assert image.size == size
        pixels = np.asarray(image.convert("RGB"))
    # A blank picture is one colour; a drawing has many, and ink that is
    # not the white background on a fair share of the pixels.
    packed = pixels.astype("uint32") @ np.array([1 << 16, 1 << 8, 1], "uint32")
    colours = np.unique(packed)
    assert len(colours) > 50, f"{path} looks blank ({len(colours)} colours)"
    ink = (pixels < 200).any(axis=-1).mean()
    assert ink > 0.01, f"{path} looks blank ({ink:.2%} drawn)"
    return pixels

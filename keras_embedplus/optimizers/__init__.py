"""Optimizers for large embedding tables."""

from keras_embedplus.optimizers.lazy_adam import LazyAdam

__all__ = ["LazyAdam"]

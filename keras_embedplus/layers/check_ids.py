import keras

from keras_embedplus.layers import float_ids
from keras_embedplus.layers import ids as ids_lib
from keras_embedplus.layers.bad_id_record import layer_record


class CheckIds(keras.callbacks.Callback):
    """Raises the bad-id error that a compiled step could not raise.

    A lookup layer of this package raises an error naming the layer, the id
    and `input_dim` for an id outside `[0, input_dim)` wherever the step can
    raise. Where it cannot (TensorFlow with `jit_compile=True`, which Keras
    picks by default on GPUs; and `fit`, `predict` and `evaluate` on JAX,
    with or without `jax.jit`), the rows of bad ids are NaN and the layer
    records the ids instead (on JAX, as model state the step returns). This
    callback reads those records at the end of every epoch of `fit` (and
    before its validation) and at the end of `evaluate` and `predict`, and
    raises the same error as a `ValueError`, with the number of bad ids,
    once Keras has put the model's state back in place: the model still
    predicts, trains, saves and reloads afterwards.

    NaN alone is not a signal: `predict` returns it silently, and a
    quantized (`int8`) `Dense` downstream turns it into an ordinary
    number. Pass this callback to `fit`, `predict` and `evaluate` wherever
    the step may be compiled.

    In `fit`, the step that saw the bad id has already been applied when
    the error is raised (with NaN rows, the weights it updates turn NaN):
    keep a checkpoint, or validate the ids on the input pipeline.

    Args:
        every_batch: Boolean, default `False`. Also check after every batch,
            to stop at the step that saw the bad id. This makes Keras wait
            for every step to finish before it starts the next (as any
            callback with batch hooks does), and on JAX puts the model's
            state back after every step.

    Layers with `on_bad_id="nan"` or `"zero"`, or `check_ids=False`,
    record nothing.

    Example:

    >>> import re
    >>> import numpy as np
    >>> inputs = keras.Input((2,), dtype="int32")
    >>> layer = keras_embedplus.Embedding(5, 2, name="words")
    >>> model = keras.Model(inputs, layer(inputs))
    >>> model.compile(jit_compile=True)
    >>> try:
    ...     model.predict(np.array([[1, 7]]), verbose=0,
    ...                   callbacks=[keras_embedplus.CheckIds()])
    ... except ValueError as error:
    ...     print(re.search(r"`words`.*input_dim=5", str(error))[0])
    `words` (LookupEmbedding) received id 7, outside the vocabulary [0, 5)...
    >>> model.predict(np.array([[1, 4]]), verbose=0).shape
    (1, 2, 2)
    """

    def __init__(self, every_batch=False):
        super().__init__()
        if not isinstance(every_batch, bool):
            raise ValueError(
                "`every_batch` must be a boolean. "
                f"Received: every_batch={every_batch!r}"
            )
        self.every_batch = every_batch
        if every_batch:
            # Only then: a batch hook makes Keras wait for every step.
            self.on_train_batch_end = lambda batch, logs=None: self._check(
                "fit"
            )
            self.on_test_batch_end = lambda batch, logs=None: self._check(
                "evaluate"
            )
            self.on_predict_batch_end = lambda batch, logs=None: self._check(
                "predict"
            )

    def on_train_begin(self, logs=None):
        self._start()
        self._fitting = True

    def on_train_end(self, logs=None):
        self._fitting = False

    def on_test_begin(self, logs=None):
        if getattr(self, "_fitting", False):
            # Validation inside `fit`: the epoch's ids first, not lost.
            self._check("fit")
        else:
            self._start()

    def on_predict_begin(self, logs=None):
        self._start()

    def on_epoch_end(self, epoch, logs=None):
        self._check("fit")

    def on_test_end(self, logs=None):
        self._check("evaluate")

    def on_predict_end(self, logs=None):
        self._check("predict")

    def _start(self):
        # Records left by steps run without this callback are not ours.
        self._layers = [
            layer
            for layer in self.model._flatten_layers(include_self=False)
            if isinstance(layer, keras.layers.Embedding)
        ]
        for layer in self._layers:
            layer_record(layer).take()

    def _check(self, where):
        if not getattr(self, "_layers", None):
            return
        # On JAX, `self.model` puts the state the steps carried (the
        # records among it) back into the model's variables, and Keras
        # re-reads them, so the next step sees the reset; it waits for
        # the host callbacks of the fallback path too.
        _ = self.model
        if keras.backend.backend() == "jax":
            import jax

            jax.effects_barrier()
        taken = [(layer, layer_record(layer).take()) for layer in self._layers]
        for layer, (count, worst, worst_float) in taken:
            if count:
                self._fitting = False  # `fit` ends here, without its end
                what = (
                    ids_lib.id_error_message(layer, worst)
                    if worst
                    else float_ids.message(layer, worst_float)
                )
                raise ValueError(
                    what + f" ({count} bad id{'s' if count > 1 else ''} in a "
                    f"compiled step of `{where}`, where the layer could "
                    "not raise: their rows were NaN.)"
                )

import warnings

import keras
import numpy as np
from keras import ops

from keras_embedplus.layers import ids as ids_lib
from keras_embedplus.layers import pretrained_arguments as arguments
from keras_embedplus.layers.lookup_embedding import LookupEmbedding


@keras.saving.register_keras_serializable(package="keras_embedplus")
class PretrainedEmbedding(LookupEmbedding):
    """A lookup whose table comes from pretrained vectors, frozen by default.

    Build it with `PretrainedEmbedding.from_vectors(vectors_or_path,
    vocabulary)`: the vectors (GloVe, word2vec, fastText, read through
    `keras_embedplus.load_vectors`) are aligned to your vocabulary, row `i`
    holding the vector of token `i`; tokens without a pretrained vector get
    a row chosen by the `oov` policy, and `layer.coverage` tells how many
    were found.

    The layer is frozen by default, and `trainable` means what it means for
    any Keras layer: `trainable=True` (here, in `from_vectors`, or
    `layer.trainable = True` before compiling) fine-tunes the whole table,
    `trainable=False` freezes everything. `trainable_oov=True` trains only
    the rows of tokens that had no pretrained vector while the pretrained
    rows stay exactly fixed (the layer then reads `trainable == True`;
    setting `layer.trainable = True` still unfreezes the pretrained rows).
    `layer.embeddings` and `layer.get_weights()[0]` are the whole table the
    layer computes with, trained OOV rows included, and
    `layer.set_weights([table])` sets it. A saved `.keras` model reloads
    without the vector file, frozen or trainable as it was: the table
    travels in the weights, never in the config (`layer.coverage` does not
    travel: it is `None` after a reload).

    Args:
        input_dim: Integer. Number of rows (vocabulary size).
        output_dim: Integer. Dimension of the vectors.
        trainable_oov: Boolean. Whether the rows listed in `oov_ids` train
            while the pretrained rows stay frozen.
        oov_ids: Optional sequence of integers: the ids whose rows had no
            pretrained vector. Required with `trainable_oov=True` (given by
            `from_vectors`).
        num_oov_rows: Integer. The length of `oov_ids`; only `from_config`
            passes it, as the ids themselves are saved with the weights.
        pretrained_trainable: Optional boolean. Recorded by `get_config`:
            whether the pretrained rows train. Pass `trainable` instead;
            given alone, `True` means `trainable=True`, and a value that
            contradicts `trainable` is an error.
        **kwargs: The arguments of `keras_embedplus.LookupEmbedding`
            (`weights`, `mask_zero`, `input_length`, `check_ids`, ...) and
            the base layer arguments, `trainable` among them (default: the
            pretrained rows frozen).

    Call arguments:
        inputs: Integer tensor of ids in `[0, input_dim)`.
        training: Optional boolean, passed by Keras; the lookup is the same
            either way. (On TensorFlow a trainable table is gathered from
            the handle shared by the step's lookups of it, whose gradient
            holds each looked-up row once, with `training=False` too: Keras'
            fine-tuning idiom calls a model with `training=False` and still
            trains its weights.)

    Masking:
        With `mask_zero=True` the layer outputs the mask `inputs != 0`; id
        0 must then be padding (as in a `TextVectorization` vocabulary).

    Example:

    >>> import gensim
    >>> vectors = gensim.models.KeyedVectors(2)
    >>> vectors.add_vectors(["hope", "to"], np.array([[1., 2.], [3., 4.]]))
    >>> layer = keras_embedplus.PretrainedEmbedding.from_vectors(
    ...     vectors, ["hope", "to", "see"], oov="zeros")
    >>> print(layer.coverage.found, "of", layer.coverage.total)
    2 of 3
    >>> keras.ops.convert_to_numpy(layer(np.array([0, 2])))
    array([[1., 2.],
           [0., 0.]], dtype=float32)
    >>> layer.trainable, len(layer.trainable_weights)
    (False, 0)
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        trainable_oov=False,
        oov_ids=None,
        num_oov_rows=None,
        pretrained_trainable=None,
        **kwargs,
    ):
        weights = kwargs.pop("weights", None)
        arguments.check_bool("trainable_oov", trainable_oov)
        oov_ids = arguments.validate_oov_ids(oov_ids, input_dim)
        if oov_ids is not None:
            num_oov_rows = len(oov_ids)
        if trainable_oov and num_oov_rows is None:
            raise ValueError(
                "`trainable_oov=True` needs `oov_ids`, the ids whose rows "
                "had no pretrained vector. Build the layer with "
                "`PretrainedEmbedding.from_vectors(...)`, which passes them."
            )
        trainable, pretrained = arguments.trainable_state(
            kwargs.pop("trainable", None),
            pretrained_trainable,
            trainable_oov or kwargs.get("lora_rank") is not None,
        )
        self.trainable_oov = trainable_oov
        self.num_oov_rows = int(num_oov_rows or 0)
        # Read by `build`, which `input_length` may call from the base init.
        self._pretrained_trainable = pretrained
        super().__init__(input_dim, output_dim, trainable=trainable, **kwargs)
        self.coverage = None
        if weights is not None or oov_ids is not None:
            self.build()
        if weights is not None:
            if isinstance(weights, (list, tuple)) and len(weights) == 1:
                weights = weights[0]  # Keras 2's `weights=[matrix]`
            self._set_table(np.asarray(weights), oov_ids)
        elif oov_ids is not None and trainable_oov:
            self._set_oov_positions(oov_ids)

    @classmethod
    def from_vectors(
        cls,
        vectors_or_path,
        vocabulary,
        *,
        oov="random",
        lowercase_fallback=True,
        trainable_oov=False,
        mask_zero=False,
        seed=None,
        **kwargs,
    ):
        """Builds the layer from pretrained vectors aligned to a vocabulary.

        Every argument is checked before the file is read.

        Args:
            vectors_or_path: A `gensim.models.KeyedVectors`, or the path of
                a vector file in any format `keras_embedplus.load_vectors`
                reads (only the vocabulary's words are kept).
            vocabulary: A list of tokens (row `i` = token `i`), a dict
                token -> id, or a Keras `TextVectorization`/`StringLookup`
                layer (its padding and `[UNK]` rows are handled).
            oov: String. Row for tokens without a vector: `"random"`,
                `"zeros"`, `"mean"` or `"subword"` (fastText vectors), or a
                callable (see `keras_embedplus.vectors.align.align_vectors`).
            lowercase_fallback: Boolean. Look up `"hope"` when `"Hope"` has
                no vector.
            trainable_oov: Boolean. Train the rows of tokens that had no
                pretrained vector while the others stay frozen.
            mask_zero: Boolean. Id 0 is padding and is masked.
            seed: Optional integer for the `"random"` policy. Without it the
                seed is drawn from Keras' random generator, so
                `keras.utils.set_random_seed` makes the rows reproducible.
            **kwargs: The options of `keras_embedplus.load_vectors`
                (`format`, `encoding`, `limit`, `allow_pickle`, ...), only
                with a path; the others are layer arguments (`trainable`,
                `name`, `input_length`, `dtype`, ...).

        Returns:
            A `PretrainedEmbedding` with `.coverage` set.
        """
        from keras_embedplus.layers import pretrained_source
        from keras_embedplus.vectors.vocabulary import vocabulary_rows

        # The vocabulary is normalised here, once; its rows travel down.
        rows = vocabulary_rows(vocabulary)
        if mask_zero:
            pretrained_source.check_padding_row(rows)
        load_options, layer_kwargs = pretrained_source.split_options(
            vectors_or_path, kwargs
        )
        arguments.check_bool("trainable_oov", trainable_oov)
        # Layer arguments fail here, before a large file is read. The probe
        # is never built: it creates no variable (which a distribution's
        # layout could not shard) and draws no random numbers.
        probe_kwargs = {"name": "from_vectors_arguments", **layer_kwargs}
        ids_lib.validate_input_length(probe_kwargs.pop("input_length", None))
        cls(
            1,
            1,
            mask_zero=mask_zero,
            trainable_oov=trainable_oov,
            num_oov_rows=1 if trainable_oov else None,
            **probe_kwargs,
        )
        matrix, coverage = pretrained_source.aligned_matrix(
            vectors_or_path,
            rows,
            load_options,
            oov=oov,
            lowercase_fallback=lowercase_fallback,
            seed=seed,
        )
        oov_ids = np.flatnonzero(coverage.oov_mask)
        layer = cls(
            input_dim=matrix.shape[0],
            output_dim=matrix.shape[1],
            weights=matrix,
            trainable_oov=trainable_oov,
            oov_ids=oov_ids if trainable_oov else None,
            mask_zero=mask_zero,
            **layer_kwargs,
        )
        layer.coverage = coverage
        return layer

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        if self.trainable_oov:
            self.oov_embeddings = self.add_weight(
                shape=(self.num_oov_rows, self.output_dim),
                initializer="zeros",
                name="oov_embeddings",
                trainable=True,
            )
            self.oov_positions = self.add_weight(
                shape=(self.input_dim,),
                initializer=keras.initializers.Constant(-1),
                dtype="int32",
                name="oov_positions",
                trainable=False,
            )
        self._freeze_pretrained_rows()

    def call(self, inputs, training=None):
        ids = self._checked_ids(inputs)
        outputs = self._gather(ids)
        if self.trainable_oov:
            outputs = ids_lib.map_values(
                ids,
                outputs,
                lambda ids, rows: self._with_oov_rows(ids, rows),
            )
        return self._guarded(ids, ops.cast(outputs, self.compute_dtype))

    def get_config(self):
        config = super().get_config()
        config["trainable_oov"] = self.trainable_oov
        config["num_oov_rows"] = self.num_oov_rows
        config["pretrained_trainable"] = self.pretrained_trainable
        return config

    def __setattr__(self, name, value):
        # Keras' TensorFlow layer skips `self.x = value` when `self.x is
        # value`, so `layer.trainable = True` on a layer whose OOV rows
        # train would never reach the setter that unfreezes the table.
        # (The deprecation warning of `pretrained_trainable` then points at
        # the caller, not at Keras.)
        if name in ("trainable", "pretrained_trainable"):
            getattr(PretrainedEmbedding, name).fset(self, value)
            return
        super().__setattr__(name, value)

    @property
    def trainable(self):
        """Boolean. Whether any weight of the layer trains; settable.

        `True` (set here, in the constructor or in `from_vectors`)
        fine-tunes the whole table, pretrained rows included; `False`
        freezes everything. A layer built with neither is frozen, except
        for the OOV rows when `trainable_oov=True` (it then reads `True`).
        Compile the model again after changing it.
        """
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        keras.layers.Layer.trainable.fset(self, value)
        self._pretrained_trainable = value
        self._freeze_pretrained_rows()

    @property
    def pretrained_trainable(self):
        """Boolean. Whether the pretrained rows train (read `trainable`).

        Setting it is deprecated: set `layer.trainable = True` to
        fine-tune the whole table.
        """
        return self._trainable and self._pretrained_trainable

    @pretrained_trainable.setter
    def pretrained_trainable(self, value):
        arguments.check_bool("pretrained_trainable", value)
        warnings.warn(
            "Setting `pretrained_trainable` is deprecated: set "
            "`layer.trainable = True` to fine-tune the pretrained rows (and "
            "`layer.trainable = False` to freeze everything).",
            DeprecationWarning,
            stacklevel=3,
        )
        if value:
            self.trainable = True
        else:
            self._pretrained_trainable = False
            self._freeze_pretrained_rows()

    @property
    def embeddings(self):
        """The table the layer looks rows up in, trained OOV rows included.

        With `trainable_oov=True` the OOV rows live in a separate variable
        (so that no optimizer, weight decay included, can move the frozen
        rows); this merges them in, as `get_weights()[0]` does.
        """
        table = super().embeddings
        if not self.trainable_oov:
            return table
        rows = ops.arange(self.input_dim, dtype="int32")
        return self._with_oov_rows(rows, ops.convert_to_tensor(table))

    @property
    def variable_serialization_spec(self):
        spec = dict(super().variable_serialization_spec)
        if self.trainable_oov:
            spec[None] = [*spec[None], "oov_embeddings", "oov_positions"]
        return spec

    def get_weights(self):
        """Returns the weights as numpy arrays; `[0]` is the whole table."""
        weights = super().get_weights()
        if self.trainable_oov:
            weights[0] = ops.convert_to_numpy(self.embeddings)
        return weights

    def set_weights(self, weights):
        """Sets the weights: `[table]`, or all of `get_weights()`.

        A single `(input_dim, output_dim)` table also sets the OOV rows'
        variable when `trainable_oov=True`; a full list whose table and OOV
        rows disagree is an error.
        """
        if not self.trainable_oov or len(weights) not in (1, 3):
            super().set_weights(weights)
            return
        table = np.asarray(weights[0])
        if len(weights) == 3:
            oov, positions = np.asarray(weights[1]), np.asarray(weights[2])
            rows = np.flatnonzero(positions >= 0)
            if table.shape != (self.input_dim, self.output_dim) or (
                oov.shape != (self.num_oov_rows, self.output_dim)
                or not np.array_equal(table[rows], oov[positions[rows]])
            ):
                raise ValueError(
                    f"Layer '{self.name}' received a table and OOV rows "
                    "that disagree (or of the wrong shapes). Pass the table "
                    "alone, `set_weights([table])`, to set every row. "
                    f"Expected shapes: {(self.input_dim, self.output_dim)}, "
                    f"{(self.num_oov_rows, self.output_dim)}, "
                    f"{(self.input_dim,)}"
                )
            super().set_weights(weights)
            return
        positions = ops.convert_to_numpy(self.oov_positions)
        self._set_table(table, np.flatnonzero(positions >= 0))

    def enable_lora(self, rank, lora_alpha=None, **kwargs):
        if self.trainable_oov:
            raise NotImplementedError(
                f"Layer '{self.name}' (PretrainedEmbedding) cannot take a "
                "LoRA update with `trainable_oov=True`: its trained OOV rows "
                "live outside the table. Rebuild it with "
                "`PretrainedEmbedding(..., weights=layer.get_weights()[0])`."
            )
        super().enable_lora(rank, lora_alpha=lora_alpha, **kwargs)
        # Asking for an update means training it, on a frozen table too.
        keras.layers.Layer.trainable.fset(self, True)
        self._freeze_pretrained_rows()

    def quantize(self, mode=None, type_check=True, config=None):
        if self.trainable_oov:
            raise NotImplementedError(
                f"Layer '{self.name}' (PretrainedEmbedding) cannot be "
                "quantized with `trainable_oov=True`: its trained OOV rows "
                "live outside the table. Rebuild it with "
                "`PretrainedEmbedding(..., weights=layer.get_weights()[0])` "
                "and quantize that."
            )
        super().quantize(mode, type_check=type_check, config=config)

    def _freeze_pretrained_rows(self):
        """Sets the table variable's flag from the layer's state."""
        if not self.built or self.quantization_mode is not None:
            return
        self._embeddings.trainable = bool(
            self._trainable
            and self._pretrained_trainable
            and not self.lora_enabled
        )

    def _with_oov_rows(self, ids, rows):
        positions = ids_lib.gather_rows(
            self.oov_positions, ids_lib.gather_ids(self, ids)
        )
        oov_rows = ids_lib.gather_rows(
            self.oov_embeddings, ops.maximum(positions, 0)
        )
        is_oov = ops.expand_dims(ops.greater_equal(positions, 0), -1)
        return ops.where(is_oov, ops.cast(oov_rows, rows.dtype), rows)

    def _set_table(self, table, oov_ids):
        expected = (self.input_dim, self.output_dim)
        if table.shape != expected:
            raise ValueError(
                f"Layer '{self.name}' expects `weights` of shape {expected}. "
                f"Received: weights.shape={table.shape}"
            )
        self._embeddings.assign(table.astype(self._embeddings.dtype))
        if self.trainable_oov and oov_ids is not None:
            self._set_oov_positions(oov_ids)
            self.oov_embeddings.assign(table[oov_ids].astype("float32"))

    def _set_oov_positions(self, oov_ids):
        positions = np.full((self.input_dim,), -1, dtype="int32")
        positions[oov_ids] = np.arange(len(oov_ids), dtype="int32")
        self.oov_positions.assign(positions)

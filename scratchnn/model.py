"""What every model has, whatever its shape: weights, trainable flags, penalties, files.

`Model` is the base of `Sequential` (sequential.py: a stack of layers, the plain loop a
learner reads first) and `Functional` (functional.py: a graph). Here live the parts they
share: weights in Keras's order (get/set, counts), the flat buffers the optimizer updates in
one call, frozen layers, the regularizers' penalties, summary() and the files. Training is
in trainer.py and step.py.

Frozen layers (`layer.trainable = False`, `model.trainable = False`), as Keras 3.15: their
weights leave `trainable_weights` (the optimizer's list) for `non_trainable_weights`,
their regularizers leave `losses`. A flag may change at any time before training starts;
the next pass repacks the flat buffers (`_pack_weights`). Once the training step has run
(the first fit or train_on_batch after compile), Keras keeps training the layers it
traced its step with until compile() is called again, without a word (measured: a layer
frozen after one fit kept moving in the next; only a batch shape new to the traced step
makes TensorFlow retrace it and take the change). scratchnn refuses to guess and raises,
naming the layers, until compile() is called (`_check_training_flags`).

    snn.Model(inputs, outputs)     a Functional model, as keras.Model(inputs, outputs)
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

import numpy as np

from . import config, saving, summary as summary_module, utils
from .layers.base import Layer
from .trainer import Trainer

Array = np.ndarray


class Model(Trainer):
    """The base of Sequential and Functional; `snn.Model(inputs, outputs)` builds a
    Functional model (Keras's rule: Model called with inputs and outputs is Functional)."""

    def __new__(cls, *args: Any, **kwargs: Any):
        if cls is Model:
            if args or "inputs" in kwargs or "outputs" in kwargs:
                from .functional import Functional
                return super().__new__(Functional)
            raise TypeError("snn.Model needs inputs and outputs: snn.Model(inputs, outputs, "
                            "name=None) builds a graph model (subclassing Model with a call() "
                            "method is not supported by scratchnn)")
        return super().__new__(cls)

    def __init__(self, name: str) -> None:
        self.name = name
        self.layers: list[Layer] = []
        self._flat_weights: Array | None = None   # set by _pack_weights
        self.stateful_layers: list[Layer] = []
        self.regularized_layers: list[Layer] = []
        self._trainable = True
        self._packed_flags: tuple | None = None   # the flags the buffers were packed for
        self._packed_at = -1                      # ... and Layer.flag_changes then
        self._step_flags: tuple | None = None     # ... and those the training step uses
        self._init_trainer()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}")

    def _pack_weights(self) -> None:
        """Move every parameter, and every gradient, into flat buffers.

        The parameters training updates come first, end to end in `trainable_weights`
        order: `self.flat_weights` / `self.flat_grads`, what the optimizer updates with
        one NumPy call per operation instead of one per weight (the optimizers package).
        The frozen layers' parameters follow, apart. Each layer's own block stays whole
        (Layer.pack_into). Called again whenever a trainable flag changes: arrays taken
        from `weights` before that are copies from then on (as after adding a layer)."""
        trained = self.trained_layers()
        frozen = [layer for layer in self.layers if layer not in trained]
        sizes = {id(layer): sum(w.size for w in layer.params.values()) for layer in self.layers}
        n_trained = sum(sizes[id(layer)] for layer in trained)
        weights = np.empty(n_trained + sum(sizes[id(layer)] for layer in frozen), config.floatx())
        grads = np.zeros(weights.size, config.floatx())
        offset = 0
        for layer in trained + frozen:
            size = sizes[id(layer)]
            layer.pack_into(weights[offset:offset + size], grads[offset:offset + size])
            offset += size
        self._flat_weights, self._flat_grads = weights[:n_trained], grads[:n_trained]
        entries = [(layer, name) for layer in trained for name in layer.params]
        self._grad_views = [(layer, name, layer.grads[name]) for layer, name in entries]
        self._weight_shapes = [layer.params[name].shape for layer, name in entries]
        # The layers a training step asks for more than a backward pass: those with
        # non-trainable state to assign, those with regularized weights that learn.
        self.stateful_layers = [layer for layer in self.layers if layer.state]
        self.regularized_layers = [layer for layer in trained if layer.regularizers]
        self._packed_flags = self._flags()
        self._packed_at = Layer.flag_changes
        self._after_pack()

    def _after_pack(self) -> None:
        """What a model sets up from the packed buffers (which calls need dL/dx, ...)."""

    # -- weights -----------------------------------------------------------------------
    @property
    def weights(self) -> list[Array]:
        """The live weight arrays of all layers, in Keras order: layer by layer, each
        layer's parameters then its non-trainable weights."""
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Array]:
        """The parameters the optimizer updates (what gradients are aligned with): those
        of the layers with trainable=True, none when the model itself is frozen."""
        return [w for layer in self.trained_layers() for w in layer.params.values()]

    @property
    def non_trainable_weights(self) -> list[Array]:
        """Every other weight, in `weights` order: the frozen layers' weights and the
        moving statistics (Keras lists a frozen layer's gamma, beta, moving_mean,
        moving_variance in that order)."""
        if not self._trainable:
            return self.weights
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self) -> list[Array]:
        """Copies of all weights: per layer [kernel, bias] (and e.g. BatchNormalization's
        [gamma, beta, moving_mean, moving_variance]), Keras layouts."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: list) -> None:
        """Load a `get_weights()`-shaped list (or a Keras model's) into this model, in place."""
        self._require_built("set_weights")
        expected = sum(len(layer.named_weights) for layer in self.layers)
        if weights is None or isinstance(weights, (str, bytes, dict, np.ndarray)) \
                or not hasattr(weights, "__iter__"):
            raise TypeError(f"{self._describe()}.set_weights expects a list of {expected} "
                            f"arrays (as get_weights() returns), got {type(weights).__name__}")
        weights = list(weights)
        if len(weights) != expected:
            raise ValueError(f"{self._describe()} expects {expected} weight arrays, "
                             f"got {len(weights)}")
        # Check every layer's arrays before writing any: a bad list changes nothing.
        checked, start = [], 0
        for layer in self.layers:
            count = len(layer.named_weights)
            checked.append(layer.check_weights(weights[start:start + count]))
            start += count
        for layer, values in zip(self.layers, checked):
            layer.set_weights(values)

    def count_params(self) -> int:
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    def gradients(self) -> list[Array]:
        """The gradients of the last backward pass, aligned with `trainable_weights`."""
        return [layer.grads[name] for layer in self.trained_layers() for name in layer.params]

    def flat_gradients(self) -> Array:
        """The gradients of the last backward pass, end to end in one flat array.

        Layers write their gradients into views of this buffer; a layer that assigned
        a new array instead (a user's own layer, say) is copied into its place.
        The training step calls it (trainer.py), so it also checks that the trainable
        flags are those the step was set up with (`_check_training_flags`)."""
        self._ensure_packed()
        self._check_training_flags()
        for layer, name, view in self._grad_views:
            if layer.grads[name] is not view:
                view[...] = layer.grads[name]
                layer.grads[name] = view
        return self._flat_grads

    @property
    def flat_weights(self) -> Array | None:
        """The trained weights end to end (_pack_weights), repacked if a flag changed."""
        self._ensure_packed()
        return self._flat_weights

    @property
    def flat_grads(self) -> Array:
        self._ensure_packed()
        return self._flat_grads

    @property
    def weight_shapes(self) -> list[tuple]:
        self._ensure_packed()
        return self._weight_shapes

    # -- trainable flags -------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        """Keras's `model.trainable`: setting it sets every layer's flag (freeze or unfreeze
        them all); while it is False nothing trains, whatever the layers' flags say."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{self._describe()}: trainable must be True or False, "
                             f"got {value!r}")
        self._trainable = bool(value)
        Layer.flag_changes += 1
        for layer in self.layers:
            layer.trainable = bool(value)

    def trained_layers(self) -> list[Layer]:
        """The layers whose parameters training updates."""
        return [layer for layer in self.layers if layer.trainable] if self._trainable else []

    def _flags(self) -> tuple:
        return (self._trainable, *(layer.trainable for layer in self.layers))

    def _ensure_packed(self) -> None:
        """Repack the flat buffers if a trainable flag changed since they were packed (a
        flag set anywhere bumps Layer.flag_changes: one integer compare per call)."""
        if self._packed_at == Layer.flag_changes or self._flat_weights is None:
            return
        if self._packed_flags != self._flags():
            self._pack_weights()
        self._packed_at = Layer.flag_changes

    def on_compile(self) -> None:
        """compile() was called: the next training step takes the flags as they are then
        (Keras traces its training step anew after each compile())."""
        self._step_flags = None

    def _check_training_flags(self) -> None:
        """Each training step's check (flat_gradients). The first step after compile fixes
        the flags; a later change raises until compile() is called again. An optimizer
        built for other weights is refused (Keras keeps a frozen weight's slots, raises
        'Unknown variable' for an unfrozen one; scratchnn's optimizers update one set)."""
        flags = self._packed_flags
        if flags is self._step_flags:
            return                                 # the same packing as the last step's
        if self._step_flags is None:
            self._step_flags = flags
            if not self._weight_shapes:                      # Keras's warning, word for word
                warnings.warn("The model does not have any trainable weights.", stacklevel=4)
        elif flags != self._step_flags:
            changed = [f"'{layer.name}' ({'frozen' if not now else 'unfrozen'})"
                       for layer, now, then in zip(self.layers, flags[1:], self._step_flags[1:])
                       if now != then]
            if flags[0] != self._step_flags[0]:
                changed.insert(0, f"the model itself ({'unfrozen' if flags[0] else 'frozen'})")
            raise ValueError(
                f"{self._describe()}: trainable changed for {', '.join(changed)} after "
                "training started. Keras 3.15 ignores such a change until compile() is "
                "called again (its training step keeps the variables it was traced with, and "
                "it says nothing); call model.compile(...) again for it to take effect")
        optimizer = getattr(self, "optimizer", None)
        built_for = getattr(optimizer, "_shapes", None)
        if built_for is not None and list(built_for) != list(self.weight_shapes):
            raise ValueError(
                f"{self._describe()}: {type(optimizer).__name__} '{optimizer.name}' was "
                f"built for {len(built_for)} trainable weights {built_for}, but the model now "
                f"trains {len(self.weight_shapes)} {self.weight_shapes} (a trainable flag "
                "changed since its first step). Keras keeps using such an optimizer after "
                "freezing but refuses newly unfrozen weights ('Unknown variable'); compile "
                "with a new optimizer, e.g. model.compile(optimizer='adam', ...)")

    # -- the passes' bookkeeping ------------------------------------------------------------
    def _cast_input(self, x) -> Array:
        x = np.asarray(x, dtype=config.floatx())
        if x.ndim == 0:
            raise ValueError(f"{self._describe()} expects a batch of inputs, got a scalar")
        return x

    def apply_state_updates(self) -> None:
        """Assign the non-trainable weights (moving statistics) that the last
        training-mode forward pass computed; see Layer.apply_state_updates."""
        for layer in self.stateful_layers:
            layer.apply_state_updates()

    # -- regularization ------------------------------------------------------------------
    @property
    def losses(self) -> list[np.floating]:
        """The regularizers' penalties on the trainable weights, in `trainable_weights`
        order, as floatx scalars (Keras's `model.losses`: float32 tensors). Computed when
        asked, from the weights as they are: the same before and after a forward pass;
        empty before build. Training adds their sum to the loss."""
        return [loss for layer in self.trained_layers() for loss in layer.losses]

    def penalty(self) -> np.floating:
        """The regularizers' penalties on the trainable weights, added up in floatx, in
        the order of `trainable_weights`: the sum of `model.losses`, which Keras adds to
        the compiled loss."""
        total = np.zeros((), config.floatx())[()]
        for layer in self.regularized_layers:
            for name, regularizer in layer.regularizers.items():
                total += regularizer(layer.params[name])
        return total

    def add_penalty_gradients(self) -> None:
        """Add each regularizer's gradient d(penalty)/dw to its weight's gradient (after a
        backward pass filled the gradients of the compiled loss)."""
        for layer in self.regularized_layers:
            for name, regularizer in layer.regularizers.items():
                layer.grads[name] += regularizer.gradient(layer.params[name])

    # -- summary and files ---------------------------------------------------------------
    def summary(self, line_length: int | None = None, positions=None,
                print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range=None) -> None:
        """Print Keras's table: layer (type), output shape, param count (and what each
        layer is connected to, for a graph), then totals. `line_length` sets the width
        (Keras's default: the terminal's, at most 88, or 108 with "Connected to")."""
        utils.refuse_switched_on(f"{self._describe()}.summary", [
            ("positions", positions, None), ("expand_nested", expand_nested, False),
            ("show_trainable", show_trainable, False), ("layer_range", layer_range, None)])
        summary_module.print_summary(self, print_fn, line_length)

    def save(self, filepath: str | os.PathLike, overwrite: bool = True) -> None:
        """Save the whole model as Keras 3's `.keras` archive: layers, weights, compile
        settings and optimizer state; `keras.models.load_model` opens it (scratchnn.saving)."""
        saving.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath: str | os.PathLike, overwrite: bool = True) -> None:
        """Save the weights (and optimizer state, when compiled); the format follows the
        name: '.weights.h5' (Keras 3's layout) or '.weights.npz'. Values round-trip exactly."""
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str | os.PathLike) -> None:
        """Load weights from a '.weights.h5', '.weights.npz' or '.keras' file written by
        scratchnn or Keras. Everything is checked first: a file that does not fit raises
        an error naming the mismatch and leaves the model unchanged."""
        saving.load_weights(self, filepath)

    # -- configs (Keras's get_config / from_config / to_json; saving/ writes and reads) ------
    def get_config(self) -> dict[str, Any]:
        """Keras's config of this model, as a .keras file's config.json holds it under
        "config": a Sequential's name, trainable, dtype, layers, build_input_shape; a
        Functional model's name, trainable, layers (each with its calls in the graph),
        input_layers, output_layers."""
        from .saving.keras_config import model_config
        return model_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Model":
        """A new model from a `get_config()` dict: the same layers, names and graph, NEW
        weights drawn by the layers' initializers, not compiled (as Keras). A Sequential's
        config is read by `Sequential.from_config`, a graph's by `Model.from_config`."""
        from .saving.keras_model_reader import model_from_config
        return model_from_config(cls, config)

    def to_json(self, **kwargs: Any) -> str:
        """The whole model as Keras's JSON (class, config, build and compile configs), read
        by `snn.models.model_from_json` and Keras's; `kwargs` go to json.dumps."""
        import json

        from .saving.keras_config import model_to_keras
        return json.dumps(model_to_keras(self), **kwargs)

    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"{self._describe()} is not built yet, so {what} is not "
                             "available: give the first layer input_shape=..., start with "
                             "Input(shape), or call the model on data first")

"""Sequential: a stack of layers with Keras's compile / fit / evaluate / predict.

One training step (see `train_step`):

    y_pred = forward(x)                 each layer caches what its backward needs
    L, dL  = loss.value_and_grad(...)   dL/d(y_pred), or dL/dz for a softmax/sigmoid output
    backward(dL)                        layers in reverse fill layer.grads, pass dL/dx on
    optimizer.apply(grads, weights)     in-place update
    metrics.update_state(y, y_pred)

Nothing flows backwards except gradients; no layer knows the loss or the optimizer.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Callable, Iterable

import numpy as np

from . import callbacks as callbacks_module
from . import config, losses, metrics as metrics_module, optimizers, utils
from .layers.base import ActivatedLayer, Layer, _fmt_shape, size_str
from .layers.core import InputLayer

Array = np.ndarray


class Sequential:
    """A linear stack of layers, as `keras.Sequential`."""

    def __init__(self, layers: Iterable[Layer] | None = None, name: str | None = None) -> None:
        self.name = name if name is not None else utils.unique_name("sequential")
        self.layers: list[Layer] = []
        self.input_spec: InputLayer | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.compiled_metrics: list[metrics_module.Metric] = []
        self._metric_ids: list = []
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.stop_training = False
        self.history: callbacks_module.History | None = None
        self.epoch_order: Array | None = None   # the sample order of the current epoch
        for layer in layers or []:
            self.add(layer)

    # -- structure ---------------------------------------------------------------------
    def add(self, layer: Layer | InputLayer) -> None:
        """Append a layer (or set the input shape with `Input(shape)` first)."""
        if isinstance(layer, InputLayer):
            if self.layers or self.input_spec is not None:
                raise ValueError(f"Sequential '{self.name}': an Input can only come first")
            self.input_spec = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}'.add expects a scratchnn layer, "
                            f"got {layer!r}")
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"Sequential '{self.name}': all layer names must be unique; "
                             f"'{layer.name}' is already used")
        if not self.layers and self.input_spec is None and layer.declared_input_shape:
            self.input_spec = InputLayer(layer.declared_input_shape[1:])
        self.layers.append(layer)
        if self.input_spec is not None:
            self.build(self.input_spec.batch_shape)

    def pop(self) -> Layer:
        return self.layers.pop()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}")

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    def build(self, input_shape: tuple) -> None:
        """Build every layer in turn, each from the output shape of the one before."""
        shape = tuple(input_shape)
        for index, layer in enumerate(self.layers):
            # dL/dx is only needed if some layer before this one has weights.
            layer.input_grad_needed = any(prev.params for prev in self.layers[:index])
            if not layer.built:
                layer.build(shape)
            elif layer.input_shape[1:] != shape[1:]:
                raise ValueError(f"{type(layer).__name__} '{layer.name}' was built for inputs "
                                 f"{_fmt_shape(layer.input_shape)}, but the layer before it "
                                 f"gives {_fmt_shape(shape)}")
            shape = layer.output_shape

    @property
    def input_shape(self) -> tuple | None:
        return self.layers[0].input_shape if self.built else None

    @property
    def output_shape(self) -> tuple | None:
        return self.layers[-1].output_shape if self.built else None

    # -- weights -----------------------------------------------------------------------
    @property
    def weights(self) -> list[Array]:
        """The live parameter arrays of all layers, in Keras order."""
        return [w for layer in self.layers for w in layer.weights]

    trainable_weights = weights

    def get_weights(self) -> list[Array]:
        """Copies of all parameters: per layer [kernel, bias], Keras layouts."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: list) -> None:
        """Load a `get_weights()`-shaped list (or a Keras model's) into this model, in place."""
        self._require_built("set_weights")
        weights = list(weights)
        expected = sum(len(layer.params) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"Sequential '{self.name}' expects {expected} weight arrays, "
                             f"got {len(weights)}")
        start = 0
        for layer in self.layers:
            layer.set_weights(weights[start:start + len(layer.params)])
            start += len(layer.params)

    def count_params(self) -> int:
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    def gradients(self) -> list[Array]:
        """The gradients of the last backward pass, aligned with `weights`."""
        return [layer.grads[name] for layer in self.layers for name in layer.params]

    def save_weights(self, path: str | os.PathLike) -> None:
        """Save all weights to `path` (NumPy .npz format, whatever the extension).

        The file is written next to its destination and renamed into place, so an
        interrupted save never destroys an earlier file. Values round-trip exactly."""
        self._require_built("save_weights")
        path = os.fspath(path)
        arrays = {f"w{i}": w for i, w in enumerate(self.weights)}
        names = np.array([f"{layer.name}/{name}" for layer in self.layers for name in layer.params])
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, __names__=names, **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def load_weights(self, path: str | os.PathLike) -> None:
        """Load weights written by `save_weights` (count and shapes are checked)."""
        self._require_built("load_weights")
        with np.load(os.fspath(path), allow_pickle=False) as data:
            n = len(data.files) - 1
            self.set_weights([data[f"w{i}"] for i in range(n)])

    # -- running -----------------------------------------------------------------------
    def _as_input(self, x) -> Array:
        x = np.asarray(x, dtype=config.floatx())
        if x.ndim == 0:
            raise ValueError(f"Sequential '{self.name}' expects a batch of inputs, got a scalar")
        if not self.layers:
            raise ValueError(f"Sequential '{self.name}' has no layers")
        if not self.built:
            self.build((None, *x.shape[1:]))
        return x

    def forward(self, x: Array, training: bool = False) -> Array:
        """Run every layer in order; each caches what its backward needs."""
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    def __call__(self, x, training: bool = False) -> Array:
        return self.forward(self._as_input(x), training=training)

    def _logits_carrier(self, training: bool) -> ActivatedLayer | None:
        """The softmax/sigmoid layer whose output reached the loss unchanged, if any.

        Keras computes crossentropy from that layer's logits (`_keras_logits`); a layer
        in between that changes its input (e.g. a training-mode Dropout) loses them."""
        for layer in reversed(self.layers):
            if layer.passes_input_through(training):
                continue
            if isinstance(layer, ActivatedLayer) and layer.carries_logits:
                return layer
            return None
        return None

    def _compute_loss(self, y, y_pred: Array, sample_weight, training: bool,
                      need_grad: bool = True) -> tuple[float, Array | None, Layer | None]:
        """(loss, its gradient, the logits carrier or None). With a carrier, the gradient
        is dL/dz at the carrier's pre-activation, else dL/d(y_pred)."""
        carrier = self._logits_carrier(training) if self.loss.accepts_logits else None
        value, grad = self.loss.value_and_grad(
            y, y_pred, sample_weight, logits=None if carrier is None else carrier.z,
            need_grad=need_grad)
        return value, grad, carrier

    def _loss_and_backward(self, y, y_pred: Array, sample_weight, training: bool) -> float:
        """Compute the loss, then backpropagate it through every layer."""
        value, grad, carrier = self._compute_loss(y, y_pred, sample_weight, training)
        if carrier is not None:
            # Fused path: grad is dL/dz at the carrier's pre-activation; the carrier
            # skips its activation's derivative, and layers after it are identities.
            stop = self.layers.index(carrier)
            grad = carrier.backward_z(grad)
        else:
            stop = len(self.layers)
        for layer in reversed(self.layers[:stop]):
            if grad is None:          # the layers below have no weights: nothing to do
                break
            grad = layer.backward(grad)
        return value

    def compute_gradients(self, x, y, training: bool = True,
                          sample_weight=None) -> tuple[float, list[Array]]:
        """(loss, dL/dw for every weight), aligned with `get_weights()`; weights unchanged."""
        self._require_compiled("compute_gradients")
        x = self._as_input(x)
        y_pred = self.forward(x, training=training)
        value = self._loss_and_backward(y, y_pred, sample_weight, training)
        return value, [g.copy() for g in self.gradients()]

    # -- compile / fit / evaluate / predict ----------------------------------------------
    def compile(self, optimizer: str | optimizers.Optimizer = "rmsprop",
                loss: str | losses.Loss | Callable | None = None,
                metrics: list | None = None) -> None:
        """Choose the optimizer, loss and metrics (objects or Keras strings)."""
        if loss is None:
            raise ValueError(f"Sequential '{self.name}'.compile needs a loss")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"compile expects metrics as a list, got {metrics!r}")
        self._metric_ids = list(metrics or [])
        self.compiled_metrics = []
        self._metrics_resolved = False

    @property
    def metrics_names(self) -> list[str]:
        return ["loss"] + [m.name for m in self.compiled_metrics]

    def _resolve_metrics(self, y: Array, y_pred: Array) -> None:
        if not self._metrics_resolved:
            self.compiled_metrics = [metrics_module.resolve(m, np.asarray(y), y_pred)
                                     for m in self._metric_ids]
            self._metrics_resolved = True

    def _reset_metrics(self) -> None:
        self._loss_tracker.reset_state()
        for m in self.compiled_metrics:
            m.reset_state()

    def _update_metrics(self, loss: float, y, y_pred: Array, sample_weight) -> None:
        self._resolve_metrics(y, y_pred)
        self._loss_tracker.update_state(loss, sample_weight=len(y_pred))   # weight = batch size
        for m in self.compiled_metrics:
            m.update_state(y, y_pred, sample_weight)

    def _metric_logs(self) -> dict[str, float]:
        logs = {"loss": self._loss_tracker.result()}
        logs.update({m.name: m.result() for m in self.compiled_metrics})
        return logs

    def train_step(self, x: Array, y, sample_weight=None) -> dict[str, float]:
        """One batch: forward, loss, backward, optimizer update, metrics."""
        y_pred = self.forward(x, training=True)
        value = self._loss_and_backward(y, y_pred, sample_weight, training=True)
        self.optimizer.apply(self.gradients(), self.weights)
        self._update_metrics(value, y, y_pred, sample_weight)
        return self._metric_logs()

    def test_step(self, x: Array, y, sample_weight=None) -> dict[str, float]:
        y_pred = self.forward(x, training=False)
        value, _, _ = self._compute_loss(y, y_pred, sample_weight, False, need_grad=False)
        self._update_metrics(value, y, y_pred, sample_weight)
        return self._metric_logs()

    def fit(self, x=None, y=None, batch_size: int | None = 32, epochs: int = 1,
            verbose: int | str = "auto", callbacks: list | None = None,
            validation_split: float = 0.0, validation_data: tuple | None = None,
            shuffle: bool = True, initial_epoch: int = 0,
            sample_weight=None) -> callbacks_module.History:
        """Train for `epochs` epochs of ceil(N / batch_size) batches; returns a History.

        Epoch logs are means over the epoch's batches weighted by batch size, computed
        in training mode before each batch's update (as Keras reports them)."""
        self._require_compiled("fit")
        batch_size = 32 if batch_size is None else batch_size
        _check_positive_int(batch_size, "batch_size")
        x, y, sample_weight = _check_data(x, y, sample_weight, "fit")
        if validation_data is None and validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"fit: validation_split must be in [0, 1), "
                                 f"got {validation_split!r}")
            # The LAST fraction, taken before any shuffling (Keras's rule).
            split_at = int(np.floor(len(x) * (1.0 - validation_split)))
            validation_data = (x[split_at:], y[split_at:]) if sample_weight is None else (
                x[split_at:], y[split_at:], sample_weight[split_at:])
            x, y = x[:split_at], y[:split_at]
            sample_weight = None if sample_weight is None else sample_weight[:split_at]
        if validation_data is not None:
            validation_data = _check_data(*_unpack_validation(validation_data), "validation_data")
        x = self._as_input(x)
        verbose = 1 if verbose == "auto" else int(verbose)
        steps = callbacks_module.steps_for(len(x), batch_size)
        extra = [callbacks_module.History()]
        if verbose:
            extra.append(callbacks_module.ProgbarLogger(verbose))
        cbs = callbacks_module.CallbackList(
            list(callbacks or []) + extra, model=self,
            params={"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        cbs.call("on_train_begin", None)
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            self.epoch_order = utils.rng().permutation(len(x)) if shuffle else np.arange(len(x))
            cbs.call("on_epoch_begin", epoch, None)
            for step in range(steps):
                idx = self.epoch_order[step * batch_size:(step + 1) * batch_size]
                cbs.call("on_train_batch_begin", step, None)
                logs = self.train_step(x[idx], y[idx],
                                       None if sample_weight is None else sample_weight[idx])
                cbs.call("on_train_batch_end", step, logs)
                if self.stop_training:
                    break
            epoch_logs = self._metric_logs()
            if validation_data is not None:
                val_logs = self._evaluate_arrays(*validation_data, batch_size=batch_size)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            epoch_logs = dict(sorted(epoch_logs.items()))
            cbs.call("on_epoch_end", epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.call("on_train_end", None)
        return self.history

    def _evaluate_arrays(self, x, y, sample_weight=None, batch_size: int = 32,
                         verbose: int = 0) -> dict[str, float]:
        x = self._as_input(x)
        self._reset_metrics()
        steps = callbacks_module.steps_for(len(x), batch_size)
        bar = callbacks_module.Progbar(steps, verbose) if verbose else None
        logs: dict[str, float] = {}
        for step in range(steps):
            sl = slice(step * batch_size, (step + 1) * batch_size)
            logs = self.test_step(x[sl], y[sl], None if sample_weight is None else sample_weight[sl])
            if bar:
                bar.update(step + 1, logs, finalize=step == steps - 1)
        return logs

    def evaluate(self, x=None, y=None, batch_size: int | None = 32, verbose: int | str = "auto",
                 sample_weight=None, return_dict: bool = False) -> float | list | dict:
        """Loss (and metrics) in inference mode: a float without metrics, else
        [loss, *metrics]; a dict with return_dict=True."""
        self._require_compiled("evaluate")
        batch_size = 32 if batch_size is None else batch_size
        _check_positive_int(batch_size, "batch_size")
        x, y, sample_weight = _check_data(x, y, sample_weight, "evaluate")
        verbose = 1 if verbose == "auto" else int(verbose)
        logs = self._evaluate_arrays(x, y, sample_weight, batch_size, verbose)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int | None = 32, verbose: int | str = "auto") -> Array:
        """Outputs in inference mode, computed batch by batch, as a floatx array."""
        batch_size = 32 if batch_size is None else batch_size
        _check_positive_int(batch_size, "batch_size")
        x = self._as_input(x)
        verbose = 1 if verbose == "auto" else int(verbose)
        steps = callbacks_module.steps_for(len(x), batch_size)
        bar = callbacks_module.Progbar(steps, verbose) if verbose else None
        outputs = []
        for step in range(steps):
            outputs.append(self.forward(x[step * batch_size:(step + 1) * batch_size]))
            if bar:
                bar.update(step + 1, {}, finalize=step == steps - 1)
        if not outputs:
            return np.zeros((0, *self.output_shape[1:]), dtype=config.floatx())
        return np.concatenate(outputs)

    def train_on_batch(self, x, y, sample_weight=None,
                       return_dict: bool = False) -> float | list | dict:
        """One optimizer step on one batch; returns that batch's loss (and metrics)."""
        self._require_compiled("train_on_batch")
        x, y, sample_weight = _check_data(x, y, sample_weight, "train_on_batch")
        x = self._as_input(x)
        self._reset_metrics()
        logs = self.train_step(x, y, sample_weight)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def test_on_batch(self, x, y, sample_weight=None, return_dict: bool = False):
        self._require_compiled("test_on_batch")
        x, y, sample_weight = _check_data(x, y, sample_weight, "test_on_batch")
        logs = self._evaluate_arrays(x, y, sample_weight, batch_size=len(x))
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict_on_batch(self, x) -> Array:
        return self(x)

    # -- summary -------------------------------------------------------------------------
    def summary(self, print_fn: Callable[[str], Any] | None = None) -> None:
        """Print Keras's table: layer (type), output shape, param count, then totals."""
        print_fn = print_fn or print
        widths = (33, 24, 15)

        def rule(left, mid, right, fill):
            return left + mid.join(fill * w for w in widths) + right

        def row(cells):
            name, shape, params = cells
            return ("│ " + name.ljust(widths[0] - 2) + " │ " + shape.ljust(widths[1] - 2)
                    + " │ " + params.rjust(widths[2] - 2) + " │")

        lines = [f'Model: "{self.name}"', rule("┏", "┳", "┓", "━"),
                 row(("Layer (type)", "Output Shape", "Param #")).replace("│", "┃"),
                 rule("┡", "╇", "┩", "━")]
        for i, layer in enumerate(self.layers):
            if layer.built:
                cells = (f"{layer.name} ({type(layer).__name__})", _fmt_shape(layer.output_shape),
                         f"{layer.count_params():,}")
            else:
                cells = (f"{layer.name} ({type(layer).__name__})", "?", "0 (unbuilt)")
            lines.append(row(cells))
            lines.append(rule("├", "┼", "┤", "─") if i < len(self.layers) - 1
                         else rule("└", "┴", "┘", "─"))
        if not self.layers:
            lines.append(rule("└", "┴", "┘", "─"))
        n_bytes = np.dtype(config.floatx()).itemsize
        trainable = sum(layer.count_params() for layer in self.layers if layer.built)
        optimizer_built = self.optimizer is not None and self.optimizer.iterations > 0
        # Keras counts the optimizer's slots plus its `iterations` and `learning_rate`.
        opt_params = self.optimizer.variables_count() + 2 if optimizer_built else 0
        total = trainable + opt_params
        lines += [f" Total params: {total:,} ({size_str(total * n_bytes)})",
                  f" Trainable params: {trainable:,} ({size_str(trainable * n_bytes)})",
                  f" Non-trainable params: 0 ({size_str(0)})"]
        if optimizer_built:
            lines.append(f" Optimizer params: {opt_params:,} ({size_str(opt_params * n_bytes)})")
        for line in lines:
            print_fn(line)

    # -- checks --------------------------------------------------------------------------
    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"Sequential '{self.name}' is not built yet, so {what} is not "
                             "available: give the first layer input_shape=..., start with "
                             "Input(shape), or call the model on data first")

    def _require_compiled(self, what: str) -> None:
        if self.loss is None:
            raise ValueError(f"Sequential '{self.name}' must be compiled before {what}(): "
                             "call model.compile(optimizer=..., loss=...)")


def _check_positive_int(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _unpack_validation(data) -> tuple:
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                         f"(x_val, y_val, sample_weight), got {type(data).__name__}")
    return tuple(data) if len(data) == 3 else (data[0], data[1], None)


def _check_data(x, y, sample_weight, where: str) -> tuple[Array, Array, Array | None]:
    if x is None or y is None:
        raise ValueError(f"{where} needs both x and y (got x={type(x).__name__}, "
                         f"y={type(y).__name__})")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{where}: x and y must be arrays with a batch axis, got shapes "
                         f"{x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"{where}: x and y must have the same number of samples, got "
                         f"{len(x)} and {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{where}: got no samples")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        if len(sample_weight) != len(x):
            raise ValueError(f"{where}: sample_weight has {len(sample_weight)} entries for "
                             f"{len(x)} samples")
    return x, y, sample_weight

"""The training loop: compile, fit, evaluate, predict (Keras's `Trainer`).

`Sequential` (model.py) knows its layers: forward, backward, weights. This module
knows how to train it. One training step (`train_step`):

    y_pred = model.forward(x, training=True)      each layer caches what its backward needs
    L, dL  = compute_loss(y, y_pred)              dL/d(y_pred), or dL/dz at a softmax/sigmoid
                                                  (plus the regularizers' penalty, if any)
    model.backward(dL)                            layers in reverse fill layer.grads
    optimizer.apply(grads, weights)               in-place update (and the moving statistics
                                                  the forward pass computed are assigned)
    metrics.update_state(y, y_pred)

`fit` runs ceil(N / batch_size) such steps per epoch, in the order `epoch_order` gives,
and calls the callbacks around them.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import callbacks as callbacks_module
from . import config, interrupts, losses, metrics as metrics_module, optimizers
from . import random as scratch_random
from .data_utils import (check_data, check_inputs, check_nonnegative_int, check_positive_int,
                         check_verbose, split_validation, unpack_validation)

Array = np.ndarray

# predict's batches pass through the layers in slices whose largest layer output is at
# most this many bytes. Each layer then reads its input while it is still in the CPU's
# cache, and works in memory already mapped, instead of streaming fresh arrays of many
# megabytes (a batch of 256 in the conv32 CNN makes 22 MB per layer). Inference treats
# every sample alone, so slicing changes nothing but the time; Conv2D bounds its own
# windows the same way (INFERENCE_CHUNK_BYTES).
PREDICT_SLICE_BYTES = 2 * 2**20


class Trainer:
    """compile / fit / evaluate / predict for a model with forward, backward and weights."""

    def _init_trainer(self) -> None:
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.compiled_metrics: list[metrics_module.Metric] = []
        self._metric_ids: list = []
        self._metrics_resolved = False
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.stop_training = False
        self.history: callbacks_module.History | None = None
        self.epoch_order: Array | None = None      # the sample order of the current epoch

    # -- compile ---------------------------------------------------------------------------
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
    def compiled(self) -> bool:
        return self.loss is not None

    @property
    def compiled_metric_ids(self) -> list:
        """The metrics exactly as given to compile() (names, functions or Metric objects)."""
        return list(self._metric_ids)

    @property
    def metrics_names(self) -> list[str]:
        return ["loss"] + [m.name for m in self.compiled_metrics]

    # -- loss and gradients ----------------------------------------------------------------
    def _compute_loss(self, y, y_pred: Array, sample_weight=None, training: bool = True,
                     need_grad: bool = True) -> tuple[float, Array | None, object]:
        """(loss, its gradient, the logits carrier or None).

        With a carrier (a softmax/sigmoid output whose logits reach a crossentropy), the
        gradient is dL/dz at the carrier's pre-activation, else dL/d(y_pred). The loss
        includes the regularizers' penalty, as Keras's `compute_loss` adds `model.losses`
        (in training and in evaluation alike); its gradient joins the weights' gradients
        in `_backward`."""
        carrier = self.logits_carrier(training) if self.loss.accepts_logits else None
        value, grad = self.loss.value_and_grad(
            y, y_pred, sample_weight, logits=None if carrier is None else carrier.z,
            need_grad=need_grad)
        if self.regularized_layers:                        # added in floatx, as in Keras
            penalty = self.penalty()
            value = float(penalty.dtype.type(value) + penalty)
        return value, grad, carrier

    def _backward(self, grad: Array, carrier) -> None:
        """The backward pass of the whole loss: the layers', then the penalty's."""
        self.backward(grad, carrier)
        if self.regularized_layers:
            self.add_penalty_gradients()

    def compute_gradients(self, x, y, training: bool = True,
                          sample_weight=None) -> tuple[float, list[Array]]:
        """(loss, dL/dw for every trainable weight), aligned with `trainable_weights`
        (which is `get_weights()` for a model without non-trainable weights). The weights
        stay as they are, but a training-mode pass assigns BatchNormalization's moving
        statistics, as Keras's `model(x, training=True)` does."""
        self._require_compiled("compute_gradients")
        x, y, sample_weight = check_data(x, y, sample_weight, "compute_gradients", self)
        x = self._as_input(x)
        y_pred = self.forward(x, training=training)
        value, grad, carrier = self._compute_loss(y, y_pred, sample_weight, training)
        self._backward(grad, carrier)
        self.apply_state_updates()
        return value, [g.copy() for g in self.gradients()]

    # -- one batch -------------------------------------------------------------------------
    def _train_batch(self, x: Array, y, sample_weight) -> None:
        """Forward, loss, backward, optimizer update, metrics: one step, no logs."""
        y_pred = self.forward(x, training=True)
        value, grad, carrier = self._compute_loss(y, y_pred, sample_weight, training=True)
        self._backward(grad, carrier)
        # One update over the flat buffers of all weights (the same bits as
        # optimizer.apply(self.gradients(), self.trainable_weights), with fewer NumPy
        # calls), then the moving statistics. Ctrl-C waits for the whole update: never
        # half a step (interrupts.py).
        with interrupts.uninterruptible:
            self.optimizer.apply_flat(self.flat_gradients(), self.flat_weights,
                                      self.weight_shapes)
            self.apply_state_updates()
        self._update_metrics(value, y, y_pred, sample_weight)

    def train_step(self, x: Array, y, sample_weight=None) -> dict[str, float]:
        """One batch: forward, loss, backward, optimizer update, metrics; the running logs."""
        self._train_batch(x, y, sample_weight)
        return self._metric_logs()

    def test_step(self, x: Array, y, sample_weight=None) -> dict[str, float]:
        """One batch in inference mode: loss and metrics, no update."""
        y_pred = self.forward(x, training=False)
        value, _, _ = self._compute_loss(y, y_pred, sample_weight, False, need_grad=False)
        self._update_metrics(value, y, y_pred, sample_weight)
        return self._metric_logs()

    # -- metrics ---------------------------------------------------------------------------
    def _resolve_metrics(self, y, y_pred: Array) -> None:
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

    def _as_result(self, logs: dict[str, float], return_dict: bool) -> float | list | dict:
        """evaluate's return value: a float without metrics, [loss, *metrics], or the dict."""
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    # -- fit -------------------------------------------------------------------------------
    def epoch_order_for(self, epoch: int, n_samples: int, shuffle: bool) -> Array:
        """The order in which epoch `epoch` visits the samples: Keras 3.15.1's.

        shuffle=True: TensorFlow's RandomShuffle as Keras runs it (`random.fit_permutation`).
        After `utils.set_random_seed(s)` that is the SAME permutation in every epoch (a quirk
        of this Keras version, reproduced); without a seed, a fresh one every epoch."""
        if not shuffle:
            return np.arange(n_samples)
        return scratch_random.fit_permutation(n_samples)

    @interrupts.handles_ctrl_c
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
        check_positive_int(batch_size, "batch_size")
        check_nonnegative_int(epochs, "epochs")
        check_nonnegative_int(initial_epoch, "initial_epoch")
        verbose = check_verbose(verbose)
        # The door: x, y, sample_weight checked against the model and loss, once per call.
        x, y, sample_weight = check_data(x, y, sample_weight, "fit", self)
        if validation_data is not None:
            validation_data = check_data(*unpack_validation(validation_data), "fit", self,
                                         prefix="validation_data's ")
        elif validation_split:
            (x, y, sample_weight), validation_data = split_validation(
                x, y, sample_weight, validation_split)
        steps = callbacks_module.steps_for(len(x), batch_size)
        extra: list[callbacks_module.Callback] = [callbacks_module.History()]
        if verbose:
            extra.append(callbacks_module.ProgbarLogger(verbose))
        cbs = callbacks_module.CallbackList(
            list(callbacks or []) + extra, model=self,
            params={"epochs": epochs, "steps": steps, "verbose": verbose})
        # Per-batch hooks cost time on every step: call them only if some callback has one.
        batch_begin = cbs.hooked("on_train_batch_begin")
        batch_end = cbs.hooked("on_train_batch_end")
        self.stop_training = False
        self._initial_epoch = None
        cbs.call("on_train_begin", None)
        # A callback may move the start (BackupAndRestore resuming), as in Keras.
        initial_epoch = self._initial_epoch or initial_epoch
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            self.epoch_order = self.epoch_order_for(epoch, len(x), shuffle)
            cbs.call("on_epoch_begin", epoch, None)
            for step in range(steps):
                start = step * batch_size
                # In order (shuffle=False) a batch is a slice, a view of x: nothing copied.
                idx = (self.epoch_order[start:start + batch_size] if shuffle
                       else slice(start, start + batch_size))
                if batch_begin:
                    cbs.call("on_train_batch_begin", step, None)
                self._train_batch(x[idx], y[idx],
                                  None if sample_weight is None else sample_weight[idx])
                if batch_end:
                    cbs.call("on_train_batch_end", step, self._metric_logs())
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

    # -- evaluate / predict ----------------------------------------------------------------
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
        check_positive_int(batch_size, "batch_size")
        x, y, sample_weight = check_data(x, y, sample_weight, "evaluate", self)
        verbose = check_verbose(verbose)
        logs = self._evaluate_arrays(x, y, sample_weight, batch_size, verbose)
        return self._as_result(logs, return_dict)

    def predict(self, x, batch_size: int | None = 32, verbose: int | str = "auto") -> Array:
        """Outputs in inference mode, computed batch by batch, as a floatx array."""
        batch_size = 32 if batch_size is None else batch_size
        check_positive_int(batch_size, "batch_size")
        x = check_inputs(self, x, "predict", allow_empty=True)
        verbose = check_verbose(verbose)
        steps = callbacks_module.steps_for(len(x), batch_size)
        bar = callbacks_module.Progbar(steps, verbose) if verbose else None
        if len(x) == 0:                   # nothing to compute: the shape the layers give x
            shape = x.shape
            for layer in self.layers:     # (sizes known only at run time come from x)
                shape = layer.compute_output_shape(shape)
            return np.zeros(shape, dtype=x.dtype)
        out = None
        rows = self._predict_slice_rows(batch_size)
        for step in range(steps):
            # A batch goes through the layers in slices of `rows` samples (the same
            # numbers; see PREDICT_SLICE_BYTES), each written straight into `out`.
            stop = min((step + 1) * batch_size, len(x))
            for start in range(step * batch_size, stop, rows):
                end = min(start + rows, stop)
                y = self.forward(x[start:end])
                if out is None:
                    out = np.empty((len(x), *y.shape[1:]), dtype=y.dtype)
                out[start:end] = y
            if bar:
                bar.update(step + 1, {}, finalize=step == steps - 1)
        return out

    def _predict_slice_rows(self, batch_size: int) -> int:
        """How many samples predict pushes through the layers at once: PREDICT_SLICE_BYTES
        over the largest layer output of one sample (the whole batch when a layer's output
        size is only known at run time)."""
        shapes = [layer.output_shape[1:] for layer in self.layers]
        if any(None in shape for shape in shapes):
            return batch_size
        largest = max(math.prod(shape) for shape in shapes)
        return max(1, PREDICT_SLICE_BYTES // (largest * np.dtype(config.floatx()).itemsize))

    # -- one batch, by hand ----------------------------------------------------------------
    @interrupts.handles_ctrl_c
    def train_on_batch(self, x, y, sample_weight=None,
                       return_dict: bool = False) -> float | list | dict:
        """One optimizer step on one batch; returns that batch's loss (and metrics)."""
        self._require_compiled("train_on_batch")
        x, y, sample_weight = check_data(x, y, sample_weight, "train_on_batch", self)
        x = self._as_input(x)
        self._reset_metrics()
        return self._as_result(self.train_step(x, y, sample_weight), return_dict)

    def test_on_batch(self, x, y, sample_weight=None,
                      return_dict: bool = False) -> float | list | dict:
        """Loss (and metrics) of one batch in inference mode."""
        self._require_compiled("test_on_batch")
        x, y, sample_weight = check_data(x, y, sample_weight, "test_on_batch", self)
        logs = self._evaluate_arrays(x, y, sample_weight, batch_size=len(x))
        return self._as_result(logs, return_dict)

    def predict_on_batch(self, x) -> Array:
        return self(check_inputs(self, x, "predict_on_batch"))

    def _require_compiled(self, what: str) -> None:
        if self.loss is None:
            raise ValueError(f"Sequential '{self.name}' must be compiled before {what}(): "
                             "call model.compile(optimizer=..., loss=...)")

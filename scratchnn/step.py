"""One training step, and one evaluation step: what fit does with each batch.

    y_pred = model.forward(x, training=True)      each layer caches what its backward needs
    L, dL  = compute_loss(y, y_pred)              dL/d(y_pred), or dL/dz at a softmax/sigmoid
                                                  (plus the regularizers' penalty, if any)
    model.backward(dL)                            layers in reverse fill layer.grads
    optimizer.apply(grads, weights)               in-place update (and the moving statistics
                                                  the forward pass computed are assigned)
    metrics.update_state(y, y_pred)

`TrainingStep._train_batch` is exactly that, in a dozen lines. The loops around it (epochs,
batches, callbacks, validation) are in trainer.py; the model's passes in model.py. On a
machine with several free cores, parallel.py runs the same step with the batch cut into
shards, one thread each (docs/parallel.md); with one core, only the lines below run.
"""

from __future__ import annotations

import numpy as np

from . import interrupts, parallel
from .data_utils import check_data

Array = np.ndarray


class TrainingStep:
    """The per-batch half of Keras's Trainer: loss, gradients, one update, the metrics."""

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
        if parallel.in_threads(self, x, training=True):     # the same step on several cores
            return parallel.train_batch(self, x, y, sample_weight)
        y_pred = self.forward(x, training=True)
        value, grad, carrier = self._compute_loss(y, y_pred, sample_weight, training=True)
        self._backward(grad, carrier)
        # One update over the flat buffers of all weights (the same bits as
        # optimizer.apply(self.gradients(), self.trainable_weights), with fewer NumPy
        # calls), then the moving statistics. Ctrl-C waits for the whole update: never
        # half a step (interrupts.py).
        grads = self.flat_gradients()          # (also checks the trainable flags: model.py)
        shapes = self.weight_shapes
        with interrupts.uninterruptible:
            if shapes:                         # nothing to train: Keras skips the update
                self.optimizer.apply_flat(grads, self.flat_weights, shapes)
            self.apply_state_updates()
        self._update_metrics(value, y, y_pred, sample_weight)

    def train_step(self, x: Array, y, sample_weight=None) -> dict[str, float]:
        """One batch: forward, loss, backward, optimizer update, metrics; the running logs."""
        self._train_batch(x, y, sample_weight)
        return self._metric_logs()

    def test_step(self, x: Array, y, sample_weight=None) -> dict[str, float]:
        """One batch in inference mode: loss and metrics, no update."""
        if parallel.in_threads(self, x, training=False):    # several cores: parallel.py
            y_pred = parallel.forward(self, x, training=False)
        else:
            y_pred = self.forward(x, training=False)
        value, _, _ = self._compute_loss(y, y_pred, sample_weight, False, need_grad=False)
        self._update_metrics(value, y, y_pred, sample_weight)
        return self._metric_logs()

    # -- metrics ---------------------------------------------------------------------------
    def _reset_metrics(self) -> None:
        self._loss_tracker.reset_state()
        self._compile_metrics.reset_state()

    def _update_metrics(self, loss: float, y, y_pred: Array, sample_weight) -> None:
        self._loss_tracker.update_state(loss, sample_weight=len(y_pred))   # weight = batch size
        # Keras 3: compiled `metrics` ignore sample weights; `weighted_metrics` use them.
        self._compile_metrics.update_state([y], [y_pred], [sample_weight])

    def _metric_logs(self) -> dict[str, float]:
        return {"loss": self._loss_tracker.result(), **self._compile_metrics.result()}

    @property
    def compiled_metrics(self) -> list:
        """The metric objects compile() made (resolved at the first batch)."""
        return self._compile_metrics.metrics

    def metric_named(self, name: str):
        """The compiled metric whose log key is `name` (e.g. "out1_accuracy"), or None."""
        return dict(zip(self._compile_metrics.result(), self._compile_metrics.metrics)).get(name)

    @property
    def metrics_names(self) -> list[str]:
        return ["loss"] + list(self._compile_metrics.result())

    def _as_result(self, logs: dict[str, float], return_dict: bool) -> float | list | dict:
        """evaluate's return value: the dict, or a list in Keras's order
        (`_flatten_metrics_in_order`): the names of `_result_order` found in the logs (a
        name twice, twice), then the other keys sorted; a float when there is one value."""
        if return_dict:
            return logs
        order = self._result_order()
        values = [logs[name] for name in order if name in logs]
        values += [logs[key] for key in sorted(logs) if key not in order]
        return values[0] if len(values) == 1 else values

    def _result_order(self) -> list[str]:
        """loss, then the compiled metrics by their own names (as Keras lists them)."""
        return ["loss", *(m.name for m in self._compile_metrics.metrics)]

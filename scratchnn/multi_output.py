"""Training a model with several outputs: one loss per output, their weighted sum, per-output
metrics and log keys, as Keras 3.15 does (keras/src/trainers/compile_utils.py).

    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"],
                  loss_weights=[1.0, 0.5], metrics={"out1": ["accuracy"]})
    model.fit([x_a, x_b], {"out1": y1, "out2": y2})

    L = 1.0 * L_out1 + 0.5 * L_out2 (+ the regularizers' penalty), and its gradient enters
    the backward pass at each output: dL/d(out k) = w_k * dL_k/d(out k).

Logs: `loss` (the weighted total), `<output>_loss` (each UNweighted, when two or more
outputs have a loss), `<output>_<metric>`. A model with one output trains exactly as a
Sequential does (step.py); this mixin steps in only when there are several.
"""

from __future__ import annotations

import numpy as np

from . import metrics as metrics_module
from .compile_utils import CompileLoss, CompileMetrics
from .data_utils import (_batched, as_numeric_array, check_inputs, check_sample_weight,
                         check_targets, split_structure)

Array = np.ndarray


class MultiOutputTraining:
    """compile / loss / metrics for a graph with several outputs (mixed into Functional)."""

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, **kwargs) -> None:
        if not self.is_multi_output:
            # One output: Keras accepts the loss (and metrics) wrapped in a list or dict.
            loss = _single(loss, self.output_names)
            metrics = _single(metrics, self.output_names, keep_list=True)
            weighted_metrics = _single(weighted_metrics, self.output_names, keep_list=True)
            return super().compile(optimizer, loss, loss_weights=loss_weights,
                                   metrics=metrics, weighted_metrics=weighted_metrics, **kwargs)
        where = f"{self._describe()}.compile"
        names = self.loss_names
        compile_loss = CompileLoss(loss, loss_weights, names, where)
        compile_metrics = CompileMetrics(metrics, weighted_metrics, names, where)
        super().compile(optimizer, compile_loss.losses[compile_loss.active[0]],
                        metrics=None, **kwargs)
        self._compile_loss, self._compile_metrics = compile_loss, compile_metrics
        self._user_loss = loss
        # One tracker per output with a loss, in output order: two outputs of one shared
        # layer share a name, and the later one wins in the logs, as in Keras.
        self._output_trackers = [metrics_module.Mean(name=f"{names[k]}_loss")
                                 for k in compile_loss.active]

    @property
    def compiled_losses(self) -> list:
        """Per output, in output order, the loss compile() resolved (None: no loss)."""
        return list(self._compile_loss.losses)

    @property
    def compiled_loss_weights(self) -> list:
        """Per output, in output order, the loss weight compile() was given (None: none)."""
        return list(self._compile_loss.weights)

    @property
    def loss_names(self) -> list[str]:
        """What compile's loss/metric dicts are keyed by and logs are named after, per
        output: the output layers' names, or the keys of outputs given as a dict (Keras)."""
        if isinstance(self._outputs_struct, dict):
            return sorted(self._outputs_struct)
        return self.output_names

    # -- data ------------------------------------------------------------------------------
    def check_multi_output_data(self, x, y, sample_weight, where: str, prefix: str = ""):
        """x (list/dict), y and sample_weight as flat lists in output order, checked against
        each output's shape and loss; one sample_weight array weighs every output."""
        x = check_inputs(self, x, where, prefix + "x")
        n = len(x[0] if isinstance(x, list) else x)
        keys = self.loss_names
        ys = split_structure(self, y, "output", where, self.output_names, keys)
        labels = [f"{prefix}y[{k!r}]" for k in keys]
        ys = [_batched(as_numeric_array(a, label, where), label, where)
              for a, label in zip(ys, labels)]
        if isinstance(sample_weight, (list, tuple, dict)):
            sws = split_structure(self, sample_weight, "output", where, self.output_names, keys)
        else:
            sws = [sample_weight] * len(ys)
        sws = [check_sample_weight(w, n, where, prefix) for w in sws]
        for k, (target, weight, label) in enumerate(zip(ys, sws, labels)):
            if len(target) != n:
                raise ValueError(f"{where}: Data cardinality is ambiguous. Make sure all arrays "
                                 f"contain the same number of samples. x: {n}, {label}: "
                                 f"{len(target)}")
            loss = self._compile_loss.losses[k]
            if loss is not None:
                check_targets(self, target, weight, n, where, f"{label} ",
                              loss=loss, output=self.outputs[k].shape)
        return x, ys, sws

    # -- the step's loss and metrics -------------------------------------------------------
    def _compute_loss(self, y, y_pred, sample_weight=None, training: bool = True,
                      need_grad: bool = True):
        if not self.is_multi_output:
            return super()._compute_loss(y, y_pred, sample_weight, training, need_grad)
        carriers = self.logits_carriers(training)
        carriers = [c if c is not None and loss is not None and loss.accepts_logits else None
                    for c, loss in zip(carriers, self._compile_loss.losses)]
        total, self._output_losses, grads = self._compile_loss(
            y, y_pred, sample_weight, [None if c is None else c.z for c in carriers],
            need_grad=need_grad)
        if self.regularized_layers:                        # added in floatx, as in Keras
            penalty = self.penalty()
            total = float(penalty.dtype.type(total) + penalty)
        return total, grads, carriers

    def _update_metrics(self, loss: float, y, y_pred, sample_weight) -> None:
        if not self.is_multi_output:
            return super()._update_metrics(loss, y, y_pred, sample_weight)
        batch = len(y_pred[0])
        self._loss_tracker.update_state(loss, sample_weight=batch)
        if self._compile_loss.logs_each:
            # Keras 3.15's compiled step weighs each `<output>_loss` by y_pred.shape[0],
            # which is None inside its tf.function: every batch counts once, partial or not
            # (measured; `loss` itself is weighted by the batch size).
            for tracker, value in zip(self._output_trackers, self._output_losses):
                tracker.update_state(value)
        self._compile_metrics.update_state(y, y_pred, sample_weight)

    def _reset_metrics(self) -> None:
        super()._reset_metrics()
        for tracker in getattr(self, "_output_trackers", []):
            tracker.reset_state()

    def _metric_logs(self) -> dict[str, float]:
        logs = super()._metric_logs()
        if self.is_multi_output and self._compile_loss.logs_each:
            logs.update({t.name: t.result() for t in self._output_trackers})
        return logs

    def _result_order(self) -> list[str]:
        """evaluate's list starts with loss, then each per-output loss (Keras's order)."""
        trackers = [t.name for t in self._output_trackers] if self.is_multi_output else []
        return ["loss", *trackers, *(m.name for m in self._compile_metrics.metrics)]

    @property
    def metrics_names(self) -> list[str]:
        names = ["loss", *(t.name for t in self._output_trackers)] if self.is_multi_output \
            else ["loss"]
        return names + list(self._compile_metrics.result())


def _single(given, output_names: list[str], keep_list: bool = False):
    """A one-output model's loss or metrics given as [entry] or {name: entry}: the entry."""
    if isinstance(given, dict):
        if set(given) != set(output_names):
            raise ValueError(f"Expected keys {output_names} in the dict, but found "
                             f"{list(given)}")
        given = given[output_names[0]]
    elif isinstance(given, (list, tuple)) and not keep_list and len(given) == 1:
        given = given[0]
    return given

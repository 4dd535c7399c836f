"""compile()'s metrics, resolved and named as Keras 3.15 does (`trainers/compile_utils.py`).

    metrics=["accuracy"]              updated with (y, y_pred) only: sample weights and
                                      class weights do NOT weigh them (Keras 3's rule)
    weighted_metrics=["accuracy"]     updated with the sample weights too; named
                                      "weighted_accuracy" when the name is already taken

For a model with several outputs, metrics are given per output (a list with one entry per
output, or a dict keyed by output name) and named `<output>_<metric>`; a name used twice
gets `_1`, `_2`, ... The container is built at the first batch, when "accuracy" can be
resolved from the shapes of y and y_pred (metrics.resolve).
"""

from __future__ import annotations

import numpy as np

from . import metrics as metrics_module

Array = np.ndarray


class CompileMetrics:
    """The compiled metrics of a model: `build`, `update_state`, `reset_state`, `result`."""

    def __init__(self, metrics, weighted_metrics, output_names: list[str] | None = None,
                 where: str = "compile") -> None:
        for name, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value is not None and not isinstance(value, (list, tuple, dict)):
                raise ValueError(f"{where}: Expected `{name}` argument to be a list, tuple, or "
                                 f"dict. Received instead: {name}={value!r} of type "
                                 f"{type(value)}")
            for identifier in _identifiers(value):
                check = getattr(metrics_module, "check_identifier", None)
                if check is not None:                  # unknown metrics fail here, not in fit
                    check(identifier)
        self.user_metrics, self.user_weighted = metrics, weighted_metrics
        self.output_names = output_names
        self.built = False
        self.plain: list[list] = []                    # per output: its metric objects
        self.weighted: list[list] = []

    @property
    def metrics(self) -> list:
        return [m for group in self.plain + self.weighted for m in group]

    def build(self, y_trues: list, y_preds: list) -> None:
        n = len(y_preds)
        self.plain = self._per_output(self.user_metrics, y_trues, y_preds, n, "metrics")
        self.weighted = self._per_output(self.user_weighted, y_trues, y_preds, n,
                                         "weighted_metrics")
        self._names = self._result_names()
        self.built = True

    def _per_output(self, given, y_trues, y_preds, n: int, argument: str) -> list[list]:
        if not given:
            return [[] for _ in range(n)]
        if n == 1:                                   # one output: every metric applies to it
            return [[metrics_module.resolve(m, np.asarray(y_trues[0]), y_preds[0])
                     for m in _identifiers(given)]]
        names = self.output_names or [None] * n
        if isinstance(given, (list, tuple)) and len(given) == n:
            flat = list(given)
        elif isinstance(given, dict) and set(given) <= set(names):
            flat = [given.get(name) for name in names]
        else:
            raise ValueError(
                f"Invalid `{argument}`. `{argument}` should contain metrics objects and "
                "either be a dict or a list matching the output names of the functional "
                f"model {self.output_names} or match the output structure of the model: "
                f"{['X'] * n}.\nReceived: {argument}={given}")
        return [[metrics_module.resolve(m, np.asarray(yt), yp) for m in _identifiers(entry)]
                for entry, yt, yp in zip(flat, y_trues, y_preds)]

    def _result_names(self) -> list[str]:
        """Keras's names: `<output>_<metric>` with several outputs; a repeated name gets
        `_1`, `_2`; a weighted metric whose name is taken becomes `weighted_<name>`."""
        names, used = [], {}
        prefixes = (self.output_names if len(self.plain) > 1 and self.output_names
                    else [None] * len(self.plain))

        def take(name: str) -> str:
            if name not in used:
                used[name] = 1
                return name
            index = used[name]
            used[name] += 1
            return f"{name}_{index}"

        for prefix, group in zip(prefixes, self.plain):
            names += [take(_prefixed(prefix, m.name)) for m in group]
        for prefix, group in zip(prefixes, self.weighted):
            for m in group:
                name = _prefixed(prefix, m.name)
                names.append(take(name if name not in used
                                  else _prefixed(prefix, f"weighted_{m.name}")))
        return names

    def update_state(self, y_trues: list, y_preds: list, sample_weights: list) -> None:
        if self.user_metrics is None and self.user_weighted is None:
            return                                     # nothing compiled: nothing to do
        if not self.built:
            self.build(y_trues, y_preds)
        for group, yt, yp in zip(self.plain, y_trues, y_preds):
            for m in group:
                m.update_state(yt, yp)
        for group, yt, yp, w in zip(self.weighted, y_trues, y_preds, sample_weights):
            for m in group:
                m.update_state(yt, yp, w)

    def reset_state(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def result(self) -> dict[str, float]:
        return {name: m.result() for name, m in zip(self._names, self.metrics)} \
            if self.built else {}


def _identifiers(given) -> list:
    """Every metric identifier in a compile() argument (a list, a dict of lists, ...)."""
    if given is None:
        return []
    if isinstance(given, dict):
        return [m for entry in given.values() for m in _identifiers(entry)]
    if isinstance(given, (list, tuple)):
        return [m for entry in given for m in _identifiers(entry)]
    return [given]


def _prefixed(prefix: str | None, name: str) -> str:
    return name if prefix is None else f"{prefix}_{name}"


class CompileLoss:
    """compile()'s loss for a model with several outputs (Keras's CompileLoss).

    `loss` is one loss for every output, a list with one per output (None: that output has
    no loss), or a dict keyed by output name covering every output; `loss_weights` a list or
    dict alike. The model's loss is

        L = sum_k w_k * L_k        (float32 adds, left to right, as Keras's Python sum)

    and its gradient at output k is w_k * dL_k/d(output k). Each L_k is also logged,
    UNweighted, as `<output>_loss` when two or more outputs have a loss."""

    def __init__(self, loss, loss_weights, output_names: list[str], where: str) -> None:
        from . import losses as losses_module

        n = len(output_names)
        self.output_names = output_names
        if isinstance(loss, dict):
            if set(loss) != set(output_names):
                raise ValueError(f"{where}: Expected keys {output_names} in loss dict, but "
                                 f"found loss.keys()={list(loss.keys())}")
            per_output = [loss[name] for name in output_names]
        elif isinstance(loss, (list, tuple)):
            if len(loss) != n:
                raise ValueError(f"{where}: loss must have one entry per output ({n}: "
                                 f"{output_names}), got {len(loss)}")
            per_output = list(loss)
        else:
            per_output = [loss] * n
        self.losses = [None if entry is None else losses_module.get(entry)
                       for entry in per_output]
        if all(entry is None for entry in self.losses):
            raise ValueError(f"{where} needs a loss for at least one output")
        self.weights = _per_output_weights(loss_weights, output_names, per_output, where)
        self.active = [k for k, entry in enumerate(self.losses) if entry is not None]

    @property
    def logs_each(self) -> bool:
        """Keras logs `<output>_loss` only when two or more outputs have a loss."""
        return len(self.active) > 1

    def __call__(self, y_trues: list, y_preds: list, sample_weights: list, logits: list,
                 need_grad: bool = True) -> tuple[float, list[float], list]:
        """(L, [L_k for the outputs with a loss], [dL/d(output k) or dL/dz_k or None])."""
        values, grads = [], [None] * len(y_preds)
        total = None
        for k in self.active:
            value, grad = self.losses[k].value_and_grad(
                y_trues[k], y_preds[k], sample_weights[k], logits=logits[k], need_grad=need_grad)
            dtype = np.asarray(y_preds[k]).dtype
            values.append(value)
            weighted = dtype.type(value)
            if self.weights[k] is not None:
                weight = np.asarray(self.weights[k], dtype)
                weighted = weighted * weight
                if grad is not None:
                    grad = grad * weight
            grads[k] = grad
            total = weighted if total is None else total + weighted
        return float(total), values, grads


def _per_output_weights(loss_weights, output_names, per_output, where) -> list:
    n = len(output_names)
    if loss_weights is None:
        return [None] * n
    if isinstance(loss_weights, dict):
        if not set(loss_weights) <= set(output_names):
            raise ValueError(f"{where}: loss_weights keys {sorted(loss_weights)} are not output "
                             f"names {output_names}")
        weights = [loss_weights.get(name) for name in output_names]
    elif isinstance(loss_weights, (list, tuple)):
        if len(loss_weights) != n:
            raise ValueError(f"{where}: `loss_weights` must match the number of losses, got "
                             f"{n} losses and {len(loss_weights)} weights.")
        weights = list(loss_weights)
    else:
        weights = [loss_weights] * n
    for weight in weights:
        if weight is not None and (isinstance(weight, bool)
                                   or not isinstance(weight, (int, float, np.number))):
            raise ValueError(f"{where}: each loss weight must be a number, got {weight!r}")
    return [None if entry is None else weight for weight, entry in zip(weights, per_output)]

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

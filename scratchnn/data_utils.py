"""Checks and splits of the arrays handed to fit / evaluate / predict: the door.

Bad input is refused here, before any layer sees it, with a ValueError or TypeError
naming the argument (x, y, sample_weight, validation_data, batch_size, ...), what was
expected and what was given:

    fit: y has shape (32, 3), but the model's output is (None, 1) and BinaryCrossentropy
    needs y of shape (32, 1) or (32,)

What is checked, once per call (never per batch):
  - every array is rectangular and holds real numbers (bool, int or float; not text,
    None, complex numbers or other objects), with a batch axis and at least one sample;
  - x has the rank and per-sample shape the model was built for (an unbuilt model is
    built from x, as Keras does), and no zero-size dimension;
  - y fits the model's output under the compiled loss (the loss's own alignment rule:
    sparse labels (N,) or (N, 1) in [0, classes); one-hot (N, classes); (N,) or (N, d)
    for binary crossentropy and regressions);
  - sample_weight holds one weight per sample: (N,) or (N, 1);
  - x, y and sample_weight have the same number of samples.
NaN and inf VALUES are accepted in x, y (except sparse labels) and sample_weight: they
train to NaN, as in Keras, and TerminateOnNaN or the progress line shows it.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import config, losses

Array = np.ndarray
_NOT_FOUND = object()       # marks 'no bad entry found'


# -- scalar arguments --------------------------------------------------------------------
def check_positive_int(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def check_nonnegative_int(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")


def check_verbose(verbose) -> int:
    """"auto" (= 1), 0, 1 or 2, as Keras accepts."""
    if isinstance(verbose, str) and verbose == "auto":
        return 1
    if isinstance(verbose, bool) or not isinstance(verbose, (int, np.integer)) \
            or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


# -- arrays ------------------------------------------------------------------------------
def as_numeric_array(value, name: str, where: str) -> Array:
    """`value` as an ndarray of real numbers (bool, int or float), or a clear error."""
    if value is None:
        raise TypeError(f"{where}: {name} is None; expected an array of numbers")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{where}: {name} must be an array of numbers, got the string {value!r:.40}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise ValueError(f"{where}: {name} could not be made into one array: it is a nested "
                         "sequence whose rows have different lengths (ragged) or mixes "
                         "arrays of different shapes") from None
    kind = array.dtype.kind
    if kind == "O":
        # Python objects: fine if each is a real number (int, Fraction, Decimal, ...); None
        # is refused rather than read as NaN, as NumPy's float conversion would.
        bad = next((v for v in array.flat if not isinstance(v, numbers.Number)
                    or isinstance(v, complex)), _NOT_FOUND)
        if bad is not _NOT_FOUND:
            raise TypeError(f"{where}: {name} holds {type(bad).__name__} values such as "
                            f"{bad!r:.40}; expected an array of real numbers")
        array = array.astype(np.float64)
    elif kind == "c":
        raise TypeError(f"{where}: {name} holds complex numbers (dtype {array.dtype}); "
                        "scratchnn computes with real numbers only")
    elif kind in "USa":
        raise TypeError(f"{where}: {name} holds text (dtype {array.dtype}); convert it to "
                        "numbers first")
    elif kind not in "biuf":
        raise TypeError(f"{where}: {name} must hold numbers (bool, int or float), got dtype "
                        f"{array.dtype}")
    return array


def _batched(array: Array, name: str, where: str) -> Array:
    if array.ndim == 0:
        raise ValueError(f"{where}: {name} must be an array with a batch axis (one entry per "
                         f"sample), got the scalar {array!r}")
    return array


def _input_shapes(model) -> list:
    """The per-input shapes a built model expects: [input_shape] for a Sequential, one per
    input for a graph (model.inputs)."""
    if getattr(model, "inputs", None) and hasattr(model, "nodes"):
        return [t.shape for t in model.inputs]
    return [model.input_shape]


def split_structure(model, data, what: str, where: str, names: list[str] | None,
                    keys: list[str] | None = None) -> list:
    """A model's inputs (or targets) as a flat list in model order: a list/tuple in that
    order, a dict keyed by `keys` (input or output names), or one array for one entry."""
    count = len(names)
    keys = keys or names
    if isinstance(data, dict):
        missing = [k for k in keys if k not in data]
        if missing:
            raise ValueError(f'{where}: Missing data for {what} "{missing[0]}". You passed a '
                             f"data dictionary with keys {list(data)}. Expected the following "
                             f"keys: {keys}")
        return [data[k] for k in keys]
    if isinstance(data, (list, tuple)) and count > 1:
        if len(data) != count:
            raise ValueError(f"{where}: {model._describe()} expects {count} {what}s "
                             f"({keys}), but it received {len(data)} arrays. Pass one per "
                             f"{what}, in order, or a dict keyed by {what} name")
        return list(data)
    if count > 1:
        raise ValueError(f"{where}: {model._describe()} has {count} {what}s ({keys}): pass a "
                         f"list of {count} arrays or a dict keyed by {what} name, got "
                         f"{type(data).__name__}")
    return [data]


def check_inputs(model, x, where: str, name: str = "x", allow_empty: bool = False):
    """x as floatx array(s) that fit `model`'s input(s) (building an unbuilt model from it).
    A model with several inputs takes a list in model.inputs order or a dict keyed by the
    inputs' names, and gets a list back."""
    multi = hasattr(model, "nodes") and (len(model.inputs) > 1 or isinstance(x, dict))
    if not multi:                         # one input (every Sequential): predict's per-call path
        array = _input_array(x, name, where, allow_empty)
        if model.built:
            _check_shape(model, array, name, _input_shapes(model)[0], where)
        return model._as_input(array)
    names = [t.history.layer.name for t in model.inputs]
    xs = split_structure(model, x, "input", where, names)
    labels = [f"{name}[{n!r}]" for n in names] if len(names) > 1 else [name]
    arrays = [_input_array(array, label, where, allow_empty) for array, label in zip(xs, labels)]
    _same_count(arrays, labels, where)
    if model.built:
        for array, label, expected in zip(arrays, labels, _input_shapes(model)):
            _check_shape(model, array, label, expected, where)
    return model._as_input(arrays if len(arrays) > 1 else arrays[0])


def _input_array(x, label: str, where: str, allow_empty: bool) -> Array:
    """One input as an array of numbers with a batch axis, samples and values in each."""
    array = _batched(as_numeric_array(x, label, where), label, where)
    if len(array) == 0 and not allow_empty:
        raise ValueError(f"{where}: {label} holds no samples (shape {array.shape})")
    if 0 in array.shape[1:]:
        raise ValueError(f"{where}: {label} has a dimension of size 0 (shape "
                         f"{array.shape}); each sample needs at least one value")
    return array


def _check_shape(model, x: Array, name: str, expected: tuple, where: str) -> None:
    if x.ndim != len(expected) or any(e is not None and e != s
                                      for e, s in zip(expected[1:], x.shape[1:])):
        what = (f"with last dimension {expected[-1]} (input shape {_fmt(expected)})"
                if x.ndim == len(expected) and x.shape[1:-1] == tuple(expected[1:-1])
                else f"of shape {_fmt(expected)} (N samples of shape {_fmt(expected[1:])})")
        raise ValueError(f"{where}: {name} has shape {x.shape}, but {model._describe()} "
                         f"expects inputs {what}")


def _same_count(arrays: list, labels: list[str], where: str) -> None:
    sizes = [len(a) for a in arrays]
    if len(set(sizes)) > 1:
        raise ValueError(f"{where}: Data cardinality is ambiguous. Make sure all arrays "
                         f"contain the same number of samples. "
                         + ", ".join(f"{label}: {size}" for label, size in zip(labels, sizes)))


def check_targets(model, y: Array, sample_weight: Array | None, n: int, where: str,
                  prefix: str = "", loss=None, output: tuple | None = None) -> None:
    """y against the model's output and loss; sample_weight against the per-sample loss."""
    loss = model.loss if loss is None else loss
    output = model.output_shape if output is None else output
    # The loss aligns y with a prediction of the output's shape (a zero-cost broadcast
    # view: only shapes and labels matter here), exactly as it will during training.
    y_pred = np.broadcast_to(np.asarray(0.5, config.floatx()),
                             (n, *(1 if d is None else d for d in output[1:])))
    if isinstance(loss, losses.SparseCategoricalCrossentropy) and not np.all(np.isfinite(y)):
        raise ValueError(f"{where}: {prefix}y holds NaN or inf, but "
                         f"{type(loss).__name__} needs integer class labels")
    try:
        loss._prepare(y, y_pred)
    except ValueError as err:
        raise ValueError(f"{where}: {prefix}y (shape {y.shape}) does not fit the model's "
                         f"output {_fmt(output)} under {type(loss).__name__}: {err}") from None
    if sample_weight is not None:
        per_sample = (n, *output[1:-1])        # every loss reduces the last axis
        if sample_weight.shape not in (per_sample, (*per_sample, 1)):
            raise ValueError(f"{where}: {prefix}sample_weight must hold one weight per sample, "
                             f"shape {per_sample} or {(*per_sample, 1)}, got shape "
                             f"{sample_weight.shape}")


def check_data(x, y, sample_weight, where: str, model=None, prefix: str = ""):
    """x, y (and sample_weight) as arrays with the same number of samples; with a
    compiled `model`, also checked against its input(s), output(s) and loss(es) (x then
    comes back cast to floatx). `prefix` names the source in messages ("validation_data's
    "). A model with several outputs takes y (and sample_weight, or one array for all) as a
    list in output order or a dict keyed by output name, and gets lists back."""
    if x is None or y is None:
        raise ValueError(f"{where} needs both x and y (got {prefix}x={type(x).__name__}, "
                         f"{prefix}y={type(y).__name__})")
    if model is not None and getattr(model, "is_multi_output", False):
        return model.check_multi_output_data(x, y, sample_weight, where, prefix)
    multi_in = model is not None and hasattr(model, "nodes") and (
        len(model.inputs) > 1 or isinstance(x, dict))
    if not multi_in:
        x = _batched(as_numeric_array(x, prefix + "x", where), prefix + "x", where)
    y = _batched(as_numeric_array(y, prefix + "y", where), prefix + "y", where)
    n = len(x[0] if multi_in and isinstance(x, (list, tuple)) else x) if not isinstance(
        x, dict) else len(next(iter(x.values())))
    if n != len(y):
        raise ValueError(f"{where}: {prefix}x and {prefix}y must have the same number of "
                         f"samples, got {n} and {len(y)}")
    if n == 0:
        raise ValueError(f"{where}: got no samples ({prefix}x holds none)")
    sample_weight = check_sample_weight(sample_weight, n, where, prefix)
    if model is not None:
        x = check_inputs(model, x, where, prefix + "x")
        check_targets(model, y, sample_weight, n, where, prefix)
    return x, y, sample_weight


def check_sample_weight(sample_weight, n: int, where: str, prefix: str = "",
                        name: str = "sample_weight"):
    if sample_weight is None:
        return None
    label = prefix + name
    sample_weight = _batched(as_numeric_array(sample_weight, label, where), label, where)
    if len(sample_weight) != n:
        raise ValueError(f"{where}: {label} has {len(sample_weight)} entries for {n} samples")
    return sample_weight


def unpack_validation(data) -> tuple:
    """(x_val, y_val) or (x_val, y_val, sample_weight) -> a 3-tuple."""
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                         f"(x_val, y_val, sample_weight), got {type(data).__name__}"
                         + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))
    return tuple(data) if len(data) == 3 else (data[0], data[1], None)


def split_validation(x: Array, y: Array, sample_weight: Array | None,
                     validation_split: float) -> tuple[tuple, tuple]:
    """((x, y, w) to train on, (x, y, w) to validate on): the LAST fraction validates,
    taken before any shuffling (Keras's rule: split_at = floor(N * (1 - split)))."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0 < validation_split < 1:
        raise ValueError(f"fit: validation_split must be a float in [0, 1), got "
                         f"{validation_split!r}")
    from .data_adapters import n_samples, take        # (arrays, or lists of them)

    n = n_samples(x)
    split_at = int(np.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:               # Keras's check and message
        raise ValueError(f"fit: Training data contains {n} samples, which is not "
                         "sufficient to split it into a validation and training set as "
                         f"specified by `validation_split={validation_split}`. Either provide "
                         "more data, or a different value for the `validation_split` argument.")
    head, tail = slice(0, split_at), slice(split_at, None)
    return ((take(x, head), take(y, head), take(sample_weight, head)),
            (take(x, tail), take(y, tail), take(sample_weight, tail)))


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (
        ",)" if len(shape) == 1 else ")")

"""A model's compile() arguments <-> Keras 3's `compile_config`, both ways.

    "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam",
                                     "config": {"name": "adam", "learning_rate": 0.02, ...}},
                       "loss": "binary_crossentropy", "loss_weights": None,
                       "metrics": ["accuracy"], "weighted_metrics": None, ...}

The optimizer is always written in full (its learning rate may have been changed
since compile). The loss is written as its Keras name when it has its default
settings (as a tutorial's `loss="binary_crossentropy"` is), else as a Keras object.
Metrics are written as given to compile: names as names, metric objects as objects (with
their own dtype). A model with several outputs keeps compile()'s structures (Keras writes
them as given):

    "loss": ["sparse_categorical_crossentropy", None], "loss_weights": [1.0, 0.5],
    "metrics": {"out1": ["accuracy"]}, "weighted_metrics": [None, ["mse"]]

The optimizer's base options (weight_decay, clipnorm, global_clipnorm, clipvalue) travel
both ways, and so does a learning-rate schedule, written as Keras serializes it in the
optimizer's config:

    "learning_rate": {"module": "keras.optimizers.schedules", "class_name": "CosineDecay",
                      "config": {"initial_learning_rate": 0.1, "decay_steps": 1000, ...},
                      "registered_name": None}

(the schedule reads the optimizer's `iterations`, saved with its state, so training
resumes at the same rate). What Keras cannot represent (a user's own loss function or
metric, a subclassed optimizer or schedule) is left out with a warning: the model still
saves, and Keras loads it uncompiled or without that metric. Reading refuses, by name,
whatever scratchnn lacks (another optimizer, a user's own schedule class, EMA, loss
scaling, gradient accumulation, a loss or metric scratchnn does not have), and compile()
itself refuses what does not fit the model (e.g. loss_weights for a single output).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import losses, metrics as metrics_module, optimizers
from ..optimizers import schedules
from .state import InvalidFile

# Options every Keras 3.15 optimizer takes, in its config's order: the first four are
# scratchnn's too, the rest it lacks (written with these values, which mean "off").
_OPTIMIZER_OPTIONS = ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue")
_OPTIMIZER_BASE = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                   "loss_scale_factor": None, "gradient_accumulation_steps": None}
_ADAM = ("beta_1", "beta_2", "epsilon", "amsgrad")
_OPTIMIZER_KEYS = {optimizers.SGD: ("SGD", ("momentum", "nesterov")),
                   optimizers.Adam: ("Adam", _ADAM),
                   optimizers.AdamW: ("AdamW", _ADAM),
                   optimizers.RMSprop: ("RMSprop", ("rho", "momentum", "epsilon", "centered")),
                   optimizers.Adagrad: ("Adagrad", ("initial_accumulator_value", "epsilon")),
                   optimizers.Adamax: ("Adamax", ("beta_1", "beta_2", "epsilon")),
                   optimizers.Nadam: ("Nadam", ("beta_1", "beta_2", "epsilon"))}
_LOSS_KEYS = {losses.BinaryCrossentropy: ("from_logits", "label_smoothing", "axis"),
              losses.CategoricalCrossentropy: ("from_logits", "label_smoothing", "axis"),
              losses.SparseCategoricalCrossentropy: ("from_logits", "ignore_class"),
              losses.MeanSquaredError: (), losses.MeanAbsoluteError: ()}
_METRIC_CLASSES = {metrics_module.BinaryAccuracy: "BinaryAccuracy",
                   metrics_module.CategoricalAccuracy: "CategoricalAccuracy",
                   metrics_module.SparseCategoricalAccuracy: "SparseCategoricalAccuracy",
                   metrics_module.MeanAbsoluteError: "MeanAbsoluteError",
                   metrics_module.MeanSquaredError: "MeanSquaredError",
                   metrics_module.Mean: "Mean"}


def _object(module: str, class_name: str, cfg: dict) -> dict:
    return {"module": module, "class_name": class_name, "config": cfg, "registered_name": None}


def _warn(model, action: str, what: str, consequence: str) -> None:
    warnings.warn(f"{action} {model._describe()}: {what} has no Keras equivalent; "
                  f"{consequence}", stacklevel=5)


# -- writing --------------------------------------------------------------------------------
def optimizer_to_keras(opt) -> dict | None:
    schedule = getattr(opt, "learning_rate_schedule", None)
    if type(opt) not in _OPTIMIZER_KEYS or (schedule is not None
                                             and type(schedule) not in schedules.KERAS_CLASSES):
        return None
    class_name, keys = _OPTIMIZER_KEYS[type(opt)]
    rate = schedules.serialize(schedule) if schedule is not None else float(opt.learning_rate)
    cfg = {"name": opt.name, "learning_rate": rate}
    cfg.update({key: getattr(opt, key) for key in _OPTIMIZER_OPTIONS})
    cfg.update(_OPTIMIZER_BASE)
    cfg.update({key: getattr(opt, key) for key in keys})
    return _object("keras.optimizers", class_name, cfg)


def loss_to_keras(loss, as_name: bool = True):
    """A loss as Keras's dict; as its Keras name when `as_name` and it has its default
    settings (compile's string is then what it most likely was given); None when Keras has
    no such loss."""
    if type(loss) not in _LOSS_KEYS:
        return None
    cfg = {"name": loss.name, "reduction": loss.reduction}
    extra = {"from_logits": getattr(loss, "from_logits", False),
             "label_smoothing": getattr(loss, "label_smoothing", 0.0), "axis": -1,
             "ignore_class": None}
    cfg.update({key: extra[key] for key in _LOSS_KEYS[type(loss)]})
    default = type(loss)()
    if as_name and loss.get_config() == default.get_config():
        return default.name                  # e.g. "binary_crossentropy", as compile got it
    return _object("keras.losses", type(loss).__name__, cfg)


def metric_to_keras(metric):
    """A name as given, a metric object as Keras's dict (with its own dtype), or None."""
    if isinstance(metric, str):
        return metric
    if type(metric) not in _METRIC_CLASSES:
        return None
    cfg = {"name": metric.name, "dtype": np.dtype(metric.dtype).name}
    if isinstance(metric, metrics_module.BinaryAccuracy):
        cfg["threshold"] = float(metric.threshold)
    return _object("keras.metrics", _METRIC_CLASSES[type(metric)], cfg)


def compile_config(model, action: str = "Saving") -> dict:
    """Keras's compile_config for `model`: {} when it is not compiled.

    With several outputs, `loss`, `loss_weights`, `metrics` and `weighted_metrics` keep the
    structure compile() was given (a list per output with None where an output has none, or
    a dict by output name), each entry written as above."""
    if not getattr(model, "compiled", False):
        return {}
    optimizer, loss = optimizer_to_keras(model.optimizer), _losses_to_keras(model)
    if optimizer is None or loss is None:
        compiled_losses = (model._compile_loss.losses
                           if getattr(model, "is_multi_output", False) else [model.loss])
        what = "loss " + ", ".join(repr(loss) for loss in compiled_losses
                                   if loss is not None and loss_to_keras(loss) is None)
        if optimizer is None:
            what = f"optimizer {type(model.optimizer).__name__}"
            if type(model.optimizer) in _OPTIMIZER_KEYS:      # then its schedule is a user's
                what += (" with learning-rate schedule "
                         f"{type(model.optimizer.learning_rate_schedule).__name__}")
        consequence = ("the file records the model uncompiled (weights and optimizer state "
                       "are still saved)" if action == "Saving" else "the clone is not compiled")
        _warn(model, action, what, consequence)
        return {}
    compiled = model._compile_metrics
    return {"optimizer": optimizer, "loss": loss, "loss_weights": _loss_weights_to_keras(model),
            "metrics": _metrics_to_keras(model, compiled.user_metrics, action),
            "weighted_metrics": _metrics_to_keras(model, compiled.user_weighted, action),
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def _losses_to_keras(model):
    """The loss entry: one loss, or per output in the structure compile() was given (a name
    written as given, as Keras writes it); None when a loss has no Keras equivalent."""
    if not getattr(model, "is_multi_output", False):
        return loss_to_keras(model.loss)
    given, names = model._user_loss, model._compile_loss.output_names  # (dict outputs: keys)
    if isinstance(given, dict):
        given = [given[name] for name in names]
    elif not isinstance(given, (list, tuple)):
        given = [given] * len(names)
    # Keras writes each entry as given: a name as that name, a Loss object as its dict.
    entries = [None if loss is None else entry if isinstance(entry, str)
               else loss_to_keras(loss, as_name=False)
               for entry, loss in zip(given, model._compile_loss.losses)]
    if any(entry is None and loss is not None
           for entry, loss in zip(entries, model._compile_loss.losses)):
        return None
    if isinstance(model._user_loss, dict):
        return {key: entries[names.index(key)] for key in model._user_loss}
    if isinstance(model._user_loss, (list, tuple)) or _loss_weights_to_keras(model) is not None:
        return entries        # one loss for all, with weights: Keras wants a list then
    return entries[0]


def _loss_weights_to_keras(model):
    """The weights per output (None where an output has none), like the loss: a dict by
    output name for a dict loss, else a list; None when no weight was given."""
    compile_loss = getattr(model, "_compile_loss", None)
    if not getattr(model, "is_multi_output", False) or compile_loss is None:
        return None
    weights = [None if w is None else float(w) for w in compile_loss.weights]
    if all(w is None for w in weights):
        return None
    if isinstance(model._user_loss, dict):
        names = compile_loss.output_names
        return {key: weights[names.index(key)] for key in model._user_loss}
    return weights


def _metrics_to_keras(model, given, action: str):
    """compile()'s metrics (or weighted_metrics) in their structure, each metric written by
    metric_to_keras; one Keras cannot represent is left out with a warning."""
    def entry(metric):
        out = metric_to_keras(metric)
        if out is None:
            _warn(model, action, f"metric {metric!r}", "it is left out" + (
                " of the file" if action == "Saving" else " of the clone's compile"))
        return out

    def convert(value, keep_places: bool = False):
        if isinstance(value, (list, tuple)):
            out = [convert(item) for item in value]
            return out if keep_places else [item for item in out if item is not None]
        return None if value is None else entry(value)

    if not given:
        return None
    if isinstance(given, dict):
        return {key: convert(value) for key, value in given.items()}
    # With several outputs a list is per output: a metric left out leaves None in its place.
    return convert(given, keep_places=getattr(model, "is_multi_output", False)) or None


# -- reading --------------------------------------------------------------------------------
def _class_and_config(entry, what: str, fail) -> tuple[str, dict]:
    if not (isinstance(entry, dict) and isinstance(entry.get("class_name"), str)
            and isinstance(entry.get("config", {}), dict)):
        raise fail(f"{what} {entry!r:.100} is not a Keras object")
    if entry.get("registered_name") not in (None, entry["class_name"]):
        raise fail(f"{what} is a custom class {entry['registered_name']!r}")
    return entry["class_name"], dict(entry.get("config") or {})


def _check_rest(cfg: dict, defaults: dict, what: str, fail) -> None:
    """Options scratchnn lacks must be off: at their 'off' value, or None."""
    for key, value in cfg.items():
        off = defaults.get(key)
        if value is not None and value != off:
            raise fail(f"{what}: option {key}={value!r} is not supported by scratchnn")


def optimizer_from_keras(entry, fail):
    if isinstance(entry, str):
        try:
            return optimizers.get(entry)
        except ValueError as err:
            raise fail(f"optimizer {entry!r} is not supported by scratchnn ({err})") from None
    class_name, cfg = _class_and_config(entry, "the optimizer", fail)
    by_name = {name: cls for cls, (name, _) in _OPTIMIZER_KEYS.items()}
    if class_name not in by_name:
        raise fail(f"optimizer {class_name} is not supported by scratchnn (it has "
                   f"{sorted(by_name)})")
    cls = by_name[class_name]
    what = f"optimizer {class_name}"
    lr = cfg.pop("learning_rate", None)
    if isinstance(lr, dict):
        lr = schedule_from_keras(lr, what, fail)
    kwargs = {key: cfg.pop(key) for key in (*_OPTIMIZER_KEYS[cls][1], *_OPTIMIZER_OPTIONS)
              if key in cfg}
    if lr is not None:
        kwargs["learning_rate"] = lr
    name = cfg.pop("name", None)
    if use_ema := cfg.get("use_ema"):
        raise fail(f"{what}: option use_ema={use_ema!r} is not supported by scratchnn")
    cfg.pop("ema_momentum", None)                       # meaningful only with use_ema
    _check_rest(cfg, {**_OPTIMIZER_BASE, "is_legacy_optimizer": False, "decay": 0.0}, what, fail)
    try:
        opt = cls(**kwargs) if name is None else cls(**kwargs, name=str(name))
    except (ValueError, TypeError) as err:
        raise fail(f"{what}: {err}") from None
    return opt


def schedule_from_keras(entry: dict, what: str, fail) -> schedules.LearningRateSchedule:
    """A learning-rate schedule from its serialized form in an optimizer's config: one of
    Keras's own (module keras.optimizers.schedules); a user's class is refused by name."""
    class_name, cfg = _class_and_config(entry, f"{what}: the learning-rate schedule", fail)
    known = [cls.__name__ for cls in schedules.KERAS_CLASSES]
    if entry.get("module", "keras.optimizers.schedules") != "keras.optimizers.schedules":
        raise fail(f"{what}: learning-rate schedule {class_name!r} from module "
                   f"{entry.get('module')!r} is a custom class, not supported by scratchnn "
                   f"(it has Keras's {known})")
    if class_name not in known:
        raise fail(f"{what}: learning-rate schedule {class_name!r} is not supported by "
                   f"scratchnn (it has {known})")
    try:
        return schedules.deserialize({"class_name": class_name, "config": cfg})
    except (ValueError, TypeError) as err:
        raise fail(f"{what}: learning-rate schedule {class_name}: {err}") from None


def loss_from_keras(entry, fail):
    if isinstance(entry, dict) and entry.get("class_name") == "function":
        entry = entry.get("config")
    if isinstance(entry, str):
        try:
            return losses.get(entry)
        except ValueError as err:
            raise fail(f"loss {entry!r} is not supported by scratchnn ({err})") from None
    class_name, cfg = _class_and_config(entry, "the loss", fail)
    by_name = {cls.__name__: cls for cls in _LOSS_KEYS}
    if class_name not in by_name:
        raise fail(f"loss {class_name} is not supported by scratchnn (it has {sorted(by_name)})")
    cls = by_name[class_name]
    kwargs = {key: cfg.pop(key) for key in ("from_logits", "label_smoothing", "reduction", "name")
              if key in cfg and key in (*_LOSS_KEYS[cls], "reduction", "name")}
    if cfg.pop("axis", -1) != -1:
        raise fail(f"loss {class_name}: only axis=-1 is supported")
    cfg.pop("dtype", None)                              # scratchnn computes in floatx
    _check_rest(cfg, {}, f"loss {class_name}", fail)
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as err:
        raise fail(f"loss {class_name}: {err}") from None


def metric_from_keras(entry, fail):
    if isinstance(entry, dict) and entry.get("class_name") == "function":
        entry = entry.get("config")                     # e.g. keras.metrics.mae, by name
    if isinstance(entry, str):
        try:
            metrics_module.check_identifier(entry)
        except ValueError as err:
            raise fail(f"metric {entry!r} is not supported by scratchnn ({err})") from None
        return entry
    class_name, cfg = _class_and_config(entry, "a metric", fail)
    by_name = {name: cls for cls, name in _METRIC_CLASSES.items()}
    if class_name not in by_name:
        raise fail(f"metric {class_name} is not supported by scratchnn (it has {sorted(by_name)})")
    kwargs = {key: cfg.pop(key) for key in ("name", "threshold", "dtype") if key in cfg}
    if "threshold" in kwargs and class_name != "BinaryAccuracy":
        raise fail(f"metric {class_name}: option threshold is not supported")
    _check_rest(cfg, {}, f"metric {class_name}", fail)
    try:
        return by_name[class_name](**kwargs)
    except (ValueError, TypeError) as err:
        raise fail(f"metric {class_name}: {err}") from None


def _loss_entry(entry, fail):
    """A loss of compile_config for compile(): a name stays a name (checked), as Keras keeps
    it, so that the model writes it back as it was given; anything else a Loss object."""
    loss = loss_from_keras(entry, fail)
    if isinstance(entry, dict) and entry.get("class_name") == "function":
        entry = entry.get("config")
    return entry if isinstance(entry, str) else loss


def _is_keras_object(entry) -> bool:
    return isinstance(entry, dict) and "class_name" in entry


def _per_output(entry, read, what: str, fail):
    """An entry of compile_config read with `read`, keeping its structure: one object (a
    name or a Keras object), or a list / dict of them per output (None: nothing there)."""
    if entry is None:
        return None
    if isinstance(entry, list):
        return [_per_output(item, read, what, fail) for item in entry]
    if isinstance(entry, dict) and not _is_keras_object(entry):
        if not all(isinstance(key, str) for key in entry):
            raise fail(f"{what} {entry!r:.100} should be keyed by output names")
        return {key: _per_output(item, read, what, fail) for key, item in entry.items()}
    return read(entry, fail)


def _weight(value, fail):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(f"loss_weights: each weight should be a number, got {value!r}")
    return value


def _unwrap_single(model, entry):
    """A one-output model's loss written as [loss] or {name: loss} (Keras accepts both): the
    loss itself, which is what a Sequential's compile takes."""
    if getattr(model, "is_multi_output", False):
        return entry
    if isinstance(entry, list) and len(entry) == 1:
        return entry[0]
    if isinstance(entry, dict) and not _is_keras_object(entry) and len(entry) == 1:
        return next(iter(entry.values()))
    return entry


def compile_from_keras(model, cfg, where: str) -> None:
    """Compile `model` as the file's compile_config says (nothing when it is empty).

    Several outputs' losses, loss_weights, metrics and weighted_metrics are read in their
    structure (a list per output, a dict by output name, None entries) and given to
    compile() as such: compile checks them against the model's outputs."""
    def fail(message: str) -> InvalidFile:
        return InvalidFile(f"Cannot load '{where}': compile_config: {message}")

    if not cfg:
        return
    if not isinstance(cfg, dict):
        raise fail(f"should be a JSON object, got {type(cfg).__name__}")
    cfg = dict(cfg)
    optimizer = optimizer_from_keras(cfg.pop("optimizer", "rmsprop"), fail)
    loss = _unwrap_single(model, _per_output(cfg.pop("loss", None), _loss_entry, "loss", fail))
    if loss is None:
        raise fail("it holds no loss; scratchnn compiles a model with a loss only")
    loss_weights = _per_output(cfg.pop("loss_weights", None), _weight, "loss_weights", fail)
    metrics, weighted = (_per_output(cfg.pop(key, None), metric_from_keras, key, fail)
                         for key in ("metrics", "weighted_metrics"))
    # run_eagerly, steps_per_execution, jit_compile, auto_scale_loss: how Keras runs the
    # step, not what it computes; they have no meaning here.
    try:
        model.compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights,
                      metrics=metrics or None, weighted_metrics=weighted or None)
    except (ValueError, TypeError) as err:
        raise fail(str(err)) from None

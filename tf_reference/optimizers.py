"""Keras twins of scratchnn optimizers (for to_keras and the parity tests)."""

from __future__ import annotations

import keras

import scratchnn as snn

# scratchnn class -> Keras class of the same name, arguments and defaults.
_TWINS = {snn.optimizers.SGD: keras.optimizers.SGD, snn.optimizers.Adam: keras.optimizers.Adam,
          snn.optimizers.AdamW: keras.optimizers.AdamW,
          snn.optimizers.RMSprop: keras.optimizers.RMSprop,
          snn.optimizers.Adagrad: keras.optimizers.Adagrad,
          snn.optimizers.Adamax: keras.optimizers.Adamax,
          snn.optimizers.Nadam: keras.optimizers.Nadam}

_SCHEDULE_TWINS = {cls: getattr(keras.optimizers.schedules, cls.__name__)
                   for cls in snn.optimizers.schedules.KERAS_CLASSES}


def keras_schedule(schedule: snn.optimizers.schedules.LearningRateSchedule):
    """The Keras schedule of the same class and config."""
    if type(schedule) not in _SCHEDULE_TWINS:
        raise TypeError(f"to_keras: no Keras twin for learning-rate schedule "
                        f"{type(schedule).__name__}")
    return _SCHEDULE_TWINS[type(schedule)].from_config(schedule.get_config())


def keras_optimizer(opt: snn.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """The Keras optimizer with the same class, hyper-parameters and options (weight_decay,
    clipnorm, global_clipnorm, clipvalue) as a scratchnn one, and the current learning
    rate, or the same schedule (a fresh Keras one with the same config, which then reads
    the Keras optimizer's own step count). Its state starts fresh; weights excluded from
    weight decay are not carried (Keras names them by its own variables: call its
    exclude_from_weight_decay)."""
    if type(opt) not in _TWINS:
        raise TypeError(f"to_keras: no Keras twin for optimizer {type(opt).__name__}")
    cfg = opt.get_config()
    cfg.pop("name")
    schedule = opt.learning_rate_schedule
    cfg["learning_rate"] = (keras_schedule(schedule) if schedule is not None
                            else float(opt.learning_rate))
    return _TWINS[type(opt)](**cfg)

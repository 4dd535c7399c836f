"""The loops around the training step: compile, fit, evaluate, predict (Keras's `Trainer`).

`Sequential` (model.py) knows its layers: forward, backward, weights. step.py holds what
happens to one batch (`_train_batch`: forward, loss, backward, update, metrics). This module
runs the epochs and batches around it, and the callbacks:

    for epoch in range(initial_epoch, epochs):
        for step in batches.steps():          # arrays, a generator or a PyDataset
            batch = batches.next(step)        # (data_adapters.py)
            model._train_batch(*batch)        # step.py
        validation (evaluate on validation_data, every validation_freq epochs)
        callbacks.on_epoch_end(epoch, logs)

Arrays are checked once, at the door (data_utils.py); batches from a generator or a
PyDataset are checked as they come, and an error names the batch.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import callbacks as callbacks_module
from . import config, interrupts, losses, metrics as metrics_module, optimizers, parallel
from . import random as scratch_random
from .callbacks.base import pythonify_logs
from .compile_utils import CompileMetrics
from .data_adapters import ArrayData, EpochIterator, adapt, is_batch_source, n_samples, take
from .data_utils import (check_data, check_inputs, check_nonnegative_int, check_positive_int,
                         check_verbose, split_validation, unpack_validation)
from .step import TrainingStep

Array = np.ndarray

# predict's batches pass through the layers in slices whose largest layer output is at
# most this many bytes. Each layer then reads its input while it is still in the CPU's
# cache, and works in memory already mapped, instead of streaming fresh arrays of many
# megabytes (a batch of 256 in the conv32 CNN makes 22 MB per layer). Inference treats
# every sample alone, so slicing changes nothing but the time; Conv2D bounds its own
# windows the same way (INFERENCE_CHUNK_BYTES).
PREDICT_SLICE_BYTES = 2 * 2**20

# compile()'s Keras arguments that change nothing in an engine that always runs eagerly
# on the CPU, with the value each must keep (any other is refused by name).
_COMPILE_DEFAULTS = {"run_eagerly": (False, True),
                     "steps_per_execution": 1, "jit_compile": ("auto", False),
                     "auto_scale_loss": (True, False)}


class Trainer(TrainingStep):
    """compile / fit / evaluate / predict for a model with forward, backward and weights."""

    def _init_trainer(self) -> None:
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self._compile_metrics = CompileMetrics(None, None)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.stop_training = False
        self.history: callbacks_module.History | None = None
        self.epoch_order: Array | None = None      # the sample order of the current epoch

    # -- compile ---------------------------------------------------------------------------
    def compile(self, optimizer: str | optimizers.Optimizer = "rmsprop",
                loss: str | losses.Loss | Callable | None = None, loss_weights=None,
                metrics: list | None = None, weighted_metrics: list | None = None,
                **kwargs) -> None:
        """Choose the optimizer, loss and metrics (objects or Keras strings).
        `metrics` are computed without sample weights, `weighted_metrics` with them, as in
        Keras 3."""
        for key, value in kwargs.items():
            if key not in _COMPILE_DEFAULTS:
                raise TypeError(f"{self._describe()}.compile() got an unexpected keyword "
                                f"argument '{key}'")
            allowed = _COMPILE_DEFAULTS[key]
            if value not in (allowed if isinstance(allowed, tuple) else (allowed,)):
                raise ValueError(f"{self._describe()}.compile: {key}={value!r} is not "
                                 f"supported by scratchnn (it accepts {allowed!r})")
        if loss_weights is not None:
            raise ValueError(f"{self._describe()}.compile: loss_weights is not supported by "
                             "scratchnn for a single-output model")
        if loss is None:
            raise ValueError(f"{self._describe()}.compile needs a loss")
        compile_metrics = CompileMetrics(metrics, weighted_metrics,
                                         where=f"{self._describe()}.compile")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self._compile_metrics = compile_metrics
        self.on_compile()

    def on_compile(self) -> None:
        """What a model resets when compiled again (model.py: the trainable flags the next
        training step takes)."""

    @property
    def compiled(self) -> bool:
        return self.loss is not None

    @property
    def compiled_metric_ids(self) -> list | dict:
        """The metrics exactly as given to compile() (names, functions or Metric objects;
        per output, a list or dict of them, for a model with several outputs)."""
        return _copied(self._compile_metrics.user_metrics)

    @property
    def compiled_weighted_metric_ids(self) -> list | dict:
        """The weighted_metrics exactly as given to compile()."""
        return _copied(self._compile_metrics.user_weighted)

    def _describe(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    # -- data ------------------------------------------------------------------------------
    def epoch_order_for(self, epoch: int, n_samples: int, shuffle: bool) -> Array:
        """The order in which epoch `epoch` visits the samples: Keras 3.15.1's.

        shuffle=True: TensorFlow's RandomShuffle as Keras runs it (`random.fit_permutation`).
        After `utils.set_random_seed(s)` that is the SAME permutation in every epoch (a quirk
        of this Keras version, reproduced); without a seed, a fresh one every epoch."""
        if not shuffle:
            return np.arange(n_samples)
        return scratch_random.fit_permutation(n_samples)

    def _batches(self, where: str, x, y, sample_weight, batch_size, shuffle: bool,
                 class_weight, steps, prefix: str = "") -> EpochIterator:
        """The EpochIterator over fit/evaluate's data; arrays are checked here, once."""
        if steps is not None:
            check_positive_int(steps, "steps" if where != "fit" else "steps_per_epoch")
        if batch_size is not None:
            check_positive_int(batch_size, "batch_size")
        if not is_batch_source(x):
            x, y, sample_weight = check_data(x, y, sample_weight, where, self, prefix=prefix)
        return EpochIterator(adapt(x, y, sample_weight, batch_size, shuffle, class_weight,
                                   where), steps, where)

    def _checked(self, batch: tuple, batches: EpochIterator, step: int, need_y: bool = True):
        """A batch fit to use: arrays were checked at the door; a generator's or
        PyDataset's batch is checked now, the error naming it."""
        if isinstance(batches.data, ArrayData):
            return batch
        x, y, sample_weight = batch
        where = f"{batches.where}, batch {step + 1} of epoch {batches.epoch}"
        if not need_y:
            return check_inputs(self, x, where), None, None
        if y is None:
            raise ValueError(f"{where}: the batch holds no targets y; fit and evaluate need "
                             "batches (x, y) or (x, y, sample_weight)")
        return check_data(x, y, sample_weight, where, self)

    # -- fit -------------------------------------------------------------------------------
    @interrupts.handles_ctrl_c
    def fit(self, x=None, y=None, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: list | None = None,
            validation_split: float = 0.0, validation_data=None, shuffle: bool = True,
            class_weight: dict | None = None, sample_weight=None, initial_epoch: int = 0,
            steps_per_epoch: int | None = None, validation_steps: int | None = None,
            validation_batch_size: int | None = None,
            validation_freq: int | list = 1) -> callbacks_module.History:
        """Train for `epochs` epochs; returns a History.

        x: arrays (with y), a generator of (x, y[, sample_weight]) batches, or a
        snn.utils.PyDataset. An epoch is one pass over the data (ceil(N / batch_size)
        batches of arrays), or `steps_per_epoch` batches. Epoch logs are means over the
        epoch's batches weighted by batch size, computed in training mode before each
        batch's update (as Keras reports them)."""
        self._require_compiled("fit")
        check_nonnegative_int(epochs, "epochs")
        check_nonnegative_int(initial_epoch, "initial_epoch")
        verbose = check_verbose(verbose)
        _check_validation_freq(validation_freq)
        if shuffle not in (True, False):
            raise ValueError(f"fit: shuffle={shuffle!r} is not supported by scratchnn "
                             "(True or False)")
        if validation_data is None and validation_split:
            if is_batch_source(x):
                raise ValueError("fit: Argument `validation_split` is only supported for "
                                 f"tensors or NumPy arrays, not for a {type(x).__name__}")
            x, y, sample_weight = check_data(x, y, sample_weight, "fit", self)
            (x, y, sample_weight), validation_data = split_validation(
                x, y, sample_weight, validation_split)
        # The door: arrays are checked against the model and loss, once per call.
        train = self._batches("fit", x, y, sample_weight, batch_size, shuffle, class_weight,
                              steps_per_epoch)
        val = None
        if validation_data is not None:
            val_x, val_y, val_w = (unpack_validation(validation_data)
                                   if not is_batch_source(validation_data)
                                   else (validation_data, None, None))
            val = self._batches("fit", val_x, val_y, val_w,
                                validation_batch_size or (batch_size if not is_batch_source(
                                    val_x) else None), False, None, validation_steps,
                                prefix="validation_data's ")
            val.where = "fit's validation_data"
        cbs = callbacks_module.CallbackList(
            callbacks, model=self, add_history=True, add_progbar=verbose != 0,
            params={"epochs": epochs, "steps": train.epoch_steps, "verbose": verbose})
        # Per-batch hooks cost time on every step: call them only if some callback has one.
        batch_begin = cbs.hooked("on_train_batch_begin")
        batch_end = cbs.hooked("on_train_batch_end")
        train.start()
        self.stop_training = False
        self._initial_epoch = None
        cbs.call("on_train_begin")
        # A callback may move the start (BackupAndRestore resuming), as in Keras.
        initial_epoch = self._initial_epoch or initial_epoch
        training_logs = None
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            train.begin_epoch()
            self.epoch_order = getattr(train.data, "order", None)
            cbs.call("on_epoch_begin", epoch)
            for step in train.steps():
                if batch_begin:
                    cbs.call("on_train_batch_begin", step)
                batch = train.next(step)
                if batch is None:
                    break
                self._train_batch(*self._checked(batch, train, step))
                if batch_end:
                    cbs.call("on_train_batch_end", step, logs=self._metric_logs())
                if self.stop_training:
                    break
            epoch_logs = self._metric_logs()
            if val is not None and _should_validate(epoch, validation_freq):
                val_logs = self._evaluate_batches(val, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.call("on_epoch_end", epoch, logs=epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        cbs.call("on_train_end", logs=training_logs)
        return self.history

    # -- evaluate / predict ----------------------------------------------------------------
    def _evaluate_batches(self, batches: EpochIterator, cbs) -> dict[str, float]:
        """One evaluation pass with the test hooks (fit's validation and evaluate)."""
        batches.start()
        cbs.call("on_test_begin")
        self._reset_metrics()
        batch_begin, batch_end = cbs.hooked("on_test_batch_begin"), cbs.hooked("on_test_batch_end")
        batches.begin_epoch()
        for step in batches.steps():
            if batch_begin:
                cbs.call("on_test_batch_begin", step)
            batch = batches.next(step)
            if batch is None:
                break
            logs = self.test_step(*self._checked(batch, batches, step))
            if batch_end:
                cbs.call("on_test_batch_end", step, logs=logs)
        logs = pythonify_logs(self._metric_logs())
        cbs.call("on_test_end", logs=logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size: int | None = None,
                 verbose: int | str = "auto", sample_weight=None, steps: int | None = None,
                 callbacks: list | None = None,
                 return_dict: bool = False) -> float | list | dict:
        """Loss (and metrics) in inference mode: a float without metrics, else
        [loss, *metrics]; a dict with return_dict=True. x as for fit."""
        self._require_compiled("evaluate")
        verbose = check_verbose(verbose)
        batches = self._batches("evaluate", x, y, sample_weight, batch_size, False, None, steps)
        cbs = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=verbose != 0,
            params={"epochs": 1, "steps": batches.epoch_steps, "verbose": verbose})
        return self._as_result(self._evaluate_batches(batches, cbs), return_dict)

    def predict(self, x, batch_size: int | None = None, verbose: int | str = "auto",
                steps: int | None = None, callbacks: list | None = None) -> Array:
        """Outputs in inference mode, computed batch by batch, as a floatx array. x: an
        array, a generator of batches (x is the first item of each), or a PyDataset."""
        verbose = check_verbose(verbose)
        if is_batch_source(x):
            batches = self._batches("predict", x, None, None, batch_size, False, None, steps)
        else:
            if steps is not None:
                check_positive_int(steps, "steps")
            x = check_inputs(self, x, "predict", allow_empty=True)
            size = 32 if batch_size is None else batch_size
            check_positive_int(size, "batch_size")
            batches = EpochIterator(adapt(x, None, None, size, False, None, "predict"),
                                    steps, "predict")
        cbs = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=verbose != 0,
            params={"epochs": 1, "steps": batches.epoch_steps, "verbose": verbose})
        begin, end = cbs.hooked("on_predict_batch_begin"), cbs.hooked("on_predict_batch_end")
        batches.start()
        cbs.call("on_predict_begin")
        if not is_batch_source(x) and n_samples(x) == 0:
            out = self._predict_nothing(x)
        else:
            out, outputs = None, []
            batches.begin_epoch()
            for step in batches.steps():
                if begin:
                    cbs.call("on_predict_batch_begin", step)
                batch = batches.next(step)
                if batch is None:
                    break
                y = self._predict_batch(self._checked(batch, batches, step, need_y=False)[0])
                ys = y if isinstance(y, list) else [y]           # one array per output
                if isinstance(batches.data, ArrayData):      # the rows are known: write
                    if out is None:                            # each batch into its place
                        out = [np.empty((n_samples(x), *a.shape[1:]), a.dtype) for a in ys]
                    start = step * batches.data.batch_size
                    for whole, part in zip(out, ys):
                        whole[start:start + len(part)] = part
                else:
                    outputs.append(ys)
                if end:
                    cbs.call("on_predict_batch_end", step, logs={"outputs": y})
            if out is None:
                out = [np.concatenate(parts) for parts in zip(*outputs)]
            out = self.pack_outputs(out)
        cbs.call("on_predict_end")
        return out

    def _predict_batch(self, x):
        """One batch in inference mode, pushed through the layers in slices of `rows`
        samples (the same numbers; see PREDICT_SLICE_BYTES)."""
        if parallel.in_threads(self, x, training=False):    # several cores: parallel.py
            return parallel.predict_batch(self, x)
        n = n_samples(x)
        rows = self._predict_slice_rows(n)
        if rows >= n:
            return self.forward(x)
        out = None
        for start in range(0, n, rows):
            ys = self.forward(take(x, slice(start, start + rows)))
            ys = ys if isinstance(ys, list) else [ys]
            if out is None:
                out = [np.empty((n, *a.shape[1:]), dtype=a.dtype) for a in ys]
            for whole, part in zip(out, ys):
                whole[start:start + rows] = part
        return out if len(out) > 1 else out[0]

    def pack_outputs(self, ys: list):
        """predict's result from one array per output (a Sequential has one)."""
        return ys[0]

    def _predict_nothing(self, x: Array) -> Array:
        """predict on no samples: the shape the layers give x (sizes known only at run time
        come from x)."""
        shape = x.shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return np.zeros(shape, dtype=x.dtype)

    def _predict_slice_rows(self, batch_size: int) -> int:
        """How many samples predict pushes through the layers at once: PREDICT_SLICE_BYTES
        over the largest layer output of one sample (the whole batch when a layer's output
        size is only known at run time). Worked out once per packing of the weights."""
        packed = getattr(self, "_flat_grads", None)
        cached = self.__dict__.get("_slice_rows")
        if cached is None or cached[0] is not packed:
            shapes = [layer.output_shape[1:] for layer in self.layers]
            largest = (None if any(None in shape for shape in shapes)
                       else max(math.prod(shape) for shape in shapes))
            rows = None if largest is None else max(
                1, PREDICT_SLICE_BYTES // (largest * np.dtype(config.floatx()).itemsize))
            cached = self._slice_rows = (packed, rows)
        return batch_size if cached[1] is None else cached[1]

    # -- one batch, by hand ----------------------------------------------------------------
    @interrupts.handles_ctrl_c
    def train_on_batch(self, x, y, sample_weight=None, class_weight: dict | None = None,
                       return_dict: bool = False) -> float | list | dict:
        """One optimizer step on one batch; returns that batch's loss (and metrics)."""
        self._require_compiled("train_on_batch")
        x, y, sample_weight = check_data(x, y, sample_weight, "train_on_batch", self)
        if class_weight is not None:
            sample_weight = adapt(x, y, sample_weight, len(x), False, class_weight,
                                  "train_on_batch").sample_weight
        x = self._as_input(x)
        self._reset_metrics()
        return self._as_result(pythonify_logs(self.train_step(x, y, sample_weight)),
                               return_dict)

    def test_on_batch(self, x, y, sample_weight=None,
                      return_dict: bool = False) -> float | list | dict:
        """Loss (and metrics) of one batch in inference mode."""
        self._require_compiled("test_on_batch")
        x, y, sample_weight = check_data(x, y, sample_weight, "test_on_batch", self)
        self._reset_metrics()
        return self._as_result(pythonify_logs(self.test_step(x, y, sample_weight)),
                               return_dict)

    def predict_on_batch(self, x) -> Array:
        return self(check_inputs(self, x, "predict_on_batch"))

    def _require_compiled(self, what: str) -> None:
        if self.loss is None:
            raise ValueError(f"{self._describe()} must be compiled before {what}(): "
                             "call model.compile(optimizer=..., loss=...)")


def _copied(given) -> list | dict:
    """compile()'s metrics argument as given, in its own structure ([] for None)."""
    return dict(given) if isinstance(given, dict) else list(given or [])


def _check_validation_freq(freq) -> None:
    """An int >= 1 (validate every freq-th epoch) or a list of 1-based epochs (Keras 3)."""
    if isinstance(freq, list) and all(isinstance(e, int) and not isinstance(e, bool)
                                      for e in freq):
        return
    if isinstance(freq, bool) or not isinstance(freq, int) or freq < 1:
        raise ValueError("fit: validation_freq must be an int >= 1 (validate every n-th "
                         f"epoch) or a list of epochs (counted from 1), got {freq!r}")


def _should_validate(epoch: int, freq: int | list) -> bool:
    """Keras's `_should_eval`: epochs counted from 1; every freq-th, or those listed."""
    return (epoch + 1) % freq == 0 if isinstance(freq, int) else (epoch + 1) in freq

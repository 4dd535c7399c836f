"""Where fit, evaluate and predict get their batches: arrays, a Python generator, or a PyDataset.

    data = adapt(x, y, sample_weight, batch_size, shuffle, class_weight, where)
    batches = EpochIterator(data, steps, where)
    batches.begin_epoch()
    for step in batches.steps():             # 0, 1, 2, ... (callbacks' batch index)
        batch = batches.next(step)           # (x, y, sample_weight), or None: no more data
        ...

Three kinds of data (Keras 3.15's data adapters, `keras/src/trainers/data_adapters/`):
- arrays: cut into batches of `batch_size` rows, the last one partial, visited in the order
  `random.fit_permutation` gives (Keras's sample order) or in order (`shuffle=False`);
- a Python generator or iterator yielding `(x, y)`, `(x, y, sample_weight)` or `(x,)`
  batches: read as it comes, never shuffled; Keras reads its first two batches as fit starts
  (to learn their shapes) and so does scratchnn, so a generator's side effects happen when
  they would in Keras;
- a `snn.utils.PyDataset`: batch i is `dataset[i]`; see py_dataset.py for when its hooks run.

How many batches an epoch takes (Keras's EpochIterator): `steps_per_epoch` when given, else
one pass over the data (arrays and PyDatasets know their number of batches; a generator's
first epoch runs until it stops). One pass is one shuffled order: with `steps_per_epoch`
smaller than a pass, the next epoch goes on where the last one stopped, and a new pass (a new
order) starts when one is used up; an epoch that asks for more batches than a pass holds ends
early with Keras's warning. A generator cannot start again: one that runs out while an epoch
still needs batches is an error naming the epoch and batch (Keras warns and replays the two
batches it read first, which silently trains on the wrong data), and the model keeps the
weights of its last completed step.
"""

from __future__ import annotations

import itertools
import math
import random
import warnings
from typing import Iterator

import numpy as np

from . import config
from . import random as scratch_random
from .py_dataset import PyDataset

Array = np.ndarray
Batch = tuple  # (x, y, sample_weight); y and sample_weight may be None

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset "
           "or generator can generate at least `steps_per_epoch * epochs` batches. You may "
           "need to use the `.repeat()` function when building your dataset.")


class DataRanDry(ValueError):
    """A generator that ran out of batches while an epoch still needed them."""


def is_batch_source(x) -> bool:
    """True for the data fit takes one batch at a time: a generator, an iterator, a PyDataset."""
    return isinstance(x, PyDataset) or (hasattr(x, "__next__") and hasattr(x, "__iter__"))


def unpack_batch(batch, where: str) -> Batch:
    """A yielded batch as (x, y, sample_weight): `(x,)`, `(x, y)` or `(x, y, w)` (a list works
    as a tuple), a dict or a bare array as x alone. Anything else is refused, naming `where`."""
    if isinstance(batch, (dict, np.ndarray)):
        return batch, None, None
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
        raise ValueError(f"{where}: each batch must be a tuple (x,), (x, y) or (x, y, "
                         f"sample_weight), got {type(batch).__name__}"
                         + (f" of length {len(batch)}" if isinstance(batch, tuple) else ""))
    return tuple(batch) + (None,) * (3 - len(batch))


def class_weights_for(y, class_weight: dict, where: str) -> Array:
    """One weight per sample from `class_weight` {class: weight} (Keras's
    `class_weight_to_sample_weights`): the class of a sample is argmax(y) for one-hot rows,
    else round(y); a class missing from the dict weighs 1.0. floatx, shape (N,)."""
    if not isinstance(class_weight, dict):
        raise ValueError(f"{where}: class_weight must be a dict {{class index: weight}}, got "
                         f"{type(class_weight).__name__}")
    labels = np.asarray(y)
    if labels.ndim > 1:
        labels = labels[..., 0] if labels.shape[-1] == 1 else np.argmax(labels, axis=-1)
    labels = np.round(labels).astype("int32")
    weights = np.ones(labels.shape[0], dtype=config.floatx())
    for i, label in enumerate(labels):
        weights[i] = class_weight.get(int(label), 1.0)
    return weights


# -- the three kinds of data -------------------------------------------------------------
def take(data, rows):
    """Rows of an array, or of every array in a list (a model with several inputs or
    outputs gets its data as lists, in model.inputs / model.outputs order)."""
    if data is None:
        return None
    if isinstance(data, list):
        return [None if a is None else a[rows] for a in data]
    return data[rows]


def n_samples(data) -> int:
    """The number of samples (rows) of an array or of the first array of a list."""
    return len(data[0] if isinstance(data, list) else data)


class ArrayData:
    """Arrays (already checked by the caller), cut into batches of `batch_size` rows."""

    def __init__(self, x, y, sample_weight, batch_size: int, shuffle: bool) -> None:
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size, self.shuffle = batch_size, shuffle
        self.n = n_samples(x)
        self.num_batches = math.ceil(self.n / batch_size)
        self.order: Array | None = None         # the sample order of the current pass

    def new_pass(self) -> Iterator[Batch]:
        if self.shuffle:
            self.order = scratch_random.fit_permutation(self.n)
        else:
            self.order = np.arange(self.n)
        return self._batches()

    def _batches(self) -> Iterator[Batch]:
        x, y, w, size = self.x, self.y, self.sample_weight, self.batch_size
        arrays = not isinstance(x, list) and not isinstance(y, list) and not isinstance(w, list)
        for start in range(0, self.n, size):
            # In order (shuffle=False) a batch is a slice, a view of x: nothing copied.
            rows = self.order[start:start + size] if self.shuffle else slice(start, start + size)
            if arrays:                         # (the common case, spelled out: it runs per step)
                yield x[rows], None if y is None else y[rows], None if w is None else w[rows]
            else:
                yield take(x, rows), take(y, rows), take(w, rows)

    def on_epoch_begin(self) -> None: pass
    def on_epoch_end(self) -> None: pass


class GeneratorData:
    """A Python generator or iterator of batches: read once, as it comes."""

    def __init__(self, generator, where: str) -> None:
        self.where = where
        self.num_batches = None
        self.first = list(itertools.islice(generator, 2))   # Keras peeks at two batches
        if not self.first:
            raise ValueError(f"{where}: the generator yielded no batch (it must yield at "
                             "least one)")
        self.rest = generator
        self.used = False

    def new_pass(self) -> Iterator | None:
        """The batches, the first time; None afterwards: a generator cannot start again."""
        if self.used:
            return None
        self.used = True
        return itertools.chain(self.first, self.rest)

    def on_epoch_begin(self) -> None: pass
    def on_epoch_end(self) -> None: pass


class PyDatasetData:
    """A PyDataset: batch i is dataset[i]; a pass visits them all, shuffled or in order."""

    def __init__(self, dataset: PyDataset, shuffle: bool, class_weight, where: str) -> None:
        self.dataset, self.shuffle, self.class_weight = dataset, shuffle, class_weight
        self.num_batches = dataset.num_batches
        if self.num_batches is None or self.num_batches <= 0:
            raise ValueError(f"{where}: the PyDataset has {self.num_batches} batches; it "
                             "needs at least one (its __len__)")
        for index in range(min(2, self.num_batches)):   # Keras reads two to learn shapes
            dataset[index]

    def new_pass(self) -> Iterator:
        """A generator: nothing runs (not even the shuffle) until its first batch is asked
        for, after the epoch's callbacks and on_epoch_begin, as in Keras."""
        indices = list(range(self.num_batches))
        if self.shuffle:
            random.shuffle(indices)                       # Python's random, as Keras
        for index in indices:
            yield self.dataset[index]

    def on_epoch_begin(self) -> None:
        self.dataset.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()


def adapt(x, y, sample_weight, batch_size: int | None, shuffle: bool, class_weight,
          where: str):
    """The data object for fit/evaluate/predict's `x` (see the module docstring). Arrays must
    already be checked; for a generator or PyDataset, `y`, `sample_weight` and `batch_size`
    must not be given (the batches carry them), as Keras refuses."""
    if not is_batch_source(x):
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError(f"{where}: You cannot `class_weight` and `sample_weight` at "
                                 "the same time.")
            sample_weight = class_weights_for(y, class_weight, where)
        return ArrayData(x, y, sample_weight, 32 if batch_size is None else batch_size,
                         shuffle)
    kind = "PyDataset" if isinstance(x, PyDataset) else "generator"
    for name, value, what in (("y", y, "the targets"),
                              ("sample_weight", sample_weight, "the sample weights")):
        if value is not None:
            raise ValueError(f"{where}: When providing `x` as a {kind}, `{name}` should not be "
                             f"passed. Instead, {what} should be included as part of the "
                             f"{kind}.")
    if batch_size is not None:
        raise ValueError(f"{where}: batch_size={batch_size!r} cannot be used when `x` is a "
                         f"{kind}: its batches are the ones it yields")
    if kind == "PyDataset":
        return PyDatasetData(x, shuffle, class_weight, where)
    if class_weight is not None:
        raise ValueError(f"{where}: Argument `class_weight` is not supported for Python "
                         f"generator inputs. Received: class_weight={class_weight}")
    if shuffle:
        warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` was "
                      "provided as a generator. The generator is expected to yield "
                      "already-shuffled data.", stacklevel=5)
    return GeneratorData(x, where)


# -- how many batches an epoch takes ------------------------------------------------------
class EpochIterator:
    """Keras's EpochIterator: the batches of each epoch from one data object.

    Per epoch: `begin_epoch()`, then `steps()` gives the step indices and `next(step)` the
    batch for each (None when the data ended the epoch); callbacks' on_*_batch_begin runs
    between the two, as in Keras (so a generator's last epoch shows one batch begun and
    never ended)."""

    def __init__(self, data, steps: int | None, where: str) -> None:
        self.data, self.steps_per_epoch, self.where = data, steps, where
        self.num_batches = data.num_batches          # per pass; a generator's after one pass
        self.current: Iterator | None = None
        self.seen = 0                                # batches taken from the current pass
        self.epoch = 0

    @property
    def epoch_steps(self) -> int | None:
        """How many batches an epoch takes, when known (the progress bar's target)."""
        return self.steps_per_epoch or self.num_batches

    def start(self) -> None:
        """Before the first epoch of a fit/evaluate/predict call: Keras's `reset`, which
        calls the data's on_epoch_end (so a PyDataset's runs once as fit starts)."""
        self.data.on_epoch_end()

    def begin_epoch(self) -> None:
        """Before an epoch's callbacks: start a new pass over the data if this epoch needs
        one (each epoch, or when the last pass was used up with steps_per_epoch), so the
        sample order (`data.order`) is known when on_epoch_begin runs."""
        self.epoch += 1
        if self.current is None or self.steps_per_epoch is None:
            self._new_pass()

    def steps(self) -> Iterator[int]:
        self.data.on_epoch_begin()
        total = self.epoch_steps
        step = 0
        while total is None or step < total:
            if self.num_batches and self.seen >= self.num_batches:
                if self.steps_per_epoch:                 # a pass is shorter than an epoch
                    warnings.warn(RAN_OUT, stacklevel=2)
                break
            yield step
            if self.current is None:                     # next() found the data's end
                return
            step += 1
        if self.num_batches and self.seen >= self.num_batches:
            self.current = None                          # the next epoch starts a new pass
        self.data.on_epoch_end()

    def next(self, step: int) -> Batch | None:
        try:
            batch = next(self.current)
        except StopIteration:
            self._ended(step)
            return None
        self.seen += 1
        if type(self.data) is ArrayData:          # already (x, y, sample_weight)
            return batch
        return unpack_batch(batch, f"{self.where}, batch {step + 1} of epoch {self.epoch}")

    def _new_pass(self) -> None:
        self.current = self.data.new_pass()
        self.seen = 0
        if self.current is None:                         # a generator, already used up
            self._ran_dry(0)

    def _ended(self, step: int) -> None:
        """The data stopped at `step`: the natural end of a generator's first pass, or a
        generator running dry."""
        if self.steps_per_epoch is None and self.num_batches is None and step > 0:
            self.num_batches = step                      # its first pass: now we know
            self.current = None
            self.data.on_epoch_end()
            return
        self._ran_dry(step)

    def _ran_dry(self, step: int) -> None:
        taken = self.num_batches or self.seen
        need = (f"steps={self.steps_per_epoch} per epoch needs more" if self.steps_per_epoch
                else "a new pass cannot start")
        raise DataRanDry(
            f"{self.where}: the generator ran out of data at epoch {self.epoch}, batch "
            f"{step + 1} ({need}; it yielded {taken} batch(es) in all). A Python generator "
            "can be read only once: make it yield forever (`while True:`) and pass "
            "steps_per_epoch (validation_steps for validation data, steps for evaluate and "
            "predict), or use snn.utils.PyDataset, which starts again every epoch")

"""`snn.utils.PyDataset`: data that does not fit in one array, batch by batch (Keras 3's protocol).

Subclass it and give it `__len__` (the number of batches) and `__getitem__(index)` (one batch:
`(x, y)`, `(x, y, sample_weight)` or `(x,)`); `on_epoch_end()` runs after every epoch, so it
can reshuffle its samples or draw new augmentations:

    class Augmented(snn.utils.PyDataset):
        def __init__(self, x, y, batch_size=32, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size

        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, index):
            rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return flip_some(self.x[rows]), self.y[rows]      # a new augmentation each time

    model.fit(Augmented(x_train, y_train), epochs=5)

As Keras 3.15 runs one (trainers/data_adapters/py_dataset_adapter.py, on TensorFlow):
- fit reads batches 0 and 1 once as it starts (Keras does this to learn the batches' shapes),
  then calls `on_epoch_end()` once, before the first epoch;
- each epoch calls `on_epoch_begin()`, reads every batch, in a new random order when fit's
  `shuffle=True` (Python's `random.shuffle` of the batch indices, so
  `snn.utils.set_random_seed` fixes it as it fixes Keras's), then calls `on_epoch_end()`;
- evaluate and predict read the batches in order.
`workers`, `use_multiprocessing` and `max_queue_size` are Keras's options for loading batches
in parallel; scratchnn loads them in the training thread, one at a time, and refuses other
values than the defaults rather than ignore them.
"""

from __future__ import annotations


class PyDataset:
    """Base class of a dataset that produces its batches one at a time (Keras's PyDataset)."""

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        if workers != 1 or use_multiprocessing:
            raise ValueError(f"{type(self).__name__}: loading batches in parallel "
                             f"(workers={workers!r}, use_multiprocessing={use_multiprocessing!r})"
                             " is not supported by scratchnn; use workers=1, "
                             "use_multiprocessing=False")
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int):
        """The batch at position `index`: (x, y), (x, y, sample_weight) or (x,)."""
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index)")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__() (the number "
                                  "of batches)")

    @property
    def num_batches(self) -> int:
        """The number of batches (Keras 3's name; `len(dataset)` by default)."""
        return len(self)

    def on_epoch_begin(self) -> None:
        """Called at the start of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch (and once as fit starts, as Keras does)."""

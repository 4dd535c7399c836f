"""Same seed, same fit: Keras's sample order and Dropout masks, step by step.

Keras is observed through a layer that records, in eager mode, what it receives while
training: the sample ids of each batch (to read the order), or the Dropout layer's output
on inputs of ones (to read the mask)."""

import keras
import numpy as np
import pytest

import scratchnn as snn
from tf_reference import EpochOrderRecorder


class Recorder(keras.layers.Layer):
    """Identity that keeps a copy of every training-mode input (the model runs eagerly)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, training=False):
        if training:
            self.seen.append(np.asarray(x).copy())
        return x


def keras_orders(n, seed, epochs, batch_size, validation_split=0.0):
    """Sample ids in the order Keras's fit visits them, one array per epoch."""
    keras.utils.set_random_seed(seed)
    recorder = Recorder()
    model = keras.Sequential([keras.Input((1,)), recorder, keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.0), run_eagerly=True)
    model.fit(np.arange(n, dtype=np.float32)[:, None], np.zeros(n, np.float32),
              batch_size=batch_size, epochs=epochs, validation_split=validation_split, verbose=0)
    ids = np.concatenate([b[:, 0] for b in recorder.seen]).astype(np.int64)
    return np.split(ids, epochs)


def scratchnn_orders(n, seed, epochs, batch_size, validation_split=0.0):
    snn.utils.set_random_seed(seed)
    model = snn.Sequential([snn.Input((1,)), snn.layers.Dense(1)])
    model.compile(loss="mse", optimizer=snn.optimizers.SGD(0.0))   # the ids, not learning
    orders = EpochOrderRecorder()
    model.fit(np.arange(n, dtype=np.float32)[:, None], np.zeros(n, np.float32),
              batch_size=batch_size, epochs=epochs, validation_split=validation_split,
              verbose=0, callbacks=[orders])
    return orders.orders


@pytest.mark.parametrize("n, seeds, batch_size", [
    (800, [0, 1, 123456789], 100),
    (1007, [7, 2**31 - 1, 3_000_000_000], 128),          # partial last batch; huge seeds
    (60000, [42], 7500),
])
def test_fit_visits_the_samples_in_kerass_order(n, seeds, batch_size):
    """Keras 3.15.1 reuses ONE permutation in every epoch of a seeded run: so do we."""
    for seed in seeds:
        theirs = keras_orders(n, seed, 2, batch_size)
        ours = scratchnn_orders(n, seed, 2, batch_size)
        for epoch, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_array_equal(a, b, err_msg=f"n={n} seed={seed} epoch={epoch}")
        np.testing.assert_array_equal(theirs[0], theirs[1])   # the quirk, as measured


def test_validation_split_holds_out_the_last_samples_and_shuffles_the_rest():
    theirs = keras_orders(103, 5, 2, 16, validation_split=0.25)
    ours = scratchnn_orders(103, 5, 2, 16, validation_split=0.25)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    assert sorted(theirs[0].tolist()) == list(range(77))


def test_unseeded_orders_change_from_epoch_to_epoch():
    snn.utils.set_random_seed(1)
    snn.random.set_global_seed(None)
    model = snn.Sequential([snn.Input((1,)), snn.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    orders = EpochOrderRecorder()
    model.fit(np.zeros((200, 1)), np.zeros(200), epochs=2, verbose=0, callbacks=[orders])
    assert not np.array_equal(*orders.orders)


class OnesAfter(Recorder):
    """Records its input, then passes on ones: the next Dropout's output shows its mask."""

    def call(self, x, training=False):
        super().call(x, training)
        return keras.ops.ones_like(x)


def test_dropout_masks_in_fit_are_kerass_across_epochs_and_fit_calls():
    """Two layers (one seeded), partial last batches, validation each epoch (which must not
    advance the seed state), shuffling, then a second fit: every mask equal."""
    x, y = np.ones((70, 6), np.float32), np.zeros(70, np.float32)
    keras.utils.set_random_seed(3)
    recorders = [OnesAfter(), OnesAfter()]
    L = keras.layers
    model = keras.Sequential([keras.Input((6,)), L.Dropout(0.4), recorders[0],
                              L.Dropout(0.7, seed=99), recorders[1], L.Dense(1)])
    model.compile(loss="mse", optimizer="sgd", run_eagerly=True)
    for epochs in (2, 1):
        model.fit(x, y, batch_size=32, epochs=epochs, validation_split=0.2, verbose=0)

    snn.utils.set_random_seed(3)
    ours = snn.Sequential([snn.Input((6,)), snn.layers.Dropout(0.4),
                           snn.layers.Dropout(0.7, seed=99), snn.layers.Dense(1)])
    masks = [[], []]
    for layer, kept in zip(ours.layers, masks):
        draw = layer.draw_keep_mask
        layer.draw_keep_mask = lambda shape, draw=draw, kept=kept: (
            kept.append(draw(shape)) or kept[-1])
    ours.compile(loss="mse", optimizer="sgd")
    for epochs in (2, 1):
        ours.fit(x, y, batch_size=32, epochs=epochs, validation_split=0.2, verbose=0)

    for index, recorder in enumerate(recorders):
        assert len(masks[index]) == len(recorder.seen) == 6      # 2 batches x 3 epochs
        for step, (mask, seen) in enumerate(zip(masks[index], recorder.seen)):
            np.testing.assert_array_equal(mask, seen != 0, err_msg=f"layer {index} step {step}")

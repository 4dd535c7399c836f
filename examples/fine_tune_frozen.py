"""Beyond the tutorials: transfer learning on Fashion-MNIST with frozen layers, a learning-rate
schedule and a data pipeline.

1. Pretrain a small CNN (Conv2D-MaxPooling2D-Conv2D-MaxPooling2D-Flatten-Dense(64)) with a
   softmax head on the five clothing classes (T-shirt/top, Trouser, Pullover, Dress, Coat).
2. Transfer it to the five other classes (Sandal, Shirt, Sneaker, Bag, Ankle boot), from a
   SMALL labelled set in which shirts are rare: freeze the base (`layer.trainable = False`),
   put a new head (Dense(64)-Dense(5)) on its convolutional features (a Functional model from
   the Sequential's own graph: `keras.Model(base.inputs, head(base.get_layer("flat").output))`),
   and train the head alone with Adam on a CosineDecay schedule with warmup. The training images come from
   a `keras.utils.PyDataset` that flips half of each batch left to right at random, on the
   fly; `class_weight` makes each rare shirt count as much as its class needs;
   `validation_freq=2` validates every second epoch.
3. Unfreeze the top of the base (its second convolution), recompile with a lower rate, and
   fine-tune everything above the first convolution.
4. For comparison, the same network trained from scratch on the same small set.

Prints the trainable and frozen parameter counts, the schedule's rates, that the frozen
layers did not move, and the test accuracy after each stage; draws the schedule, a batch
of flipped images and the fine-tuning curves.

    python examples/fine_tune_frozen.py [--engine keras] [--quick] [--out FOLDER]
"""

import math

import numpy as np

from _engine import setup

run = setup(__doc__)
keras = run.keras
layers = keras.layers
from scratchnn import plots                       # noqa: E402 (figures, for either engine)

CLOTHING, OTHERS = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
OTHER_NAMES = ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SHIRT = 1                                                   # Shirt's index among OTHERS
(x_all, y_all), (x_test_all, y_test_all) = keras.datasets.fashion_mnist.load_data()
x_all = (x_all / 255.0).reshape(-1, 28, 28, 1)
x_test_all = (x_test_all / 255.0).reshape(-1, 28, 28, 1)


def take(x, y, classes, per_class=None, counts=None):
    """The images of `classes` (labels renumbered 0, 1, ...): the first `per_class` of each,
    or counts[k] of class k; all of them when neither is given."""
    rows = []
    for k, c in enumerate(classes):
        found = np.flatnonzero(y == c)
        limit = counts[k] if counts is not None else per_class
        rows.append(found[:limit])
    rows = np.sort(np.concatenate(rows))
    return x[rows], np.searchsorted(classes, y[rows])


# -- 1. pretraining on the clothing classes -----------------------------------------------------
x_pre, y_pre = take(x_all, y_all, CLOTHING, per_class=run.pick(6000, 300))
print(f"pretraining: {len(x_pre)} images of classes {CLOTHING}")
keras.utils.set_random_seed(42)
base = keras.Sequential([
    keras.Input((28, 28, 1)),
    layers.Conv2D(16, 3, activation="relu", name="conv1"),
    layers.MaxPooling2D(name="pool1"),
    layers.Conv2D(32, 3, activation="relu", name="conv2"),
    layers.MaxPooling2D(name="pool2"),
    layers.Flatten(name="flat"),
    layers.Dense(64, activation="relu", name="features"),
    layers.Dense(5, activation="softmax", name="clothing_head"),
], name="pretrained")
base.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
base.fit(x_pre, y_pre, epochs=run.pick(3, 1), batch_size=64, verbose=2)

# -- 2. a new head on the frozen base ----------------------------------------------------------
counts = [run.pick(100, 40)] * 5
counts[SHIRT] = run.pick(20, 8)                              # shirts are rare here
x_small, y_small = take(x_all, y_all, OTHERS, counts=counts)
x_test, y_test = take(x_test_all, y_test_all, OTHERS, per_class=run.pick(1000, 100))
print(f"fine-tuning set: {len(x_small)} images, per class {dict(zip(OTHER_NAMES, counts))}; "
      f"test: {len(x_test)} images")

# Keras's "balanced" class weights: n / (classes * n_c), so every class weighs the same in
# the loss. (They are sample weights: each image's loss times its class's weight.)
class_weight = {k: len(y_small) / (5 * n) for k, n in enumerate(counts)}
print("class_weight:", {OTHER_NAMES[k]: round(w, 3) for k, w in class_weight.items()})


class RandomFlips(keras.utils.PyDataset):
    """Batches of (images, labels), half of each batch's images flipped left to right at
    random: a new augmentation every epoch, made when the batch is asked for."""

    def __init__(self, x, y, batch_size=32, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        images = self.x[rows].copy()
        flip = self.rng.random(len(images)) < 0.5
        images[flip] = images[flip, :, ::-1]                # (n, 28, 28, 1): mirror the width
        return images, self.y[rows]


flips = RandomFlips(x_small, y_small, batch_size=32)
sample, sample_labels = flips[0]                             # batch 0, as fit would get it
flipped = [not np.array_equal(image, original) for image, original in zip(sample, x_small)]
plots.image_grid(sample[:10, ..., 0],
                 [OTHER_NAMES[k] + (" (flipped)" if f else "") for k, f in
                  zip(sample_labels[:10], flipped)], cols=5,
                 path=run.figure("fine_tune_flips.png"))

conv_features = base.get_layer("flat").output               # (None, 800): what conv2 sees
hidden = layers.Dense(64, activation="relu", name="new_features")(conv_features)
model = keras.Model(base.inputs, layers.Dense(5, activation="softmax", name="new_head")(hidden),
                    name="transfer")
for layer in base.layers:                                    # the base, head included
    layer.trainable = False
conv1_before = [np.array(w) for w in base.get_layer("conv1").get_weights()]
model.summary()
print(f"trainable weights: {len(model.trainable_weights)} arrays, "
      f"frozen: {len(model.non_trainable_weights)} arrays")

epochs = run.pick(10, 2)
steps = epochs * len(flips)
warmup = len(flips)                                          # one epoch of warmup
schedule = keras.optimizers.schedules.CosineDecay(
    1e-4, decay_steps=steps - warmup, warmup_target=3e-3, warmup_steps=warmup)
rates = [float(schedule(step)) for step in range(steps)]
print(f"learning rate: step 0 {rates[0]:.6g}, peak {max(rates):.6g} at step "
      f"{int(np.argmax(rates))}, last step {rates[-1]:.6g}")
fig, axes = plots.new_figure(1, 1, figsize=(8, 4))
axes[0, 0].plot(rates)
axes[0, 0].set(xlabel="step (batch)", ylabel="learning rate",
               title=f"CosineDecay with {warmup} warmup steps, as the optimizer reads it")
plots.save_figure(fig, run.figure("fine_tune_schedule.png"))

model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
head_history = model.fit(flips, epochs=epochs, class_weight=class_weight,
                         validation_data=(x_test, y_test), validation_freq=2, verbose=2)
print("validation accuracy at epochs 2, 4, ...: "
      + ", ".join(f"{a:.3f}" for a in head_history.history["val_accuracy"]))
unchanged = all(np.array_equal(a, np.asarray(b))
                for a, b in zip(conv1_before, base.get_layer("conv1").get_weights()))
print(f"conv1 unchanged while frozen: {unchanged}")
stages = {"frozen base, new head": model.evaluate(x_test, y_test, verbose=0)[1]}

# -- 3. unfreeze the top of the base, recompile with a lower rate ------------------------------
base.get_layer("conv2").trainable = True
model.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-4),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
print(f"after unfreezing conv2: {len(model.trainable_weights)} trainable arrays")
tune_history = model.fit(flips, epochs=run.pick(5, 1), class_weight=class_weight,
                         validation_data=(x_test, y_test), verbose=2)
stages["top of the base unfrozen"] = model.evaluate(x_test, y_test, verbose=0)[1]

# -- 4. the same network from scratch, on the same small set -------------------------------------
keras.utils.set_random_seed(42)
scratch = keras.Sequential([
    keras.Input((28, 28, 1)),
    layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(),
    layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
    layers.Flatten(), layers.Dense(64, activation="relu"),
    layers.Dense(5, activation="softmax"),
], name="from_scratch")
scratch.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
scratch.fit(RandomFlips(x_small, y_small, batch_size=32), epochs=epochs + run.pick(5, 1),
            class_weight=class_weight, verbose=0)
stages["from scratch, same data and epochs"] = scratch.evaluate(x_test, y_test, verbose=0)[1]

for stage, accuracy in stages.items():
    print(f"test accuracy, {stage}: {accuracy:.4f}")
shirts = y_test == SHIRT
print(f"shirts found (recall) by the fine-tuned model: "
      f"{np.mean(model.predict(x_test[shirts], verbose=0).argmax(axis=1) == SHIRT):.3f}")
plots.history_curves({"head on the frozen base": head_history.history,
                      "top unfrozen": tune_history.history},
                     keys=["loss", "accuracy"], title="Fine-tuning (training batches)",
                     path=run.figure("fine_tune_history.png"))

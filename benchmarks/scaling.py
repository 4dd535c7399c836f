"""Cost against work: how each engine's training step grows with the batch size and with
the width of the hidden layer. On log-log axes a cost proportional to the work is a line
of slope 1; a flat start means a fixed per-step overhead dominates there.

    batch 8 .. 512     for the conv32 CNN and the 350-10 MLP   (ms per step)
    width 64 .. 2048   for the one-hidden-layer MLP, batch 32  (ms per step)
"""

from __future__ import annotations

from . import models, timing

BATCHES = [8, 16, 32, 64, 128, 256, 512]
WIDTHS = [64, 128, 256, 512, 1024, 2048]


def _both(spec: models.Spec, batch: int, samples: int, repeats: int,
          width: int | None = None) -> dict[str, float]:
    import scratchnn as snn
    from tf_reference import to_keras

    x, y = models.data(spec, samples)
    snn.utils.set_random_seed(0)
    ours = models.build(spec, snn, width=width)
    theirs = to_keras(ours)
    steps = -(-samples // batch)
    runs = {"scratchnn": lambda: ours.fit(x, y, batch_size=batch, shuffle=False, verbose=0),
            "keras": lambda: theirs.fit(x, y, batch_size=batch, shuffle=False, verbose=0)}
    times = timing.interleaved(runs, repeats)
    return {engine: min(t) / steps * 1e3 for engine, t in times.items()}


def sweep(quick: bool, repeats: int) -> dict:
    """{"batch": {model: [{batch, scratchnn, keras}]}, "width": [{width, scratchnn, keras}]}."""
    batches = [16, 64] if quick else BATCHES
    widths = [64, 256] if quick else WIDTHS
    result: dict = {"batch": {}, "width": []}
    for name in ("cnn-conv32", "mlp-350-10"):
        spec = models.SPECS[name]
        points = []
        for batch in batches:
            # Enough samples for several steps even at batch 512, few at batch 8.
            samples = batch * (3 if quick else max(4, min(40, 2048 // batch)))
            points.append({"batch": batch, **_both(spec, batch, samples, repeats)})
            print(f"  scaling {name:12s} batch {batch:4d}: scratchnn "
                  f"{points[-1]['scratchnn']:8.3f}  keras {points[-1]['keras']:8.3f} ms/step",
                  flush=True)
        result["batch"][name] = points
    spec = models.SPECS["mlp-350-10"]
    for width in widths:
        samples = 32 * (3 if quick else 40)
        result["width"].append({"width": width, **_both(spec, 32, samples, repeats, width)})
        print(f"  scaling MLP width {width:5d}: scratchnn {result['width'][-1]['scratchnn']:8.3f}"
              f"  keras {result['width'][-1]['keras']:8.3f} ms/step", flush=True)
    return result

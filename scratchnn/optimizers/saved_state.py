"""Putting a saved optimizer state back (`Optimizer.set_variables`), checked first.

A state is listed as `Optimizer.variables` lists it, as Keras saves it in
`optimizer/vars/0, 1, ...` of a .weights.h5 or .keras file:

    iterations, learning_rate, the slots (a group's slots interleaved per parameter),
    then any scalar state (Nadam's u_product)

With a learning-rate schedule there is no learning_rate entry (Keras then has no
learning-rate variable; measured: its file holds vars/0 = iterations, then the slots).

A list of just the first ones ([iterations, learning_rate], or [iterations] with a
schedule) is what Keras saves before the first step: the slots and scalars then restart
from their starting values.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def head(optimizer) -> list[str]:
    """The scalars `variables` starts with: iterations, then learning_rate unless the
    rate is a schedule."""
    return ["iterations"] + ([] if optimizer.learning_rate_schedule else ["learning_rate"])


def expected_shapes(optimizer, shapes: list[tuple]) -> list[tuple]:
    """The shape of every variable of a built `optimizer` for parameters of `shapes`."""
    expected = [()] * len(head(optimizer))
    for group in optimizer.slot_groups():
        expected += [shapes[i] for i in range(len(shapes)) for _ in group]
    return expected + [()] * len(optimizer.scalar_slots())


def set_variables(optimizer, values: list, params: list[Array] | None = None) -> None:
    """Assign `values` (iterations, learning_rate unless the rate is a schedule, then
    every slot and scalar) to `optimizer`, so training goes on exactly where it stopped.

    `params` are the live weights the state belongs to (`model.trainable_weights`); an
    optimizer that has not taken a step yet builds its slots for them first. Everything
    is checked before anything is assigned."""
    values = [np.asarray(v) for v in values]
    shapes = optimizer._shapes
    kind = f"{type(optimizer).__name__} '{optimizer.name}'"
    if params is not None:
        given = [tuple(np.shape(w)) for w in params]
        if shapes is not None and given != shapes:
            raise ValueError(f"{kind} was built for parameters {shapes}, got {given}")
        shapes = given
    names = head(optimizer)
    if len(values) < len(names):
        raise ValueError(f"{kind}: a saved state starts with {' and '.join(names)}; "
                         f"got {len(values)} values")
    has_state = bool(optimizer.slot_names or optimizer.scalar_slots())
    with_slots = len(values) > len(names) or (shapes is not None and not has_state)
    expected = [()] * len(names)
    if with_slots:
        if shapes is None:
            raise ValueError(f"{kind} has no slots yet; pass the parameters (params=...) "
                             "so they can be built for the saved state")
        expected = expected_shapes(optimizer, shapes)
        if len(values) != len(expected):
            scalars = list(optimizer.scalar_slots())
            raise ValueError(
                f"{kind} keeps {len(expected)} variables for {len(shapes)} parameters "
                f"({', '.join(names)}, then the slots {optimizer.slot_names} of each "
                f"parameter{f', then {scalars}' if scalars else ''}), got {len(values)}")
    for i, (value, shape) in enumerate(zip(values, expected)):
        if value.shape != tuple(shape):
            raise ValueError(f"{kind}: variable {i} must have shape {tuple(shape)}, "
                             f"got {value.shape}")
        if value.dtype.kind not in ("iu" if i == 0 else "fiu"):
            raise ValueError(f"{kind}: variable {i} ({'iterations' if i == 0 else 'a float'})"
                             f" cannot be {value.dtype}")
    if values[0] < 0:
        raise ValueError(f"{kind}: iterations must be >= 0, got {values[0]}")
    # -- all checked: assign --
    if with_slots and optimizer._shapes is None and has_state:
        optimizer.build(list(params))
    optimizer.iterations = int(values[0])
    if "learning_rate" in names:
        optimizer.learning_rate = values[1][()]
    if optimizer._shapes is None:
        return
    saved = iter(values[len(names):]) if with_slots else None
    for group in optimizer.slot_groups():
        lists = [getattr(optimizer, name) for name in group]
        for i in range(len(optimizer._shapes)):
            for name, slot_list in zip(group, lists):
                slot_list[i][...] = (next(saved) if saved is not None else
                                     optimizer.slot_initial_value(name, slot_list[i].dtype))
    for name, start in optimizer.scalar_slots().items():
        optimizer._scalars[name][...] = next(saved) if saved is not None else start

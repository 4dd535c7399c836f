"""summary() of Functional models against Keras 3.15: the printed text, character for
character, for graphs built by the same code in both engines (`m` is scratchnn or keras).

Keras's table (keras/src/utils/summary_utils.py, drawn by rich) is min(default, terminal
columns - 4) wide: default 108 for the four-column "Connected to" table, 88 for a
sequential-like graph's three columns. shutil reads COLUMNS first, so COLUMNS=80 is stdout
that is not a terminal (76 characters) and COLUMNS=200 a wide terminal (108 and 88)."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import keras
import numpy as np
import pytest

import scratchnn as snn


def printed(model) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        model.summary()
    return out.getvalue()


# -- models, written once for both engines ---------------------------------------------------
def residual(m):
    L = m.layers
    x = m.Input((8,), name="x")
    h = L.Dense(8, name="d2")(L.Dense(8, name="d1")(x))
    y = L.Activation("relu", name="act")(L.Add(name="res")([x, h]))
    return m.Model(x, L.Dense(3, name="cls")(y), name="residual")


def two_in(m):
    """Two inputs, a Dense shared by both, two outputs [head, add]."""
    L = m.layers
    a, b = m.Input((4,), name="in_a"), m.Input((4,), name="in_b")
    shared = L.Dense(3, name="shared")
    s_a, s_b = shared(a), shared(b)
    added = L.Add(name="add")([s_a, s_b])
    out = L.Dense(2, name="head")(L.Concatenate(name="concat")([s_a, added]))
    return m.Model([a, b], [out, added], name="two_in")


def two_out(m):
    L = m.layers
    i = m.Input((3,), name="mi")
    trunk = L.Dense(4, activation="relu", name="trunk")(i)
    o1 = L.Dense(2, activation="softmax", name="o1")(trunk)
    o2 = L.Dense(1, name="o2")(L.Dense(3, name="o2a")(trunk))
    return m.Model(i, [o1, o2], name="two_out")


def linear(m):
    """Sequential-like: the three-column table, with the InputLayer's row."""
    L = m.layers
    i = m.Input((8,), name="lin_in")
    return m.Model(i, L.Dense(3, name="d_b")(L.Dense(4, name="d_a")(i)), name="linear")


def long_names(m):
    """Names as long as Keras's automatic ones: cells wrap, items are cut with '…'."""
    L = m.layers
    a, b, c = (m.Input((4,), name=n) for n in ("input_layer", "input_layer_1", "input_layer_2"))
    d = L.Dense(4, name="dense_with_a_rather_long_name")
    cat = L.Concatenate(name="concatenate")([d(a), d(b), d(c), a, b])
    return m.Model([a, b, c], L.Dense(1, name="dense_1")(cat), name="functional")


def auto_names(m):
    """Keras's automatic names (both engines count them from a fresh session)."""
    L = m.layers
    a, b = m.Input((4,)), m.Input((4,))
    return m.Model([a, b], L.Dense(1)(L.Concatenate()([a, b, L.Dense(4)(a)])))


def frozen(m):
    L = m.layers
    i = m.Input((5,), name="fi")
    base = L.Dense(4, name="base")
    h = L.Add(name="sum")([L.Dense(4, name="side")(i), base(i)])
    base.trainable = False
    return m.Model(i, L.Dense(2, name="top")(h), name="frozen")


def shared_at_two_depths(m):
    L = m.layers
    i = m.Input((3,), name="si")
    a, b = L.Dense(3, name="A"), L.Dense(3, name="B")
    return m.Model(i, a(b(a(i))), name="aba")


def shared_shapes(m):
    """The shared Dense's Output Shape is its last call's, (None, 2), not (None, 5, 2)."""
    L = m.layers
    p, q = m.Input((5, 4), name="p"), m.Input((4,), name="q")
    d = L.Dense(2, name="sd")
    return m.Model([p, q], [d(p), d(q)], name="shapes")


def outside_calls(m):
    """`d` is called outside the model before and after its one call inside: node indices
    are the raw ones, the Output Shape is the last call's (outside), and the graph is
    sequential-like."""
    L = m.layers
    z, x = m.Input((6, 4), name="z"), m.Input((4,), name="x")
    d = L.Dense(2, name="d")
    d(z)
    out = L.Dense(1, name="o")(d(x))
    d(m.Input((7, 4), name="later"))
    return m.Model(x, out, name="outside")


def unused_input(m):
    L = m.layers
    i, j = m.Input((3,), name="i"), m.Input((2,), name="j")
    return m.Model([i, j], L.Dense(2, name="d")(i), name="unused")


def one_input_merge(m):
    L = m.layers
    x = m.Input((3,), name="x")
    return m.Model(x, L.Dense(2, name="d")(L.Add(name="a")([x])), name="single_merge")


def rank_one(m):
    """A rank-1 shape is written '(None)'."""
    x = m.Input((), name="s")
    return m.Model(x, m.layers.Activation("relu", name="r")(x), name="scalar")


def sequential(m):
    L = m.layers
    return m.Sequential([m.Input((28, 28)), L.Flatten(name="flatten"),
                         L.Dense(350, activation="relu", name="dense"),
                         L.Dense(10, name="dense_1")])


MODELS = [residual, two_in, two_out, linear, long_names, auto_names, frozen,
          shared_at_two_depths, shared_shapes, outside_calls, unused_input, one_input_merge,
          rank_one, sequential]


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("build", MODELS, ids=lambda build: build.__name__)
def test_summary_prints_kerass_text(build, columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(columns))
    ours = printed(build(snn))
    theirs = printed(build(keras))
    assert ours == theirs
    if columns == 80:
        assert max(len(line) for line in ours.splitlines()) == 76


@pytest.mark.parametrize("columns", [80, 200])
def test_summary_of_a_trained_model_with_a_frozen_layer(columns, monkeypatch):
    """Frozen weights counted as non-trainable, the optimizer's variables on their own line
    (Adam: iterations, learning rate, two slots of the 34 trainable: 70)."""
    monkeypatch.setenv("COLUMNS", str(columns))
    x, y = np.ones((4, 5), "float32"), np.ones((4, 2), "float32")
    texts = []
    for m in (snn, keras):
        model = frozen(m)
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=1, verbose=0)
        texts.append(printed(model))
    assert " Optimizer params: 70 (284.00 B)" in texts[1]
    assert texts[0] == texts[1]


@pytest.mark.parametrize("columns", [41, 57, 61, 93])
@pytest.mark.parametrize("build", [residual, two_in, long_names, linear],
                         ids=lambda build: build.__name__)
def test_summary_at_other_widths(build, columns, monkeypatch):
    """rich's column widths and its bottom-aligned header cells at narrower terminals."""
    monkeypatch.setenv("COLUMNS", str(columns))
    assert printed(build(snn)) == printed(build(keras))

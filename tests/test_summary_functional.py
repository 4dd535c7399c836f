"""summary() of Functional models (snn.Model): Keras 3.15's tables, written out here as
Keras printed them (keras/src/utils/summary_utils.py, drawn by rich), with stdout not a
terminal (80 columns: 76-character tables) and with COLUMNS=200 (Keras's defaults, 88 and
108 characters). parity_tests/test_summary_functional_keras.py compares the same models
with Keras's own output."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import summary, summary_graph

L = snn.layers


@pytest.fixture(autouse=True)
def _fresh_names():
    snn.utils.clear_session()


@pytest.fixture
def columns(monkeypatch):
    """Set the terminal width Keras's rule reads (shutil.get_terminal_size: COLUMNS first)."""
    def set_columns(n: int) -> None:
        monkeypatch.setenv("COLUMNS", str(n))
    set_columns(80)
    return set_columns


def text(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines) + "\n"


def residual():
    x = snn.Input((8,), name="x")
    h = L.Dense(8, name="d2")(L.Dense(8, name="d1")(x))
    y = L.Activation("relu", name="act")(L.Add(name="res")([x, h]))
    return snn.Model(x, L.Dense(3, name="cls")(y), name="residual")


def two_in():
    a, b = snn.Input((4,), name="in_a"), snn.Input((4,), name="in_b")
    shared = L.Dense(3, name="shared")
    s_a, s_b = shared(a), shared(b)
    added = L.Add(name="add")([s_a, s_b])
    out = L.Dense(2, name="head")(L.Concatenate(name="concat")([s_a, added]))
    return snn.Model([a, b], [out, added], name="two_in")


def linear():
    i = snn.Input((8,), name="lin_in")
    return snn.Model(i, L.Dense(3, name="d_b")(L.Dense(4, name="d_a")(i)), name="linear")


def long_names():
    a, b, c = (snn.Input((4,), name=n) for n in ("input_layer", "input_layer_1",
                                                "input_layer_2"))
    d = L.Dense(4, name="dense_with_a_rather_long_name")
    cat = L.Concatenate(name="concatenate")([d(a), d(b), d(c), a, b])
    return snn.Model([a, b, c], L.Dense(1, name="dense_1")(cat), name="functional")


RESIDUAL_76 = """\
Model: "residual"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ x (InputLayer)      │ (None, 8)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ d1 (Dense)          │ (None, 8)         │         72 │ x[0][0]           │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ d2 (Dense)          │ (None, 8)         │         72 │ d1[0][0]          │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ res (Add)           │ (None, 8)         │          0 │ x[0][0], d2[0][0] │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ act (Activation)    │ (None, 8)         │          0 │ res[0][0]         │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ cls (Dense)         │ (None, 3)         │         27 │ act[0][0]         │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 171 (684.00 B)
 Trainable params: 171 (684.00 B)
 Non-trainable params: 0 (0.00 B)
"""

TWO_IN_76 = """\
Model: "two_in"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ in_a (InputLayer)   │ (None, 4)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ in_b (InputLayer)   │ (None, 4)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ shared (Dense)      │ (None, 3)         │         15 │ in_a[0][0],       │
│                     │                   │            │ in_b[0][0]        │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ add (Add)           │ (None, 3)         │          0 │ shared[0][0],     │
│                     │                   │            │ shared[1][0]      │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ concat              │ (None, 6)         │          0 │ shared[0][0],     │
│ (Concatenate)       │                   │            │ add[0][0]         │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ head (Dense)        │ (None, 2)         │         14 │ concat[0][0]      │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 29 (116.00 B)
 Trainable params: 29 (116.00 B)
 Non-trainable params: 0 (0.00 B)
"""

TWO_IN_108_ROWS = """\
┃ Layer (type)                  ┃ Output Shape              ┃         Param # ┃ Connected to               ┃
│ shared (Dense)                │ (None, 3)                 │              15 │ in_a[0][0], in_b[0][0]     │
│ add (Add)                     │ (None, 3)                 │               0 │ shared[0][0], shared[1][0] │
│ concat (Concatenate)          │ (None, 6)                 │               0 │ shared[0][0], add[0][0]    │
"""

LINEAR_76 = """\
Model: "linear"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ lin_in (InputLayer)             │ (None, 8)              │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ d_a (Dense)                     │ (None, 4)              │            36 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ d_b (Dense)                     │ (None, 3)              │            15 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 51 (204.00 B)
 Trainable params: 51 (204.00 B)
 Non-trainable params: 0 (0.00 B)
"""

LONG_NAMES_76_ROWS = """\
│ input_layer         │ (None, 4)         │          0 │ -                 │
│ (InputLayer)        │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ input_layer_1       │ (None, 4)         │          0 │ -                 │
│ (InputLayer)        │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ input_layer_2       │ (None, 4)         │          0 │ -                 │
│ (InputLayer)        │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense_with_a_rathe… │ (None, 4)         │         20 │ input_layer[0][0… │
│ (Dense)             │                   │            │ input_layer_1[0]… │
│                     │                   │            │ input_layer_2[0]… │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ concatenate         │ (None, 20)        │          0 │ dense_with_a_rat… │
│ (Concatenate)       │                   │            │ dense_with_a_rat… │
│                     │                   │            │ dense_with_a_rat… │
│                     │                   │            │ input_layer[0][0… │
│                     │                   │            │ input_layer_1[0]… │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense_1 (Dense)     │ (None, 1)         │         21 │ concatenate[0][0] │
"""

LONG_NAMES_108_ROWS = """\
│ dense_with_a_rather_long_name │ (None, 4)                 │              20 │ input_layer[0][0],         │
│ (Dense)                       │                           │                 │ input_layer_1[0][0],       │
│                               │                           │                 │ input_layer_2[0][0]        │
├───────────────────────────────┼───────────────────────────┼─────────────────┼────────────────────────────┤
│ concatenate (Concatenate)     │ (None, 20)                │               0 │ dense_with_a_rather_long_… │
│                               │                           │                 │ dense_with_a_rather_long_… │
│                               │                           │                 │ dense_with_a_rather_long_… │
│                               │                           │                 │ input_layer[0][0],         │
│                               │                           │                 │ input_layer_1[0][0]        │
"""


# -- the four-column table ------------------------------------------------------------------
def test_residual_model_prints_kerass_connected_to_table(columns):
    """A residual Add has two inputs: not sequential-like, so 4 columns at 76 characters
    (21/19/12/19 between the borders); the Add lists x[0][0], d2[0][0]."""
    assert text(residual()) == RESIDUAL_76


def test_shared_layer_lists_each_call_and_counts_its_weights_once(columns):
    """`shared` called on in_a then in_b: 'in_a[0][0], in_b[0][0]'; the Add takes its two
    calls, shared[0][0] and shared[1][0] (the node index); 15 parameters, counted once in
    the total 29; the items wrap at ', ' and a long 'Layer (type)' wraps at its space."""
    assert text(two_in()) == TWO_IN_76


def test_two_outputs_follow_kerass_layer_order(columns):
    mi = snn.Input((3,), name="mi")
    trunk = L.Dense(4, activation="relu", name="trunk")(mi)
    o1 = L.Dense(2, activation="softmax", name="o1")(trunk)
    o2 = L.Dense(1, name="o2")(L.Dense(3, name="o2a")(trunk))
    lines = text(snn.Model(mi, [o1, o2], name="two_out")).splitlines()
    rows = [line for line in lines if line.startswith("│ ")]
    assert rows == [
        "│ mi (InputLayer)     │ (None, 3)         │          0 │ -                 │",
        "│ trunk (Dense)       │ (None, 4)         │         16 │ mi[0][0]          │",
        "│ o2a (Dense)         │ (None, 3)         │         15 │ trunk[0][0]       │",
        "│ o1 (Dense)          │ (None, 2)         │         10 │ trunk[0][0]       │",
        "│ o2 (Dense)          │ (None, 1)         │          4 │ o2a[0][0]         │"]


def test_long_names_are_cut_with_an_ellipsis_and_each_item_wraps(columns):
    """An item longer than its cell ('input_layer[0][0],', 18 characters in 17) is cut to
    'input_layer[0][0…' and the next item starts a new line."""
    assert LONG_NAMES_76_ROWS in text(long_names())


def test_wide_terminal_gives_the_108_character_table(columns):
    """COLUMNS=200: min(108, 196) = 108 characters, columns 31/27/17/28."""
    columns(200)
    two = text(two_in())
    assert all(row in two for row in TWO_IN_108_ROWS.splitlines())
    assert len(two.splitlines()[1]) == 108
    assert LONG_NAMES_108_ROWS in text(long_names())


def test_a_layer_shared_at_two_depths_has_one_row_with_both_calls(columns):
    """A(B(A(x))): Keras lists A before B (its deepest call), and A's row shows both
    calls' inputs: 'si[0][0], B[0][0]'. Every depth holds one call, but A has two: not
    sequential-like."""
    si = snn.Input((3,), name="si")
    a, b = L.Dense(3, name="A"), L.Dense(3, name="B")
    rows = [line for line in text(snn.Model(si, a(b(a(si))), name="aba")).splitlines()
            if line.startswith("│ ")]
    assert rows[1:] == [
        "│ A (Dense)           │ (None, 3)         │         12 │ si[0][0], B[0][0] │",
        "│ B (Dense)           │ (None, 3)         │         12 │ A[0][0]           │"]


def test_output_shape_is_the_last_calls(columns):
    """A Dense called on (None, 5, 4) then on (None, 4) shows (None, 2)."""
    p, q = snn.Input((5, 4), name="p"), snn.Input((4,), name="q")
    d = L.Dense(2, name="sd")
    out = text(snn.Model([p, q], [d(p), d(q)], name="shapes"))
    assert "│ sd (Dense)          │ (None, 2)         │         10 │ p[0][0], q[0][0]  │" in out


def test_calls_outside_the_model_count_in_node_index_and_output_shape(columns):
    """`d` called on z first (outside the model), then on x (its node 1), then on another
    Input after the model's tensors were made: in the model only node 1 counts, so the
    graph is sequential-like (3 columns) and `o` is fed by d[1][0]; d's Output Shape is
    its LAST call's, (None, 7, 2), made outside the model."""
    z, x = snn.Input((6, 4), name="z"), snn.Input((4,), name="x")
    d = L.Dense(2, name="d")
    d(z)
    out = L.Dense(1, name="o")(d(x))
    d(snn.Input((7, 4), name="later"))
    model = snn.Model(x, out, name="outside")
    assert "│ d (Dense)                       │ (None, 7, 2)           │            10 │" in \
        text(model)
    nodes = summary_graph.model_nodes(model)
    assert summary_graph.connected_to(model.get_layer("o"), nodes) == "d[1][0]"
    assert summary_graph.connected_to(d, nodes) == "x[0][0]"


def test_an_unused_input_makes_two_calls_at_depth_zero(columns):
    """Model([i, j], Dense(i)): j sits at depth 0 beside the Dense's call, so not
    sequential-like; j's row says '-'."""
    i, j = snn.Input((3,), name="i"), snn.Input((2,), name="j")
    out = text(snn.Model([i, j], L.Dense(2, name="d")(i), name="unused"))
    assert "│ j (InputLayer)      │ (None, 2)         │          0 │ -                 │" in out


def test_frozen_layer_counts_as_non_trainable_and_optimizer_params_follow(columns):
    fi = snn.Input((5,), name="fi")
    base = L.Dense(4, name="base")
    h = L.Add(name="sum")([L.Dense(4, name="side")(fi), base(fi)])
    base.trainable = False
    model = snn.Model(fi, L.Dense(2, name="top")(h), name="frozen")
    lines = text(model).splitlines()
    assert lines[-3:] == [" Total params: 58 (232.00 B)", " Trainable params: 34 (136.00 B)",
                          " Non-trainable params: 24 (96.00 B)"]
    assert "│ base (Dense)        │ (None, 4)         │         24 │ fi[0][0]          │" in lines
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 5)), np.ones((4, 2)), verbose=0)
    # Adam: iterations (int64) + learning rate + 2 slots of the 34 trainable = 70, 284 bytes
    assert text(model).splitlines()[-4:] == [
        " Total params: 128 (516.00 B)", " Trainable params: 34 (136.00 B)",
        " Non-trainable params: 24 (96.00 B)", " Optimizer params: 70 (284.00 B)"]


# -- the sequential-like table --------------------------------------------------------------
def test_a_chain_is_sequential_like_three_columns_with_its_input_row(columns):
    assert text(linear()) == LINEAR_76


def test_sequential_like_rule():
    """One call per depth, at most one input tensor each, no layer called twice."""
    rule = summary_graph.is_sequential_like
    x = snn.Input((3,))
    assert rule(snn.Model(x, L.Dense(2)(L.Add()([x]))))           # a merge of one tensor
    assert rule(linear())
    assert not rule(residual())
    assert not rule(two_in())
    d, y = L.Dense(3), snn.Input((3,))
    assert not rule(snn.Model(y, d(d(y))))                        # one call per depth, shared


def test_sequential_like_table_is_88_wide_on_a_wide_terminal(columns):
    columns(200)
    lines = text(linear()).splitlines()
    assert lines[2] == "┃ Layer (type)                         ┃ Output Shape                ┃" \
                       "         Param # ┃"
    assert len(lines[1]) == 88


def test_a_sequential_follows_the_same_width_rule(columns):
    """A Sequential keeps its 76-character table at 80 columns, and gets Keras's 88 on a
    wide terminal; its InputLayer has no row."""
    def seq():
        return snn.Sequential([snn.Input((3,)), L.Dense(2, name="dense")])
    assert text(seq()).splitlines()[4] == (
        "│ dense (Dense)                   │ (None, 2)              │             8 │")
    columns(200)
    assert text(seq()).splitlines()[4] == (
        "│ dense (Dense)                        │ (None, 2)                   │"
        "               8 │")


# -- layout rules ---------------------------------------------------------------------------
@pytest.mark.parametrize("positions, length, widths", [
    ([0.45, 0.80, 1.0], 76, [33, 24, 15]),
    ([0.45, 0.80, 1.0], 88, [38, 29, 17]),
    ([0.3, 0.56, 0.74, 1.0], 76, [21, 19, 12, 19]),
    ([0.3, 0.56, 0.74, 1.0], 108, [31, 27, 17, 28]),
])
def test_column_widths_are_kerass_positions_shrunk_by_rich(positions, length, widths):
    """Measured runs of characters between Keras's borders."""
    assert summary.column_widths(positions, length) == widths
    assert sum(widths) + len(widths) + 1 == length


def test_a_wrapped_header_sits_at_the_bottom_of_its_row(columns):
    """rich aligns header cells to the bottom: at 61 columns 'Output Shape' and 'Param #'
    wrap and 'Layer (type)' stays on the second line (measured on Keras)."""
    columns(61)
    assert text(residual()).splitlines()[2:4] == [
        "┃                ┃ Output      ┃         ┃              ┃",
        "┃ Layer (type)   ┃ Shape       ┃ Param # ┃ Connected to ┃"]


def test_too_narrow_a_terminal_is_refused_with_kerass_message(columns):
    columns(20)
    with pytest.raises(ValueError, match="Insufficient console width to print summary."):
        residual().summary()


def test_line_length_overrides_the_terminal(columns):
    columns(200)
    lines = summary.summary_lines(residual(), 76)
    assert "\n".join(lines) + "\n" == RESIDUAL_76


def test_shapes_are_written_as_keras_writes_them():
    """Keras joins the dimensions: '(None)' for a rank-1 shape, not Python's '(None,)'."""
    assert summary.shape_str((None,)) == "(None)"
    assert summary.shape_str((None, 5, 2)) == "(None, 5, 2)"


def test_wrap_fills_lines_greedily_and_cuts_a_long_word():
    assert summary.wrap("in_a[0][0], in_b[0][0]", 17) == ["in_a[0][0],", "in_b[0][0]"]
    assert summary.wrap("x[0][0], d2[0][0]", 17) == ["x[0][0], d2[0][0]"]
    assert summary.wrap("input_layer[0][0], b[0][0]", 17) == ["input_layer[0][0…", "b[0][0]"]

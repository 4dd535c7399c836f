"""What `summary()` says about a graph (snn.Model): which table, and each layer's row.

    x = snn.Input((8,), name="x")
    h = Dense(8, name="d2")(Dense(8, name="d1")(x))
    model = snn.Model(x, Dense(3, name="cls")(Add(name="res")([x, h])))

    ┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
    │ x (InputLayer)      │ (None, 8)         │          0 │ -                 │
    │ d1 (Dense)          │ (None, 8)         │         72 │ x[0][0]           │
    │ d2 (Dense)          │ (None, 8)         │         72 │ d1[0][0]          │
    │ res (Add)           │ (None, 8)         │          0 │ x[0][0], d2[0][0] │
    │ cls (Dense)         │ (None, 3)         │         27 │ res[0][0]         │

The rules, as Keras 3.15 (keras/src/utils/summary_utils.py):
- one row per layer of `model.layers` (Keras's order, InputLayers included); a shared layer
  has one row, and its weights count once;
- "Connected to": for each call (node) of the layer that belongs to this model, each input
  tensor as producer[node_index][tensor_index] (the tensor's history, as recorded: a call
  made outside the model still counts in node_index), joined by ", "; "-" for an InputLayer;
- "Output Shape": the shape of the layer's LAST call, even one made outside the model;
- a graph that is "sequential-like" gets the three-column table, without "Connected to".
"""

from __future__ import annotations

from .nodes import inbound_nodes


def model_nodes(model) -> list:
    """Every call in the model, the InputLayers' included (Keras's `_nodes_by_depth`)."""
    return [node for depth in model._nodes_by_depth.values() for node in depth]


def is_sequential_like(model) -> bool:
    """Keras's rule: every depth of the graph holds a single call, no call takes more than
    one tensor, and no layer is called twice in the model. A chain Input -> Dense -> Dense
    is; a residual Add (two inputs), two outputs or a shared layer are not."""
    for nodes in model._nodes_by_depth.values():
        if len(nodes) > 1 or len(nodes[0].inputs) > 1:
            return False
    calls = [id(node.layer) for node in model_nodes(model)]
    return len(calls) == len(set(calls))


def connected_to(layer, nodes: list) -> str:
    """'x[0][0], d2[0][0]': the inputs of every call of `layer` in the model, or '-'."""
    items = [f"{t.history.layer.name}[{t.history.node_index}][{t.history.tensor_index}]"
             for node in inbound_nodes(layer) if node in nodes for t in node.inputs]
    return ", ".join(items) or "-"


def last_output_shape(layer) -> tuple:
    """The output shape of the layer's last call (Keras's summary walks all the calls and
    keeps the last one): a Dense shared by (None, 5, 4) and then (None, 4) inputs shows
    (None, 2)."""
    return inbound_nodes(layer)[-1].output.shape

"""The order of a graph's calls, exactly as Keras 3.15 finds it (keras/src/ops/function.py,
`map_graph`), from the model's inputs and outputs.

1. Depth-first from each output in turn (outputs in order; a node's inputs left to right),
   each node listed after its inputs. A layer gets a traversal index the first time the
   search meets it, starting from the OUTPUT side.
2. Depth counts from the outputs: an output's node has depth 0, a node's depth is one more
   than the deepest of the nodes that use its output; a layer's depth is that of its
   deepest call (a shared layer called at several depths sits at the deepest).
3. `model.layers` is sorted by decreasing layer depth, ties by traversal index. An Input
   that no output uses gets depth 0 and traversal index -1: it is listed first among the
   layers of depth 0, just before the output layers (as Keras lists it).
4. The forward pass runs the NODES (calls), not the layers: depths from high to low, and
   within one depth in the order Keras's dict holds them. Same-depth nodes never depend on
   each other, so only random draws (a shared Dropout) could tell the orders apart.
"""

from __future__ import annotations

from collections import defaultdict

from .nodes import Node, SymbolicTensor, inbound_nodes


def _node_of(tensor: SymbolicTensor) -> Node:
    layer, node_index, _ = tensor.history
    return inbound_nodes(layer)[node_index]


def _build_map(outputs: list[SymbolicTensor]) -> tuple[list[Node], dict]:
    """Nodes in topological order (inputs first) and each layer's traversal index."""
    finished: set[Node] = set()
    in_progress: set[Node] = set()
    ordered: list[Node] = []
    layer_index: dict = {}

    def visit(tensor: SymbolicTensor) -> None:
        node = _node_of(tensor)
        if node in finished:
            return
        if node in in_progress:
            raise ValueError(f"Tensor {tensor} from layer '{node.layer.name}' is part of a "
                             "cycle.")
        layer_index.setdefault(node.layer, len(layer_index))
        in_progress.add(node)
        for parent in node.inputs:
            visit(parent)
        finished.add(node)
        in_progress.discard(node)
        ordered.append(node)

    for output in outputs:
        visit(output)
    return ordered, layer_index


def map_graph(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]
              ) -> tuple[dict[int, list[Node]], list]:
    """(nodes by depth, layers in Keras's order) for a model from `inputs` to `outputs`."""
    ordered, layer_index = _build_map(outputs)
    in_graph = set(ordered)
    node_depth: dict[Node, int] = {}
    layer_depth: dict = {}
    for node in reversed(ordered):
        depth = node_depth.setdefault(node, 0)
        depth = max(depth, layer_depth.get(node.layer, 0))   # a shared layer: its deepest
        layer_depth[node.layer] = depth
        node_depth[node] = depth
        for parent in node.parent_nodes:
            if parent in in_graph:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for tensor in inputs:                  # Inputs that no output uses: depth 0, listed last
        node = _node_of(tensor)
        if node.layer not in layer_depth:
            layer_depth[node.layer] = 0
            layer_index[node.layer] = -1
            node_depth[node] = 0
    nodes_by_depth: dict[int, list[Node]] = defaultdict(list)
    for node, depth in node_depth.items():
        nodes_by_depth[depth].append(node)
    layers_by_depth: dict[int, list] = defaultdict(list)
    for layer, depth in layer_depth.items():
        layers_by_depth[depth].append(layer)
    layers = []
    for depth in sorted(layers_by_depth, reverse=True):
        layers += sorted(layers_by_depth[depth], key=lambda layer: layer_index[layer])
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) != 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the '
                             "model. All operation names should be unique.")
    _check_connected(inputs, outputs, nodes_by_depth)
    return dict(nodes_by_depth), layers


def _check_connected(inputs, outputs, nodes_by_depth) -> None:
    """Every output must be computable from the inputs (Keras's message otherwise)."""
    known = {id(t) for t in inputs}
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            if node.is_input:
                continue
            if all(id(t) in known for t in node.inputs):
                known.add(id(node.output))
    for position, tensor in enumerate(outputs):
        if id(tensor) not in known:
            path = "" if len(outputs) == 1 else str(position)
            raise ValueError(f"Output with path `{path}` is not connected to `inputs`")


def run_order(nodes_by_depth: dict[int, list[Node]]) -> list[Node]:
    """The calls in the order the forward pass makes them (input nodes left out)."""
    return [node for depth in sorted(nodes_by_depth, reverse=True)
            for node in nodes_by_depth[depth] if not node.is_input]

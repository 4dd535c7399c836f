"""The calls of a Functional model's config.json, checked and put in Keras's order before
anything is built (keras_model_reader.py then makes them).

Each layer entry lists its calls in "inbound_nodes" (keras_config.functional_config):

    {"args": [tensor], "kwargs": {}}               Keras 3: one argument, a tensor or a list
    [["in_a", 0, 0, {}], ["in_b", 0, 0, {}]]        Keras 2: one [layer, node, tensor, kwargs]
                                                   per input (two or more: a list argument)

and a tensor is known by the call that made it: [layer name, node index, tensor index].
`CallGraph` reads them all, and refuses by name what cannot be made: a reference to a
layer or a call that does not exist, a second output (scratchnn's layers make one), an
argument that is not a tensor, a keyword argument that means something, an InputLayer
that is called, a layer never called, two entries of one name, a class scratchnn lacks.

THE ORDER (Keras's functional_from_config): go over the layers in the file's order and make
each one's waiting calls in turn, until one needs a tensor that does not exist yet; then
the next layer; round and round until every call is made. A round that makes nothing means
a cycle, or a call whose input is never made: an error naming those calls.
"""

from __future__ import annotations

from typing import NamedTuple

from .keras_config_reader import check_layer_class, describe_entry, keras_class
from .state import InvalidFile


class Call(NamedTuple):
    """One call of a layer as the file records it: the `index`-th call of layer `layer` on
    the tensors `inputs` ((layer name, node index) of the call that made each); `merge`:
    called with a list (merge layers)."""
    layer: str
    index: int
    inputs: list
    merge: bool


# Keyword arguments Keras records for a call (Dropout's training, BatchNormalization's mask)
# that change nothing in the graph; any other is refused.
_CALL_KWARGS = {"training": (False, True, None), "mask": (None,)}


class CallGraph:
    """The entries and calls of a Functional config, checked before anything is built."""

    def __init__(self, entries: list, where: str) -> None:
        self.where = where
        self.entries: dict[str, tuple[int, dict]] = {}       # name -> (index, entry)
        for index, entry in enumerate(entries):
            what = describe_entry(entry, index)
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise self.error(f"{what} has no 'name'")
            name, cfg = entry["name"], entry.get("config")
            if isinstance(cfg, dict) and cfg.get("name", name) != name:
                raise self.error(f"{what}: the entry is named {name!r}, its config "
                                 f"{cfg.get('name')!r}")
            if name in self.entries:
                raise self.error(f"{what}: two layers are named '{name}' (names must be unique)")
            if entry.get("class_name") == "InputLayer":
                keras_class(entry, what, where)
            else:
                check_layer_class(entry, what, where)
            self.entries[name] = (index, entry)
        self.inputs = [n for n, (_, e) in self.entries.items() if e["class_name"] == "InputLayer"]
        self.calls = {name: self._calls(name) for name in self.entries}
        for calls in self.calls.values():
            for call in calls:
                for ref in call.inputs:
                    self.check_ref(ref, f"{self.what(call.layer)} call {call.index}")

    def error(self, message: str) -> InvalidFile:
        return InvalidFile(f"Cannot load '{self.where}': {message}")

    def what(self, name: str) -> str:
        index, entry = self.entries[name]
        return describe_entry(entry, index)

    def _calls(self, name: str) -> list[Call]:
        index, entry = self.entries[name]
        nodes = entry.get("inbound_nodes", [])
        what = self.what(name)
        if not isinstance(nodes, list):
            raise self.error(f"{what}: 'inbound_nodes' should be a list")
        if name in self.inputs:
            if nodes:
                raise self.error(f"{what}: an InputLayer is never called, but its entry "
                                 f"lists {len(nodes)} calls")
            return []
        if not nodes:
            raise self.error(f"{what} is never called in the graph (no inbound_nodes)")
        return [self._call(name, i, node, f"{what} call {i}") for i, node in enumerate(nodes)]

    def _call(self, name: str, index: int, node, what: str) -> Call:
        if isinstance(node, list):                   # Keras 2: [[name, node, tensor, kwargs]]
            refs = []
            for item in node:
                if not (isinstance(item, list) and len(item) in (3, 4)):
                    raise self.error(f"{what}: {item!r:.80} should be [layer name, node index, "
                                     "tensor index, kwargs]")
                self._check_kwargs(item[3] if len(item) == 4 else {}, what)
                refs.append(self._ref(item[:3], what))
            if not refs:
                raise self.error(f"{what} has no inputs")
            return Call(name, index, refs, merge=len(refs) > 1)
        if not isinstance(node, dict) or not isinstance(node.get("args"), list):
            raise self.error(f"{what} should be {{'args': [...], 'kwargs': {{...}}}}, got "
                             f"{node!r:.80}")
        self._check_kwargs(node.get("kwargs", {}), what)
        args = node["args"]
        if len(args) != 1:
            raise self.error(f"{what} has {len(args)} positional arguments; scratchnn's layers "
                             "take one (a tensor, or a list of tensors)")
        merge = isinstance(args[0], list)
        tensors = args[0] if merge else [args[0]]
        return Call(name, index, [self._tensor(t, what) for t in tensors], merge)

    def _check_kwargs(self, kwargs, what: str) -> None:
        if not isinstance(kwargs, dict):
            raise self.error(f"{what}: its kwargs should be a dict, got {kwargs!r:.80}")
        for key, value in kwargs.items():
            if value not in _CALL_KWARGS.get(key, ()):
                raise self.error(f"{what}: keyword argument {key}={value!r:.60} is not "
                                 "supported by scratchnn")

    def _tensor(self, value, what: str) -> tuple[str, int]:
        if not (isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"
                and isinstance(value.get("config"), dict)):
            raise self.error(f"{what}: argument {value!r:.80} is not a tensor "
                             "({'class_name': '__keras_tensor__', ...}); scratchnn's layers "
                             "take tensors only")
        return self._ref(value["config"].get("keras_history"), what)

    def _ref(self, history, what: str) -> tuple[str, int]:
        """(layer name, node index) from [layer name, node index, tensor index]."""
        ints = isinstance(history, list) and len(history) == 3 and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in history[1:])
        if not (ints and isinstance(history[0], str)):
            raise self.error(f"{what}: {history!r:.80} should be [layer name, node index, "
                             "tensor index]")
        if history[2] != 0:
            raise self.error(f"{what}: tensor index {history[2]} of '{history[0]}': scratchnn's "
                             "layers make one output (tensor index 0)")
        return history[0], history[1]

    def check_ref(self, ref: tuple[str, int], what: str) -> None:
        name, node = ref
        if name not in self.entries:
            raise self.error(f"{what} refers to layer '{name}', which does not exist in the "
                             "file")
        made = 1 if name in self.inputs else len(self.calls.get(name, ()))
        if node >= made:
            raise self.error(f"{what} refers to call {node} of '{name}', which is called "
                             f"{made} time(s)")

    def replay_order(self) -> list[Call]:
        """The calls in the order Keras's functional_from_config makes them, or an error
        naming the calls that can never be made (a cycle, or inputs never made)."""
        made = {name: int(name in self.inputs) for name in self.entries}
        waiting = {name: list(calls) for name, calls in self.calls.items() if calls}
        order: list[Call] = []
        while waiting:
            progress = False
            for name in self.entries:                   # the file's order, each time round
                queue = waiting.get(name, [])
                while queue and all(made[n] > i for n, i in queue[0].inputs):
                    order.append(queue.pop(0))
                    made[name] += 1
                    progress = True
                if name in waiting and not queue:
                    del waiting[name]
            if not progress:
                stuck = ", ".join(f"{self.what(n)} call {q[0].index}" for n, q in waiting.items())
                raise self.error(f"the graph has a cycle, or calls whose inputs are never made: "
                                 f"{stuck} (Keras: the graph of the Functional model either has "
                                 "loops or disconnected nodes)")
        return order

    def structure(self, value, what: str, inputs: bool):
        """`input_layers` / `output_layers` as refs, in their structure."""
        if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
            ref = self._ref(value, what)
            self.check_ref(ref, what)
            if inputs and ref[0] not in self.inputs:
                raise self.error(f"{what}: model inputs must be InputLayers; '{ref[0]}' is "
                                 f"{self.entries[ref[0]][1].get('class_name')}")
            return ref
        if isinstance(value, dict) and value:
            return {key: self.structure(v, f"{what}[{key!r}]", inputs)
                    for key, v in value.items()}
        if isinstance(value, list) and value:
            return [self.structure(v, f"{what}[{i}]", inputs) for i, v in enumerate(value)]
        raise self.error(f"{what} {value!r:.80} should be [layer name, node index, tensor "
                         "index], or a list or dict of them")

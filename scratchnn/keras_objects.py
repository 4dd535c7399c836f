"""Keras's serialized form of small objects (initializers, regularizers), both ways.

    {"module": "keras.initializers", "class_name": "GlorotUniform",
     "config": {"seed": None}, "registered_name": None}

as a .keras file's config.json writes them. A user's own subclass is written under its
own module with a `registered_name`, a plain function as class_name "function"; reading
takes a name (as a dict with that class_name and an empty config), a Keras 2 dict without
"module", or any of those, looking classes up in `custom_objects` first.
"""

from __future__ import annotations

from typing import Any, Callable


def serialize(obj, base: type, keras_classes: list[type], module: str,
              kind: str) -> dict[str, Any]:
    """The dict of `obj`: an instance of one of `keras_classes` (Keras's own, under
    `module`), of another subclass of `base` (a user's), or a plain function."""
    if isinstance(obj, base):
        cls = type(obj)
        if cls in keras_classes:
            return {"module": module, "class_name": cls.__name__,
                    "config": obj.get_config(), "registered_name": None}
        return {"module": cls.__module__, "class_name": cls.__name__,
                "config": obj.get_config(), "registered_name": cls.__name__}
    if callable(obj):
        name = getattr(obj, "__name__", type(obj).__name__)
        return {"module": getattr(obj, "__module__", None), "class_name": "function",
                "config": name, "registered_name": name}
    raise TypeError(f"{kind}s.serialize expects {'an' if kind[0] in 'aeiou' else 'a'} "
                    f"{kind}, got {obj!r}")


def deserialize(config: dict | str, by_name: dict[str, type], custom_objects: dict | None,
                kind: str, unknown: Callable[[str], str]) -> Any:
    """The object a `serialize` dict (or a name) describes: a class found in
    `custom_objects` or `by_name`, built with `from_config`; a function from
    `custom_objects`. `unknown(name)` words the error for a name found nowhere."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"{kind}s.deserialize expects a dict with 'class_name' and "
                         f"'config' (or a name), got {config!r}")
    name = config["class_name"]
    if name == "function":
        fn = custom_objects.get(config.get("registered_name")) or \
            custom_objects.get(config.get("config"))
        if fn is None:
            raise ValueError(f"{kind}s.deserialize: unknown function {kind} "
                             f"{config.get('config')!r}; pass it in custom_objects")
        return fn
    cls = custom_objects.get(config.get("registered_name") or name) or \
        custom_objects.get(name) or by_name.get(name)
    if cls is None:
        raise ValueError(unknown(name))
    return cls.from_config(dict(config.get("config") or {}))

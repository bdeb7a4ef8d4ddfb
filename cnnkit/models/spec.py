"""Turn a YAML layer spec into a Keras functional model.

One grammar serves chains and graphs: each item names one `keras.layers` class with its keyword
arguments, and may carry `name:` and `inputs:` (one name or a list). Without `inputs:` an item
takes the previous item's output; the model input is called `input`; the last item is the output
unless `model.outputs` lists several. Every failure names the item (index and name) it happened at.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cnnkit.errors import ModelSpecError, did_you_mean

INPUT_NAME = "input"
ITEM_KEYS = {"name", "inputs"}
# Layers that would let a config file smuggle in code or load arbitrary artefacts.
FORBIDDEN_LAYERS = {"Lambda", "TFSMLayer", "Layer", "InputLayer", "Input", "InputSpec"}


@dataclass
class Node:
    """One parsed spec item."""

    index: int
    layer_type: str
    kwargs: dict[str, Any]
    name: str
    inputs: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"model.layers[{self.index}] ({self.layer_type} '{self.name}')"


def keras_layer_classes() -> dict[str, type]:
    """Every public layer class in `keras.layers`, by class name."""
    import keras

    classes = {}
    for attr in dir(keras.layers):
        obj = getattr(keras.layers, attr)
        if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer) and attr not in FORBIDDEN_LAYERS:
            classes[attr] = obj
    return classes


def _to_container(value: Any) -> Any:
    """OmegaConf nodes -> plain Python containers (interpolations resolved)."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(value, DictConfig | ListConfig):
            return OmegaConf.to_container(value, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return value


def parse_layers(items: Sequence[Any]) -> list[Node]:
    """Validate the grammar of `model.layers` and wire default inputs (the previous item)."""
    items = _to_container(items)
    if not isinstance(items, list) or not items:
        raise ModelSpecError(
            f"`model.layers` must be a non-empty list of layer items. Received: {items!r}"
        )
    classes = keras_layer_classes()
    nodes: list[Node] = []
    seen: set[str] = {INPUT_NAME}
    previous = INPUT_NAME
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ModelSpecError(
                f"`model.layers[{index}]` must be a mapping like `Conv2D: {{filters: 8}}`. "
                f"Received: {item!r}"
            )
        layer_keys = [k for k in item if k not in ITEM_KEYS]
        if len(layer_keys) != 1:
            raise ModelSpecError(
                f"`model.layers[{index}]` must name exactly one layer type besides `name`/`inputs`. "
                f"Received keys: {sorted(item)}"
            )
        layer_type = layer_keys[0]
        if layer_type not in classes:
            raise ModelSpecError(
                f"`model.layers[{index}]` names an unknown layer type. Received: {layer_type!r}. "
                f"Expected a class of keras.layers.{did_you_mean(layer_type, classes)}"
            )
        kwargs = item[layer_type] or {}
        if not isinstance(kwargs, Mapping):
            raise ModelSpecError(
                f"`model.layers[{index}].{layer_type}` must be a mapping of keyword arguments. "
                f"Received: {kwargs!r}"
            )
        name = str(item.get("name") or f"{_snake(layer_type)}_{index}")
        if name in seen:
            raise ModelSpecError(f"`model.layers[{index}].name` is used twice. Received: {name!r}")
        raw_inputs = item.get("inputs", previous)
        inputs = [raw_inputs] if isinstance(raw_inputs, str) else list(raw_inputs)
        node = Node(index, layer_type, dict(kwargs), name, [str(i) for i in inputs])
        for ref in node.inputs:
            if ref not in seen:
                known = sorted(seen)
                raise ModelSpecError(
                    f"{node.where}: `inputs` refers to {ref!r}, which is not an earlier item. "
                    f"Known names: {', '.join(known)}.{did_you_mean(ref, known)}"
                )
        nodes.append(node)
        seen.add(name)
        previous = name
    return nodes


def _snake(class_name: str) -> str:
    out = []
    for i, ch in enumerate(class_name):
        if ch.isupper() and i and class_name[i - 1].islower():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _make_layer(node: Node, classes: Mapping[str, type]) -> Any:
    cls = classes[node.layer_type]
    try:
        return cls(name=node.name, **node.kwargs)
    except TypeError as exc:
        valid = _init_arguments(cls)
        bad = [k for k in node.kwargs if valid and k not in valid]
        if bad:
            hint = "".join(did_you_mean(b, valid) for b in bad)
            raise ModelSpecError(
                f"{node.where}: unknown argument {', '.join(map(repr, bad))}. "
                f"Expected some of: {', '.join(sorted(valid))}.{hint}"
            ) from exc
        raise ModelSpecError(f"{node.where}: invalid arguments {node.kwargs}: {exc}") from exc
    except ValueError as exc:
        raise ModelSpecError(f"{node.where}: invalid arguments {node.kwargs}: {exc}") from exc


def _init_arguments(cls: type) -> set[str]:
    """Keyword arguments a layer class accepts (its own and the base Layer's)."""
    import keras

    names: set[str] = set()
    for klass in (cls, keras.layers.Layer):
        params = inspect.signature(klass.__init__).parameters
        names |= {p for p, v in params.items() if v.kind not in (v.VAR_KEYWORD, v.VAR_POSITIONAL)}
    names -= {"self"}
    names |= {"dtype", "trainable", "name"}
    return names


def _shape_text(tensors: Sequence[Any]) -> str:
    return ", ".join(f"'{name}' {tuple(t.shape)}" for name, t in tensors)


def build_from_spec(
    layers: Sequence[Any],
    input_shape: Sequence[int],
    outputs: Sequence[str] | None = None,
    name: str = "model",
) -> Any:
    """Build a `keras.Model` from a layer spec; shapes are checked while the graph is wired."""
    import keras

    if not input_shape or any(int(d) <= 0 for d in input_shape if d is not None):
        raise ModelSpecError(
            f"`model.input_shape` must be a list of positive integers. Received: {input_shape!r}"
        )
    nodes = parse_layers(layers)
    classes = keras_layer_classes()
    tensors: dict[str, Any] = {INPUT_NAME: keras.Input(shape=tuple(input_shape), name=INPUT_NAME)}
    for node in nodes:
        layer = _make_layer(node, classes)
        incoming = [(ref, tensors[ref]) for ref in node.inputs]
        args = incoming[0][1] if len(incoming) == 1 else [t for _, t in incoming]
        try:
            tensors[node.name] = layer(args)
        except Exception as exc:  # Keras raises ValueError/TypeError with shape details
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelSpecError(
                f"{node.where} cannot take its input {_shape_text(incoming)}: {detail}"
            ) from exc
    output_names = list(_to_container(outputs) or [nodes[-1].name])
    for out in output_names:
        if out not in tensors:
            raise ModelSpecError(
                f"`model.outputs` names {out!r}, which is not an item.{did_you_mean(out, tensors)}"
            )
    model_outputs = [tensors[o] for o in output_names]
    return keras.Model(
        tensors[INPUT_NAME],
        model_outputs[0] if len(model_outputs) == 1 else model_outputs,
        name=name,
    )

"""Expanding `model.layers` and `model.blocks` into one flat list of `Node`s: item grammar,
block arguments and instances, `ND` layer names, names and paths for every error."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cnnkit.config.plain import to_plain
from cnnkit.errors import ModelSpecError, did_you_mean
from cnnkit.models.spec.expressions import Args, substitute

INPUT_NAME = "input"
ITEM_KEYS = {"name", "inputs", "repeat"}
BLOCK_KEYS = {"args", "inputs", "layers", "output"}
REQUIRED = "???"
MAX_NESTING = 16
# Layers that would let a config file smuggle in code or load arbitrary artefacts.
FORBIDDEN_LAYERS = {"Lambda", "TFSMLayer", "Layer", "InputLayer", "Input", "InputSpec"}


@dataclass
class Node:
    """One layer of the expanded spec."""

    index: int  # position in `model.layers` of the top-level item it comes from
    layer_type: str
    kwargs: dict[str, Any]
    name: str
    inputs: list[str] = field(default_factory=list)
    path: str = ""

    @property
    def where(self) -> str:
        return f"{self.path or f'model.layers[{self.index}]'} ({self.layer_type} '{self.name}')"


def keras_layer_classes() -> dict[str, type]:
    """Every public layer class in `keras.layers`, by class name."""
    import keras

    classes = {}
    for attr in dir(keras.layers):
        obj = getattr(keras.layers, attr)
        if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer) and attr not in FORBIDDEN_LAYERS:
            classes[attr] = obj
    return classes


def _snake(class_name: str) -> str:
    out = []
    for i, ch in enumerate(class_name):
        if ch.isupper() and i and class_name[i - 1].islower():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


@dataclass
class _Scope:
    """The names visible to the items of one `layers` list (the model's or a block instance's)."""

    names: dict[str, str]  # local name -> global node name
    prefix: str  # global-name prefix of the items created here
    path: str  # `model.layers` or `model.blocks.<name>.layers`
    trail: str  # path of the invoking items, e.g. `model.layers[6] > `
    args: dict[str, Any]
    rank: int | None
    depth: int = 0
    top_index: int = 0  # the `model.layers` item this scope was expanded from


class Expander:
    """Expands items and blocks into `Node`s, one at a time, so that `$channels` can ask the
    caller for shapes of nodes already built."""

    def __init__(self, blocks: Any, classes: Mapping[str, type], rank: int | None,
                 shape_of: Callable[[str], Sequence[Any]] | None = None,
                 path: str = "model.layers"):
        self.blocks = to_plain(blocks) or {}
        if not isinstance(self.blocks, Mapping):
            raise ModelSpecError(
                f"`model.blocks` must be a mapping of block names to definitions. Received: {self.blocks!r}"
            )
        self.classes = classes
        self.shape_of = shape_of
        self.used: set[str] = {INPUT_NAME}
        self.top = _Scope({INPUT_NAME: INPUT_NAME}, "", path, "", {}, rank)
        for block_name, block in self.blocks.items():
            self._check_block(str(block_name), block)

    def _check_block(self, name: str, block: Any) -> None:
        key = f"model.blocks.{name}"
        if name in self.classes:
            raise ModelSpecError(f"`{key}`: a block cannot be called like the keras layer {name!r}.")
        if not isinstance(block, Mapping) or "layers" not in block:
            raise ModelSpecError(f"`{key}` must be a mapping with `layers` (and `args`, `inputs`, "
                                 f"`output`). Received: {block!r}")
        unknown = sorted(set(block) - BLOCK_KEYS)
        if unknown:
            raise ModelSpecError(f"`{key}` has unknown keys {unknown}. Expected some of: "
                                 f"{', '.join(sorted(BLOCK_KEYS))}.{did_you_mean(unknown[0], BLOCK_KEYS)}")
        if not isinstance(block.get("args") or {}, Mapping):
            raise ModelSpecError(f"`{key}.args` must map argument names to defaults ({REQUIRED}: "
                                 f"required). Received: {block['args']!r}")
        ports = block.get("inputs") or [INPUT_NAME]
        if not isinstance(ports, list) or not all(isinstance(p, str) for p in ports):
            raise ModelSpecError(f"`{key}.inputs` must be a list of input names. Received: {ports!r}")
        if not isinstance(block["layers"] or [], list):
            raise ModelSpecError(f"`{key}.layers` must be a list of items. Received: {block['layers']!r}")

    def expand_model(self, items: Any) -> Iterator[Node]:
        items = to_plain(items)
        if not isinstance(items, list) or not items:
            raise ModelSpecError(
                f"`{self.top.path}` must be a non-empty list of layer items. Received: {items!r}"
            )
        self.last = yield from self._expand(items, self.top)

    def resolve(self, name: str) -> str:
        """The global node name a model-level name (item, block instance, `inst.inner`) stands for."""
        return self.top.names[name]

    def _expand(self, items: list[Any], scope: _Scope) -> Iterator[Node]:
        """Yield the nodes of `items`; returns the local name of the last item (the default output)."""
        previous = next(iter(scope.names))  # the first input: what the first item takes by default
        later = {str(it["name"]): i for i, it in enumerate(items) if isinstance(it, Mapping) and it.get("name")}
        for index, item in enumerate(items):
            path = f"{scope.trail}{scope.path}[{index}]"
            top_index = index if scope.depth == 0 else scope.top_index
            kind, kwargs, name, refs, repeat = self._parse_item(item, index, path, scope, previous)
            if name in scope.names:
                raise ModelSpecError(f"`{path}.name` is used twice. Received: {name!r}")
            inputs = []
            for ref in refs:
                if ref in scope.names:
                    inputs.append(scope.names[ref])
                    continue
                if ref in later:
                    raise ModelSpecError(
                        f"{path} ('{name}'): `inputs` refers to {ref!r}, defined later at "
                        f"{scope.trail}{scope.path}[{later[ref]}]; an item can only take earlier "
                        "items as inputs (anything else would be a cycle)."
                    )
                known = sorted(n for n in scope.names if "." not in n)
                raise ModelSpecError(
                    f"{path} ('{name}'): `inputs` refers to {ref!r}, which is not an earlier item. "
                    f"Known names: {', '.join(known)}.{did_you_mean(ref, scope.names)}"
                )
            if repeat != 1 and len(inputs) != 1:
                raise ModelSpecError(f"`{path}.repeat` needs an item with one input. Received "
                                     f"repeat {repeat} with inputs {refs}")
            output = inputs[0]
            for k in range(1, repeat + 1):
                rep_name = name if repeat == 1 else f"{name}.{k}"
                rep_inputs = inputs if k == 1 else [output]
                channels = self._channels_getter(rep_inputs[0], path)
                args = Args(scope.args, channels)
                resolved = substitute(kwargs, args, f"{path}.{kind}")
                if kind in self.blocks:
                    output = yield from self._expand_block(kind, resolved, rep_name, rep_inputs,
                                                           path, scope, top_index)
                else:  # `kind` is a keras.layers class name, ND already resolved
                    output = scope.prefix + rep_name
                    if output in self.used:
                        raise ModelSpecError(f"`{path}.name` is used twice. Received: {output!r}")
                    self.used.add(output)
                    yield Node(top_index, kind, resolved, output, list(rep_inputs), path)
                scope.names[rep_name] = output
            scope.names[name] = output
            previous = name
        return previous

    def _channels_getter(self, node_name: str, path: str) -> Callable[[], Any] | None:
        if self.shape_of is None:
            return None
        shape_of = self.shape_of

        def channels() -> Any:
            value = shape_of(node_name)[-1]
            if value is None:
                raise ModelSpecError(f"{path}: $channels is unknown for input {node_name!r}")
            return int(value)

        return channels

    def _parse_item(self, item: Any, index: int, path: str, scope: _Scope, previous: str
                    ) -> tuple[str, dict[str, Any], str, list[str], int]:
        if not isinstance(item, Mapping):
            raise ModelSpecError(
                f"`{path}` must be a mapping like `Conv2D: {{filters: 8}}`. Received: {item!r}"
            )
        kind_keys = [k for k in item if k not in ITEM_KEYS]
        if len(kind_keys) != 1:
            raise ModelSpecError(
                f"`{path}` must name exactly one layer type or block besides `name`/`inputs`/"
                f"`repeat`. Received keys: {sorted(item)}"
            )
        kind = substitute(kind_keys[0], Args(scope.args), path)
        if not isinstance(kind, str):
            raise ModelSpecError(f"`{path}`: {kind_keys[0]!r} must give a layer or block name. "
                                 f"Received: {kind!r}")
        if kind not in self.blocks:
            kind = self._layer_type(kind, scope.rank, path)
        kwargs = item[kind_keys[0]] or {}
        if not isinstance(kwargs, Mapping):
            raise ModelSpecError(
                f"`{path}.{kind}` must be a mapping of keyword arguments. Received: {kwargs!r}"
            )
        name = str(item.get("name") or f"{_snake(kind)}_{index}")
        if "." in name:
            raise ModelSpecError(f"`{path}.name` must not contain '.', which separates block "
                                 f"instances from their layers. Received: {name!r}")
        raw = item.get("inputs", None)
        if raw is not None and not isinstance(raw, str | Sequence):
            raise ModelSpecError(f"`{path}.inputs` must be the name of an item or a list of "
                                 f"names. Received: {raw!r}")
        refs = [previous] if raw is None else [raw] if isinstance(raw, str) else list(raw)
        repeat = substitute(item.get("repeat", 1), Args(scope.args), f"{path}.repeat")
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 0:
            raise ModelSpecError(f"`{path}.repeat` must be an integer >= 0. Received: {repeat!r}")
        return kind, dict(kwargs), name, [str(r) for r in refs], repeat

    def _layer_type(self, kind: str, rank: int | None, path: str) -> str:
        if kind in self.classes:
            return kind
        if "ND" in kind:
            if rank is None:
                raise ModelSpecError(f"{path}: {kind!r} needs a spatial rank; set `model.rank` "
                                     "or `model.input_shape`, or pass `rank` to the block.")
            concrete = kind.replace("ND", f"{rank}D", 1)
            if concrete in self.classes:
                return concrete
            raise ModelSpecError(f"{path}: {kind!r} at rank {rank} would be {concrete!r}, which "
                                 f"keras.layers does not have.{did_you_mean(concrete, self.classes)}")
        known = [*self.classes, *self.blocks]
        raise ModelSpecError(
            f"`{path}` names an unknown layer type. Received: {kind!r}. Expected a class of "
            f"keras.layers or a block of model.blocks.{did_you_mean(kind, known)}"
        )

    def _expand_block(self, block_name: str, given: dict[str, Any], instance: str,
                      inputs: list[str], path: str, caller: _Scope, top_index: int
                      ) -> Iterator[Node]:
        """Expand one block instance; returns (via StopIteration) the global name of its output."""
        block = self.blocks[block_name]
        key = f"model.blocks.{block_name}"
        if caller.depth >= MAX_NESTING:
            raise ModelSpecError(f"{path}: blocks nest more than {MAX_NESTING} deep "
                                 f"(does {block_name!r} call itself?)")
        declared = dict(block.get("args") or {})
        unknown = [a for a in given if a not in declared and a != "rank"]
        if unknown:
            raise ModelSpecError(
                f"{path}: block {block_name!r} has no argument {unknown[0]!r}. Expected some of: "
                f"{', '.join(declared) or 'none'} (and rank).{did_you_mean(unknown[0], declared)}"
            )
        values: dict[str, Any] = {}
        for arg, default in declared.items():
            if arg in given:
                values[arg] = given[arg]
            elif default == REQUIRED:
                raise ModelSpecError(f"{path}: block {block_name!r} needs argument {arg!r} "
                                     f"(`{key}.args.{arg}` is required).")
            else:
                values[arg] = substitute(default, Args(values), f"{key}.args.{arg}")
        rank = given.get("rank", values.get("rank", caller.rank))
        if rank not in (1, 2, 3, None):
            raise ModelSpecError(f"{path}: `rank` must be 1, 2 or 3. Received: {rank!r}")
        ports = list(block.get("inputs") or [INPUT_NAME])
        if len(ports) != len(inputs):
            raise ModelSpecError(f"{path}: block {block_name!r} takes {len(ports)} input(s) "
                                 f"({', '.join(ports)}). Received: {len(inputs)}")
        scope = _Scope(dict(zip(ports, inputs, strict=True)), f"{caller.prefix}{instance}.",
                       f"{key}.layers", f"{path} > ", values, rank, caller.depth + 1, top_index)
        last = yield from self._expand(list(block.get("layers") or []), scope)
        out_name = block.get("output") or last
        if out_name not in scope.names:
            raise ModelSpecError(f"`{key}.output` names {out_name!r}, which is not an item of "
                                 f"the block.{did_you_mean(str(out_name), scope.names)}")
        for local, global_name in scope.names.items():
            if local not in ports:
                caller.names[f"{instance}.{local}"] = global_name
        return scope.names[out_name]


def parse_layers(items: Sequence[Any], blocks: Any = None, rank: int | None = 2) -> list[Node]:
    """Validate the grammar of `model.layers` (blocks expanded) without building any layer."""
    return list(Expander(blocks, keras_layer_classes(), rank).expand_model(items))

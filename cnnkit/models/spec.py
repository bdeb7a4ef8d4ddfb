"""Turn a YAML layer spec into a Keras functional model.

One grammar serves chains and graphs: each item names one `keras.layers` class (or a block from
`model.blocks`) with its keyword arguments, and may carry `name:`, `inputs:` (one name or a list)
and `repeat:`. Without `inputs:` an item takes the previous item's output; the model input is
called `input`; the last item is the output unless `model.outputs` lists several.

Blocks are parameterised sub-graphs written in the same grammar:

    blocks:
      conv_bn:
        args: {filters: "???", strides: 1}    # "???": required (quoted inside {...})
        layers:
          - ConvND: {filters: $filters, kernel_size: 3, strides: $strides, padding: same}
          - BatchNormalization: {}
    layers:
      - {conv_bn: {filters: 32}, repeat: 2, name: stem}

`$arg` inserts an argument; a string holding `$arg` and arithmetic (`"$filters * 4"`) is computed
(numbers and + - * / // % ** only: nothing is executed). `$channels` is the last dimension of the
item's first input. `ND` in a layer name becomes `1D`/`2D`/`3D` after the spatial rank (`rank`
argument, else `model.rank`, else the input's rank), so one block serves signals, images and
volumes. An item's type may itself be an argument (`$shortcut: {...}` picks a block by name).
A block takes `inputs: [input, skip]` for several inputs and returns its last item (or `output:`).
Names inside a block instance get the instance name as prefix (`stem.1.conv2d_0`; other items
may refer to them so), and `repeat: 0` skips an item (its name then stands for its input). Every
failure names the item by its path, e.g. `model.layers[6] > model.blocks.conv_bn.layers[1]`.
"""

from __future__ import annotations

import ast
import inspect
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cnnkit.errors import ModelSpecError, did_you_mean

INPUT_NAME = "input"
ITEM_KEYS = {"name", "inputs", "repeat"}
BLOCK_KEYS = {"args", "inputs", "layers", "output"}
REQUIRED = "???"
MAX_NESTING = 16
# Layers that would let a config file smuggle in code or load arbitrary artefacts.
FORBIDDEN_LAYERS = {"Lambda", "TFSMLayer", "Layer", "InputLayer", "Input", "InputSpec"}
MERGE_LAYERS = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"}
_ARG = re.compile(r"\$([A-Za-z_]\w*)")
_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos,
}


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


def _to_container(value: Any) -> Any:
    """OmegaConf nodes -> plain Python containers (interpolations resolved)."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(value, DictConfig | ListConfig):
            return OmegaConf.to_container(value, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return value


def _snake(class_name: str) -> str:
    out = []
    for i, ch in enumerate(class_name):
        if ch.isupper() and i and class_name[i - 1].islower():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


# --------------------------------------------------------------------------- arguments


def _evaluate(expr: str, values: Mapping[str, Any], where: str) -> Any:
    """Arithmetic over numbers and `$args` by walking the syntax tree: nothing is executed."""
    names: dict[str, Any] = {}

    def placeholder(match: re.Match) -> str:
        key = f"_arg{len(names)}"
        names[key] = values[match.group(1)]
        return key

    text = _ARG.sub(placeholder, expr)

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.Name) and node.id in names:
            value = names[node.id]
            if isinstance(value, int | float):
                return value
            raise ModelSpecError(f"{where}: {expr!r} does arithmetic on a non-number {value!r}")
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.operand))
        raise ModelSpecError(
            f"{where}: {expr!r} is not `$arg` or arithmetic on numbers and `$args` "
            "(+ - * / // % ** and parentheses)"
        )

    try:
        return walk(ast.parse(text.strip(), mode="eval"))
    except SyntaxError as exc:
        raise ModelSpecError(f"{where}: cannot read the expression {expr!r}") from exc
    except ZeroDivisionError as exc:
        raise ModelSpecError(f"{where}: {expr!r} divides by zero") from exc


class _Args(Mapping):
    """Argument values of one scope; `channels` is looked up lazily from the built graph."""

    def __init__(self, values: Mapping[str, Any], channels: Callable[[], Any] | None = None):
        self.values = dict(values)
        self.channels = channels

    def __getitem__(self, key: str) -> Any:
        if key in self.values:
            return self.values[key]
        if key == "channels" and self.channels is not None:
            return self.channels()
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter([*self.values, "channels"])

    def __len__(self) -> int:
        return len(self.values) + 1


def substitute(value: Any, args: _Args, where: str) -> Any:
    """Replace `$arg` references (and arithmetic on them) throughout a value."""
    if isinstance(value, Mapping):
        return {k: substitute(v, args, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, args, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value
    for ref in _ARG.findall(value):
        if ref not in args:
            known = sorted(args.values) + (["channels"] if args.channels else [])
            raise ModelSpecError(
                f"`{where}` refers to ${ref}, which is not an argument here. "
                f"Known: {', '.join('$' + k for k in known) or 'none'}.{did_you_mean(ref, known)}"
            )
    whole = _ARG.fullmatch(value.strip())
    return args[whole.group(1)] if whole else _evaluate(value, args, f"`{where}`")


# --------------------------------------------------------------------------- expansion


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
                 shape_of: Callable[[str], Sequence[Any]] | None = None):
        self.blocks = _to_container(blocks) or {}
        if not isinstance(self.blocks, Mapping):
            raise ModelSpecError(
                f"`model.blocks` must be a mapping of block names to definitions. Received: {self.blocks!r}"
            )
        self.classes = classes
        self.shape_of = shape_of
        self.used: set[str] = {INPUT_NAME}
        self.top = _Scope({INPUT_NAME: INPUT_NAME}, "", "model.layers", "", {}, rank)
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
        items = _to_container(items)
        if not isinstance(items, list) or not items:
            raise ModelSpecError(
                f"`model.layers` must be a non-empty list of layer items. Received: {items!r}"
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
                args = _Args(scope.args, channels)
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
        kind = substitute(kind_keys[0], _Args(scope.args), path)
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
        refs = [previous] if raw is None else [raw] if isinstance(raw, str) else list(raw)
        repeat = substitute(item.get("repeat", 1), _Args(scope.args), f"{path}.repeat")
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
                values[arg] = substitute(default, _Args(values), f"{key}.args.{arg}")
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


# --------------------------------------------------------------------------- building


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


def _too_small(node: Node, incoming: list[tuple[str, Any]], output: Any) -> ModelSpecError:
    return ModelSpecError(
        f"{node.where} gives an empty output {output} from {_shape_text(incoming)}: the input is "
        "too small for this many poolings or strides; use a larger `model.input_shape` (or "
        "`data.image_size`)."
    )


def _call_error(node: Node, layer: Any, incoming: list[tuple[str, Any]],
                exc: Exception) -> ModelSpecError:
    """The message for a layer that cannot take its inputs; merges name every incoming node."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    window = getattr(layer, "pool_size", None) or getattr(layer, "kernel_size", None)
    if window and len(incoming) == 1 and getattr(layer, "padding", "same") == "valid":
        spatial = tuple(incoming[0][1].shape)[1:-1]
        if len(spatial) == len(window) and any(s is not None and s < w for s, w in zip(spatial, window, strict=True)):
            return _too_small(node, incoming, f"(window {tuple(window)})")
    if node.layer_type in MERGE_LAYERS and len(incoming) > 1:
        listed = " and ".join(f"'{ref}' with shape {tuple(t.shape)}" for ref, t in incoming)
        expected = ("equal shapes except along the concatenation axis"
                    if node.layer_type == "Concatenate" else "equal shapes")
        spatial = {tuple(t.shape)[1:-1] for _, t in incoming}
        hint = (" The spatial sizes differ: an encoder/decoder needs input sizes divisible by "
                "2 per pooling (set model.input_shape), and a residual shortcut needs the same "
                "strides as its branch." if len(spatial) > 1 else "")
        return ModelSpecError(
            f"{node.where} cannot merge {listed}: {node.layer_type} needs {expected}.{hint}"
        )
    return ModelSpecError(f"{node.where} cannot take its input {_shape_text(incoming)}: {detail}")


def build_from_spec(
    layers: Sequence[Any],
    input_shape: Sequence[int],
    outputs: Sequence[str] | None = None,
    name: str = "model",
    blocks: Any = None,
    rank: int | None = None,
    input_augmentation: Any = None,
) -> Any:
    """Build a `keras.Model` from a layer spec; shapes are checked while the graph is wired.

    `input_augmentation` (`augment.where=model`) puts a RandomAugmentation layer right after the
    input; items that name `input` then see the augmented tensor."""
    import keras

    if not input_shape or any(int(d) <= 0 for d in input_shape if d is not None):
        raise ModelSpecError(
            f"`model.input_shape` must be a list of positive integers. Received: {input_shape!r}"
        )
    if rank is None:
        rank = len(input_shape) - 1 if len(input_shape) in (2, 3, 4) else None
    elif rank not in (1, 2, 3):
        raise ModelSpecError(f"`model.rank` must be 1, 2 or 3. Received: {rank!r}")
    elif len(input_shape) in (2, 3, 4) and len(input_shape) != rank + 1:
        raise ModelSpecError(
            f"`model.rank` is {rank} but `model.input_shape` {list(input_shape)} has "
            f"{len(input_shape) - 1} spatial dimension(s) before the channels. Expected "
            f"{rank} ({['steps', 'height, width', 'x, y, z'][rank - 1]}, then channels): "
            "set model.input_shape (and data to match), or model.rank=null to follow the input."
        )
    classes = keras_layer_classes()
    from cnnkit.models.layers import apply_input_augmentation

    model_input = keras.Input(shape=tuple(input_shape), name=INPUT_NAME)
    tensors: dict[str, Any] = {INPUT_NAME: apply_input_augmentation(input_augmentation, model_input)}
    expander = Expander(blocks, classes, rank, shape_of=lambda n: tuple(tensors[n].shape))
    for node in expander.expand_model(layers):
        layer = _make_layer(node, classes)
        incoming = [(ref, tensors[ref]) for ref in node.inputs]
        args = incoming[0][1] if len(incoming) == 1 else [t for _, t in incoming]
        try:
            out = layer(args)
        except Exception as exc:  # Keras raises ValueError/TypeError with shape details
            raise _call_error(node, layer, incoming, exc) from exc
        for tensor in out if isinstance(out, list | tuple) else [out]:
            if any(d == 0 for d in tuple(tensor.shape)[1:]):
                raise _too_small(node, incoming, tuple(tensor.shape))
        tensors[node.name] = out
    output_names = list(_to_container(outputs) or [])
    if not output_names:
        output_names = [expander.last]
    resolved = []
    for out in output_names:
        if out not in expander.top.names:
            raise ModelSpecError(f"`model.outputs` names {out!r}, which is not an item."
                                 f"{did_you_mean(out, expander.top.names)}")
        resolved.append(tensors[expander.resolve(out)])
    return keras.Model(
        model_input,
        resolved[0] if len(resolved) == 1 else resolved,
        name=name,
    )

"""Wiring the expanded nodes into a Keras functional model, checking shapes as it goes: every
layer that cannot take its inputs is named with its spec path and the shapes it received."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from cnnkit.config.plain import to_plain
from cnnkit.errors import ModelSpecError, did_you_mean
from cnnkit.models.spec.expansion import INPUT_NAME, Expander, Node, keras_layer_classes

MERGE_LAYERS = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"}


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
        raise ModelSpecError(f"{node.where}: invalid arguments {node.kwargs}: {_first_line(exc)}") from exc
    except Exception as exc:  # Keras refuses a value with ValueError, AttributeError, ...
        raise ModelSpecError(f"{node.where}: invalid arguments {node.kwargs}: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
    path: str = "model.layers",
) -> Any:
    """Build a `keras.Model` from a layer spec; shapes are checked while the graph is wired.
    `path` is the spec's config key, as errors name it (a GAN's `model.generator.layers`).

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
    expander = Expander(blocks, classes, rank, shape_of=lambda n: tuple(tensors[n].shape),
                        path=path)
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
    output_names = list(to_plain(outputs) or [])
    if not output_names:
        output_names = [expander.last]
    resolved = []
    for out in output_names:
        if out not in expander.top.names:
            raise ModelSpecError(f"`model.outputs` names {out!r}, which is not an item."
                                 f"{did_you_mean(out, expander.top.names)}")
        resolved.append(tensors[expander.resolve(out)])
    resolved = [float32_output(t) for t in resolved]
    return keras.Model(
        model_input,
        resolved[0] if len(resolved) == 1 else resolved,
        name=name,
    )


def float32_output(tensor: Any) -> Any:
    """`tensor`, or under a mixed-precision policy the same output computed in float32: its
    layer is made again with a float32 policy and called on the same inputs (the first one is
    left out of the graph). As Keras' mixed-precision guide advises, outputs and so losses and
    metrics stay float32: `in_top_k` refuses bfloat16 scores, and a float16 softmax overflows."""
    if str(tensor.dtype) == "float32":
        return tensor
    layer = tensor._keras_history.operation
    node = layer._inbound_nodes[0]
    again = type(layer).from_config({**layer.get_config(), "dtype": "float32"})
    return again(*node.arguments.args, **node.arguments.kwargs)

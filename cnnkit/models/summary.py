"""Per-layer shapes, parameters, FLOPs and activation memory of a built Keras model.

FLOPs count the forward pass of one sample at 2 per multiply-add for convolutions (all ranks,
depthwise, separable, transposed) and dense layers; pooling, normalisation and merge layers count
their element operations; activation functions and bias additions are not counted, as in most
papers. Parameter counts come from Keras itself so they always equal `model.count_params()`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

BYTES_PER_ELEMENT = 4  # activation memory is reported for float32


@dataclass
class LayerRow:
    name: str
    type: str
    output_shape: list[Any]
    activations: int
    params: int
    trainable_params: int
    non_trainable_params: int
    flops: int
    inputs: list[str]  # the layers feeding this one: shows skip connections and merges


def _prod(values: Any) -> int:
    return int(math.prod(int(v) for v in values if v is not None))


def _shapes(tensors: Any) -> list[tuple]:
    if isinstance(tensors, list | tuple):
        return [tuple(t.shape) for t in tensors]
    if isinstance(tensors, dict):
        return [tuple(t.shape) for t in tensors.values()]
    return [tuple(tensors.shape)]


def _count(weights: Any) -> int:
    return int(sum(_prod(w.shape) for w in weights))


def layer_flops(layer: Any, in_shapes: list[tuple], out_shapes: list[tuple]) -> int:
    """Forward FLOPs of one layer for one sample (batch dimension dropped)."""
    import keras

    out_elems = sum(_prod(s[1:]) for s in out_shapes)
    in_elems = sum(_prod(s[1:]) for s in in_shapes)
    L = keras.layers
    if isinstance(layer, keras.Model):
        return sum(row.flops for row in layer_rows(layer))
    if isinstance(layer, L.Dense):
        return 2 * _prod(layer.kernel.shape) * (out_elems // max(1, layer.units))
    if isinstance(layer, L.SeparableConv1D | L.SeparableConv2D):
        spatial_out = out_elems // max(1, out_shapes[0][-1])
        depth = _prod(layer.depthwise_kernel.shape) * spatial_out
        point = _prod(layer.pointwise_kernel.shape) * spatial_out
        return 2 * (depth + point)
    if isinstance(layer, L.DepthwiseConv1D | L.DepthwiseConv2D):
        spatial_out = out_elems // max(1, out_shapes[0][-1])
        return 2 * _prod(layer.kernel.shape) * spatial_out
    if isinstance(layer, L.Conv1DTranspose | L.Conv2DTranspose | L.Conv3DTranspose):
        # every input position scatters a kernel-sized patch: MACs = in_positions * kernel
        spatial_in = in_elems // max(1, in_shapes[0][-1])
        return 2 * _prod(layer.kernel.shape) * spatial_in
    if isinstance(layer, L.Conv1D | L.Conv2D | L.Conv3D):
        spatial_out = out_elems // max(1, out_shapes[0][-1])
        return 2 * _prod(layer.kernel.shape) * spatial_out
    if isinstance(
        layer,
        L.MaxPooling1D | L.MaxPooling2D | L.MaxPooling3D
        | L.AveragePooling1D | L.AveragePooling2D | L.AveragePooling3D,
    ):
        return out_elems * _prod(layer.pool_size)
    if isinstance(
        layer,
        L.GlobalAveragePooling1D | L.GlobalAveragePooling2D | L.GlobalAveragePooling3D
        | L.GlobalMaxPooling1D | L.GlobalMaxPooling2D | L.GlobalMaxPooling3D,
    ):
        return in_elems
    if isinstance(layer, L.BatchNormalization | L.LayerNormalization | L.GroupNormalization):
        return 2 * out_elems  # scale and shift (inference: folded statistics)
    if isinstance(layer, L.Add | L.Subtract | L.Multiply | L.Average | L.Maximum | L.Minimum):
        return out_elems * max(0, len(in_shapes) - 1)
    return 0


def _node_shapes(layer: Any) -> tuple[list[tuple], list[tuple]]:
    try:
        return _shapes(layer.input), _shapes(layer.output)
    except (AttributeError, ValueError):  # a layer with no or several call sites
        return [], []


def _inbound(layer: Any) -> list[str]:
    """Names of the layers feeding `layer` at its first call (as Keras' "Connected to")."""
    nodes = getattr(layer, "_inbound_nodes", None) or []
    return [parent.operation.name for parent in nodes[0].parent_nodes] if nodes else []


def layer_rows(model: Any) -> list[LayerRow]:
    """One row per top-level layer, the input layer included."""
    rows = []
    for layer in model.layers:
        in_shapes, out_shapes = _node_shapes(layer)
        trainable = _count(layer.trainable_weights)
        non_trainable = _count(layer.non_trainable_weights)
        rows.append(
            LayerRow(
                name=layer.name,
                type=type(layer).__name__,
                output_shape=[list(s) for s in out_shapes] if len(out_shapes) != 1 else list(out_shapes[0]),
                activations=sum(_prod(s[1:]) for s in out_shapes),
                params=layer.count_params() if layer.built else trainable + non_trainable,
                trainable_params=trainable,
                non_trainable_params=non_trainable,
                flops=layer_flops(layer, in_shapes, out_shapes),
                inputs=_inbound(layer),
            )
        )
    return rows


def summarize(model: Any) -> dict[str, Any]:
    """The summary as plain data: what `summary.format=json` prints."""
    rows = layer_rows(model)
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    return {
        "model": model.name,
        "layers": [asdict(r) for r in rows],
        "total_params": int(model.count_params()),
        "trainable_params": trainable,
        "non_trainable_params": non_trainable,
        "flops": int(sum(r.flops for r in rows)),
        "activation_elements": int(sum(r.activations for r in rows)),
        "activation_bytes": int(sum(r.activations for r in rows) * BYTES_PER_ELEMENT),
    }


def human(n: float, unit: str = "") -> str:
    """1234567 -> '1.23M' (for tables)."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{suffix}{unit}"
    return f"{int(n)}{unit}"


def human_bytes(n: float) -> str:
    for scale, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= scale:
            return f"{n / scale:.2f} {suffix}"
    return f"{int(n)} B"

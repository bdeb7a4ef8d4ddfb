"""A mixed-precision model as the same model in float32, for formats that have no bfloat16.

A run trained with `trainer.mixed_precision=true` saves layers whose policy computes in bfloat16
(on CPU) or float16; ONNX Runtime refuses a bfloat16 Conv and the TFLite converter fails on it.
The weights themselves are float32 under a mixed policy, so the float32 twin is rebuilt from the
model's config with every mixed policy replaced, and given the same weights.
"""

from __future__ import annotations

from typing import Any


def _to_float32(node: Any) -> bool:
    """Rewrite every mixed dtype policy inside a (nested) layer config; whether any was."""
    changed = False
    if isinstance(node, dict):
        policy = node.get("dtype")
        if (isinstance(policy, dict) and policy.get("class_name") == "DTypePolicy"
                and str(policy.get("config", {}).get("name", "")).startswith("mixed_")):
            node["dtype"] = "float32"
            changed = True
        for value in node.values():
            changed |= _to_float32(value)
    elif isinstance(node, list):
        for value in node:
            changed |= _to_float32(value)
    return changed


def as_float32(model: Any) -> Any:
    """`model` itself when it computes in float32, else its float32 twin (same weights)."""
    import keras

    config = model.get_config()
    if not _to_float32(config):
        return model
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")  # for layers whose config names none
    try:
        twin = type(model).from_config(config)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    twin.set_weights(model.get_weights())
    return twin

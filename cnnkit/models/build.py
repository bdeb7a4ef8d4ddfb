"""Entry point for model building: picks the builder named by `model.kind`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnkit.registry import Registry

MODEL_KINDS: Registry[Callable[[Any], Any]] = Registry("model kind", "model.kind")


@MODEL_KINDS.register("spec")
def _build_spec_model(model_cfg: Any) -> Any:
    from cnnkit.models.spec import build_from_spec

    return build_from_spec(
        model_cfg.layers,
        list(model_cfg.input_shape),
        outputs=model_cfg.get("outputs"),
        name=str(model_cfg.get("name") or "model"),
        blocks=model_cfg.get("blocks"),
        rank=model_cfg.get("rank"),
    )


def build_model(model_cfg: Any) -> Any:
    """Build the (uncompiled) Keras model described by the resolved `model` config."""
    return MODEL_KINDS.get(str(model_cfg.get("kind", "spec")))(model_cfg)

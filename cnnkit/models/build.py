"""Entry point for model building: picks the builder named by `model.kind`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnkit.models.schemas import BackboneSchema, SpecModelSchema, check_backbone, check_spec
from cnnkit.registry import Registry

#: A model kind is `build(model_cfg) -> keras.Model` (uncompiled); its entry's schema has a
#: `rank_of(values)` giving the spatial rank it expects (None: unknown).
MODEL_KINDS: Registry[Callable[[Any], Any]] = Registry("model kind", "model.kind")
# What a model kind needs from the data pipeline when the user's `data.normalize` would break it:
# a backbone normalises inside the model (its own preprocess_input) and wants images in [0, 1].
# Generative models (gan, vae) make images in [0, 1] units and compare them with the data's.
KIND_DATA_NORMALIZE = {"backbone": "rescale", "gan": "rescale", "vae": "rescale"}


@MODEL_KINDS.register("spec", schema=SpecModelSchema, check=check_spec)
def _build_spec_model(model_cfg: Any) -> Any:
    from cnnkit.models.spec import build_from_spec

    complete_stem(model_cfg)
    return build_from_spec(
        model_cfg.layers,
        list(model_cfg.input_shape),
        outputs=model_cfg.get("outputs"),
        name=str(model_cfg.get("name") or "model"),
        blocks=model_cfg.get("blocks"),
        rank=model_cfg.get("rank"),
        input_augmentation=model_cfg.get("input_augmentation"),
    )


@MODEL_KINDS.register("backbone", schema=BackboneSchema, check=check_backbone)
def _build_backbone_model(model_cfg: Any) -> Any:
    from cnnkit.models.backbones import build_backbone_model

    return build_backbone_model(model_cfg)


def align_data_normalize(cfg: Any) -> str | None:
    """Set `data.normalize` to what `model.kind` requires; returns a note when it changed it."""
    from omegaconf import open_dict

    kind = str(cfg.model.get("kind", "spec"))
    required = KIND_DATA_NORMALIZE.get(kind)
    current = cfg.data.get("normalize")
    if required is None or current == required:
        return None
    with open_dict(cfg):
        cfg.data.normalize = required
    return (f"model.kind={kind} normalises inside the model: using data.normalize={required} "
            f"instead of {current}")


#: below this many pixels on the shortest spatial axis `stem: auto` picks the small stem
SMALL_STEM_BELOW = 64
STEMS = ("imagenet", "small")


def complete_stem(model_cfg: Any) -> None:
    """Resolve a preset's `stem: auto` from the (known) input shape: the ImageNet stem divides the
    resolution by 4 before the first stage, which leaves a 28x28 image 7x7; below
    `SMALL_STEM_BELOW` pixels the small stem (3x3 stride 1, no pooling) keeps it whole."""
    from omegaconf import open_dict

    from cnnkit.errors import ConfigError

    stem = model_cfg.get("stem")
    if stem is None:
        return
    if stem not in (*STEMS, "auto"):
        raise ConfigError(f"`model.stem` must be one of auto, {', '.join(STEMS)}. "
                          f"Received: {stem!r}")
    shape = model_cfg.get("input_shape")
    if stem == "auto" and shape is not None:
        with open_dict(model_cfg):
            model_cfg.stem = "small" if min(list(shape)[:-1]) < SMALL_STEM_BELOW else "imagenet"


def build_model(model_cfg: Any) -> Any:
    """Build the (uncompiled) Keras model described by the resolved `model` config."""
    return MODEL_KINDS.get(str(model_cfg.get("kind", "spec")))(model_cfg)


from cnnkit.models import generative  # noqa: E402, F401  (registers the kinds gan and vae)

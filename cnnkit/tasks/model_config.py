"""The model config completed from the data and the task, before the model is built."""

from __future__ import annotations

from typing import Any


def complete_model_config(cfg: Any, task: Any, input_shape: list[int],
                          class_names: list[str] | None) -> None:
    """Fill `model.input_shape` and what the task needs (e.g. `num_classes`) from the data;
    with `augment.where=model` the model gets the augmentation layer (`model.input_augmentation`).
    With `data.patch_size` the model input is the patch (and `input_shape`'s channels)."""
    from omegaconf import OmegaConf, open_dict

    from cnnkit.models.build import complete_stem

    with open_dict(cfg):
        patch = (cfg.get("data") or {}).get("patch_size")
        if patch:
            cfg.model.input_shape = [*(int(p) for p in patch), int(input_shape[-1])]
        elif cfg.model.get("input_shape") is None:
            cfg.model.input_shape = list(input_shape)
        task.complete_model_config(cfg.model, class_names, list(cfg.model.input_shape))
        complete_stem(cfg.model)
        augment = cfg.get("augment") or {}
        if augment.get("where") == "model" and augment.get("transforms"):
            cfg.model.input_augmentation = {
                "transforms": OmegaConf.to_container(augment.transforms, resolve=True),
                "seed": int(cfg.seed)}

"""Cross-field rules of the validation pass that join tasks, data, models and augmentation.

Each rule takes the whole checked config (plain values) and raises ConfigError naming the keys
that disagree and the fix. They run before TensorFlow is imported and before data are read, so
they only use what the config says (a source that cannot tell its targets without reading the
files says None and is checked when the data load).
"""

from __future__ import annotations

from typing import Any

from cnnkit.config.check import check_group
from cnnkit.errors import ConfigError, did_you_mean
from cnnkit.tasks.schemas import HEAD_KEYS

#: what each kind of target is called in messages, and the task that learns from it
TARGET_NOUNS = {"label": "class labels", "mask": "masks", "boxes": "boxes", "values":
                "numeric values", "image": "images", "density": "density maps"}
TASK_FOR = {"label": "classification", "mask": "segmentation", "boxes": "regression",
            "values": "regression", "image": "reconstruction", "density": "density"}
RANK_NOUNS = {1: "1D signals", 2: "2D images", 3: "3D volumes"}
MODELS_FOR_RANK = {1: "cnn1d", 2: "default, lenet5, resnet18 or unet", 3: "cnn3d or unet3d"}


def check_heads(values: dict[str, Any], config: dict[str, Any]) -> None:
    """Each `task.heads.NAME` names a single task, a weight >= 0 and that task's own keys."""
    from cnnkit.tasks import TASKS

    heads = values.get("heads") or {}
    if not heads:
        raise ConfigError("`task.heads` must name at least one head, e.g. {class: {task: "
                          "classification}, mask: {task: segmentation}}. Received: {}")
    singles = [t for t in TASKS.list() if t not in ("multitask", "autoencoder", "gan", "vae")]
    for head, spec in heads.items():
        key = f"task.heads.{head}"
        if not isinstance(spec, dict) or "task" not in spec:
            raise ConfigError(f"`{key}` must be a mapping with a `task` name, e.g. "
                              f"{{task: classification, weight: 1.0}}. Received: {spec!r}")
        name = str(spec["task"])
        if name not in singles:
            raise ConfigError(f"`{key}.task` names an unknown single task. Received: {name!r}. "
                              f"Expected one of: {', '.join(singles)}.{did_you_mean(name, singles)}")
        weight = spec.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise ConfigError(f"`{key}.weight` must be a number >= 0. Received: {weight!r}")
        own = {k: v for k, v in spec.items() if k not in HEAD_KEYS}
        schema = TASKS.entry(name).schema
        if schema is not None:
            check_group({**own, "name": name}, schema, key, what=f"the {name} task")


def check_task_fits_data(config: dict[str, Any]) -> None:
    """The task learns from the targets the data give (segmentation needs masks, ...)."""
    from cnnkit.data.sources import SOURCES
    from cnnkit.tasks import TASKS

    data, task = config["data"], config["task"]
    provided = SOURCES.entry(str(data["source"])).schema.provides(data)
    if provided is None:
        return
    kind, decided_by = provided
    name = str(task["name"])
    if name == "multitask":
        if not isinstance(kind, dict):
            raise ConfigError(f"`task=multitask` needs one data target per head, e.g. data.target: "
                              f"{{class: label, mask: mask}}. Received: one target ({decided_by})")
        for head, spec in task["heads"].items():
            if head not in kind:
                raise ConfigError(f"`task.heads.{head}` has no data target: {decided_by} names "
                                  f"{', '.join(kind)}.{did_you_mean(str(head), kind)}")
            _fits(str(spec["task"]), TASKS.entry(str(spec["task"])).schema.ACCEPTS, kind[head],
                  f"{decided_by}.{head}", f"task.heads.{head}.task")
        return
    if name == "classification":
        from cnnkit.tasks.classification import resolve_mode

        resolve_mode(str(task.get("mode", "auto")), data)
    accepts = TASKS.entry(name).schema.ACCEPTS
    if isinstance(kind, dict):
        if accepts:
            raise ConfigError(f"{decided_by} gives one target per output ({', '.join(kind)}); "
                              f"`task={name}` learns one. Use task=multitask with a head per output.")
        return
    _fits(name, accepts, kind, decided_by, "task")


def _fits(task: str, accepts: tuple[str, ...], kind: str, decided_by: str, key: str) -> None:
    if not accepts or kind in accepts:
        return
    wanted = " or ".join(TARGET_NOUNS.get(k, k) for k in accepts)
    raise ConfigError(
        f"`{key}={task}` learns from {wanted}, but the data give {TARGET_NOUNS.get(kind, kind)} "
        f"({decided_by}). Pick the task that fits them: {key}={TASK_FOR.get(kind, '?')}, or "
        "change the data's target.")


def check_model_fits_data(config: dict[str, Any]) -> None:
    """A 2D network is not given volumes, nor a 3D one images."""
    from cnnkit.data.sources import SOURCES
    from cnnkit.models.build import MODEL_KINDS

    data, model = config["data"], config["model"]
    data_rank = SOURCES.entry(str(data["source"])).schema.rank(data)
    schema = MODEL_KINDS.entry(str(model.get("kind", "spec"))).schema
    model_rank = schema.rank_of(model) if hasattr(schema, "rank_of") else None
    if data_rank and model_rank and data_rank != model_rank:
        raise ConfigError(
            f"`model` ({model.get('name')}) is a {model_rank}D network, but the data "
            f"(data.source={data['source']}) are {RANK_NOUNS[data_rank]}. Pick a {data_rank}D "
            f"model, e.g. model={MODELS_FOR_RANK[data_rank]}.")


def check_augment_fits_task(config: dict[str, Any]) -> None:
    """Every augmentation transform exists, has valid parameters and can move the task's targets."""
    from omegaconf import OmegaConf

    from cnnkit.augment import build_augmentation
    from cnnkit.tasks import get_task

    task = get_task(OmegaConf.create(config["task"]), OmegaConf.create(config))
    build_augmentation(config.get("augment"), task.target_kind, int(config.get("seed", 0)))


RULES = (check_task_fits_data, check_model_fits_data, check_augment_fits_task)
#: the rules that need the data the run will use (skipped for a model preset built on its own)
DATA_RULES = (check_task_fits_data, check_model_fits_data)

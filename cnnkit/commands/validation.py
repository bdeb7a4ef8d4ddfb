"""Wires the one validation pass: every registry's schemas and every cross-field rule.

Every command calls `validated(cfg)` right after composing its config and before TensorFlow is
imported; only this layer sees all components, so it hands them to `cnnkit.config.validate`.
"""

from __future__ import annotations

from typing import Any

from cnnkit.config.schema import AugmentSchema, LoggerSchema, RootSchema, TrainerSchema
from cnnkit.config.validate import Group, validate_config


def validated(cfg: Any, uses_data: bool = True, saved: bool = False) -> Any:
    """`cfg` checked (unknown keys, types, enums, ranges, cross-field rules) with defaults filled.

    `uses_data=False` (a model preset built on its own input shape, or predict, which needs no
    training data) skips the data source's file check and the rules that match the model and
    task to the data. `saved=True` (a run directory's resolved config): a model preset's own
    variables (`base_filters`) are no longer referenced by interpolations and are let through."""
    from cnnkit.data.sources import SOURCES, load_source_modules
    from cnnkit.models.build import MODEL_KINDS
    from cnnkit.tasks import TASKS, load_task_modules
    from cnnkit.tasks.compat import DATA_RULES, RULES
    from cnnkit.training.compile import OPTIMIZERS
    from cnnkit.training.loggers import check_logger
    from cnnkit.training.rules import check_trainer
    from cnnkit.training.strategy import check_cluster

    load_source_modules()
    load_task_modules()
    groups = [
        Group("data", registry=SOURCES, selector="source", run_check=uses_data),
        Group("model", registry=MODEL_KINDS, selector="kind", default="spec", open=saved),
        Group("task", registry=TASKS, selector="name"),
        Group("augment", schema=AugmentSchema),
        Group("optimizer", registry=OPTIMIZERS, selector="name", default="adam"),
        Group("trainer", schema=TrainerSchema),
        Group("logger", schema=LoggerSchema),
    ]
    rules = [rule for rule in RULES if uses_data or rule not in DATA_RULES]
    # a saved run's logger matters only to train: evaluate/predict work without MLflow
    rules += [check_cluster, check_trainer] + ([] if saved else [check_logger])
    return validate_config(cfg, groups, RootSchema, rules=rules)

"""`cnnkit summary`: build the model without training and print per-layer figures."""

from __future__ import annotations

import json
from typing import Any

from cnnkit.commands.common import complete_model_config, console
from cnnkit.config.compose import compose
from cnnkit.config.schema import validate
from cnnkit.data.build import peek
from cnnkit.models.build import build_model
from cnnkit.models.summary import human, human_bytes, summarize
from cnnkit.tasks import get_task


def run(args: list[str]) -> dict[str, Any]:
    cfg = compose("summary", args)
    validate(cfg)
    task = get_task(cfg.task)
    if cfg.model.get("input_shape") is None or cfg.model.get("num_classes", 0) is None:
        input_shape, class_names = peek(cfg)
    else:
        input_shape, class_names = list(cfg.model.input_shape), None
    complete_model_config(cfg, task, input_shape, class_names)
    model = build_model(cfg.model)
    result = summarize(model)
    if cfg.summary.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return result


def print_table(result: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"Model: {result['model']}")
    for column, justify in (("Layer", "left"), ("Type", "left"), ("Output shape", "left"),
                            ("Activations", "right"), ("Params", "right"),
                            ("Trainable", "right"), ("Frozen", "right"), ("FLOPs", "right"),
                            ("Inputs", "left")):
        table.add_column(column, justify=justify)
    previous = None
    for row in result["layers"]:
        # Inputs are listed where they are not just the row above: skips, branches and merges.
        inputs = row.get("inputs") or []
        table.add_row(row["name"], row["type"], str(tuple(row["output_shape"])).replace("None", "N"),
                      f"{row['activations']:,}", f"{row['params']:,}",
                      f"{row['trainable_params']:,}", f"{row['non_trainable_params']:,}",
                      human(row["flops"]), "" if inputs in ([], [previous]) else ", ".join(inputs))
        previous = row["name"]
    out = console()
    out.print(table)
    out.print(
        f"Total params: {result['total_params']:,}  (trainable {result['trainable_params']:,}, "
        f"non-trainable {result['non_trainable_params']:,})\n"
        f"FLOPs per sample: {human(result['flops'])} ({result['flops']:,}; 2 per multiply-add)\n"
        f"Forward activation memory per sample (float32): {human_bytes(result['activation_bytes'])}"
    )

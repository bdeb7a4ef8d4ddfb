"""`cnnkit summary`: build the model without training and print per-layer figures."""

from __future__ import annotations

import json
from typing import Any

from cnnkit.commands.common import (
    console,
    model_only_config,
    quiet_tensorflow,
    symbolic_model,
    wants_debug,
)
from cnnkit.models.summary import human, human_bytes, summarize


def run(args: list[str]) -> dict[str, Any]:
    cfg = model_only_config("summary", args)
    quiet_tensorflow(wants_debug(args))
    result = summarize(symbolic_model(cfg))
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

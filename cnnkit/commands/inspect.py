"""`cnnkit data` (alias `cnnkit inspect`): what the data are and what the network will see.

Prints, per split, the number of examples, their shapes and raw value range, and counts per
class (labels) or the share of each class in the masks; then the model input the preprocessing
makes, and writes a PNG grid of augmented training samples (masks overlaid, boxes drawn) in
[0, 1] units, before standardisation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.commands.common import console, quiet_tensorflow, wants_debug
from cnnkit.commands.validation import validated
from cnnkit.config.compose import compose
from cnnkit.data.build import PreparedData, augmented_samples, prepare_data
from cnnkit.data.statistics import data_statistics
from cnnkit.io.plots import draw_samples
from cnnkit.tasks import get_task


def print_stats(data: PreparedData, report: dict[str, Any], out: Any) -> None:
    """The statistics per split as a table, then the model input and the augmentation."""
    from rich.table import Table

    kind = data.target_kind
    names = data.preprocessing.class_names
    table = Table(title=f"Data: {data.data_cfg.source} (targets: {kind})")
    for column in ("split", "examples", "input shape", "target shape", "raw range",
                   "per class" if kind != "mask" else "share of mask pixels"):
        table.add_column(column)
    for split, stats in report.items():
        total = sum(stats["classes"].values()) or 1
        if kind == "mask":
            per_class = ", ".join(f"{k}: {v / total:.1%}" for k, v in stats["classes"].items())
        else:
            per_class = ", ".join(
                f"{names[k] if names and 0 <= k < len(names) else k}: {v}"
                for k, v in stats["classes"].items())
        table.add_row(split, str(stats["count"]), f"{stats['x_shape']} {stats['x_dtype']}",
                      str(stats["y_shape"]), f"{stats['min']:.4g} .. {stats['max']:.4g}",
                      per_class or "-")
    out.print(table)
    prep = data.preprocessing
    line = f"Model input: {prep.target_shape} (raw / {prep.value_max:g} -> [0, 1]"
    if prep.normalize == "standardize":
        mean = ", ".join(f"{m:.4f}" for m in prep.mean)
        std = ", ".join(f"{s:.4f}" for s in prep.std)
        line += f", then standardised with training mean [{mean}] and std [{std}]"
    elif prep.normalize == "rescale":
        line += ", no standardisation"
    out.print(line + ")", soft_wrap=True)
    augment = data.augmentation
    if augment is None:
        out.print("Augmentation: none", soft_wrap=True)
    else:
        listed = ", ".join(f"{t.name} (p={t.p:g})" for t in augment.transforms)
        out.print(f"Augmentation ({augment.where}): {listed}", soft_wrap=True)


def run(args: list[str]) -> dict[str, Any]:
    """Print data statistics and write the sample grid; returns the statistics per split.
    `cnnkit data convert ...` writes the data as records instead (commands/convert.py)."""
    if args[:1] == ["convert"]:
        from cnnkit.commands.convert import run as convert

        return convert(args[1:])
    import keras

    args = [f"inspect.{a}" if a.startswith("output=") else a for a in args]
    cfg = validated(compose("inspect", args))
    settings = cfg.inspect
    count = int(settings.num_samples)
    quiet_tensorflow(wants_debug(args))

    keras.utils.set_random_seed(int(cfg.seed))
    task = get_task(cfg.task, cfg)
    data = prepare_data(cfg, task.target_kind, input_shape=cfg.model.get("input_shape"))
    out = console()
    report = data_statistics(data)
    print_stats(data, report, out)
    output = Path(str(settings.output)).expanduser()
    x, y = augmented_samples(data, count, task.target_fn())
    draw_samples(x, y, data.target_kind, data.preprocessing.class_names, output)
    out.print(f"Wrote {len(x)} augmented training samples to {output}", soft_wrap=True)
    return report

"""`cnnkit data` (alias `cnnkit inspect`): what the data are and what the network will see.

Prints, per split, the number of examples, their shapes and raw value range, and counts per
class (labels) or the share of each class in the masks; then the model input the preprocessing
makes, and writes a PNG grid of augmented training samples (masks overlaid, boxes drawn) in
[0, 1] units, before standardisation.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.commands.common import console
from cnnkit.config.compose import compose
from cnnkit.config.schema import validate
from cnnkit.data.build import PreparedData, prepare_data
from cnnkit.data.pipeline import as_dataset, build_pipeline
from cnnkit.errors import ConfigError
from cnnkit.io import rundir

STATS_BATCH = 1024


def split_stats(split: Any, kind: Any) -> dict[str, Any]:
    """Count, shapes, raw value range and class counts of one split (arrays or a tf.data set)."""
    ds = as_dataset(split)
    x_spec, y_spec = ds.element_spec
    stats: dict[str, Any] = {
        "count": 0, "x_shape": x_spec.shape.as_list(), "x_dtype": x_spec.dtype.name,
        "y_shape": _spec_shapes(y_spec), "min": math.inf, "max": -math.inf, "classes": {},
    }
    counts: dict[int, int] = {}
    for x, y in ds.batch(STATS_BATCH):
        x = x.numpy()
        stats["count"] += len(x)
        stats["min"] = min(stats["min"], float(x.min()))
        stats["max"] = max(stats["max"], float(x.max()))
        if kind in ("label", "mask") and not isinstance(y, dict):
            values, found = np.unique(np.asarray(y).astype("int64"), return_counts=True)
            for value, n in zip(values.tolist(), found.tolist(), strict=True):
                counts[value] = counts.get(value, 0) + n
    stats["classes"] = dict(sorted(counts.items()))
    return stats


def _spec_shapes(spec: Any) -> Any:
    if isinstance(spec, dict):
        return {k: v.shape.as_list() for k, v in spec.items()}
    return spec.shape.as_list()


def print_stats(data: PreparedData, out: Any) -> dict[str, Any]:
    from rich.table import Table

    kind = data.target_kind
    names = data.preprocessing.class_names
    table = Table(title=f"Data: {data.data_cfg.source} (targets: {kind})")
    for column in ("split", "examples", "input shape", "target shape", "raw range",
                   "per class" if kind != "mask" else "share of mask pixels"):
        table.add_column(column)
    report = {}
    for split in data.source.splits:
        stats = split_stats(data.source.split(split), kind)
        report[split] = stats
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
    return report


def augmented_samples(data: PreparedData, count: int, target_fn: Any) -> tuple[np.ndarray, Any]:
    """`count` training examples after preprocessing and augmentation, in [0, 1] units."""
    preprocessing = dataclasses.replace(data.preprocessing, normalize="none")
    ds = build_pipeline(data.source.split("train"), preprocessing, count, True, data.seed,
                        target_fn=target_fn, augment_fn=data.augmentation, cache=False,
                        shuffle_buffer=int(data.data_cfg.get("shuffle_buffer", 2048)),
                        target_kind=data.target_kind)
    x, y = next(iter(ds))
    return x.numpy(), (
        {k: v.numpy() for k, v in y.items()} if isinstance(y, dict) else y.numpy())


def _image_of(x: np.ndarray) -> np.ndarray:
    """A displayable 2D image: the middle slice of a volume, gray or RGB."""
    while x.ndim > 3:
        x = x[x.shape[0] // 2]
    return np.clip(x[..., 0] if x.shape[-1] != 3 else x, 0.0, 1.0)


def _caption(kind: str, y: np.ndarray, names: list[str] | None) -> str:
    if kind == "label":
        index = int(np.argmax(y)) if np.ndim(y) else int(y)
        name = names[index] if names and 0 <= index < len(names) else str(index)
        return f"{name} ({np.max(y):.2f})" if np.ndim(y) else name
    if kind == "values":
        return " ".join(f"{v:.2f}" for v in np.ravel(y)[:4])
    return ""


def draw_samples(x: np.ndarray, y: Any, kind: Any, names: list[str] | None, path: Path) -> Path:
    """A grid of samples with their targets (masks overlaid, boxes drawn, labels as titles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = kind if isinstance(kind, dict) else {"": kind}
    targets = y if isinstance(y, dict) else {"": y}
    n = len(x)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        captions = []
        if x[i].ndim == 2:  # a 1D signal (length, channels)
            ax.axis("on")
            ax.plot(x[i])
        else:
            ax.imshow(_image_of(x[i]), cmap="gray", vmin=0.0, vmax=1.0)
        for head, head_kind in kinds.items():
            target = targets[head][i]
            if head_kind == "mask" and x[i].ndim > 2:
                mask = _image_of(target.astype("float32"))
                ax.imshow(np.ma.masked_where(mask <= 0, mask), cmap="autumn", alpha=0.45,
                          interpolation="nearest")
            elif head_kind == "boxes" and x[i].ndim > 2:
                height, width = x[i].shape[:2]
                for x1, y1, x2, y2 in np.reshape(target, (-1, 4)):
                    ax.add_patch(plt.Rectangle((x1 * width - 0.5, y1 * height - 0.5),
                                               (x2 - x1) * width, (y2 - y1) * height,
                                               fill=False, edgecolor="lime", linewidth=1.5))
            elif head_kind in ("label", "values"):
                captions.append(_caption(head_kind, target, names))
        ax.set_title("\n".join(c for c in captions if c), fontsize=8)
    fig.suptitle("Augmented training samples (before standardisation)", fontsize=10)
    fig.tight_layout()
    rundir.atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return path


def run(args: list[str]) -> dict[str, Any]:
    """Print data statistics and write the sample grid; returns the statistics per split."""
    import keras
    from omegaconf import open_dict

    from cnnkit.tasks import get_task

    cfg = compose("inspect", args)
    with open_dict(cfg):
        settings = cfg.pop("inspect")
    validate(cfg)
    count = settings.get("num_samples")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ConfigError(f"`inspect.num_samples` must be a positive integer. Received: {count!r}")
    keras.utils.set_random_seed(int(cfg.seed))
    task = get_task(cfg.task, cfg)
    data = prepare_data(cfg, input_shape=cfg.model.get("input_shape"))
    out = console()
    report = print_stats(data, out)
    output = Path(str(settings.output)).expanduser()
    x, y = augmented_samples(data, count, task.target_fn())
    draw_samples(x, y, data.target_kind, data.preprocessing.class_names, output)
    out.print(f"Wrote {len(x)} augmented training samples to {output}", soft_wrap=True)
    return report

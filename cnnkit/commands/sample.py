"""`cnnkit sample run=RUN_DIR output=PATH [n=64] [class=C] [interpolate=true] [seed=0]`: draw
new images from a trained generative run (task=gan or task=vae).

`output` ending in .png is one grid, .npy an array in the data's raw units and shape (so it
feeds `cnnkit predict`), anything else a folder of PNGs. `class=` (a class name or index) asks a
conditional GAN for that class; `interpolate=true` walks the latent space instead, n / 8 rows of
8 steps between two random points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.commands.common import apply_overrides, console, split_named_args
from cnnkit.commands.validation import validated
from cnnkit.errors import ConfigError, did_you_mean
from cnnkit.io.rundir import RunDir
from cnnkit.io.samples import write_samples
from cnnkit.tasks import get_task

USAGE = ("cnnkit sample run=RUN_DIR output=grid.png|DIR|file.npy [n=64] [class=C] "
         "[interpolate=true] [seed=0]")
OPTIONS = ("n", "class", "interpolate", "seed")
COLUMNS = 8


def _integer(key: str, value: str, least: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = least - 1
    if number < least:
        raise ConfigError(f"`{key}` must be an integer >= {least}. Received: {value!r}")
    return number


def _flag(key: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ConfigError(f"`{key}` must be true or false. Received: {value!r}")
    return value.lower() == "true"


def class_index(value: str, names: list[str] | None, count: int) -> int:
    """A class by name or by index, as the run's data call them."""
    names = list(names or [str(i) for i in range(count)])
    if value in names:
        return names.index(value)
    if value.isdigit() and int(value) < count:
        return int(value)
    raise ConfigError(f"`class={value}` is not a class of this run. Expected one of: "
                      f"{', '.join(names)}.{did_you_mean(value, names)}")


def run(args: list[str]) -> dict[str, Any]:
    named, overrides = split_named_args(
        args, {"run": "the trained run directory (task=gan or task=vae)",
               "output": "grid.png, a folder, or file.npy"}, USAGE, optional=OPTIONS)
    n = _integer("n", named.get("n", "64"), 1)
    seed = _integer("seed", named.get("seed", "0"), 0)
    run_dir = RunDir.open(named["run"])
    cfg = validated(apply_overrides(run_dir.load_config(), overrides), uses_data=False,
                    saved=True)
    task = get_task(cfg.task, cfg)
    if not hasattr(task, "sample"):
        raise ConfigError(f"`run={named['run']}` is a task={cfg.task.name} run. Expected a "
                          "generative run (task=gan or task=vae).")
    preprocessing = run_dir.load_preprocessing()
    import cnnkit.training.lr_schedule  # noqa: F401  (registers the schedule a saved optimizer names)

    model = run_dir.load_model()
    columns = COLUMNS
    if _flag("interpolate", named.get("interpolate", "false")):
        images = task.interpolate(model, max(1, n // COLUMNS), COLUMNS, seed)
    else:
        labels = None
        if "class" in named:  # the task refuses labels for a model that is not conditional
            labels = np.full(n, class_index(named["class"], preprocessing.class_names,
                                            model.num_classes or 0))
        elif model.num_classes:
            columns = model.num_classes  # the classes in turn: one per column
        images = task.sample(model, n, labels, seed)
    output = Path(named["output"]).expanduser()
    written = write_samples(images, output, preprocessing, columns)
    console().print(f"Wrote {written} to {output}")
    return {"count": len(images), "output": str(output)}

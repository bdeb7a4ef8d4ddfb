"""`cnnkit explain run=RUN input=PATH method=... [layer=] [class=] [output=DIR]`.

Reads the run back (model, task state, preprocessing), the inputs (`input=` a file or folder
as `cnnkit predict` reads them, or `input=split` for `explain.split`), checks the `explain.*`
keys against their schema and hands everything to `cnnkit.explain.runner`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.commands.common import apply_overrides, console
from cnnkit.commands.validation import validated
from cnnkit.config.check import check_group
from cnnkit.config.plain import to_plain
from cnnkit.config.schema import EXPLAIN_METHODS, ExplainSchema
from cnnkit.errors import ConfigError, DataError, did_you_mean
from cnnkit.io.readers import load_inputs
from cnnkit.io.rundir import RunDir, read_task_state
from cnnkit.tasks import get_task

USAGE = ("cnnkit explain run=RUN_DIR input=PATH|split method=" + "|".join(EXPLAIN_METHODS)
         + " [layer=NAME] [class=INDEX|NAME] [output=DIR] [explain.KEY=VALUE ...]")
NAMED = {"run": None, "input": None, "output": None, "method": "method", "layer": "layer",
         "class": "unit"}
SPLIT_METHODS = ("top_activations", "embedding")  # they may read a split instead of `input=`


def parse(args: list[str]) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """(run/input/output, the explain section, config overrides)."""
    from omegaconf import OmegaConf

    named: dict[str, str] = {}
    section: dict[str, Any] = {}
    overrides = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise ConfigError(f"expected key=value. Received: {arg!r}. Usage: {USAGE}")
        if key in NAMED:
            if NAMED[key]:
                section[NAMED[key]] = value
            else:
                named[key] = value
        elif key.startswith("explain."):
            section[key[len("explain."):]] = to_plain(OmegaConf.from_dotlist([f"v={value}"]).v)
        elif "." in key or key in ("debug", "+debug", "++debug"):
            overrides.append(arg)
        else:
            raise ConfigError(f"`{key}` is not an argument of cnnkit explain."
                              f"{did_you_mean(key, list(NAMED))} Usage: {USAGE}")
    if "run" not in named:
        raise ConfigError(f"missing `run=` the trained run directory. Usage: {USAGE}")
    if "unit" in section and section["unit"] is not None:
        section["unit"] = str(section["unit"])
    options = check_group(section, ExplainSchema, "explain")
    if "input" not in named and options["method"] not in SPLIT_METHODS:
        raise ConfigError(f"missing `input=` an image, a folder, a NIfTI volume or a .npy file "
                          f"of raw inputs. Usage: {USAGE}")
    return named, options, [o for o in overrides if not o.split("=")[0].endswith("debug")]


def split_inputs(cfg: Any, task: Any, preprocessing: Any, split: str) -> tuple[Any, list[str],
                                                                                 list[str] | None]:
    """Raw inputs, ids and labels (class names, where the targets are labels) of a split."""
    from cnnkit.data.build import prepare_data
    from cnnkit.data.pipeline import as_dataset

    data = prepare_data(cfg, task.target_kind, preprocessing=preprocessing)
    if not data.has_split(split):
        raise DataError(f"`explain.split={split}`: the data have no such split. Expected one "
                        f"of: {', '.join(data.source.splits)}")
    pairs = list(as_dataset(data.source.split(split)).batch(1024).as_numpy_iterator())
    x = np.concatenate([a for a, _ in pairs])
    y = np.concatenate([np.asarray(b) for _, b in pairs])
    names = preprocessing.class_names
    labels = ([names[int(v)] if names else str(int(v)) for v in y.reshape(len(y), -1)[:, 0]]
              if task.target_kind == "label" and y.ndim <= 2 else None)
    return x, [f"{split}_{i}" for i in range(len(x))], labels


def run(args: list[str]) -> dict[str, Any]:
    """Explain the inputs with the chosen method; returns the index written beside the PNGs."""
    import keras
    from rich.progress import track

    import cnnkit.training.lr_schedule  # noqa: F401  (registers the schedule a saved optimizer names)
    from cnnkit.explain.runner import Subject, explain

    named, options, overrides = parse(args)
    run_dir = RunDir.open(named["run"])
    cfg = validated(apply_overrides(run_dir.load_config(), overrides), uses_data=False, saved=True)
    keras.utils.set_random_seed(int(cfg.seed))
    task = get_task(cfg.task, cfg)
    task.restore_state(read_task_state(run_dir.path))
    preprocessing = run_dir.load_preprocessing()
    method = options["method"]
    source = named.get("input", "split")
    labels, affines = None, []
    if source == "split":
        raw, ids, labels = split_inputs(cfg, task, preprocessing, str(options["split"]))
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(f"`input={path}`: no such file or folder.")
        raw, infos = load_inputs(path, preprocessing)
        ids, affines = [i.id.replace("/", "_") for i in infos], [i.affine for i in infos]
    folder = Path(named.get("output") or run_dir.path / "explain" / method).expanduser()
    out = console(stderr=True)
    subject = Subject(run_dir.load_model(), task, preprocessing, raw, ids, options, folder,
                      labels=labels, affines=affines,
                      progress=lambda items, what: track(items, description=what, console=out))
    index = explain(subject, method, seed=int(cfg.seed))
    console().print(f"Wrote {method} for {len(ids)} inputs to {folder} (index.json)")
    return index

"""`cnnkit evaluate run=RUN_DIR [data.split=test]`: score a trained run on one split."""

from __future__ import annotations

from typing import Any

from cnnkit.commands.common import apply_overrides, console, split_named_args
from cnnkit.commands.validation import validated
from cnnkit.data.build import prepare_data
from cnnkit.io.evaluation import evaluate_split
from cnnkit.io.rundir import RunDir, read_task_state
from cnnkit.tasks import get_task

USAGE = "cnnkit evaluate run=RUN_DIR [data.split=test] [data.KEY=VALUE ...]"


def run(args: list[str]) -> dict[str, Any]:
    """Score the run's model with its task's metrics; writes eval/<split>.json and prints tables."""
    import keras

    import cnnkit.training.lr_schedule  # noqa: F401  (registers the schedule a saved optimizer names)

    named, overrides = split_named_args(args, {"run": "the run directory to evaluate"}, USAGE)
    run_dir = RunDir.open(named["run"])
    cfg = validated(apply_overrides(run_dir.load_config(), overrides), saved=True)
    keras.utils.set_random_seed(int(cfg.seed))
    split = str(cfg.data.split)
    task = get_task(cfg.task, cfg)
    task.restore_state(read_task_state(run_dir.path))
    preprocessing = run_dir.load_preprocessing()
    data = prepare_data(cfg, task.target_kind, preprocessing=preprocessing)
    return evaluate_split(run_dir.load_model(), data, task, split, run_dir.path, console())

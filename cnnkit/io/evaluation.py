"""Scoring a model on one split and writing `eval/<split>.json`: what `cnnkit evaluate` does, and
what `cnnkit train trainer.evaluate_on=[test]` does in the same process after training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.io import rundir


def evaluate_split(model: Any, data: Any, task: Any, split: str, run_path: Path,
                   out: Any) -> dict[str, Any]:
    """The task's report on `split` (a `PreparedData` split), written and printed."""
    if getattr(task, "feature_run", None):  # generative tasks score samples in its features
        from cnnkit.io.feature_space import load_feature_space

        task.feature_space = load_feature_space(task.feature_run)
    dataset = data.dataset(split, target_fn=task.target_fn())
    report = {"split": split, **task.evaluate(model, dataset, data.preprocessing.class_names)}
    path = rundir.write_json(Path(run_path) / rundir.EVAL / f"{split}.json", report)
    task.print_report(report, out)
    out.print(f"Wrote {path}")
    return report

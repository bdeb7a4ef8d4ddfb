"""Scoring a model on one split and writing `eval/<split>.json` and its plots: what `cnnkit
evaluate` does, and what `cnnkit train trainer.evaluate_on=[test]` does in the same process after
training. Every scalar metric gets a 95% bootstrap interval (`ci95`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.io import rundir
from cnnkit.io.eval_plots import plot_evaluation
from cnnkit.tasks.bootstrap import ci_section
from cnnkit.tasks.tta import with_tta


def evaluate_split(model: Any, data: Any, task: Any, split: str, run_path: Path,
                   out: Any, tta: str = "none") -> dict[str, Any]:
    """The task's report on `split` (a `PreparedData` split), written, plotted and printed;
    `tta` (cnnkit/tasks/tta.py) averages the model over flipped inputs, and the report says so."""
    if getattr(task, "feature_run", None):  # generative tasks score samples in its features
        from cnnkit.io.feature_space import load_feature_space

        task.feature_space = load_feature_space(task.feature_run)
    dataset = data.dataset(split, target_fn=task.target_fn())
    model = with_tta(model, tta, task)
    report = {"split": split, "tta": tta,
              **task.evaluate(model, dataset, data.preprocessing.class_names)}
    report.update(ci_section(task.bootstrap_statistic(), int(report.get("num_samples", 0))))
    preprocessing = data.preprocessing
    plots = plot_evaluation(task.samples, report, split, Path(run_path) / rundir.PLOTS,
                            lambda index: [unnormalize(x, preprocessing)
                                           for x in inputs_at(dataset, index)],
                            lambda x: unnormalize(x, preprocessing))
    report["plots"] = [str(p.relative_to(run_path)) for p in plots]
    path = rundir.write_json(Path(run_path) / rundir.EVAL / f"{split}.json", report)
    task.print_report(report, out)
    out.print(f"Wrote {path} and {len(plots)} plots in {Path(run_path) / rundir.PLOTS}")
    return report


def inputs_at(dataset: Any, index: list[int]) -> list[np.ndarray]:
    """The model inputs at positions `index` of a batched (input, target) dataset, in order."""
    wanted = {i: n for n, i in enumerate(index)}
    found: list[Any] = [None] * len(index)
    start = 0
    for x, _ in dataset:
        batch = np.asarray(x[0] if isinstance(x, tuple | list) else x)
        for offset in range(len(batch)):
            if start + offset in wanted:
                found[wanted[start + offset]] = batch[offset]
        start += len(batch)
        if all(f is not None for f in found):
            break
    return found


def unnormalize(x: np.ndarray, preprocessing: Any) -> np.ndarray:
    """A model input back in [0, 1] units (the standardisation undone), for display."""
    if preprocessing.normalize == "standardize":
        x = np.asarray(x) * np.asarray(preprocessing.std) + np.asarray(preprocessing.mean)
    return np.clip(x, 0.0, 1.0)

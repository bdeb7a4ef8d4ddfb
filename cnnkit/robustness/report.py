"""`cnnkit evaluate attack=...`: the robustness rows as a table, eval/<split>_<attack>.json and
plots/robustness_<split>_<attack>.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.io import rundir
from cnnkit.io.eval_plots import robustness_plot
from cnnkit.robustness.attacks import robustness


def evaluate_attack(model: Any, data: Any, task: Any, split: str, run_path: Path,
                    options: dict[str, Any], out: Any) -> dict[str, Any]:
    from rich.table import Table

    dataset = data.dataset(split, target_fn=task.target_fn())
    rows = robustness(model, task, dataset, data.preprocessing, options)
    metric = "accuracy" if "accuracy" in rows[0] else "dice"
    name = options["name"]
    plot = robustness_plot(rows, metric, name,
                           Path(run_path) / rundir.PLOTS / f"robustness_{split}_{name}.png")
    report = {"split": split, "attack": name, "metric": metric, "results": rows,
              "eps_units": "fraction of the raw value range",
              **({"steps": options["steps"]} if name == "pgd" else {}),
              "plot": str(plot.relative_to(run_path))}
    path = rundir.write_json(Path(run_path) / rundir.EVAL / f"{split}_{name}.json", report)
    table = Table(title=f"{name.upper()} on {split}")
    table.add_column("eps", justify="right")
    table.add_column(metric, justify="right")
    for row in rows:
        table.add_row(f"{row['eps']:g}", f"{row[metric]:.4f}")
    out.print(table)
    out.print(f"Wrote {path} and {plot}")
    return report

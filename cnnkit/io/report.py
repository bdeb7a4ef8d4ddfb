"""`report.html`: one self-contained page per run (or set of runs) with config, metrics and plots.

Every image is embedded as a base64 PNG data URI, so the file can be mailed or archived alone;
no script, stylesheet or font is fetched. Several runs (a multirun folder) add a side-by-side
table of their overrides and metrics before each run's section.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from cnnkit.io import rundir

STYLE = """body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;
margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}img{max-width:100%;margin:6px 0;display:block}
pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px}section{margin-bottom:40px}
.ci{color:#777;font-size:90%}"""


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def run_summary(path: Path) -> dict[str, Any]:
    """What a report shows of one run: its config text, metrics, evaluations and plots."""
    path = Path(path)
    overrides = path / ".hydra" / "overrides.yaml"
    return {
        "path": path, "name": path.name,
        "config": (path / rundir.CONFIG).read_text() if (path / rundir.CONFIG).is_file() else "",
        "overrides": overrides.read_text().strip() if overrides.is_file() else "",
        "metrics": _json(path / rundir.METRICS),
        "evals": {p.stem: _json(p) for p in sorted((path / rundir.EVAL).glob("*.json"))},
        "plots": sorted((path / rundir.PLOTS).glob("*.png")),
    }


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else html.escape(str(value))


def _scalars(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def image_tag(png: Path) -> str:
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(png.stem)}" src="data:image/png;base64,{data}">'


def _eval_table(report: dict[str, Any]) -> str:
    intervals = report.get("ci95") or {}
    rows = []
    for key, value in _scalars(report).items():
        ci = intervals.get(key)
        rows.append([html.escape(key), _number(value),
                     f'<span class="ci">[{ci[0]:.4f}, {ci[1]:.4f}]</span>' if ci else ""])
    return _table(["metric", "value", "95% CI"], rows)


def run_section(run: dict[str, Any]) -> str:
    parts = [f"<section><h2>{html.escape(run['name'])}</h2>",
             f"<p>{html.escape(str(run['path']))}</p>"]
    if run["metrics"]:
        parts.append("<h3>Training (chosen epoch)</h3>" + _table(
            ["metric", "value"], [[html.escape(k), _number(v)]
                                  for k, v in _scalars(run["metrics"]).items()]))
    for split, report in run["evals"].items():
        parts.append(f"<h3>Evaluation: {html.escape(split)}</h3>" + _eval_table(report))
    if run["plots"]:
        parts.append("<h3>Plots</h3>" + "".join(
            f"<h4>{html.escape(p.stem)}</h4>{image_tag(p)}" for p in run["plots"]))
    parts.append(f"<details><summary>config.yaml</summary><pre>{html.escape(run['config'])}"
                 "</pre></details></section>")
    return "".join(parts)


def comparison_table(runs: list[dict[str, Any]]) -> str:
    """One row per run: its overrides, the training metrics and every split's metrics."""
    columns: list[str] = []
    cells: list[dict[str, Any]] = []
    for run in runs:
        row = {f"train {k}": v for k, v in _scalars(run["metrics"]).items()}
        for split, report in run["evals"].items():
            row.update({f"{split} {k}": v for k, v in _scalars(report).items()})
        columns += [c for c in row if c not in columns]
        cells.append(row)
    rows = [[html.escape(run["name"]), html.escape(run["overrides"].replace("\n", " "))]
            + [_number(row[c]) if c in row else "-" for c in columns]
            for run, row in zip(runs, cells, strict=True)]
    return "<h2>Runs side by side</h2>" + _table(["run", "overrides", *columns], rows)


def write_report(run_paths: list[Path], output: Path) -> Path:
    """The report of `run_paths` at `output`; a table compares them when there are several."""
    runs = [run_summary(p) for p in run_paths]
    title = runs[0]["name"] if len(runs) == 1 else f"{len(runs)} runs"
    body = (comparison_table(runs) if len(runs) > 1 else "") + "".join(map(run_section, runs))
    page = (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>cnnkit report: "
            f"{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>cnnkit report: {html.escape(title)}</h1>{body}</body></html>\n")
    return rundir.write_text(output, page)

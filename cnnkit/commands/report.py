"""`cnnkit report run=RUN [run=RUN2 ...]`: one self-contained HTML page of runs and their plots.

`run=` may be given several times, as a comma-separated list, or name a multirun folder (every
finished run under it is included). The page goes to `output=` or, by default, RUN/report.html
(one run) or FOLDER/report.html (a multirun folder or several runs: the first one's folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.commands.common import console
from cnnkit.errors import ConfigError, RunDirError, did_you_mean
from cnnkit.io.report import write_report
from cnnkit.io.rundir import REPORT, RunDir

USAGE = "cnnkit report run=RUN_DIR[,RUN_DIR...] [run=MULTIRUN_DIR] [output=FILE.html]"
KEYS = ("run", "output")


def parse(args: list[str]) -> tuple[list[str], str | None]:
    runs: list[str] = []
    output = None
    for arg in args:
        key, sep, value = arg.partition("=")
        if key in ("debug", "+debug", "++debug"):
            continue
        if not sep or key not in KEYS:
            raise ConfigError(f"`{arg}` is not an argument of cnnkit report.{did_you_mean(key, KEYS)} "
                              f"Usage: {USAGE}")
        if key == "run":
            runs += [v for v in value.strip("[]").split(",") if v]
        else:
            output = value
    if not runs:
        raise ConfigError(f"missing `run=` the run directory (or multirun folder). Usage: {USAGE}")
    return runs, output


def expand(path: str) -> list[Path]:
    """A run directory, or every finished run below a multirun folder (sorted by trial number)."""
    folder = Path(path).expanduser()
    if (folder / "config.yaml").is_file():
        return [RunDir.open(folder).path]
    found = sorted((p.parent for p in folder.rglob("model.keras") if p.parent.name != "checkpoints"),
                   key=lambda p: [int(s) if s.isdigit() else s for s in p.relative_to(folder).parts])
    if not folder.is_dir() or not found:
        raise RunDirError(f"`run={path}`: neither a run directory nor a folder of finished runs. "
                          "Expected a directory written by `cnnkit train` (or `train -m`).")
    return [RunDir.open(p).path for p in found]


def run(args: list[str]) -> dict[str, Any]:
    """Write the report and say where it is."""
    names, output = parse(args)
    runs = [p for name in names for p in expand(name)]
    default_home = Path(names[0]).expanduser()
    target = Path(output).expanduser() if output else default_home / REPORT
    path = write_report(runs, target)
    console().print(f"Wrote {path} ({len(runs)} run{'s' if len(runs) > 1 else ''})")
    return {"report": str(path), "runs": [str(r) for r in runs]}

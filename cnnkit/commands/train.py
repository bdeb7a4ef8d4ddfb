"""`cnnkit train`: the validated config and the run directory, handed to the training engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.commands.common import console
from cnnkit.training.engine import train


def run(cfg: Any, run_path: Path, resume: bool = False) -> dict[str, Any]:
    """Train the configured model (or continue it, `resume`); everything lands in `run_path`."""
    return train(cfg, run_path, console(), resume=resume)

"""Checks of the trainer config that need no TensorFlow: run in the validation pass, so a bad
value stops `cnnkit train` before anything is built."""

from __future__ import annotations

import re
from typing import Any

from cnnkit.errors import ConfigError

DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*"
                      r"(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$")


ACCURACY_LIKE = ("acc", "auc", "dice", "iou", "psnr", "ssim", "r2", "f1", "precision", "recall")


def monitor_mode(monitor: str, mode: str) -> str:
    """`min` or `max`: how `monitor` improves (`trainer.monitor_mode`; auto: by its name)."""
    if mode != "auto":
        return mode
    return "max" if any(k in monitor for k in ACCURACY_LIKE) else "min"


def duration_seconds(value: Any, key: str) -> float:
    """`2h`, `90m`, `1h30m`, `45s`, `1d` or a number of seconds, as seconds (> 0)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = DURATION.match(str(value))
        if not match or not any(match.groups()):
            raise ConfigError(f"`{key}` must be a duration like 2h, 90m, 1h30m, 45s or a number of "
                              f"seconds. Received: {value!r}")
        days, hours, minutes, secs = (float(g or 0) for g in match.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    if seconds <= 0:
        raise ConfigError(f"`{key}` must be a positive duration. Received: {value!r}")
    return seconds


def check_trainer(config: dict[str, Any]) -> None:
    """A rule of the validation pass: trainer values that the schema's types cannot express."""
    trainer = config.get("trainer") or {}
    if trainer.get("max_time") is not None:
        duration_seconds(trainer["max_time"], "trainer.max_time")
    splits = trainer.get("evaluate_on") or []
    if not isinstance(splits, list) or not all(isinstance(s, str) for s in splits):
        raise ConfigError(f"`trainer.evaluate_on` must be a list of split names, e.g. [test]. "
                          f"Received: {splits!r}")

"""The family of errors a user can cause. The CLI prints them as one line and exits non-zero."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CnnkitError(Exception):
    """A problem the user can fix (config, data, paths); shown without a traceback."""

    exit_code = 2


class ConfigError(CnnkitError):
    """A config value is missing, of the wrong type or out of range."""


class ModelSpecError(CnnkitError):
    """A model spec cannot be turned into a Keras model."""


class DataError(CnnkitError):
    """Data cannot be found, read or matched to the task."""


class RunDirError(CnnkitError):
    """A run directory is missing or incomplete."""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Names close to `name`, best first; case-insensitive so `conv2d` finds `Conv2D`."""
    pool = [str(c) for c in candidates]  # names may arrive as numbers from YAML
    lowered = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(str(name).lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' Did you mean: a, b?' or '' — appended to unknown-name messages."""
    hits = closest(name, candidates)
    return f" Did you mean: {', '.join(hits)}?" if hits else ""

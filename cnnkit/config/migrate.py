"""Upgrading the config of an older run directory to the current layout (`SCHEMA_VERSION`).

A run's `config.yaml` records `schema_version`; evaluate, predict and resume read it through
`migrate`, one step per version, so runs written before a key moved keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnkit.config.schema import SCHEMA_VERSION
from cnnkit.errors import ConfigError


def _from_1(values: dict[str, Any]) -> dict[str, Any]:
    """Version 1: configs written before versions were recorded (cnnkit 0.1, up to Dec 2026).
    Every key they hold is still valid; the keys added since have defaults."""
    return {**values, "schema_version": 2}


#: version -> the step that upgrades a config of that version by one
STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_1}


def migrate(values: dict[str, Any], where: str = "config.yaml") -> dict[str, Any]:
    """`values` (a run's plain config) upgraded to SCHEMA_VERSION."""
    version = values.get("schema_version", 1)
    if not isinstance(version, int) or version < 1:
        raise ConfigError(f"`{where}`: `schema_version` must be a positive integer. "
                          f"Received: {version!r}")
    if version > SCHEMA_VERSION:
        raise ConfigError(f"`{where}` was written by a newer cnnkit (config schema {version}; "
                          f"this one reads up to {SCHEMA_VERSION}). Upgrade cnnkit to use this run.")
    while version < SCHEMA_VERSION:
        values = STEPS[version](values)
        version = values["schema_version"]
    return values

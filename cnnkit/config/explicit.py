"""Which keys and config groups a command line set, itself or through its `conf=` file: the
plan fills only the rest, so what the user wrote always wins.

A group counts as set when it was selected (`optimizer=sgd`, a `defaults:` entry of the conf
file, a selector such as `data.source=folder`) or any key under it was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnkit.config.compose import (
    _OVERRIDE,
    CONFIG_MODULE,
    GROUPS,
    SELECTORS,
    _read_user_yaml,
    preset_names,
)


@dataclass
class Explicit:
    keys: set[str] = field(default_factory=set)  # dotted keys: trainer.epochs
    groups: dict[str, str | None] = field(default_factory=dict)  # group -> option selected

    def has(self, key: str) -> bool:
        """Whether `key` (or a group) was set, directly or as part of a key or group above or
        below it (`augment.transforms` sets `augment`)."""
        return key in self.keys or key in self.groups or any(
            k.startswith(f"{key}.") or key.startswith(f"{k}.") for k in self.keys)


def _flatten(content: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in content.items():
        if key == "defaults":
            continue
        if isinstance(value, dict) and value:
            keys |= _flatten(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def _conf_content(value: str) -> dict[str, Any]:
    """The content of `conf=NAME` (a shipped experiment) or `conf=PATH.yaml`."""
    if value.endswith((".yaml", ".yml")) or "/" in value:
        path = Path(value).expanduser()
        return _read_user_yaml(path) if path.is_file() else {}
    from importlib import resources

    if value not in preset_names("experiment"):
        return {}
    text = (resources.files(CONFIG_MODULE) / "experiment" / f"{value}.yaml").read_text()
    import yaml

    return yaml.safe_load(text) or {}


def _add_conf(found: Explicit, content: dict[str, Any]) -> None:
    for item in content.get("defaults") or []:
        if isinstance(item, dict):
            for key, option in item.items():
                group = str(key).removeprefix("override ").strip("/").split("@")[0]
                if group in GROUPS:
                    found.groups[group] = None if option is None else str(option)
    keys = _flatten({k: v for k, v in content.items() if k not in ("name", "seed")})
    for key in keys:
        group, _, rest = key.partition(".")
        if SELECTORS.get(group) == rest:
            found.groups.setdefault(group, None)
    found.keys |= {k for k in keys if not k.startswith("hydra")}


def explicit_settings(args: list[str]) -> Explicit:
    """The keys and groups `args` (cnnkit's arguments: conf=, group=option, key=value) set."""
    found = Explicit()
    for arg in args:
        match = _OVERRIDE.match(arg)
        if match is None or arg.startswith("-"):
            continue
        key, value = match["key"], match["value"]
        if key == "conf":
            _add_conf(found, _conf_content(value))
        elif key in GROUPS:
            found.groups[key] = value
        elif not key.startswith("hydra"):
            group, _, rest = key.partition(".")
            if SELECTORS.get(group) == rest:
                found.groups.setdefault(group, None)
            found.keys.add(key)
    return found

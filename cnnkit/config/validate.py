"""The one validation pass: every key of every group, before anything is built or imported.

Groups with a fixed shape (`trainer`) have one schema; groups that name a component (`data.source`,
`model.kind`, `task.name`, `optimizer.name`) take the schema of that component's registry entry,
then its `check`. Cross-field rules (the task fits the data, the model's rank fits the data's)
run last on the whole checked config. The caller (a command) supplies the groups and rules, so
this module knows no component: higher layers register, this layer checks.

The result is the composed config with every default of the schemas filled in; the builders read
it. Values that are still interpolations (`${model.num_classes}`, filled from the data later)
stay interpolations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cnnkit.config.check import MISSING, check_group, schema_keys, unknown_key_error
from cnnkit.errors import ConfigError
from cnnkit.registry import Registry

Rule = Callable[[dict[str, Any]], None]
_REFERENCE = re.compile(r"\$\{(\w+)\.(\w+)")


@dataclass(frozen=True)
class Group:
    """A config group: a fixed `schema`, or the `registry` entry its `selector` key names."""

    key: str
    schema: type | None = None
    registry: Registry | None = None
    selector: str = "name"
    default: str | None = None  # the selector's value when the group leaves it out
    run_check: bool = True  # False: the schema only, not the entry's check (e.g. files present)
    open: bool = False  # True: keys the schema does not list pass untyped (a saved run's presets)


def validate_config(cfg: Any, groups: Iterable[Group], root_schema: type,
                    rules: Iterable[Rule] = ()) -> Any:
    """Check `cfg` (a composed DictConfig) and return it with the schemas' defaults filled in.

    Raises ConfigError (one line) at the first problem; missing required values (`???`) are
    reported first and together, since nothing else can be checked without them."""
    from omegaconf import OmegaConf

    raw = OmegaConf.to_container(cfg, resolve=False)
    plain = resolved(cfg)
    _refuse_missing(plain)
    groups = list(groups)
    referenced = referenced_keys(raw)
    root_keys = schema_keys(root_schema)
    known = [*root_keys, *(g.key for g in groups)]
    for key in plain:
        if key not in known:
            raise _unknown_root_key(str(key), known, plain)
    checked: dict[str, Any] = check_group(
        {k: v for k, v in plain.items() if k in root_keys}, root_schema, "")
    entries = {}
    for group in groups:
        values = plain.get(group.key)
        values = {} if values is None else values
        schema, what = group.schema, ""
        if group.registry is not None:
            if not isinstance(values, dict):
                raise ConfigError(f"`{group.key}` must be a mapping of keys. Received: {values!r}")
            name = str(values.get(group.selector, group.default))
            entry = group.registry.entry(name, key=f"{group.key}.{group.selector}")
            if group.run_check:
                entries[group.key] = entry
            schema, what = entry.schema, f"the {name} {group.registry.kind}"
        if schema is None:
            checked[group.key] = dict(values)
            continue
        extra = set(values) if group.open else referenced.get(group.key, ())
        checked[group.key] = check_group(values, schema, group.key, extra=extra, what=what)
    for key, entry in entries.items():
        if entry.check is not None:
            entry.check(checked[key], checked)
    for rule in rules:
        rule(checked)
    _fill_defaults(cfg, checked, raw)
    return cfg


def _unknown_root_key(key: str, known: list[str], plain: dict[str, Any]) -> ConfigError:
    """An unknown top-level key; `epocs=3` is most likely a group's key typed without its group."""
    from cnnkit.errors import closest

    if closest(key, known):
        return unknown_key_error("", key, known)
    groups_of: dict[str, list[str]] = {}  # a group's key -> the groups that have it
    for group, values in plain.items():
        for name in values if isinstance(values, dict) else ():
            groups_of.setdefault(str(name), []).append(str(group))
    nested = [f"{group}.{name}" for name in closest(key, groups_of) for group in groups_of[name]]
    if nested:
        return ConfigError(f"`{key}` is not a top-level key. Did you mean: {', '.join(nested)}? "
                           f"Expected some of: {', '.join(known)}.")
    return unknown_key_error("", key, known)


def resolved(cfg: Any) -> dict[str, Any]:
    """`cfg` as plain values with interpolations resolved; a broken one is named."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "config"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"`{key}` cannot be resolved: {first}") from exc


def missing_keys(values: Any, prefix: str = "") -> list[str]:
    """Full keys whose value is `???` (required, no default); a block's `args` use `???` for
    arguments each use of the block must give, so they are not the user's to set here."""
    if prefix.endswith(".args") and ".blocks." in prefix:
        return []
    if isinstance(values, dict):
        return [k for name, v in values.items()
                for k in missing_keys(v, f"{prefix}.{name}" if prefix else str(name))]
    if isinstance(values, list):
        return [k for i, v in enumerate(values) for k in missing_keys(v, f"{prefix}[{i}]")]
    return [prefix] if values == MISSING else []


def _refuse_missing(plain: dict[str, Any]) -> None:
    keys = missing_keys(plain)
    if keys:
        names = ", ".join(f"`{k}`" for k in keys)
        example = " ".join(f"{k}=..." for k in keys)
        verb = "is" if len(keys) == 1 else "are"
        raise ConfigError(f"{names} {verb} required and not set. Add {example} to the command "
                          "line or your YAML file.")


def referenced_keys(raw: Any) -> dict[str, set[str]]:
    """Group -> keys that interpolations anywhere in the config refer to (`${model.base_filters}`):
    a preset's own variables, allowed in its group although no schema lists them."""
    found: dict[str, set[str]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            for group, key in _REFERENCE.findall(value):
                found.setdefault(group, set()).add(key)

    walk(raw)
    return found


def _fill_defaults(cfg: Any, checked: dict[str, Any], raw: dict[str, Any]) -> None:
    """Write the schemas' defaults for keys the config leaves out (present keys are untouched,
    so interpolations stay live)."""
    from omegaconf import open_dict

    with open_dict(cfg):
        for key, value in checked.items():
            if key not in raw:
                cfg[key] = value
            elif isinstance(value, dict) and isinstance(raw[key], dict):
                for name, default in value.items():
                    if name not in raw[key]:
                        cfg[key][name] = default

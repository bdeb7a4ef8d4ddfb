"""Checking one config group against its schema: unknown keys, types, enums and ranges.

A schema is a dataclass whose fields are the keys of a group; `setting(...)` adds ranges and
choices. Every refusal names the full key (`optimizer.schedule`, `augment.transforms[0].name`),
the value received and what is expected, with a did-you-mean where one applies. Only Python and
the standard library are used, so the check runs before TensorFlow is imported.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, Union

from cnnkit.errors import ConfigError, did_you_mean

MISSING = "???"


def setting(default: Any = dataclasses.MISSING, *, factory: Callable[[], Any] | None = None,
            min: float | None = None, max: float | None = None, gt: float | None = None,
            lt: float | None = None, choices: Iterable[str] | Callable[[], Iterable[str]] | None = None,
            min_items: int | None = None) -> Any:
    """A schema field with bounds (`min`/`max` inclusive, `gt`/`lt` exclusive), `choices` (a
    collection, or a callable returning one, such as a registry's `list`) or, for a list, the
    fewest items it may hold (`min_items`)."""
    metadata = {k: v for k, v in dict(min=min, max=max, gt=gt, lt=lt, choices=choices,
                                      min_items=min_items).items() if v is not None}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def schema_keys(schema: type) -> list[str]:
    return [f.name for f in dataclasses.fields(schema)]


def unknown_key_error(group: str, key: str, valid: Iterable[str], what: str = "") -> ConfigError:
    valid = list(valid)
    where = what or (f"`{group}`" if group else "the config")
    full = f"{group}.{key}" if group else key
    return ConfigError(f"`{full}` is not a key of {where}.{did_you_mean(str(key), valid)} "
                       f"Expected some of: {', '.join(valid)}.")


def check_group(values: Any, schema: type, key: str, extra: Iterable[str] = (),
                what: str = "") -> dict[str, Any]:
    """`values` (a plain mapping) checked against `schema`: defaults filled in, types checked.

    `extra` names keys the schema does not list but that are allowed untyped (a preset's own
    variables); `what` describes the group in unknown-key messages (e.g. "the folder source")."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"`{key}` must be a mapping of keys. Received: {values!r}")
    hints = typing.get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema)}
    allowed = set(extra)
    for name in values:
        if name not in fields and name not in allowed:
            raise unknown_key_error(key, str(name), fields, what)
    out: dict[str, Any] = {}
    for name, field in fields.items():
        full = f"{key}.{name}" if key else name
        if name in values:
            out[name] = check_value(values[name], hints[name], full, field.metadata)
        elif field.default is not dataclasses.MISSING:
            out[name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            out[name] = field.default_factory()
        else:
            raise ConfigError(f"`{full}` is required. Expected {describe(hints[name])}.")
    out.update({name: values[name] for name in allowed if name in values})
    return out


def check_value(value: Any, tp: Any, key: str, meta: Mapping[str, Any] | None = None) -> Any:
    """`value` as type `tp` (coerced where lossless: an int for a float), or a ConfigError."""
    meta = meta or {}
    if value == MISSING:
        raise ConfigError(f"`{key}` is required. Expected {describe(tp)}.")
    checked = _typed(value, tp, key)
    _check_bounds(checked, key, meta)
    return checked


def _typed(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None:
            if type(None) in options:
                return None
            raise _expected(key, tp, value)
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _typed(value, option, key)
            except ConfigError as exc:
                errors.append(exc)
        # one option left: its own message is the most precise
        real = [o for o in options if o is not type(None)]
        if len(real) == 1:
            raise errors[0]
        raise _expected(key, tp, value)
    if origin is Literal:
        choices = [str(c) for c in typing.get_args(tp)]
        if isinstance(value, str) and value in choices:
            return value
        raise ConfigError(f"`{key}` must be one of {', '.join(choices)}. Received: {value!r}."
                          f"{did_you_mean(str(value), choices)}")
    if dataclasses.is_dataclass(tp):
        return check_group(value, tp, key)
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, list | tuple):
            raise _expected(key, tp, value)
        (item_type,) = typing.get_args(tp)[:1] or (Any,)
        return [_typed(item, item_type, f"{key}[{i}]") for i, item in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _expected(key, tp, value)
        _, item_type = typing.get_args(tp) or (str, Any)
        return {str(k): _typed(v, item_type, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _expected(key, tp, value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _expected(key, tp, value)
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _expected(key, tp, value)
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # class names typed as numbers in YAML
        raise _expected(key, tp, value)
    raise TypeError(f"schema type {tp!r} of `{key}` is not supported")


def _check_bounds(value: Any, key: str, meta: Mapping[str, Any]) -> None:
    if "choices" in meta and isinstance(value, str):
        choices = meta["choices"]
        names = list(choices() if callable(choices) else choices)
        if value not in names:
            raise ConfigError(f"`{key}` must be one of {', '.join(names)}. Received: {value!r}."
                              f"{did_you_mean(value, names)}")
    if isinstance(value, list) and len(value) < meta.get("min_items", 0):
        raise ConfigError(f"`{key}` must list at least {meta['min_items']} "
                          f"item{'s' if meta['min_items'] > 1 else ''}. Received: {value!r}")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    bounds = [("min", value >= meta.get("min", value), "at least"),
              ("max", value <= meta.get("max", value), "at most"),
              ("gt", "gt" not in meta or value > meta["gt"], "greater than"),
              ("lt", "lt" not in meta or value < meta["lt"], "less than")]
    for name, ok, words in bounds:
        if not ok:
            raise ConfigError(f"`{key}` must be {words} {meta[name]:g}. Received: {value!r}")


def _expected(key: str, tp: Any, value: Any) -> ConfigError:
    return ConfigError(f"`{key}` must be {describe(tp)}. Received: {value!r}")


def describe(tp: Any) -> str:
    """'an integer', 'a list of numbers', 'one of a, b', 'a string or null', ..."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return "a value"
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        words = [describe(o) for o in options if o is not type(None)]
        return " or ".join(words) + (" or null" if type(None) in options else "")
    if origin is Literal:
        return "one of " + ", ".join(str(c) for c in typing.get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a mapping with keys " + ", ".join(schema_keys(tp))
    if origin in (list, tuple) or tp in (list, tuple):
        args = typing.get_args(tp)
        return "a list" + (f" of {_plural(describe(args[0]))}" if args and args[0] is not Any else "")
    if origin is dict or tp is dict:
        return "a mapping"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _plural(words: str) -> str:
    for single, many in (("an integer", "integers"), ("a number", "numbers"),
                         ("a string", "strings"), ("true or false", "booleans")):
        words = words.replace(single, many)
    return words

"""One helper for one small job: OmegaConf nodes to plain Python values."""

from __future__ import annotations

from typing import Any


def to_plain(value: Any, resolve: bool = True) -> Any:
    """A DictConfig/ListConfig as plain dicts and lists (interpolations resolved); anything else
    unchanged, so callers need not know whether they hold a config node or a plain value."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=resolve)
    return value

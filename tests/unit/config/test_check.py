"""The schema checker: unknown keys, types, enums, ranges, lists, nested schemas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from cnnkit.config.check import check_group, describe, setting
from cnnkit.errors import ConfigError


@dataclass
class Inner:
    at_epoch: int = setting(5, min=1)


@dataclass
class Example:
    epochs: int = setting(10, min=1)
    lr: float = setting(1e-3, gt=0)
    mode: Literal["min", "max"] = "min"
    sizes: list[int] | None = None
    names: list[str] = setting(factory=lambda: ["a"], min_items=1)
    plan: Inner | None = None


def test_defaults_fill_in_and_ints_pass_as_floats() -> None:
    assert check_group({"lr": 1}, Example, "x") == {
        "epochs": 10, "lr": 1.0, "mode": "min", "sizes": None, "names": ["a"], "plan": None}


@pytest.mark.parametrize(("values", "pattern"), [
    ({"epocs": 3}, r"`x.epocs` is not a key of `x`. Did you mean: epochs\?"),
    ({"epochs": "3"}, r"`x.epochs` must be an integer. Received: '3'"),
    ({"epochs": True}, r"`x.epochs` must be an integer. Received: True"),
    ({"epochs": 0}, r"`x.epochs` must be at least 1. Received: 0"),
    ({"lr": 0}, r"`x.lr` must be greater than 0. Received: 0"),
    ({"mode": "mx"}, r"`x.mode` must be one of min, max. Received: 'mx'. Did you mean: max\?"),
    ({"sizes": [3, "b"]}, r"`x.sizes\[1\]` must be an integer. Received: 'b'"),
    ({"sizes": 3}, r"`x.sizes` must be a list of integers. Received: 3"),
    ({"names": []}, r"`x.names` must list at least 1 item. Received: \[\]"),
    ({"plan": {"at_epoch": 0}}, r"`x.plan.at_epoch` must be at least 1"),
    ({"plan": {"epoch": 2}}, r"`x.plan.epoch` is not a key.*Did you mean: at_epoch"),
    ({"epochs": "???"}, r"`x.epochs` is required"),
])
def test_each_refusal_names_the_full_key(values, pattern) -> None:
    with pytest.raises(ConfigError, match=pattern):
        check_group(values, Example, "x")


def test_extra_keys_pass_untyped_and_a_non_mapping_is_refused() -> None:
    assert check_group({"base_filters": 8}, Example, "model", extra={"base_filters"})["base_filters"] == 8
    with pytest.raises(ConfigError, match=r"`x` must be a mapping of keys. Received: 3"):
        check_group(3, Example, "x")


def test_describe_reads_like_english() -> None:
    assert describe(list[float] | None) == "a list of numbers or null"

"""Trainer values checked before anything is built."""

from __future__ import annotations

import pytest

from cnnkit.errors import ConfigError
from cnnkit.training.rules import check_trainer, duration_seconds


@pytest.mark.parametrize(("value", "seconds"), [("2h", 7200), ("90m", 5400), ("1h30m", 5400),
                                                ("45s", 45), ("1d", 86400), (600, 600), ("2.5h", 9000)])
def test_durations(value, seconds):
    assert duration_seconds(value, "trainer.max_time") == seconds


@pytest.mark.parametrize("value", ["soon", "2 hours", "-5", 0, "h"])
def test_bad_durations_name_the_key(value):
    with pytest.raises(ConfigError, match=r"`trainer.max_time` must be a"):
        duration_seconds(value, "trainer.max_time")


def test_evaluate_on_is_a_list_of_split_names():
    check_trainer({"trainer": {"evaluate_on": ["test", "val"], "max_time": None}})
    with pytest.raises(ConfigError, match="evaluate_on"):
        check_trainer({"trainer": {"evaluate_on": [1]}})

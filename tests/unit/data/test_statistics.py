"""Per-split statistics of `cnnkit data`: counts, raw range, examples per class or mask value."""

from __future__ import annotations

import numpy as np

from cnnkit.data.statistics import split_stats


def test_label_counts_shapes_and_raw_range_of_an_array_split():
    x = np.arange(5 * 4 * 4, dtype="float32").reshape(5, 4, 4, 1)
    y = np.array([2, 0, 2, 2, 1])
    stats = split_stats((x, y), "label")
    assert stats["count"] == 5 and stats["x_shape"] == [4, 4, 1] and stats["x_dtype"] == "float32"
    assert stats["min"] == 0.0 and stats["max"] == 79.0
    assert stats["classes"] == {0: 1, 1: 1, 2: 3}


def test_mask_values_are_counted_per_pixel_and_other_targets_not_at_all():
    x = np.zeros((2, 2, 2, 1), "float32")
    masks = np.array([[[1, 0], [0, 0]], [[1, 1], [0, 0]]])[..., np.newaxis]
    assert split_stats((x, masks), "mask")["classes"] == {0: 5, 1: 3}
    assert split_stats((x, np.ones((2, 3), "float32")), "values")["classes"] == {}

"""Built-in sources, split carving and the preprocessing that travels with a run."""

import numpy as np
import pytest

from cnnkit.config.compose import compose
from cnnkit.data.build import prepare_data
from cnnkit.data.pipeline import Preprocessing, adapt_channels
from cnnkit.data.sources import load_source
from cnnkit.data.sources.shapes import generate_shapes
from cnnkit.data.splits import carve_splits
from cnnkit.errors import ConfigError, DataError


def test_digits_are_split_stratified_and_seeded():
    cfg = compose("train", ["data=digits"])
    first = load_source(cfg.data)
    again = load_source(cfg.data)
    sizes = {k: len(v[1]) for k, v in first.splits.items()}
    assert sum(sizes.values()) == 1797
    assert sizes["test"] == pytest.approx(0.15 * 1797, abs=2)
    assert np.array_equal(first.splits["test"][1], again.splits["test"][1])
    counts = np.bincount(first.splits["test"][1])
    assert counts.max() - counts.min() <= 2  # stratified
    assert first.splits["train"][0].shape[1:] == (8, 8, 1)
    assert first.class_names == [str(i) for i in range(10)]
    assert first.value_max == 16.0


def test_digits_max_samples_takes_a_subset():
    cfg = compose("train", ["data.max_samples=300"])
    data = load_source(cfg.data)
    assert sum(len(v[1]) for v in data.splits.values()) == 300


def test_carving_rejects_fractions_that_leave_no_training_data():
    x, y = np.zeros((10, 2)), np.arange(10) % 2
    with pytest.raises(ConfigError, match=r"val_fraction.*test_fraction"):
        carve_splits(x, y, 0.5, 0.5, 0)
    assert set(carve_splits(x, y, 0, 0, 0)) == {"train"}


def test_shapes_are_deterministic_and_masks_match_images():
    a = generate_shapes(20, 32, ["circle", "square", "triangle"], 0.0, seed=3)
    b = generate_shapes(20, 32, ["circle", "square", "triangle"], 0.0, seed=3)
    assert np.array_equal(a["images"], b["images"])
    assert a["images"].min() >= 0 and a["images"].max() <= 1
    inside = a["images"][a["masks"].astype(bool)].mean()
    outside = a["images"][~a["masks"].astype(bool)].mean()
    assert inside > outside + 0.3  # the shape is brighter than the background
    x1, y1, x2, y2 = a["boxes"][0] * 32
    rows, cols = np.nonzero(a["masks"][0, ..., 0])
    assert (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1) == (x1, y1, x2, y2)


def test_shapes_unknown_class_is_named():
    cfg = compose("train", ["data=shapes", "data.classes=[circle,hexagon]", "data.num_train=4"])
    with pytest.raises(ConfigError, match="hexagon"):
        load_source(cfg.data)


def test_preprocessing_standardizes_with_training_statistics_and_round_trips():
    cfg = compose("train", [])
    data = prepare_data(cfg, "label")
    prep = data.preprocessing
    assert prep.raw_shape == [8, 8, 1] and prep.target_shape == [8, 8, 1]
    train_x = data.source.splits["train"][0]
    out = np.asarray(prep(train_x))
    assert abs(out.mean()) < 1e-3 and abs(out.std() - 1) < 1e-3
    again = Preprocessing.from_dict(prep.to_dict())
    assert np.allclose(np.asarray(again(train_x[:5])), out[:5])


def test_preprocessing_resizes_to_the_model_input_and_converts_channels():
    cfg = compose("train", [])
    data = prepare_data(cfg, "label", input_shape=[32, 32, 3])
    batch = next(iter(data.dataset("train", training=True)))
    assert tuple(batch[0].shape[1:]) == (32, 32, 3)
    assert int(batch[0].shape[0]) == cfg.data.batch_size


def test_adapt_channels_refuses_impossible_conversions():
    with pytest.raises(DataError, match="2 channels"):
        adapt_channels(np.zeros((4, 4, 2), "float32"), 3)


def test_unknown_normalize_mode_is_named():
    prep = Preprocessing([2, 2, 1], [2, 2, 1], 1.0, normalize="zscore")
    with pytest.raises(ConfigError, match=r"data\.normalize.*'zscore'"):
        prep.fit(None)


def test_missing_split_is_named():
    cfg = compose("train", ["data.test_fraction=0"])
    data = load_source(cfg.data)
    with pytest.raises(DataError, match=r"data\.split.*'test'"):
        data.split("test")

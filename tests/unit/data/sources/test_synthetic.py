"""Procedural scenes, volumes and signals: hand-checkable geometry, targets and errors."""

import numpy as np
import pytest

from cnnkit.config.compose import compose
from cnnkit.data.build import prepare_data
from cnnkit.data.sources import load_source
from cnnkit.data.sources.synthetic import (
    density_map,
    draw_solid,
    generate_scenes,
    generate_signals,
    generate_volumes,
    select_targets,
    volume_affine,
)
from cnnkit.errors import ConfigError

SHAPES = ["circle", "square", "triangle"]


def test_density_map_puts_unit_mass_per_centre_even_at_the_border():
    # a tiny sigma concentrates each unit of mass on the pixel whose centre it sits on
    sharp = density_map(np.array([[2.5, 3.5]]), 6, sigma=0.05)
    assert sharp[2, 3] == pytest.approx(1.0) and sharp.sum() == pytest.approx(1.0)
    wide = density_map(np.array([[0.5, 0.5], [10.0, 10.0], [15.5, 15.5]]), 16, sigma=3.0)
    assert wide.sum() == pytest.approx(3.0, abs=1e-5)  # count = sum of the map
    assert density_map(np.zeros((0, 2)), 8, 1.0).sum() == 0


def test_scenes_count_equals_density_sum_and_shapes_are_bright():
    a = generate_scenes(30, 32, SHAPES, 2, 5, 0.05, 1.5, seed=1)
    b = generate_scenes(30, 32, SHAPES, 2, 5, 0.05, 1.5, seed=1)
    assert np.array_equal(a["inputs"], b["inputs"])
    counts = a["count"][:, 0]
    assert counts.min() >= 2 and counts.max() <= 5
    assert np.allclose(a["density"].sum(axis=(1, 2, 3)), counts, atol=1e-4)
    mask = a["mask"].astype(bool)
    assert a["inputs"][mask].mean() > a["inputs"][~mask].mean() + 0.3
    assert set(np.unique(a["label"])) <= {0, 1, 2}


def test_scenes_of_one_shape_hold_its_drawn_area():
    scene = generate_scenes(5, 32, ["square"], 1, 1, 0.0, 1.0, seed=0)
    assert np.all(scene["count"] == 1)
    areas = scene["mask"].sum(axis=(1, 2, 3))
    # half-side 0.85 r with r in [0.08, 0.13] * 32: sides between about 4 and 7 pixels
    assert areas.min() >= 16 and areas.max() <= 64


def test_solids_have_their_volume_and_profile():
    cube = draw_solid("cube", 16, (8.0, 8.0, 8.0), 4.0)
    # half-extent 0.85 * 4 = 3.4 around a voxel-centre grid offset by 0.5: 6 voxels per axis
    assert cube.sum() == 6**3
    sphere = draw_solid("sphere", 32, (16.0, 16.0, 16.0), 8.0)
    assert sphere.sum() == pytest.approx(4 / 3 * np.pi * 8**3, rel=0.05)
    pyramid = draw_solid("pyramid", 16, (8.0, 8.0, 8.0), 6.0)
    per_slice = pyramid.sum(axis=(0, 1))
    assert per_slice[3] < per_slice[8] < per_slice[12]  # apex towards low z
    # the x axis comes first: a solid off-centre in x only is off-centre in axis 0
    shifted = draw_solid("cube", 16, (4.0, 8.0, 8.0), 3.0)
    assert np.nonzero(shifted)[0].mean() == pytest.approx(3.5) and np.nonzero(shifted)[1].mean() == 7.5


def test_volume_affine_centres_the_volume():
    affine = volume_affine([2.0, 2.0, 3.0], 16)
    assert np.allclose(np.diag(affine), [2, 2, 3, 1])
    assert np.allclose(affine[:3, 3], [-15, -15, -22.5])
    assert np.allclose(affine @ [15, 15, 15, 1], [15, 15, 22.5, 1])


def test_volumes_masks_match_the_bright_voxels():
    sample = generate_volumes(6, 16, ["sphere", "cube"], 0.05, seed=2)
    assert sample["inputs"].shape == (6, 16, 16, 16, 1) and sample["mask"].shape == (6, 16, 16, 16, 1)
    mask = sample["mask"].astype(bool)
    assert sample["inputs"][mask].mean() > sample["inputs"][~mask].mean() + 0.3
    assert mask.reshape(6, -1).any(axis=1).all()


def _band_power(signals: np.ndarray, rate: float, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(signals[..., 0], axis=1)) ** 2
    freqs = np.fft.rfftfreq(signals.shape[1], 1 / rate)
    return float(spectrum[:, (freqs >= low) & (freqs < high)].sum(axis=1).mean())


def test_signals_classes_differ_where_the_physiology_says():
    normal = generate_signals(40, 512, ["normal"], 250.0, 0.02, seed=0)["inputs"]
    murmur = generate_signals(40, 512, ["murmur"], 250.0, 0.02, seed=0)["inputs"]
    gallop = generate_signals(40, 512, ["gallop"], 250.0, 0.02, seed=0)["inputs"]
    assert normal.shape == (40, 512, 1) and normal.dtype == np.float32
    # a murmur is broadband noise: more energy above the heart sounds' band
    assert _band_power(murmur, 250, 95, 125) > 3 * _band_power(normal, 250, 95, 125)
    # a gallop's third sound is low-pitched (20-30 Hz)
    assert _band_power(gallop, 250, 15, 32) > 1.5 * _band_power(normal, 250, 15, 32)


def test_select_targets_picks_one_array_or_a_dict_per_head():
    targets = {"label": np.arange(3), "mask": np.zeros((3, 4, 4, 1))}
    assert select_targets(targets, "label") is targets["label"]
    picked = select_targets(targets, {"class": "label", "seg": "mask"})
    assert set(picked) == {"class", "seg"} and picked["seg"] is targets["mask"]
    with pytest.raises(ConfigError, match=r"Received: 'masks'.*Did you mean: mask"):
        select_targets(targets, "masks")
    with pytest.raises(ConfigError, match="must be a target name or a mapping"):
        select_targets(targets, [])


def test_shapes_multi_source_gives_dict_targets_through_the_pipeline():
    cfg = compose("train", ["data=shapes_multi", "data.num_train=16", "data.num_val=0",
                            "data.num_test=4", "data.batch_size=8",
                            "data.target={class: label, mask: mask, count: count}"])
    data = prepare_data(cfg, "label")
    assert set(data.source.splits) == {"train", "test"}
    x, y = next(iter(data.dataset("train", training=True)))
    assert tuple(x.shape) == (8, 32, 32, 1)
    assert tuple(y["mask"].shape) == (8, 32, 32, 1) and tuple(y["count"].shape) == (8, 1)
    assert data.source.class_names == SHAPES


def test_volumes_and_signals_sources_feed_the_pipeline():
    vol = compose("train", ["data=volumes", "data.num_train=4", "data.num_val=2",
                            "data.num_test=2", "data.spacing=[2.0,2.0,2.0]"])
    data = prepare_data(vol, "label")
    x, y = next(iter(data.dataset("val")))
    assert tuple(x.shape) == (2, 16, 16, 16, 1) and tuple(y.shape) == (2, 16, 16, 16, 1)
    assert np.allclose(np.diag(data.source.meta["affine"]), [2, 2, 2, 1])
    sig = compose("train", ["data=signals", "data.num_train=8", "data.num_val=0",
                            "data.num_test=0", "data.length=128"])
    data = prepare_data(sig, "label")
    x, y = next(iter(data.dataset("train")))
    assert tuple(x.shape) == (8, 128, 1) and y.dtype.name == "int32"
    assert data.preprocessing.raw_shape == [128, 1]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data=volumes", "data.classes=[sphere,cubes]"], r"Received: 'cubes'.*Did you mean: cube"),
        (["data=volumes", "data.spacing=[1.0,1.0]"], r"`data.spacing` must be three positive"),
        (["data=shapes_multi", "data.min_shapes=4", "data.max_shapes=2"], r"min_shapes <= max_shapes"),
        (["data=shapes_multi", "data.target=boxes"], r"Expected one of: label, count, mask, density"),
        (["data=signals", "data.num_train=0"], r"`data.num_train` must be a positive integer"),
        (["data=signals", "data.length=8"], r"`data.length` must be at least 32"),
    ],
)
def test_bad_synthetic_configs_are_named(overrides, message):
    cfg = compose("train", [*overrides, "data.num_val=0", "data.num_test=0"])
    with pytest.raises(ConfigError, match=message):
        load_source(cfg.data)


def test_synthetic_keys_are_checked_by_schema():
    cfg = compose("train", ["data=signals", "+data.num_trian=4"])
    with pytest.raises(ConfigError, match=r"`data.num_trian`"):
        load_source(cfg.data)

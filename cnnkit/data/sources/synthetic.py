"""Procedural data beyond one 2D shape: scenes of several shapes, 3D volumes and 1D signals.

Three sources, all offline and deterministic (sample i of a split depends only on (seed, split, i)):

- `shapes_multi`: several shapes of one kind per image. Targets: `label` (the kind), `count`,
  `mask` (their union) and `density` (one unit-mass Gaussian per shape centre, so the map sums to
  the count: the target of counting by density maps).
- `volumes`: one solid per volume (sphere, cube, cylinder, cone, pyramid), built slice by slice
  from the 2D drawing of `shapes` with a profile along the third axis. Arrays are in NIfTI voxel
  order (x, y, z, channel) and `meta["affine"]` maps voxel indices to millimetres, so predictions
  can be written back as NIfTI with the same geometry.
- `signals`: heart-sound-like phonocardiograms (S1 and S2 bursts each beat) whose class adds a
  systolic murmur or a third sound (gallop).

`data.target` picks what `y` is: one target name (an array), or a mapping output name -> target
name (a dict of arrays, one per head of a multi-task model).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from cnnkit.config.check import setting
from cnnkit.data.sources import SOURCES, CommonDataSchema, SourceData, typed_data_config
from cnnkit.data.sources.shapes import SHAPE_NAMES, SPLIT_OFFSETS, draw_shape
from cnnkit.data.splits import split_counts
from cnnkit.errors import ConfigError, did_you_mean

# 3D solid -> (2D cross-section drawn by `shapes`, profile of its half-extent along z)
SOLIDS = {
    "sphere": ("circle", "round"),
    "cube": ("square", "flat"),
    "cylinder": ("circle", "flat"),
    "cone": ("circle", "taper"),
    "pyramid": ("square", "taper"),
}
SIGNAL_CLASSES = ("normal", "murmur", "gallop")
FLAT_HALF_HEIGHT = 0.85  # matches the square's half-side in `shapes`, so a cube is a cube


@dataclass
class GeneratedSchema(CommonDataSchema):
    """Keys of every generated source (see conf/data/{shapes_multi,volumes,signals}.yaml)."""

    num_train: int = setting(0, min=0)
    num_val: int = setting(0, min=0)
    num_test: int = setting(0, min=0)
    classes: list[str] = setting(factory=list, min_items=1)
    noise: float = setting(0.1, min=0)
    target: Any = "label"  # a target name, or a mapping output name -> target name
    #: target name -> what kind of target it is, for matching the task
    TARGET_KINDS: ClassVar[dict[str, str]] = {"label": "label"}

    @classmethod
    def provides(cls, values: dict[str, Any]) -> tuple[Any, str] | None:
        target = values.get("target", "label")
        if isinstance(target, dict):
            return {str(k): cls.TARGET_KINDS.get(str(v), str(v)) for k, v in target.items()}, "data.target"
        return cls.TARGET_KINDS.get(str(target), str(target)), "data.target"


@dataclass
class ShapesMultiSchema(GeneratedSchema):
    image_size: int | None = 32
    min_shapes: int = 1
    max_shapes: int = 6
    sigma: float = 1.5
    TARGET_KINDS: ClassVar[dict[str, str]] = {
        "label": "label", "count": "values", "mask": "mask", "density": "density"}


@dataclass
class VolumesSchema(GeneratedSchema):
    volume_size: int = setting(16, min=4)
    spacing: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    TARGET_KINDS: ClassVar[dict[str, str]] = {"label": "label", "mask": "mask"}

    @staticmethod
    def rank(values: dict[str, Any]) -> int | None:
        return 3


@dataclass
class SignalsSchema(GeneratedSchema):
    length: int = setting(512, min=8)
    sample_rate: float = setting(250.0, gt=0)

    @staticmethod
    def rank(values: dict[str, Any]) -> int | None:
        return 1


def select_targets(targets: Mapping[str, np.ndarray], spec: Any) -> Any:
    """`y` for `data.target`: one named array, or a dict output name -> named array."""
    if isinstance(spec, str):
        names, single = {spec: spec}, True
    elif isinstance(spec, Mapping) and spec:
        names, single = {str(k): str(v) for k, v in spec.items()}, False
    else:
        raise ConfigError(
            "`data.target` must be a target name or a mapping output name -> target name. "
            f"Received: {spec!r}. Expected one of: {', '.join(targets)}"
        )
    for name in names.values():
        if name not in targets:
            raise ConfigError(
                f"`data.target` names a target this source does not have. Received: {name!r}. "
                f"Expected one of: {', '.join(targets)}.{did_you_mean(name, targets)}"
            )
    picked = {out: targets[name] for out, name in names.items()}
    return next(iter(picked.values())) if single else picked


def _source(cfg: GeneratedSchema, generate: Callable[[int, int], dict[str, np.ndarray]],
            meta: dict[str, Any]) -> SourceData:
    """Generate every split with `num_<split>` > 0 (at most `data.max_samples` in all, so a
    subset is never generated whole first) and select its targets."""
    counts = split_counts({split: getattr(cfg, f"num_{split}") for split in SPLIT_OFFSETS},
                          cfg.max_samples)
    splits = {}
    for split, offset in SPLIT_OFFSETS.items():
        n = counts[split]
        if n > 0:
            sample = generate(n, cfg.seed * 10 + offset)
            splits[split] = (sample.pop("inputs"), select_targets(sample, cfg.target))
    if "train" not in splits:
        raise ConfigError(f"`data.num_train` must be a positive integer. Received: {cfg.num_train}")
    return SourceData(splits=splits, class_names=cfg.classes, value_max=1.0, meta=meta)


def _require_size(key: str, value: int, minimum: int) -> int:
    if value < minimum:
        raise ConfigError(f"`{key}` must be at least {minimum}. Received: {value}")
    return value


def _paint(mask: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """A bright object on a dim background with Gaussian noise, clipped to [0, 1]."""
    background, foreground = rng.uniform(0.0, 0.3), rng.uniform(0.6, 1.0)
    image = np.where(mask, foreground, background) + rng.normal(0, noise, mask.shape)
    return np.clip(image, 0, 1).astype("float32")


def _check_names(key: str, names: list[str], known: Any) -> list[str]:
    for name in names:
        if name not in known:
            raise ConfigError(
                f"`{key}` names an unknown kind. Received: {name!r}. "
                f"Expected some of: {', '.join(known)}.{did_you_mean(name, known)}"
            )
    return names


# --- shapes_multi ---------------------------------------------------------------------------

def density_map(centres: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """(size, size) map with one Gaussian of mass exactly 1 per centre (row, col): sum = count."""
    yy, xx = np.mgrid[0:size, 0:size].astype("float64") + 0.5
    density = np.zeros((size, size), "float64")
    for cy, cx in centres:
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
        density += blob / blob.sum()  # renormalised inside the image, even at a border
    return density.astype("float32")


def generate_scenes(n: int, image_size: int, classes: list[str], min_shapes: int,
                    max_shapes: int, noise: float, sigma: float,
                    seed: int) -> dict[str, np.ndarray]:
    """`n` images, each with `min_shapes`..`max_shapes` non-overlapping shapes of one kind.

    Returns inputs (n,H,W,1) in [0,1], label (n,), count (n,1), mask (n,H,W,1) and density
    (n,H,W,1) whose sum per image equals its count.
    """
    rng = np.random.default_rng(seed)
    images = np.empty((n, image_size, image_size, 1), "float32")
    masks = np.zeros((n, image_size, image_size, 1), "uint8")
    density = np.empty((n, image_size, image_size, 1), "float32")
    labels = rng.integers(0, len(classes), size=n).astype("int32")
    counts = np.empty((n, 1), "float32")
    for i in range(n):
        wanted = int(rng.integers(min_shapes, max_shapes + 1))
        placed: list[tuple[float, float, float]] = []
        for _ in range(wanted * 20):  # rejection sampling: shapes never touch
            if len(placed) == wanted:
                break
            radius = rng.uniform(0.08, 0.13) * image_size
            cy, cx = rng.uniform(radius, image_size - radius, size=2)
            if all(np.hypot(cy - y, cx - x) > radius + r + 1.5 for y, x, r in placed):
                placed.append((cy, cx, radius))
        mask = np.zeros((image_size, image_size), bool)
        for cy, cx, radius in placed:
            mask |= draw_shape(classes[labels[i]], image_size, cy, cx, radius)
        images[i, ..., 0] = _paint(mask, rng, noise)
        masks[i, ..., 0] = mask
        centres = np.array([(cy, cx) for cy, cx, _ in placed]).reshape(-1, 2)
        density[i, ..., 0] = density_map(centres, image_size, sigma)
        counts[i] = len(placed)
    return {"inputs": images, "label": labels, "count": counts, "mask": masks, "density": density}


@SOURCES.register("shapes_multi", schema=ShapesMultiSchema)
def load_shapes_multi_source(data_cfg: Any) -> SourceData:
    cfg = typed_data_config(ShapesMultiSchema, data_cfg)
    classes = _check_names("data.classes", cfg.classes, SHAPE_NAMES)
    size = _require_size("data.image_size", int(cfg.image_size or 0), 16)
    low, high = cfg.min_shapes, cfg.max_shapes
    if not 0 <= low <= high:
        raise ConfigError(
            "`data.min_shapes` and `data.max_shapes` must satisfy 0 <= min_shapes <= max_shapes. "
            f"Received: {low}, {high}"
        )
    if cfg.sigma <= 0:
        raise ConfigError(f"`data.sigma` must be a positive number. Received: {cfg.sigma}")
    return _source(
        cfg,
        lambda n, seed: generate_scenes(n, size, classes, low, high, cfg.noise, cfg.sigma, seed),
        {"description": "procedural scenes of several shapes"},
    )


# --- volumes --------------------------------------------------------------------------------

def _half_extent(profile: str, radius: float, dz: float) -> float:
    """Cross-section half-extent at height dz from the centre (0 outside the solid)."""
    if profile == "round":
        return float(np.sqrt(max(radius**2 - dz**2, 0.0)))
    if profile == "flat":
        return radius if abs(dz) <= FLAT_HALF_HEIGHT * radius else 0.0
    t = (dz + radius) / (2 * radius)  # taper: apex at -radius, full base at +radius
    return radius * t if 0.0 <= t <= 1.0 else 0.0


def draw_solid(kind: str, size: int, centre: tuple[float, float, float],
               radius: float) -> np.ndarray:
    """Boolean (size, size, size) mask of one solid, indexed (x, y, z)."""
    section, profile = SOLIDS[kind]
    cx, cy, cz = centre
    mask = np.zeros((size, size, size), bool)
    for z in range(size):
        half = _half_extent(profile, radius, z + 0.5 - cz)
        if half > 0:  # `draw_shape` indexes (row, col); rows are y here, so transpose to (x, y)
            mask[:, :, z] = draw_shape(section, size, cy, cx, half).T
    return mask


def volume_affine(spacing: list[float], size: int) -> np.ndarray:
    """Voxel (i, j, k) -> millimetres, with the volume centred on the origin."""
    affine = np.diag([*map(float, spacing), 1.0])
    affine[:3, 3] = -np.asarray(spacing, float) * (size - 1) / 2
    return affine


def generate_volumes(n: int, size: int, classes: list[str], noise: float,
                     seed: int) -> dict[str, np.ndarray]:
    """`n` volumes (n,X,Y,Z,1) in [0,1] with one solid each: label (n,) and mask (n,X,Y,Z,1)."""
    rng = np.random.default_rng(seed)
    volumes = np.empty((n, size, size, size, 1), "float32")
    masks = np.empty((n, size, size, size, 1), "uint8")
    labels = rng.integers(0, len(classes), size=n).astype("int32")
    for i in range(n):
        radius = rng.uniform(0.2, 0.32) * size
        centre = tuple(rng.uniform(radius, size - radius, size=3))
        mask = draw_solid(classes[labels[i]], size, centre, radius)
        volumes[i, ..., 0] = _paint(mask, rng, noise)
        masks[i, ..., 0] = mask
    return {"inputs": volumes, "label": labels, "mask": masks}


@SOURCES.register("volumes", schema=VolumesSchema)
def load_volumes_source(data_cfg: Any) -> SourceData:
    cfg = typed_data_config(VolumesSchema, data_cfg)
    classes = _check_names("data.classes", cfg.classes, SOLIDS)
    size = _require_size("data.volume_size", cfg.volume_size, 8)
    spacing = cfg.spacing
    if len(spacing) != 3 or min(spacing) <= 0:
        raise ConfigError(f"`data.spacing` must be three positive numbers (mm). Received: {spacing}")
    return _source(
        cfg, lambda n, seed: generate_volumes(n, size, classes, cfg.noise, seed),
        {"description": "procedural 3D solids", "affine": volume_affine(spacing, size).tolist(),
         "axes": "xyz"},
    )


# --- signals --------------------------------------------------------------------------------

def _burst(t: np.ndarray, onset: float, duration: float, freq: float) -> np.ndarray:
    """A Gaussian-windowed sine: one heart sound."""
    centre = onset + duration / 2
    return np.exp(-0.5 * ((t - centre) / (duration / 4)) ** 2) * np.sin(2 * np.pi * freq * (t - onset))


def heart_sound(kind: str, length: int, sample_rate: float, noise: float,
                rng: np.random.Generator) -> np.ndarray:
    """One phonocardiogram: S1 and S2 each beat; `murmur` fills systole with noise, `gallop`
    adds a low third sound after S2."""
    t = np.arange(length) / sample_rate
    period = 60.0 / rng.uniform(60, 120)  # heart rate in beats per minute
    systole = 0.3 * period + 0.05
    signal = np.zeros(length)
    for onset in np.arange(-rng.uniform(0, period), t[-1] + period, period):
        signal += _burst(t, onset, 0.10, rng.uniform(40, 60))
        signal += 0.7 * _burst(t, onset + systole, 0.08, rng.uniform(60, 90))
        if kind == "murmur":
            window = (t > onset + 0.1) & (t < onset + systole)
            signal += 0.35 * window * rng.normal(0, 1, length)
        elif kind == "gallop":
            signal += 0.6 * _burst(t, onset + systole + 0.15, 0.08, rng.uniform(20, 30))
    return (signal + rng.normal(0, noise, length)).astype("float32")


def generate_signals(n: int, length: int, classes: list[str], sample_rate: float, noise: float,
                     seed: int) -> dict[str, np.ndarray]:
    """`n` signals (n, length, 1) and their labels (n,)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(classes), size=n).astype("int32")
    signals = np.stack([heart_sound(classes[k], length, sample_rate, noise, rng) for k in labels])
    return {"inputs": signals[..., np.newaxis], "label": labels}


@SOURCES.register("signals", schema=SignalsSchema)
def load_signals_source(data_cfg: Any) -> SourceData:
    cfg = typed_data_config(SignalsSchema, data_cfg)
    classes = _check_names("data.classes", cfg.classes, SIGNAL_CLASSES)
    length = _require_size("data.length", cfg.length, 32)
    rate = cfg.sample_rate
    if rate <= 0:
        raise ConfigError(f"`data.sample_rate` must be a positive number. Received: {rate}")
    return _source(
        cfg, lambda n, seed: generate_signals(n, length, classes, rate, cfg.noise, seed),
        {"description": "procedural heart sounds", "sample_rate": rate},
    )

"""A deterministic procedural generator of drawn shapes: offline data for every task.

Each sample is one filled shape (circle, square or triangle) of random size, position and
brightness on a dim, noisy background. The generator also returns the shape's mask, bounding box,
centre and the clean (noise-free) image, so every task has a target from one source; `data.target`
picks it (`label`, `mask`, `boxes`, `centre`, `denoise`). Sample i of a split depends only on
(seed, split, i): the data are identical on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from cnnkit.config.check import setting
from cnnkit.data.sources import SOURCES, CommonDataSchema, SourceData, typed_data_config
from cnnkit.data.splits import split_counts
from cnnkit.errors import ConfigError

SHAPE_NAMES = ("circle", "square", "triangle")
SPLIT_OFFSETS = {"train": 0, "val": 1, "test": 2}


def draw_shape(kind: str, size: int, cy: float, cx: float, radius: float) -> np.ndarray:
    """Boolean mask of one shape centred at (cy, cx) with half-extent `radius`."""
    yy, xx = np.mgrid[0:size, 0:size].astype("float32") + 0.5
    dy, dx = yy - cy, xx - cx
    if kind == "circle":
        return dy**2 + dx**2 <= radius**2
    if kind == "square":
        half = radius * 0.85
        return (np.abs(dy) <= half) & (np.abs(dx) <= half)
    if kind == "triangle":  # apex up, base at the bottom
        top, bottom = cy - radius, cy + radius * 0.8
        width = (dy + radius) / (1.8 * radius) * radius  # half-width grows linearly downwards
        return (yy >= top) & (yy <= bottom) & (np.abs(dx) <= width)
    raise ConfigError(
        f"`data.classes` names an unknown shape. Received: {kind!r}. Expected some of: {SHAPE_NAMES}"
    )


def generate_shapes(
    n: int, image_size: int, classes: list[str], noise: float, seed: int
) -> dict[str, np.ndarray]:
    """`n` samples: images (n,H,W,1) in [0,1], labels (n,), masks (n,H,W,1), boxes (n,4) and
    centres (n,2) in [0,1] of the image size, and `clean`: the images without their noise."""
    rng = np.random.default_rng(seed)
    images = np.empty((n, image_size, image_size, 1), "float32")
    clean = np.empty_like(images)
    masks = np.empty((n, image_size, image_size, 1), "uint8")
    labels = rng.integers(0, len(classes), size=n).astype("int32")
    boxes = np.empty((n, 4), "float32")
    for i in range(n):
        radius = rng.uniform(0.18, 0.32) * image_size
        cy, cx = rng.uniform(radius, image_size - radius, size=2)
        mask = draw_shape(classes[labels[i]], image_size, cy, cx, radius)
        background = rng.uniform(0.0, 0.3)
        foreground = rng.uniform(0.6, 1.0)
        clean[i, ..., 0] = np.where(mask, foreground, background)
        images[i, ..., 0] = np.clip(clean[i, ..., 0] + rng.normal(0, noise, mask.shape), 0, 1)
        masks[i, ..., 0] = mask
        rows, cols = np.nonzero(mask)
        boxes[i] = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)  # x1, y1, x2, y2
    boxes /= image_size
    centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)
    return {"images": images, "labels": labels, "masks": masks, "boxes": boxes,
            "centres": centres, "clean": clean}


def select_target(sample: dict[str, np.ndarray], target: str, mask_mode: str) -> np.ndarray:
    """`y` for `data.target`; `mask_mode` classes: 0 background, 1 + class index per shape."""
    if target == "mask":
        masks = sample["masks"]
        if mask_mode == "classes":
            return (masks * (sample["labels"][:, None, None, None] + 1)).astype("uint8")
        return masks
    key = {"label": "labels", "boxes": "boxes", "centre": "centres", "denoise": "clean"}[target]
    return sample[key]


@dataclass
class ShapesSchema(CommonDataSchema):
    """conf/data/shapes.yaml."""

    image_size: int | None = setting(32, min=8)
    num_train: int = setting(1500, min=0)
    num_val: int = setting(300, min=0)
    num_test: int = setting(300, min=0)
    classes: list[str] = setting(factory=lambda: list(SHAPE_NAMES), min_items=1)
    noise: float = setting(0.1, min=0)
    target: Literal["label", "mask", "boxes", "centre", "denoise"] = "label"
    mask: Literal["binary", "classes"] = "binary"
    TARGET_KINDS: ClassVar[dict[str, str]] = {
        "label": "label", "mask": "mask", "boxes": "boxes", "centre": "values", "denoise": "image"}

    @classmethod
    def provides(cls, values: dict[str, Any]) -> tuple[Any, str] | None:
        return cls.TARGET_KINDS[str(values.get("target", "label"))], "data.target"


@SOURCES.register("shapes", schema=ShapesSchema)
def load_shapes_source(data_cfg: Any) -> SourceData:
    cfg = typed_data_config(ShapesSchema, data_cfg)  # target, mask and size checked by the schema
    classes = [str(c) for c in cfg.classes]
    size = int(cfg.image_size or 0)
    counts = split_counts({split: int(getattr(cfg, f"num_{split}")) for split in SPLIT_OFFSETS},
                          cfg.max_samples)  # a subset is generated, not cut from the whole
    splits = {}
    for split, offset in SPLIT_OFFSETS.items():
        n = counts[split]
        if n <= 0:
            continue
        sample = generate_shapes(n, size, classes, float(cfg.noise), int(cfg.seed) * 10 + offset)
        splits[split] = (sample["images"], select_target(sample, cfg.target, cfg.mask))
    return SourceData(splits=splits, class_names=classes, value_max=1.0,
                      meta={"description": "procedural shapes"})

"""A profile of the training split, cheap enough to take before every run: the numbers the plan
(`cnnkit plan`, `model=auto`) decides from.

Image folders and volume folders are listed and split exactly as loading does, then at most
`SAMPLE` files have their headers read (image size and mode; a NIfTI header's shape and voxel
spacing) and at most `MASK_SAMPLE` masks are decoded for the foreground fraction. Nothing else is
decoded, so a folder of 100,000 images is profiled in about a second. Other sources (CSV tables,
arrays, TFRecords, tfds) are loaded as training would load them and their first `SAMPLE`
examples are looked at.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.config.plain import to_plain

#: at most this many files have their headers read
SAMPLE = 256
#: at most this many masks are decoded for the foreground fraction
MASK_SAMPLE = 32


@dataclass(frozen=True)
class DataProfile:
    """What the plan knows of the training split. Sizes are spatial: (H, W) or (D, H, W)."""

    source: str
    rank: int  # 1 signals, 2 images, 3 volumes
    examples: int  # in the training split
    size_median: tuple[int, ...]
    size_min: tuple[int, ...]
    size_max: tuple[int, ...]
    channels: int
    target: str  # label | mask | other
    class_counts: tuple[int, ...] = ()  # per class, in the training split (labels)
    foreground: float | None = None  # masks: share of voxels that are not background
    spacing: tuple[float, ...] | None = None  # volumes: median voxel size (mm)
    sampled: int = 0  # files whose headers were read

    @property
    def side(self) -> int:
        """The longest spatial side of the median example."""
        return max(self.size_median)

    @property
    def aspect(self) -> float:
        """Width over height of the median example (images)."""
        return self.size_median[-1] / max(self.size_median[-2], 1) if self.rank >= 2 else 1.0

    @property
    def imbalance(self) -> float:
        """Largest class count over the smallest (1: balanced)."""
        counts = [c for c in self.class_counts if c > 0]
        return max(counts) / min(counts) if len(counts) > 1 else 1.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def _evenly(items: Sequence[Any], count: int) -> list[Any]:
    """At most `count` items, evenly spaced (every class of a sorted listing is represented)."""
    if len(items) <= count:
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count)]


def _sizes(sizes: list[tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    axes = list(zip(*sizes, strict=True))
    return {"size_median": tuple(int(statistics.median_low(a)) for a in axes),
            "size_min": tuple(int(min(a)) for a in axes),
            "size_max": tuple(int(max(a)) for a in axes)}


def _class_counts(labels: Any, classes: int | None = None) -> tuple[int, ...]:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or not labels.size:
        return ()
    return tuple(int(c) for c in np.bincount(labels, minlength=classes or 0))


def _foreground(masks: list[np.ndarray]) -> float | None:
    return float(np.mean([float(np.mean(m > 0)) for m in masks])) if masks else None


def profile_folder(data_cfg: Any) -> DataProfile:
    """An image folder: listing, headers of a sample of the training images, a few masks."""
    from PIL import Image

    from cnnkit.data.file_listing import probe
    from cnnkit.data.sources import typed_data_config
    from cnnkit.data.sources.folder import FolderSchema, carve_folder

    cfg = typed_data_config(FolderSchema, data_cfg)
    found = carve_folder(cfg)
    files, targets = found.carved["train"]
    headers = [probe(str(p)) for p in _evenly(list(files), SAMPLE)]
    masks = []
    if found.segmentation:
        for path in _evenly(list(targets), MASK_SAMPLE):
            with Image.open(str(path)) as image:
                masks.append(np.asarray(image.convert("L")))
    counts = () if found.segmentation else _class_counts(targets, len(found.class_names or []))
    return DataProfile(
        source="folder", rank=2, examples=len(files), **_sizes([h.size for h in headers]),
        channels=cfg.channels or max(h.channels for h in headers),
        target="mask" if found.segmentation else "label", class_counts=counts,
        foreground=_foreground(masks), sampled=len(headers))


def _volume_header(path: Path) -> tuple[tuple[int, ...], int, tuple[float, ...]]:
    """Shape (D, H, W), channels and spacing of a volume: a NIfTI header only, other formats
    (MetaImage, NRRD, DICOM series) read whole."""
    from cnnkit.data.sources.nifti import NIFTI_SUFFIXES, load_volume

    if path.name.endswith(NIFTI_SUFFIXES):
        import nibabel as nib

        image = nib.load(str(path))
        shape, zooms = image.shape, image.header.get_zooms()
    else:
        data, info = load_volume(path)
        shape, zooms = data.shape, info["spacing"]
    channels = int(shape[3]) if len(shape) > 3 else 1
    return tuple(int(n) for n in shape[:3]), channels, tuple(float(z) for z in zooms[:3])


def profile_volumes(data_cfg: Any) -> DataProfile:
    """A folder of volumes: listing, headers of a sample, a few masks decoded."""
    from cnnkit.data.sources import typed_data_config
    from cnnkit.data.sources.nifti import NiftiSchema, carve_volumes, load_volume

    cfg = typed_data_config(NiftiSchema, data_cfg)
    _, carved, class_names = carve_volumes(cfg)
    files, targets = carved["train"]
    headers = [_volume_header(Path(p)) for p in _evenly(list(files), SAMPLE)]
    segmentation = cfg.labels is None
    masks = ([load_volume(Path(str(p)))[0] for p in _evenly(list(targets), MASK_SAMPLE)]
             if segmentation else [])
    spacing = tuple(float(statistics.median(a)) for a in zip(*(h[2] for h in headers),
                                                             strict=True))
    return DataProfile(
        source="nifti", rank=3, examples=len(files), **_sizes([h[0] for h in headers]),
        channels=max(h[1] for h in headers), target="mask" if segmentation else "label",
        class_counts=() if segmentation else _class_counts(targets, len(class_names or [])),
        foreground=_foreground(masks), spacing=tuple(cfg.spacing) if cfg.spacing else spacing,
        sampled=len(headers))


def profile_loaded(data_cfg: Any) -> DataProfile:
    """Any other source, loaded as training loads it; its first `SAMPLE` examples looked at."""
    from cnnkit.data.file_splits import FileSplit
    from cnnkit.data.input_size import STORED
    from cnnkit.data.sources import SOURCES, load_source, load_source_modules

    load_source_modules()
    values = to_plain(data_cfg)
    rank = SOURCES.entry(str(values["source"])).schema.rank(values) or 2
    source = load_source(data_cfg)
    train = source.split("train")
    if isinstance(train, FileSplit):
        stored = source.meta.get(STORED) or {}
        raw = train.raw_shape
        sizes = {"size_median": tuple(raw[:-1]), "size_min": tuple(stored.get("min", raw[:-1])),
                 "size_max": tuple(stored.get("max", raw[:-1]))}
        masks = train.mask_decoder is not None
        labels = [] if masks else train.targets
        mask_arrays = [train.read(i)[1] for i in range(min(len(train), MASK_SAMPLE))] if masks else []
        return DataProfile(str(values["source"]), rank, len(train), **sizes, channels=raw[-1],
                           target="mask" if masks else "label", class_counts=_class_counts(labels),
                           foreground=_foreground(mask_arrays), sampled=0)
    if isinstance(train, tuple):
        x, y = train
        count = len(y)
    else:  # a tf.data set of (x, y): its first examples
        pairs = list(train.take(SAMPLE).as_numpy_iterator())
        x, y = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        known = int(train.cardinality())
        count = known if known > 0 else len(pairs)
    x, y = np.asarray(x[:SAMPLE]), np.asarray(y)
    spatial = tuple(int(n) for n in x.shape[1:1 + rank])
    masks = y.ndim > 1 and y.shape[1:1 + rank] == x.shape[1:1 + rank]
    return DataProfile(
        str(values["source"]), rank, int(count), spatial, spatial, spatial,
        channels=int(x.shape[-1]) if x.ndim == rank + 2 else 1,
        target="mask" if masks else "label" if y.ndim == 1 else "other",
        class_counts=_class_counts(y, len(source.class_names or [])) if y.ndim == 1 else (),
        foreground=_foreground(list(y[:MASK_SAMPLE])) if masks else None)


def profile_data(data_cfg: Any) -> DataProfile:
    """The profile of the configured data's training split (see the module docstring)."""
    source = str(data_cfg.get("source"))
    if source == "folder":
        return profile_folder(data_cfg)
    if source == "nifti":
        return profile_volumes(data_cfg)
    return profile_loaded(data_cfg)

"""The tf.data pipeline: decode -> preprocess -> cache -> shuffle -> augment -> batch -> prefetch.

`Preprocessing` is everything needed to turn a raw example into a model input. It is fitted on
the training split (normalisation statistics), saved to the run directory as
`preprocessing.json`, and reapplied unchanged by evaluate and predict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError, DataError

NORMALIZE_MODES = ("standardize", "rescale", "none")
STATS_BATCH = 1024


@dataclass
class Preprocessing:
    """Raw example -> model input; serialisable to JSON."""

    raw_shape: list[int]  # one raw example, channels last
    target_shape: list[int]  # the model input
    value_max: float  # raw value that maps to 1.0
    normalize: str = "standardize"
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    class_names: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(**data)

    def scale_and_shape(self, x: Any) -> Any:
        """Raw -> [0, 1], resized and channel-adapted to `target_shape` (no normalisation)."""
        import tensorflow as tf

        x = tf.cast(x, tf.float32) / float(self.value_max)
        target = self.target_shape
        if len(target) == 3:  # 2D images: resize and adapt channels
            if x.shape[-3:-1] != tuple(target[:2]):
                x = tf.image.resize(x, target[:2], method="bilinear", antialias=True)
            x = adapt_channels(x, int(target[-1]))
        return x

    def normalize_fn(self, x: Any) -> Any:
        import tensorflow as tf

        if self.normalize == "standardize":
            return (x - tf.constant(self.mean, tf.float32)) / tf.constant(self.std, tf.float32)
        return x

    def __call__(self, x: Any) -> Any:
        return self.normalize_fn(self.scale_and_shape(x))

    def fit(self, train: Any) -> Preprocessing:
        """Compute per-channel mean/std on the (scaled, resized) training split."""
        if self.normalize not in NORMALIZE_MODES:
            raise ConfigError(
                f"`data.normalize` must be one of {', '.join(NORMALIZE_MODES)}. "
                f"Received: {self.normalize!r}"
            )
        if self.normalize != "standardize":
            return self
        import tensorflow as tf

        channels = int(self.target_shape[-1])
        total = np.zeros(channels, "float64")
        total_sq = np.zeros(channels, "float64")
        count = 0
        images = train.map(lambda x, y: self.scale_and_shape(x), num_parallel_calls=tf.data.AUTOTUNE)
        for batch in images.batch(STATS_BATCH):
            flat = batch.numpy().reshape(-1, channels).astype("float64")
            total += flat.sum(0)
            total_sq += (flat**2).sum(0)
            count += flat.shape[0]
        if count == 0:
            raise DataError("The training split is empty: cannot compute normalisation statistics.")
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
        self.mean = mean.tolist()
        self.std = np.where(std < 1e-7, 1.0, std).tolist()
        return self


def adapt_channels(x: Any, channels: int) -> Any:
    """Gray <-> RGB and RGBA -> RGB, so any image feeds a model of either kind."""
    import tensorflow as tf

    have = x.shape[-1]
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return tf.repeat(x, 3, axis=-1)
    if have in (3, 4) and channels == 1:
        return tf.image.rgb_to_grayscale(x[..., :3])
    if have == 4 and channels == 3:
        return x[..., :3]
    raise DataError(f"Cannot convert images with {have} channels to the model's {channels}.")


def as_dataset(split: Any) -> Any:
    """(x, y) arrays or a tf.data.Dataset -> an unbatched tf.data.Dataset of (x, y)."""
    import tensorflow as tf

    if isinstance(split, tf.data.Dataset):
        return split
    x, y = split
    return tf.data.Dataset.from_tensor_slices((x, y))


def example_shape(dataset: Any) -> list[int]:
    """The static shape of one raw example."""
    shape = dataset.element_spec[0].shape
    if shape.rank is None or any(d is None for d in shape):
        raise DataError(f"Examples must have a fixed shape. Received: {shape}")
    return [int(d) for d in shape]


def build_pipeline(
    split: Any,
    preprocessing: Preprocessing,
    batch_size: int,
    training: bool,
    seed: int,
    target_fn: Callable[[Any], Any] | None = None,
    augment_fn: Callable[[Any, Any], Any] | None = None,
    cache: bool = True,
    shuffle_buffer: int = 2048,
) -> Any:
    """A batched, prefetched dataset of (model input, target) for one split."""
    import tensorflow as tf

    autotune = tf.data.AUTOTUNE
    target_fn = target_fn or (lambda y: y)
    ds = as_dataset(split).map(
        lambda x, y: (preprocessing(x), target_fn(y)), num_parallel_calls=autotune
    )
    if cache:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        if augment_fn is not None:
            ds = ds.map(augment_fn, num_parallel_calls=autotune)
    return ds.batch(batch_size).prefetch(autotune)

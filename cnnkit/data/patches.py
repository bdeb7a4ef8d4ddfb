"""Training on patches of large images and volumes (`data.patch_size`), at their own resolution.

Each training example gives `data.patches_per_image` random windows of the patch size; its mask
(or any target of the image's spatial size) is cut with it. `patch_sampling=balanced` centres a
`foreground_fraction` of them on a random foreground voxel of the mask (as nnU-Net and MONAI's
RandCropByPosNegLabel do), the rest are uniform. Windows derive from (epoch seed, position of
the example in the epoch) with stateless ops, so a resumed run cuts what an uninterrupted one did;
an epoch's patches are mixed across images by a seeded buffer before batching. Validation and
test (`val_whole=true`) tile each image with a grid of patches covering every pixel, the last
tile of an axis shifted back inside the image; with `val_whole=false` they take random patches
drawn from a fixed seed, the same every epoch. Images smaller than the patch are zero-padded at
the end of the short axes (inputs in [0, 1] units, so black; masks with 0, background).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cnnkit.errors import ConfigError

SAMPLINGS = ("uniform", "balanced")
#: images whose patches the training buffer mixes before batching
SHUFFLE_IMAGES = 8


@dataclass(frozen=True)
class PatchSampling:
    """How patches are cut: the `data.patch_*` keys, checked."""

    size: tuple[int, ...]
    per_image: int = 4
    sampling: str = "uniform"
    foreground_fraction: float = 0.5
    val_whole: bool = True

    def per_example(self, training: bool, frame: list[int]) -> int:
        """Patches one example gives: random ones, or the tiles of the grid over `frame`."""
        if training or not self.val_whole:
            return self.per_image
        return len(grid_starts(frame, self.size))


def patch_sampling(data_cfg: Any, raw_shape: list[int]) -> PatchSampling | None:
    """The checked patch settings of `data_cfg` for examples of `raw_shape`, or None (no
    `data.patch_size`: whole images)."""
    size = data_cfg.get("patch_size")
    if not size:
        return None
    size = tuple(int(s) for s in size)
    rank = len(raw_shape) - 1
    if len(size) != rank or min(size) < 1:
        raise ConfigError(
            f"`data.patch_size` must give {rank} positive sizes for these {rank}D examples "
            f"(shape {list(raw_shape[:-1])}). Received: {list(size)}")
    sampling = str(data_cfg.get("patch_sampling") or "uniform")
    if sampling not in SAMPLINGS:
        raise ConfigError(f"`data.patch_sampling` must be one of {', '.join(SAMPLINGS)}. "
                          f"Received: {sampling!r}")
    return PatchSampling(size, int(data_cfg.get("patches_per_image") or 4), sampling,
                         float(data_cfg.get("foreground_fraction", 0.5)),
                         bool(data_cfg.get("val_whole", True)))


def grid_starts(frame: list[int], size: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Corners of the tiles that cover `frame` (spatial): a stride of one patch, the last
    tile of each axis shifted back to end at the border (frames smaller than the patch: 0)."""
    axes = []
    for n, p in zip(frame, size, strict=True):
        starts = list(range(0, max(n - p, 0) + 1, p))
        if n > p and starts[-1] != n - p:
            starts.append(n - p)
        axes.append(starts)
    return list(itertools.product(*axes))


def patched(examples: Callable[[Any], Any], sampling: PatchSampling, training: bool, seed: int,
            count: int, frame: list[int], finish: Callable[[Any, Any], Any] | None
            ) -> tuple[Callable[[Any], Any], int]:
    """`examples(order_seed)` (a stream of whole prepared (x, y) of spatial size `frame`) as a
    stream of patches, and the number of patches in a pass (-1: unknown).

    Training: `per_image` random patches of each example from (order_seed, position), mixed by
    a buffer seeded with order_seed. Otherwise (order_seed None): the grid, or random patches
    from `seed`. `count` examples (-1: unknown) sets the stream's length; `finish` (x, y) ->
    (x, y) runs on each patch (normalisation, when nothing augments before it)."""
    import tensorflow as tf

    frame = [int(d) for d in frame]
    per = sampling.per_example(training, frame)

    def stream(order_seed: Any) -> Any:
        ds = examples(order_seed)
        if not training and sampling.val_whole:
            starts = tf.constant(grid_starts(frame, sampling.size), tf.int32)
            ds = ds.map(lambda x, y: _cut(x, y, starts, sampling.size),
                        num_parallel_calls=tf.data.AUTOTUNE)
        else:
            stream_seed = tf.cast(order_seed if order_seed is not None else seed, tf.int64)
            ds = ds.enumerate().map(
                lambda i, xy: _cut(*xy, random_starts(xy[1], frame, sampling,
                                                      tf.stack([stream_seed, i])), sampling.size),
                num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.unbatch()
        if count >= 0:  # unbatch forgets the length; Keras needs it for steps per epoch
            ds = ds.apply(tf.data.experimental.assert_cardinality(count * per))
        if training:
            ds = ds.shuffle(per * SHUFFLE_IMAGES, seed=order_seed, reshuffle_each_iteration=False)
        if finish is not None:
            ds = ds.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
        return ds

    return stream, count * per if count >= 0 else -1


def random_starts(y: Any, frame: list[int], sampling: PatchSampling, seed: Any) -> Any:
    """(per_image, rank) int32 corners of random patches of one example, from the stateless
    `seed`; balanced: a `foreground_fraction` of them centred on foreground voxels of `y`."""
    import tensorflow as tf

    rank, size = len(frame), sampling.size
    high = tf.constant([max(n - p, 0) for n, p in zip(frame, size, strict=True)], tf.float32)
    draws = tf.random.stateless_uniform([sampling.per_image, rank + 2], seed)
    starts = tf.cast(tf.floor(draws[:, :rank] * (high + 1.0)), tf.int32)
    if sampling.sampling != "balanced" or y.shape.rank != rank + 1:
        return starts
    foreground = tf.cast(tf.where(y[..., 0] > 0), tf.int32)  # (voxels, rank)
    found = tf.shape(foreground)[0]
    pick = tf.minimum(tf.cast(draws[:, rank] * tf.cast(found, tf.float32), tf.int32),
                      tf.maximum(found - 1, 0))
    centres = tf.gather(tf.concat([foreground, tf.zeros([1, rank], tf.int32)], 0), pick)
    centred = tf.clip_by_value(centres - tf.constant([p // 2 for p in size], tf.int32), 0,
                               tf.cast(high, tf.int32))
    wanted = (draws[:, rank + 1] < sampling.foreground_fraction) & (found > 0)
    return tf.where(wanted[:, None], centred, starts)


def _cut(x: Any, y: Any, starts: Any, size: tuple[int, ...]) -> tuple[Any, Any]:
    """The patches of one example at `starts` (patches, rank): x, and y where it is image-shaped
    (masks, clean images); other targets (labels) repeat for each patch."""
    import tensorflow as tf

    rank = len(size)
    x = _pad_to(x, size)
    dense = isinstance(y, tf.Tensor) and y.shape.rank == rank + 1
    y = _pad_to(y, size) if dense else y

    def window(t: Any, start: Any) -> Any:
        return tf.slice(t, tf.concat([start, [0]], 0), [*size, -1])

    def one(start: Any) -> tuple[Any, Any]:
        return window(x, start), (window(y, start) if dense else y)

    patches_x, patches_y = tf.map_fn(
        one, starts, fn_output_signature=(
            tf.TensorSpec([*size, x.shape[-1]], x.dtype),
            tf.TensorSpec([*size, y.shape[-1]] if dense else y.shape, y.dtype)))
    return patches_x, patches_y


def _pad_to(t: Any, size: tuple[int, ...]) -> Any:
    """`t` (spatial..., C) zero-padded at the end of each axis shorter than `size`."""
    import tensorflow as tf

    pads = [[0, max(p - int(n), 0)] for n, p in zip(t.shape[:-1], size, strict=True)]
    return tf.pad(t, [*pads, [0, 0]]) if any(b for _, b in pads) else t

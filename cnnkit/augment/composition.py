"""Applying a configured list of transforms: in order, on whole batches with per-example
parameters, runs of affine warps fused into one resampling, and each transform run only on the
examples drawn to change. This is the only part that needs TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnnkit.augment.base import Transform
from cnnkit.augment.random import fold_seed
from cnnkit.augment.sampling import eye_batch, warp_affine
from cnnkit.errors import DataError
from cnnkit.lazy import lazy

tf = lazy("tensorflow")


class Augmentation:
    """A configured list of transforms for one target kind; callable on one example."""

    def __init__(self, transforms: list[Transform], target_kind: Any, seed: int, where: str) -> None:
        self.transforms = transforms
        self.target_kind = target_kind
        self.seed = int(seed)
        self.where = where

    @property
    def has_batch_transforms(self) -> bool:
        return any(t.kind == "batch" for t in self.transforms)

    def default_seed(self) -> Any:
        return tf.constant([self.seed, 0], tf.int64)

    def __call__(self, x: Any, y: Any, seed: Any = None) -> tuple[Any, Any]:
        """One example (no batch axis). Mixup/cutmix need a batch and are left to `apply_batch`."""
        xb, yb = self.apply_batch(x[None], tf.nest.map_structure(lambda t: t[None], y), seed,
                                  per_example_only=True)
        return xb[0], tf.nest.map_structure(lambda t: t[0], yb)

    def apply_batch(self, x: Any, y: Any = None, seed: Any = None,
                    per_example_only: bool = False) -> tuple[Any, Any]:
        """A batch (B, *spatial, C) with per-example random parameters; `seed` is a (2,) int tensor.

        `y=None` augments inputs alone (augmentation inside the model).
        """
        seed = self.default_seed() if seed is None else tf.cast(seed, tf.int64)
        x = tf.convert_to_tensor(x)
        if not x.dtype.is_floating:
            x = tf.cast(x, tf.float32)
        if y is not None:
            y = tf.nest.map_structure(tf.convert_to_tensor, y)
        rank = x.shape.rank - 2
        shape = [int(d) for d in x.shape[1:-1]]
        batch = tf.shape(x)[0]
        for step in self._steps(rank):
            if len(step) > 1:
                x, y = self._warp_fused(step, seed, x, y, shape)
                continue
            index, transform = step[0]
            step_seed = fold_seed(seed, index)
            if transform.kind == "geometric":
                params, active = transform.sample(step_seed, batch, shape)

                def geometric(x: Any, y: Any, params: Any, transform: Any = transform) -> Any:
                    def warp(t: Any, interpolation: str | None) -> Any:
                        return transform.warp(t, params, interpolation or transform.interpolation)

                    def move_boxes(boxes: Any) -> Any:
                        return transform.move_boxes(boxes, params)

                    return warp(x, None), self._move(y, self.target_kind, warp, move_boxes, shape)

                x, y = _on_subset(active, geometric, x, y, params, transform.p >= 1.0)
            elif transform.kind == "intensity":

                def intensity(x: Any, y: Any, _: Any, transform: Any = transform,
                              seed: Any = step_seed) -> Any:
                    return transform.change(x, seed), y

                x, y = _on_subset(transform.active(step_seed, batch), intensity, x, y, (),
                                  transform.p >= 1.0)
            elif not per_example_only and y is not None:
                x, y = transform.mix(x, y, step_seed)
        return x, y

    def _steps(self, rank: int) -> list[list[tuple[int, Transform]]]:
        """The (index, transform) list in order, with runs of affine warps (flips, quarter turns,
        affine, crops) grouped: each run is fused into one resampling, which is faster and, with
        bilinear interpolation, sharper than resampling once per transform. In 1D/3D a run is fused
        only when it resamples anyway (flips and quarter turns alone are cheaper as they are)."""
        steps: list[list[tuple[int, Transform]]] = []
        for index, transform in enumerate(self.transforms):
            transform.check_rank(rank)
            if steps and _fuses(steps[-1], transform):
                steps[-1].append((index, transform))
            else:
                steps.append([(index, transform)])
        out = []
        for step in steps:
            fused = len(step) > 1 and (rank == 2 or any(t.sampling is not None for _, t in step))
            out.extend([step] if fused else [[item] for item in step])
        return out

    def _warp_fused(self, step: list[tuple[int, Transform]], seed: Any, x: Any, y: Any,
                    shape: list[int]) -> tuple[Any, Any]:
        """Apply a run of affine warps as one: their maps composed per example."""
        batch, n = tf.shape(x)[0], len(shape)
        matrix, offset = eye_batch(n, batch), tf.zeros([batch, n])
        members, any_active = [], tf.zeros([batch], tf.bool)
        for index, transform in step:
            params, active = transform.sample(fold_seed(seed, index), batch, shape)
            step_matrix, step_offset = transform.affine(params, active, shape)
            # out = T2(T1(in)): input = M1 (M2 p + o2) + o1
            offset = offset + tf.einsum("bij,bj->bi", matrix, step_offset)
            matrix = matrix @ step_matrix
            members.append(params)
            any_active = any_active | active
        samplings = [t.sampling for _, t in step if t.sampling is not None]
        interpolation, fill_mode, fill_value = samplings[0] if samplings else ("nearest", "reflect", 0.0)

        def fused(x: Any, y: Any, params: Any) -> Any:
            (matrix, offset), member_params = params

            def warp(t: Any, chosen: str | None) -> Any:
                return warp_affine(t, matrix, offset, chosen or interpolation, fill_mode, fill_value)

            def move_boxes(boxes: Any) -> Any:
                for (_, transform), own in zip(step, member_params, strict=True):
                    boxes = transform.move_boxes(boxes, own)
                return boxes

            return warp(x, None), self._move(y, self.target_kind, warp, move_boxes, shape)

        return _on_subset(any_active, fused, x, y, ((matrix, offset), members), neutral=True)

    def _move(self, y: Any, kind: Any, warp: Any, move_boxes: Any, shape: list[int]) -> Any:
        """Targets after a geometric step: `warp(t, interpolation or None)` moves spatial ones
        (masks nearest-neighbour), `move_boxes` moves boxes, the rest stay."""
        if y is None:
            return None
        if isinstance(kind, Mapping):
            return {head: self._move(value, kind.get(head, "values"), warp, move_boxes, shape)
                    for head, value in y.items()}
        if kind in ("mask", "image", "input"):
            if [int(d) for d in y.shape[1:-1]] != shape:
                raise DataError(f"A {kind} target of shape {tuple(y.shape[1:])} does not match its "
                                f"input's spatial shape {tuple(shape)}.")
            return warp(y, "nearest" if kind == "mask" else None)
        if kind == "boxes":
            return move_boxes(y)
        return y


def _fuses(step: list[tuple[int, Transform]], transform: Transform) -> bool:
    """Whether `transform` joins the run of affine warps `step` (same sampling settings)."""
    members = [t for _, t in step] + [transform]
    if not all(t.kind == "geometric" and t.fusable for t in members):
        return False
    return len({t.sampling for t in members if t.sampling is not None}) <= 1


def _on_subset(active: Any, fn: Any, x: Any, y: Any, params: Any, always: bool = False,
               neutral: bool = False) -> tuple[Any, Any]:
    """`fn(x, y, params)` on the examples where `active` holds; the others pass unchanged.

    Transforms with probability p then cost about p of a full batch (most presets use p < 1);
    `always` (p = 1) skips the selection. `neutral`: `fn` itself leaves inactive examples as they
    are (identity parameters), so when most are active it runs on the whole batch rather than
    gathering and scattering them.
    """
    if always:
        return fn(x, y, params)
    index = tf.where(active)[:, 0]
    targets = () if y is None else y

    def changed() -> tuple[Any, Any]:
        def take(t: Any) -> Any:
            return tf.gather(t, index)

        def put(t: Any, new: Any) -> Any:
            return tf.tensor_scatter_nd_update(t, index[:, None], tf.cast(new, t.dtype))

        new_x, new_y = fn(take(x), tf.nest.map_structure(take, targets),
                          tf.nest.map_structure(take, params))
        return put(x, new_x), tf.nest.map_structure(put, targets, new_y)

    def some() -> tuple[Any, Any]:
        return tf.cond(tf.size(index) > 0, changed, lambda: (x, targets))

    if neutral:
        def whole() -> tuple[Any, Any]:
            new_x, new_y = fn(x, targets, params)
            return tf.cast(new_x, x.dtype), tf.nest.map_structure(
                lambda t, new: tf.cast(new, t.dtype), targets, new_y)

        most = tf.size(index) * 2 >= tf.size(active)
        x, targets = tf.cond(most, whole, some)
    else:
        x, targets = some()
    return x, (None if y is None else targets)

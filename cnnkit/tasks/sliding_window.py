"""Sliding-window inference: a model trained on patches predicts an input larger than its patch.

Windows overlap by `predict.overlap` of their size and are blended with Gaussian weights
(sigma = window / 8 per axis, as nnU-Net), so each pixel's output leans on the windows that see it
nearest their centre, where a convolution net has the most context. Windows are predicted
`predict.batch_size` at a time; `tta=flips` averages the predictions of the window and its
mirror image, `tta=flips_all` of every combination of flipped spatial axes, each flipped back. 2D and 3D alike (pure NumPy around
`predict` on batches); the output has the input's full size.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.tasks.tta import flip_axes

Predict = Callable[[np.ndarray], np.ndarray]  # a batch (N, spatial..., C) -> (N, spatial..., K)


@dataclass(frozen=True)
class WindowOptions:
    """The `predict.*` keys (see `PredictSchema` in cnnkit/config/schema.py)."""

    window: tuple[int, ...] | None = None  # null: the training patch (if any)
    overlap: float = 0.5
    batch_size: int = 8
    tta: str = "none"


def window_options(run_cfg: Any) -> WindowOptions:
    """The `predict` section that `cnnkit predict` put into the run config, or the defaults."""
    section = (run_cfg.get("predict") if run_cfg is not None else None) or {}
    window = section.get("window")
    return WindowOptions(tuple(int(w) for w in window) if window else None,
                         float(section.get("overlap", 0.5)), int(section.get("batch_size", 8)),
                         str(section.get("tta", "none")))


def window_size(preprocessing: Any, options: WindowOptions, rank: int) -> tuple[int, ...] | None:
    """The window of a sliding-window pass: `predict.window`, else the patch the model was
    trained on; None: whole inputs (trained on whole images, no window asked)."""
    size = options.window or (tuple(preprocessing.patch_shape)
                              if getattr(preprocessing, "patch_shape", None) else None)
    if size is not None and len(size) != rank:
        raise ConfigError(f"`predict.window` must give {rank} sizes for these {rank}D inputs. "
                          f"Received: {list(size)}")
    return size


def gaussian_weights(window: tuple[int, ...]) -> np.ndarray:
    """Blending weights of one window: a Gaussian centred on it, sigma = size / 8 per axis,
    1 at the centre and strictly positive everywhere (every pixel gets some weight)."""
    grids = np.meshgrid(*[(np.arange(n) - (n - 1) / 2) / max(n / 8, 1e-6) for n in window],
                        indexing="ij")
    weights = np.exp(-0.5 * sum(g**2 for g in grids))
    weights /= weights.max()
    return np.maximum(weights, weights[weights > 0].min()).astype("float32")


def window_starts(size: int, window: int, overlap: float) -> list[int]:
    """Evenly spaced window starts along one axis, stepping at most window x (1 - overlap),
    the first at 0 and the last ending at the border."""
    if size <= window:
        return [0]
    step = max(1, int(window * (1 - overlap)))
    count = -(-(size - window) // step) + 1
    return [int(round(s)) for s in np.linspace(0, size - window, count)]


def flip_averaged(predict: Predict, batch: np.ndarray, tta: str) -> np.ndarray:
    """`predict` of a batch, averaged over the test-time flips (each output flipped back)."""
    combos = flip_axes(tta, batch.ndim)
    total = None
    for axes in combos:
        out = np.asarray(predict(np.flip(batch, axes) if axes else batch), "float32")
        out = np.flip(out, axes) if axes else out
        total = out if total is None else total + out
    return total / len(combos)


def sliding_window(predict: Predict, x: np.ndarray, window: tuple[int, ...],
                   overlap: float = 0.5, batch_size: int = 8, tta: str = "none") -> np.ndarray:
    """The blended prediction of one (spatial..., C) input, at its size (inputs smaller than
    the window on an axis are edge-padded to it and cropped back)."""
    size = x.shape[:-1]
    pads = [(0, max(w - n, 0)) for n, w in zip(size, window, strict=True)] + [(0, 0)]
    padded = np.pad(x, pads, mode="edge") if any(p for _, p in pads) else x
    starts = list(itertools.product(*[window_starts(n, w, overlap)
                                      for n, w in zip(padded.shape[:-1], window, strict=True)]))
    weights = gaussian_weights(window)[..., np.newaxis]
    total: np.ndarray | None = None
    norm = np.zeros((*padded.shape[:-1], 1), "float32")
    for first in range(0, len(starts), batch_size):
        corners = starts[first:first + batch_size]
        boxes = [tuple(slice(s, s + w) for s, w in zip(c, window, strict=True)) for c in corners]
        out = flip_averaged(predict, np.stack([padded[b] for b in boxes]), tta)
        if total is None:
            total = np.zeros((*padded.shape[:-1], out.shape[-1]), "float32")
        for box, y in zip(boxes, out, strict=True):
            total[box] += y * weights
            norm[box] += weights
    assert total is not None  # at least one window
    return (total / norm)[tuple(slice(0, n) for n in size)]


def predict_windows(model: Any, raw: np.ndarray, preprocessing: Any, window: tuple[int, ...],
                    options: WindowOptions) -> np.ndarray:
    """One raw input preprocessed at its own size and predicted window by window."""
    native = replace(preprocessing, target_shape=[*raw.shape[:-1], preprocessing.target_shape[-1]],
                     patch_shape=None)
    x = np.asarray(native(raw[np.newaxis]))[0]
    return sliding_window(lambda b: model.predict(b, verbose=0), x, window, options.overlap,
                          options.batch_size, options.tta)

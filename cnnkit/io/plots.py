"""The grid of augmented training samples that `cnnkit data` writes as PNG."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.io.figures import display_image, pyplot, save_figure


def _caption(kind: str, y: np.ndarray, names: list[str] | None) -> str:
    if kind == "label":
        index = int(np.argmax(y)) if np.ndim(y) else int(y)
        name = names[index] if names and 0 <= index < len(names) else str(index)
        return f"{name} ({np.max(y):.2f})" if np.ndim(y) else name
    if kind == "values":
        return " ".join(f"{v:.2f}" for v in np.ravel(y)[:4])
    return ""


def draw_samples(x: np.ndarray, y: Any, kind: Any, names: list[str] | None, path: Path) -> Path:
    """A grid of samples with their targets (masks overlaid, boxes drawn, labels as titles)."""
    plt = pyplot()
    kinds = kind if isinstance(kind, dict) else {"": kind}
    targets = y if isinstance(y, dict) else {"": y}
    n = len(x)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        captions = []
        if x[i].ndim == 2:  # a 1D signal (length, channels)
            ax.axis("on")
            ax.plot(x[i])
        else:
            ax.imshow(display_image(x[i]), cmap="gray", vmin=0.0, vmax=1.0)
        for head, head_kind in kinds.items():
            target = targets[head][i]
            if head_kind == "mask" and x[i].ndim > 2:
                mask = display_image(target.astype("float32"))
                ax.imshow(np.ma.masked_where(mask <= 0, mask), cmap="autumn", alpha=0.45,
                          interpolation="nearest")
            elif head_kind == "boxes" and x[i].ndim > 2:
                height, width = x[i].shape[:2]
                for x1, y1, x2, y2 in np.reshape(target, (-1, 4)):
                    ax.add_patch(plt.Rectangle((x1 * width - 0.5, y1 * height - 0.5),
                                               (x2 - x1) * width, (y2 - y1) * height,
                                               fill=False, edgecolor="lime", linewidth=1.5))
            elif head_kind in ("label", "values"):
                captions.append(_caption(head_kind, target, names))
        ax.set_title("\n".join(c for c in captions if c), fontsize=8)
    fig.suptitle("Augmented training samples (before standardisation)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)

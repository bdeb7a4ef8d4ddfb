"""Matplotlib on the Agg backend (no display needed) and figures saved atomically as PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.io.rundir import atomic_write

DPI = 100


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported only when a figure is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """Write `fig` to `path` as PNG (atomically) and release it."""
    plt = pyplot()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))
    plt.close(fig)
    return Path(path)


def display_image(x: np.ndarray) -> np.ndarray:
    """A displayable 2D image in [0, 1]: the middle slice of a volume, gray or RGB."""
    x = np.asarray(x)
    while x.ndim > 3:
        x = x[x.shape[0] // 2]
    return np.clip(x[..., 0] if x.shape[-1] != 3 else x, 0.0, 1.0)

"""The pictures of `cnnkit explain`: heat maps over inputs (with a colour bar, class and score in
the title), channel mosaics, filters, top-activating images, t-SNE scatter; 3D heat maps as three
slices through their maximum and as a NIfTI volume with the input's affine."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.io.figures import display_image, pyplot, save_figure
from cnnkit.io.image_files import save_npy
from cnnkit.io.rundir import atomic_write


def _show(ax: Any, image: np.ndarray) -> None:
    shown = display_image(image)
    ax.imshow(shown, cmap=None if shown.ndim == 3 else "gray", vmin=0, vmax=1)


def overlay(image: np.ndarray, heat: np.ndarray, title: str, path: Path,
            label: str = "attribution") -> Path:
    """The input (left) and the heat map over it (right), with a colour bar in map units."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.6))
    _show(left, image)
    left.set_title("input", fontsize=9)
    _show(right, image)
    mapped = right.imshow(heat, cmap="jet", alpha=0.5, interpolation="bilinear")
    fig.colorbar(mapped, ax=right, fraction=0.046, label=label)
    right.set_title(title, fontsize=9)
    for ax in (left, right):
        ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, path)


def volume_overlay(volume: np.ndarray, heat: np.ndarray, title: str, path: Path) -> Path:
    """Axial, coronal and sagittal slices of a (D, H, W, C) input through the heat map's maximum."""
    plt = pyplot()
    peak = np.unravel_index(int(np.argmax(heat)), heat.shape)
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.6))
    for axis, ax in enumerate(axes):
        image = np.take(volume[..., 0], peak[axis], axis)
        ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
        mapped = ax.imshow(np.take(heat, peak[axis], axis), cmap="jet", alpha=0.5,
                           vmin=float(heat.min()), vmax=float(heat.max()))
        ax.set_title(f"axis {axis} slice {peak[axis]}", fontsize=9)
        ax.axis("off")
    fig.colorbar(mapped, ax=list(axes), fraction=0.02, label="attribution")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def nifti_heat(heat: np.ndarray, affine: np.ndarray | None, path: Path) -> Path:
    """The heat map as a float32 NIfTI volume with the input's affine (identity if unknown)."""
    import nibabel as nib

    image = nib.Nifti1Image(heat.astype("float32"), np.eye(4) if affine is None else affine)
    return atomic_write(path, lambda tmp: nib.save(image, str(tmp)))


def mosaic(maps: np.ndarray, title: str, path: Path, limit: int = 64) -> Path:
    """Channels of one activation (H, W, C) tiled into one image, one colour scale."""
    plt = pyplot()
    channels = min(maps.shape[-1], limit)
    cols = math.ceil(math.sqrt(channels))
    rows = math.ceil(channels / cols)
    h, w = maps.shape[:2]
    tiled = np.full((rows * (h + 1), cols * (w + 1)), np.nan, "float32")
    for c in range(channels):
        r, k = divmod(c, cols)
        tiled[r * (h + 1):r * (h + 1) + h, k * (w + 1):k * (w + 1) + w] = maps[..., c]
    fig, ax = plt.subplots(figsize=(6, 6 * rows / cols + 0.6))
    mapped = ax.imshow(tiled, cmap="viridis", interpolation="nearest")
    fig.colorbar(mapped, ax=ax, fraction=0.046, label="activation")
    ax.set_title(title + (f" (first {channels} of {maps.shape[-1]})" if channels < maps.shape[-1]
                          else ""), fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, path)


def filter_grid(filters: np.ndarray, title: str, path: Path) -> Path:
    """First-layer kernels (F, kh, kw, C): RGB when C is 3, else the mean over input channels."""
    plt = pyplot()
    count = len(filters)
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.1 * rows + 0.5), squeeze=False)
    low, high = float(filters.min()), float(filters.max())
    for ax in axes.flat:
        ax.axis("off")
    for ax, kernel in zip(axes.flat, filters, strict=False):
        if kernel.shape[-1] == 3:
            ax.imshow((kernel - low) / (high - low or 1.0), interpolation="nearest")
        else:
            ax.imshow(kernel.mean(-1), cmap="gray", vmin=low, vmax=high, interpolation="nearest")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def top_grid(rows: dict[int, list[tuple[np.ndarray, np.ndarray, str]]], title: str,
             path: Path) -> Path:
    """One row per channel: its top inputs with the channel's activation over them."""
    plt = pyplot()
    cols = max(len(r) for r in rows.values())
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.6 * cols, 1.8 * len(rows)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for row, (channel, items) in zip(axes, rows.items(), strict=True):
        for ax, (image, heat, caption) in zip(row, items, strict=False):
            _show(ax, image)
            ax.imshow(heat, cmap="jet", alpha=0.45, interpolation="bilinear")
            ax.set_title(f"ch {channel}: {caption}", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def embedding_scatter(points: np.ndarray, labels: list[str], title: str, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    names = sorted(set(labels), key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else n))
    colours = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    for i, name in enumerate(names):
        chosen = np.array([label == name for label in labels])
        ax.scatter(points[chosen, 0], points[chosen, 1], s=8, color=colours(i % colours.N),
                   label=name)
    ax.legend(fontsize=7, markerscale=2, loc="best")
    ax.set(title=title, xticks=[], yticks=[])
    fig.tight_layout()
    return save_figure(fig, path)


def write_embedding(points: np.ndarray, features: np.ndarray, ids: list[str],
                    labels: list[str], folder: Path) -> list[Path]:
    """embedding.npy (the 2D points), features.npy (the penultimate layer) and embedding.csv."""
    from cnnkit.io.rundir import write_text

    rows = ["id,x,y,label"] + [f"{i},{x:.6g},{y:.6g},{label}" for i, (x, y), label in
                               zip(ids, points, labels, strict=True)]
    return [save_npy(Path(folder) / "embedding.npy", points),
            save_npy(Path(folder) / "features.npy", features.astype("float32")),
            write_text(Path(folder) / "embedding.csv", "\n".join(rows) + "\n")]

"""The plots every `cnnkit train` writes into `plots/`: learning curves with the chosen epoch
marked, and the learning rate per epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.io.figures import pyplot, save_figure

CURVES = "learning_curves.png"
LEARNING_RATE = "learning_rate.png"


def metric_names(rows: list[dict[str, Any]]) -> list[str]:
    """The logged metrics without their `val_` twins, loss first."""
    names = [k for k in dict.fromkeys(k for r in rows for k in r)
             if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    return sorted(names, key=lambda k: (k != "loss", names.index(k)))


def plot_history(rows: list[dict[str, Any]], folder: Path, best_epoch: int | None) -> list[Path]:
    """One panel per metric (train and val against the epoch, `best_epoch` as a dashed line),
    then the learning rate; returns the files written."""
    plt = pyplot()
    names = metric_names(rows)
    if not rows or not names:
        return []
    epochs = [int(r["epoch"]) for r in rows]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for key, label in ((name, "train"), (f"val_{name}", "val")):
            values = [r.get(key) for r in rows]
            if any(v is not None for v in values):
                ax.plot(epochs, values, marker="o", markersize=3, label=label)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="gray", linestyle="--", linewidth=1,
                       label=f"chosen epoch {best_epoch}")
        ax.set(title=name, xlabel="epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    written = [save_figure(fig, Path(folder) / CURVES)]
    rates = [r.get("learning_rate") for r in rows]
    if any(v is not None for v in rates):
        fig, ax = plt.subplots(figsize=(4.2, 3.2))
        ax.plot(epochs, rates, marker="o", markersize=3)
        ax.set(title="learning rate", xlabel="epoch", ylabel="lr")
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        ax.grid(alpha=0.3)
        fig.tight_layout()
        written.append(save_figure(fig, Path(folder) / LEARNING_RATE))
    return written

"""The plots every `cnnkit evaluate` adds to `plots/`, from the task's per-sample results.

Classification: confusion matrix (counts and row-normalised), ROC and precision-recall curves
(binary, or one per class), reliability diagram, and the most confidently wrong examples.
Segmentation: image / truth / prediction overlays and per-image Dice. Regression: predicted vs
true scatter and residuals. Files are named `eval_<split>_<what>.png`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.io.figures import display_image, pyplot, save_figure
from cnnkit.tasks.calibration import reliability

WRONG = 16  # examples in the most-confidently-wrong grid

#: indices into the split -> those inputs as displayable images in [0, 1]
ImagesOf = Callable[[list[int]], np.ndarray]


def plot_evaluation(samples: dict[str, Any], report: dict[str, Any], split: str, folder: Path,
                    images_of: ImagesOf, to_display: Callable[[np.ndarray], np.ndarray]) -> list[Path]:
    """The plots the samples allow; `to_display` maps model inputs back to [0, 1] images."""
    def path(what: str) -> Path:
        return Path(folder) / f"eval_{split}_{what}.png"

    if "probs" in samples:
        names = report.get("class_names") or [str(i) for i in range(samples["probs"].shape[-1])]
        y, probs = samples["y_true"], samples["probs"]
        return [confusion_plot(np.asarray(report["confusion_matrix"]), names, path("confusion")),
                *curves_plots(y, probs, names, path("roc"), path("pr")),
                reliability_plot(y, probs, path("reliability")),
                *wrong_plot(y, probs, names, images_of, path("most_confidently_wrong"))]
    if "confusion" in samples:
        ex = samples["examples"]
        return [segmentation_plot([to_display(x) for x in ex["inputs"]], ex["truth"],
                                  ex["predicted"], path("overlays")),
                dice_plot(samples["dice"], path("dice_per_image"))]
    if "y_pred" in samples:
        return regression_plots(samples["y_true"], samples["y_pred"],
                                report.get("output_names") or [], path("scatter"),
                                path("residuals"))
    return []


def confusion_plot(matrix: np.ndarray, names: list[str], path: Path) -> Path:
    plt = pyplot()
    size = max(4.0, 0.45 * len(names) + 2.5)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    rows = matrix.sum(1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    for ax, values, title, fmt in ((axes[0], matrix, "counts", "d"),
                                   (axes[1], normalised, "normalised by true class", ".2f")):
        image = ax.imshow(values, cmap="Blues")
        fig.colorbar(image, ax=ax, fraction=0.046)
        ax.set(title=title, xlabel="predicted", ylabel="true", xticks=range(len(names)),
               yticks=range(len(names)), xticklabels=names, yticklabels=names)
        if len(names) <= 20:
            top = values.max() or 1
            for (i, j), v in np.ndenumerate(values):
                ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7,
                        color="white" if v > top / 2 else "black")
    fig.suptitle("Confusion matrix")
    fig.tight_layout()
    return save_figure(fig, path)


def curves_plots(y: np.ndarray, probs: np.ndarray, names: list[str], roc_path: Path,
                 pr_path: Path) -> list[Path]:
    """ROC and precision-recall: the positive class of a binary model, else one per class."""
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    plt = pyplot()
    classes = [1] if probs.shape[-1] == 2 else range(probs.shape[-1])
    roc_fig, roc_ax = plt.subplots(figsize=(5, 4.4))
    pr_fig, pr_ax = plt.subplots(figsize=(5, 4.4))
    for k in classes:
        positive = (y == k).astype(int)
        if positive.min() == positive.max():
            continue  # a class absent from the split has no curve
        fpr, tpr, _ = roc_curve(positive, probs[:, k])
        precision, recall, _ = precision_recall_curve(positive, probs[:, k])
        roc_ax.plot(fpr, tpr, linewidth=1, label=f"{names[k]} (AUC {auc(fpr, tpr):.3f})")
        pr_ax.plot(recall, precision, linewidth=1, label=f"{names[k]} (AP {auc(recall, precision):.3f})")
    roc_ax.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
    roc_ax.set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    pr_ax.set(title="Precision-recall", xlabel="recall", ylabel="precision")
    for fig, ax, path in ((roc_fig, roc_ax, roc_path), (pr_fig, pr_ax, pr_path)):
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        save_figure(fig, path)
    return [roc_path, pr_path]


def reliability_plot(y: np.ndarray, probs: np.ndarray, path: Path) -> Path:
    plt = pyplot()
    bins = reliability(y, probs)
    edges = np.asarray(bins["edges"])
    centres = (edges[:-1] + edges[1:]) / 2
    accuracy = np.asarray([np.nan if a is None else a for a in bins["accuracy"]])
    fig, (ax, counts) = plt.subplots(2, 1, figsize=(5, 5.5), height_ratios=[3, 1], sharex=True)
    ax.bar(centres, np.nan_to_num(accuracy), width=edges[1] - edges[0], edgecolor="black",
           alpha=0.7, label="accuracy")
    ax.plot([0, 1], [0, 1], color="gray", linestyle="--", label="perfect calibration")
    ax.set(title=f"Reliability diagram (ECE {bins['ece']:.3f})", ylabel="accuracy",
           xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=8)
    counts.bar(centres, bins["count"], width=edges[1] - edges[0], color="gray")
    counts.set(xlabel="confidence (top-class probability)", ylabel="samples")
    fig.tight_layout()
    return save_figure(fig, path)


def wrong_plot(y: np.ndarray, probs: np.ndarray, names: list[str], images_of: ImagesOf,
               path: Path) -> list[Path]:
    """The wrong predictions made with the highest confidence (none: no file)."""
    plt = pyplot()
    predicted = probs.argmax(-1)
    wrong = np.flatnonzero(predicted != y)
    if wrong.size == 0:
        return []
    chosen = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:WRONG].tolist()
    images = images_of(chosen)
    cols = min(len(chosen), 8)
    rows = math.ceil(len(chosen) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.7 * cols, 2.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, index, image in zip(axes.flat, chosen, images, strict=False):
        shown = display_image(image)
        if shown.ndim == 1:  # a 1D signal: its trace
            ax.plot(shown, linewidth=0.5)
        else:
            ax.imshow(shown, cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"true {names[y[index]]}\npred {names[predicted[index]]} "
                     f"{probs[index, predicted[index]]:.2f}", fontsize=7)
    fig.suptitle("Most confidently wrong")
    fig.tight_layout()
    return [save_figure(fig, path)]


def segmentation_plot(images: list[np.ndarray], truth: list[np.ndarray],
                      predicted: list[np.ndarray], path: Path) -> Path:
    """One row per example: the image, the true mask over it, the predicted mask over it."""
    plt = pyplot()
    fig, axes = plt.subplots(max(len(images), 1), 3, figsize=(6.3, 2.1 * max(len(images), 1)),
                             squeeze=False)
    top = max([int(np.max(m)) for m in [*truth, *predicted]] + [1])
    for row, image, true, pred in zip(axes, images, truth, predicted, strict=False):
        shown = display_image(image)
        for ax, mask, title in ((row[0], None, "image"), (row[1], true, "truth"),
                                (row[2], pred, "prediction")):
            ax.imshow(shown, cmap="gray", vmin=0, vmax=1)
            if mask is not None:
                m = display_image(np.asarray(mask, "float32")[..., None] / top if np.ndim(mask) == 2
                                  else np.asarray(mask, "float32") / top)
                ax.imshow(np.ma.masked_where(m <= 0, m), cmap="autumn", alpha=0.5, vmin=0, vmax=1,
                          interpolation="nearest")
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, path)


def dice_plot(dice: list[float | None], path: Path) -> Path:
    plt = pyplot()
    values = [d for d in dice if d is not None]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.hist(values, bins=20, range=(0, 1), edgecolor="black")
    ax.set(title=f"Dice per image (mean {np.mean(values) if values else float('nan'):.3f}, "
                 f"n={len(values)})", xlabel="Dice (foreground classes)", ylabel="images")
    fig.tight_layout()
    return save_figure(fig, path)


def regression_plots(y_true: np.ndarray, y_pred: np.ndarray, names: list[str], scatter: Path,
                     residuals: Path) -> list[Path]:
    plt = pyplot()
    columns = y_true.shape[-1]
    names = names or [f"output {i}" for i in range(columns)]
    for path, residual in ((scatter, False), (residuals, True)):
        fig, axes = plt.subplots(1, columns, figsize=(3.6 * columns, 3.4), squeeze=False)
        for ax, k in zip(axes[0], range(columns), strict=True):
            t, p = y_true[:, k], y_pred[:, k]
            if residual:
                ax.scatter(p, p - t, s=6, alpha=0.6)
                ax.axhline(0, color="gray", linestyle="--")
                ax.set(title=names[k], xlabel="predicted", ylabel="predicted - true")
            else:
                ax.scatter(t, p, s=6, alpha=0.6)
                low, high = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
                ax.plot([low, high], [low, high], color="gray", linestyle="--")
                ax.set(title=names[k], xlabel="true", ylabel="predicted")
            ax.grid(alpha=0.3)
        fig.suptitle("Residuals" if residual else "Predicted vs true")
        fig.tight_layout()
        save_figure(fig, path)
    return [scatter, residuals]


def robustness_plot(rows: list[dict[str, float]], metric: str, attack: str, path: Path) -> Path:
    """The score against the attack budget eps."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot([r["eps"] for r in rows], [r[metric] for r in rows], marker="o")
    ax.set(title=f"{attack.upper()}: {metric} vs eps", xlabel="eps (fraction of the raw range)",
           ylabel=metric, ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)

"""Calibration of a classifier: the reliability diagram's bins and the expected calibration error.

ECE = sum over confidence bins of (bin share) x |accuracy - mean confidence| (Guo et al. 2017),
with the top-class probability as confidence and equal-width bins.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BINS = 15


def bin_edges(bins: int = BINS) -> np.ndarray:
    return np.linspace(0.0, 1.0, bins + 1)


def confidence_bins(confidence: np.ndarray, bins: int = BINS) -> np.ndarray:
    """The equal-width bin (0 .. bins-1) of each top-class probability."""
    return np.clip(np.digitize(confidence, bin_edges(bins)[1:-1], right=True), 0, bins - 1)


def binned_ece(which: np.ndarray, correct: np.ndarray, confidence: np.ndarray,
               weights: np.ndarray | None = None, bins: int = BINS) -> float:
    """The ECE from each sample's bin, correctness (0/1) and confidence, each sample counted
    `weights` times (a bootstrap draw; None: once): sum_b |hits_b - confidence_b| / N."""
    w = np.ones(len(which)) if weights is None else weights
    hits = np.bincount(which, weights=w * correct, minlength=bins)
    confidence_sums = np.bincount(which, weights=w * confidence, minlength=bins)
    return float(np.abs(hits - confidence_sums).sum() / max(w.sum(), 1))


def reliability(y_true: np.ndarray, probs: np.ndarray, bins: int = BINS) -> dict[str, Any]:
    """Per bin: edges, count, accuracy and mean confidence (None where empty), and the ECE."""
    confidence = probs.max(-1)
    correct = (probs.argmax(-1) == y_true).astype("float64")
    edges = bin_edges(bins)
    which = confidence_bins(confidence, bins)
    counts = np.bincount(which, minlength=bins)
    accuracy = np.bincount(which, correct, minlength=bins)
    mean_conf = np.bincount(which, confidence, minlength=bins)
    ece = binned_ece(which, correct, confidence, bins=bins)
    filled = counts > 0
    accuracy[filled] /= counts[filled]
    mean_conf[filled] /= counts[filled]
    return {"edges": edges.tolist(), "count": counts.tolist(),
            "accuracy": [float(a) if f else None for a, f in zip(accuracy, filled, strict=True)],
            "confidence": [float(c) if f else None for c, f in zip(mean_conf, filled, strict=True)],
            "ece": ece}


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, bins: int = BINS) -> float:
    return float(reliability(y_true, probs, bins)["ece"])

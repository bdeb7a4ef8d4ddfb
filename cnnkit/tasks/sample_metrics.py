"""Scores of generated samples in a classifier's feature space (NumPy and SciPy only).

FID (Heusel et al. 2017) is the Fréchet distance of Gaussians fitted to the real and generated
features; KID (Bińkowski et al. 2018) is the unbiased squared MMD with the cubic polynomial
kernel, averaged over subsets, and unlike FID has no bias from the sample count. The usual
feature space, ImageNet Inception-v3, cannot be downloaded here, so the features are the
penultimate layer of a cnnkit classifier run (`task.feature_run`): values are comparable only
between scores made with the same classifier.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

CONFIDENT = 0.8  # a sample is "confidently classified" when its top probability reaches this


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """FID of two (N, D) feature arrays."""
    import warnings

    from scipy import linalg

    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    with warnings.catch_warnings():  # a ReLU feature that is always 0 makes both singular
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(s1 @ s2)  # (`disp=False`, deprecated in SciPy 1.17, goes in 1.18)
        if not np.isfinite(root).all():  # near-singular product: regularise as pytorch-fid does
            eye = np.eye(len(s1)) * 1e-6
            root = linalg.sqrtm((s1 + eye) @ (s2 + eye))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2.0 * np.real(root)))


def kernel_distance(real: np.ndarray, fake: np.ndarray, subsets: int = 10,
                    subset_size: int = 1000, seed: int = 0) -> float:
    """KID of two (N, D) feature arrays: the mean unbiased MMD² over random subsets."""
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(real), len(fake))
    d = real.shape[1]
    scores = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        kxx, kyy, kxy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        off = m * (m - 1)
        scores.append((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off
                      - 2.0 * kxy.mean())
    return float(np.mean(scores))


def class_report(probabilities: np.ndarray, requested: np.ndarray | None) -> dict[str, Any]:
    """What the classifier sees in the samples: the histogram of predicted classes and its
    entropy (ln C when every class is equally common; low when the generator collapsed onto a
    few), the share classified with top probability >= 0.8, and, for conditional samples, the
    share predicted as the class that was asked for."""
    predicted = probabilities.argmax(1)
    counts = np.bincount(predicted, minlength=probabilities.shape[1])
    share = counts / counts.sum()
    nonzero = share[share > 0]
    report: dict[str, Any] = {
        "class_histogram": counts.tolist(),
        "class_entropy": float(-(nonzero * np.log(nonzero)).sum()),
        "class_entropy_max": math.log(probabilities.shape[1]),
        "confident_fraction": float((probabilities.max(1) >= CONFIDENT).mean()),
    }
    if requested is not None:
        report["class_agreement"] = float((predicted == requested).mean())
    return report


def feature_scores(real: np.ndarray, fake: np.ndarray, prefix: str = "") -> dict[str, float]:
    return {f"fid{prefix}": frechet_distance(real, fake), f"kid{prefix}": kernel_distance(real, fake)}

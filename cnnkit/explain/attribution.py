"""Attribution maps, one per input at the model input's spatial size, all >= 0.

- Grad-CAM (Selvaraju et al. 2017): ReLU of the activation maps weighted by their mean gradient.
- Grad-CAM++ (Chattopadhay et al. 2018): pixel-wise weights alpha = g^2 / (2 g^2 + sum(A) g^3).
- Saliency: |d score / d input| (vanilla, Simonyan et al. 2014), averaged over noisy copies
  (SmoothGrad, Smilkov et al. 2017), or integrated gradients from a black image (Sundararajan
  et al. 2017), each reduced over channels by the largest magnitude.
- Occlusion (Zeiler & Fergus 2014): the drop of the class probability when a patch is covered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cnnkit.data.pipeline import resize_to
from cnnkit.explain.targets import Target, score

Scorer = Callable[[Any], Any]


def _spatial_axes(rank: int) -> list[int]:
    return list(range(1, rank - 1))


def class_activation_map(feature_model: Any, target: Target, x: np.ndarray, units: np.ndarray,
                         plus_plus: bool = False) -> np.ndarray:
    """Grad-CAM (or ++) of a batch, resized to the input's spatial size (bilinear)."""
    import tensorflow as tf

    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        activation, *outputs = feature_model(inputs, training=False)
        scores = score(target, outputs if len(outputs) > 1 else outputs[0], units)
    grads = tape.gradient(scores, activation)
    axes = _spatial_axes(activation.shape.rank)
    if plus_plus:
        total = tf.reduce_sum(activation, axis=axes, keepdims=True)
        denominator = 2.0 * grads**2 + total * grads**3
        alphas = grads**2 / tf.where(denominator != 0.0, denominator, tf.ones_like(denominator))
        weights = tf.reduce_sum(alphas * tf.nn.relu(grads), axis=axes, keepdims=True)
    else:
        weights = tf.reduce_mean(grads, axis=axes, keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * activation, axis=-1, keepdims=True))
    return np.asarray(resize_to(cam, list(x.shape[1:-1]), "bilinear"))[..., 0]


def input_gradients(scorer: Scorer, x: Any) -> np.ndarray:
    import tensorflow as tf

    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        scores = scorer(inputs)
    return np.asarray(tape.gradient(scores, inputs))


def saliency(scorer: Scorer, x: np.ndarray, variant: str, baseline: np.ndarray,
             samples: int = 25, noise: float = 0.15, steps: int = 32, seed: int = 0) -> np.ndarray:
    """Vanilla gradients, SmoothGrad or integrated gradients (from `baseline`), max over channels."""
    if variant == "smoothgrad":
        rng = np.random.default_rng(seed)
        sigma = noise * (x.max() - x.min() or 1.0)
        grads = np.mean([input_gradients(scorer, x + rng.normal(0, sigma, x.shape).astype(x.dtype))
                         for _ in range(samples)], axis=0)
        attribution = np.abs(grads)
    elif variant == "integrated_gradients":
        alphas = (np.arange(steps) + 0.5) / steps  # midpoint rule
        grads = np.mean([input_gradients(scorer, (baseline + a * (x - baseline)).astype(x.dtype))
                         for a in alphas], axis=0)
        attribution = np.abs((x - baseline) * grads)
    else:
        attribution = np.abs(input_gradients(scorer, x))
    return attribution.max(-1)


def occlusion(scorer: Scorer, x: np.ndarray, baseline: np.ndarray, patch: int,
              stride: int) -> np.ndarray:
    """Per pixel, the mean drop of the score (one per input) over the patches covering it."""
    spatial = x.shape[1:-1]
    starts = [range(0, max(size - patch, 0) + 1, stride) for size in spatial]
    corners = np.stack(np.meshgrid(*starts, indexing="ij"), -1).reshape(-1, len(spatial))
    base = np.asarray(scorer(x))
    drop = np.zeros((len(x), *spatial), "float64")
    cover = np.zeros(spatial, "float64")
    for corner in corners:
        region = tuple(slice(int(c), int(c) + patch) for c in corner)
        occluded = x.copy()
        occluded[(slice(None), *region)] = baseline[(slice(None), *region)]
        change = base - np.asarray(scorer(occluded))
        drop[(slice(None), *region)] += change.reshape(-1, *([1] * len(spatial)))
        cover[region] += 1
    return np.maximum(drop / np.maximum(cover, 1), 0.0).astype("float32")


def mass_inside(heat: np.ndarray, mask: np.ndarray) -> float:
    """The share of a map's total inside a boolean mask (how localised an explanation is)."""
    total = float(np.sum(heat))
    return float(np.sum(heat * mask) / total) if total > 0 else 0.0

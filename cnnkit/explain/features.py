"""What layers compute: activations, first-layer filters, the images that excite a channel most
(Zeiler & Fergus 2014, Fig. 2), and a 2D t-SNE of the last hidden layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.errors import ConfigError


def activations(feature_model: Any, x: np.ndarray, batch: int = 64) -> np.ndarray:
    """The first output of `feature_model` (an activation model) for every input."""
    parts = []
    for i in range(0, len(x), batch):
        activation, *_ = feature_model(x[i:i + batch], training=False)
        parts.append(np.asarray(activation))
    return np.concatenate(parts)


def first_filters(layer: Any) -> np.ndarray:
    """The kernels of a convolution as (filters, *kernel, in_channels)."""
    kernel = np.asarray(layer.get_weights()[0])
    return np.moveaxis(kernel, -1, 0)


def top_activating(maps: np.ndarray, channels: list[int], top: int) -> dict[int, np.ndarray]:
    """channel -> the indices of the `top` inputs with the largest maximum activation."""
    count = maps.shape[-1]
    bad = [c for c in channels if not 0 <= c < count]
    if bad:
        raise ConfigError(f"`explain.channels` names channels the layer does not have. "
                          f"Received: {bad}. Expected indices from 0 to {count - 1}")
    peaks = maps.reshape(len(maps), -1, count).max(1)
    return {c: np.argsort(-peaks[:, c])[:top] for c in channels}


def perplexity_for(count: int, wanted: float | None) -> float:
    """t-SNE's perplexity must stay below the number of points: 30, or (n - 1) / 3 for small sets."""
    value = 30.0 if wanted is None else float(wanted)
    return float(max(1.0, min(value, (count - 1) / 3.0)))


def tsne(features: np.ndarray, perplexity: float | None, seed: int) -> tuple[np.ndarray, float]:
    """2D t-SNE coordinates (scikit-learn, PCA initialisation) and the perplexity used."""
    from sklearn.manifold import TSNE

    if len(features) < 3:
        raise ConfigError(f"The embedding needs at least 3 inputs. Received: {len(features)}")
    used = perplexity_for(len(features), perplexity)
    points = TSNE(n_components=2, perplexity=used, init="pca", random_state=seed,
                  learning_rate="auto").fit_transform(features.astype("float64"))
    return points.astype("float32"), used

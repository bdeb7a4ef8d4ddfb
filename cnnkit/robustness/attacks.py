"""FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018) under an L-infinity budget eps.

eps is a fraction of the data's raw value range (0.03 = 3% of 0-255 for 8-bit images): the
attacks work on the inputs in [0, 1] units (before standardisation), keep them in [0, 1], and
the model sees them standardised as usual. The loss attacked is the task's own training loss.
At eps = 0 the inputs are not touched, so the score equals plain `evaluate`'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.tasks import metrics as task_metrics

SUPPORTED = ("classification", "segmentation")


def to_unit(x: Any, preprocessing: Any) -> Any:
    """Model inputs -> [0, 1] units (the standardisation undone)."""
    if preprocessing.normalize == "standardize":
        return x * np.asarray(preprocessing.std, "float32") + np.asarray(preprocessing.mean,
                                                                          "float32")
    return x


def _gradient_sign(model: Any, loss: Any, x01: Any, y: Any, preprocessing: Any) -> Any:
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x01)
        value = loss(y, model(preprocessing.normalize_fn(x01), training=False))
    return tf.sign(tape.gradient(value, x01))


def perturb(model: Any, loss: Any, x: Any, y: Any, preprocessing: Any, attack: str, eps: float,
            steps: int, step_size: float | None, seed: int) -> Any:
    """The adversarial model inputs for one batch (`x` in model units)."""
    import tensorflow as tf

    if eps == 0:
        return x
    x01 = tf.constant(to_unit(np.asarray(x), preprocessing), tf.float32)
    if attack == "fgsm":
        adv = x01 + eps * _gradient_sign(model, loss, x01, y, preprocessing)
    else:
        size = step_size or 2.5 * eps / steps
        noise = tf.random.stateless_uniform(tf.shape(x01), [seed, 0], -eps, eps)
        adv = tf.clip_by_value(x01 + noise, 0.0, 1.0)
        for _ in range(steps):
            adv = adv + size * _gradient_sign(model, loss, adv, y, preprocessing)
            adv = tf.clip_by_value(adv, x01 - eps, x01 + eps)
            adv = tf.clip_by_value(adv, 0.0, 1.0)
    return preprocessing.normalize_fn(tf.clip_by_value(adv, 0.0, 1.0))


def robustness(model: Any, task: Any, dataset: Any, preprocessing: Any, options: dict[str, Any]
               ) -> list[dict[str, float]]:
    """Per eps: the task's score (accuracy, or foreground Dice) on the attacked split."""
    if task.name not in SUPPORTED:
        raise ConfigError(f"`attack={options['name']}` supports {', '.join(SUPPORTED)} runs. "
                          f"Received a {task.name} run")
    loss = task.loss(model)
    rows = []
    for eps in options["eps"]:
        if not 0 <= eps <= 1:
            raise ConfigError(f"`attack.eps` values must lie in [0, 1] (a fraction of the raw "
                              f"value range). Received: {eps}")
        correct, count, matrix = 0, 0, None
        for x, y in dataset:
            adv = perturb(model, loss, x, y, preprocessing, options["name"], float(eps),
                          int(options["steps"]), options.get("step_size"), int(options["seed"]))
            probs = np.asarray(task.finalize(model, model(adv, training=False)))
            truth = np.asarray(y)
            if task.name == "classification":
                labels = truth.argmax(-1) if truth.ndim == 2 else truth.reshape(-1)
                correct += int(np.sum(probs.argmax(-1) == labels))
                count += len(labels)
            else:
                k = len(task.classes)
                found = task_metrics.confusion(truth, task_metrics.predicted_labels(probs), k)
                matrix = found if matrix is None else matrix + found
        if task.name == "classification":
            rows.append({"eps": float(eps), "accuracy": correct / max(count, 1)})
        else:
            dice = task_metrics.dice_per_class(matrix)[1:]
            rows.append({"eps": float(eps), "dice": float(np.nanmean(dice))})
    return rows

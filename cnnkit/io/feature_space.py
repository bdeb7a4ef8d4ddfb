"""A classifier run as the feature space that generated images are scored in (FID, KID, the
class histogram): ImageNet Inception-v3 weights cannot be downloaded here, and a classifier of
the same data knows what matters in them.

`embed(images)` takes images in [0, 1] (a generative model's units), maps them to the
classifier's raw units and through its own preprocessing (resizing, standardisation), and
returns the input of its last layer (the penultimate features) and its output (the class
probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.io.rundir import RunDir

BATCH = 512


@dataclass
class FeatureSpace:
    model: Any  # the classifier, outputs (features, probabilities)
    preprocessing: Any

    def embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raw = np.asarray(images, "float32") * float(self.preprocessing.value_max)
        features, probabilities = [], []
        for i in range(0, len(raw), BATCH):
            f, p = self.model(np.asarray(self.preprocessing(raw[i:i + BATCH])), training=False)
            features.append(np.asarray(f).reshape(len(f), -1))
            probabilities.append(np.asarray(p))
        return np.concatenate(features).astype("float64"), np.concatenate(probabilities)


def load_feature_space(path: str, key: str = "task.feature_run") -> FeatureSpace:
    """The classifier run at `path`, cut before its last layer."""
    import keras


    run = RunDir.open(path, key=key)
    name = str(run.load_config().task.name)
    if name != "classification":
        raise ConfigError(f"`{key}={path}` is a task={name} run. Expected a classification run "
                          "(its penultimate layer is the feature space).")
    model = run.load_model()
    last = model.layers[-1]
    return FeatureSpace(keras.Model(model.inputs[0], [last.input, model.outputs[0]]),
                        run.load_preprocessing())

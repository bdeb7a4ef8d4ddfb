"""Autoencoders: learn to reconstruct the input itself (no labels), and export the bottleneck.

The target is the input, scaled to [0, 1] like a reconstruction target (target kind "input"),
so any source works, labelled or not, and PSNR/SSIM use `max_val: 1`. Geometric augmentation
moves input and target together; intensity augmentation changes the input only, which makes it
a denoising autoencoder. The output of the layer named by `task.embedding_layer` (the
bottleneck) is the learned representation: `cnnkit predict` writes it beside the
reconstructions as `embeddings.npy` and `embeddings.csv`, one row per input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError, did_you_mean
from cnnkit.tasks import TASKS
from cnnkit.tasks.base import PredictionImages, PredictionTable, preprocess_batch
from cnnkit.tasks.reconstruction import Reconstruction
from cnnkit.tasks.schemas import AutoencoderSchema


@dataclass
class AutoencoderOutputs:
    """What predict hands to the writer: one reconstruction per input, and their embeddings
    (written as arrays by `cnnkit.io.predictions`, and as rows by `prediction_table`)."""

    reconstructions: list[np.ndarray]
    embeddings: np.ndarray  # (N, D): the bottleneck output of each input, flattened


@TASKS.register("autoencoder", schema=AutoencoderSchema)
class Autoencoder(Reconstruction):
    name = "autoencoder"
    target_kind = "input"
    output_kind = "images_and_embeddings"

    @property
    def embedding_layer(self) -> str:
        return str(self.option("embedding_layer", "code"))

    def encoder(self, model: Any) -> Any:
        """The model from its input to the embedding layer (shared weights)."""
        import keras

        names = [layer.name for layer in model.layers]
        if self.embedding_layer not in names:
            raise ConfigError(
                f"`task.embedding_layer` names a layer the model does not have. Received: "
                f"{self.embedding_layer!r}. Expected one of: {', '.join(names)}."
                f"{did_you_mean(self.embedding_layer, names)}"
            )
        return keras.Model(model.input, model.get_layer(self.embedding_layer).output)

    def loss(self, model: Any) -> Any:
        self.encoder(model)  # a wrong layer name fails before training, not at predict time
        return super().loss(model)

    def _inputs_comparable(self) -> bool:
        """The input is the target: scoring it as a prediction would say nothing."""
        return False

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        report = super().evaluate(model, dataset, class_names)
        report["embedding_size"] = int(np.prod(self.encoder(model).outputs[0].shape[1:]))
        return report

    def embed(self, model: Any, batch: np.ndarray) -> np.ndarray:
        """(N, D) embeddings of preprocessed inputs."""
        codes = np.asarray(self.encoder(model).predict(batch, verbose=0))
        return codes.reshape(len(codes), -1)

    def predict_samples(self, model: Any, raw_inputs: Any, preprocessing: Any) -> AutoencoderOutputs:
        return AutoencoderOutputs(
            super().predict_samples(model, raw_inputs, preprocessing),
            self.embed(model, preprocess_batch(raw_inputs, preprocessing)),
        )

    def prediction_images(self, outputs: AutoencoderOutputs) -> PredictionImages:
        return super().prediction_images(outputs.reconstructions)

    def prediction_table(self, outputs: AutoencoderOutputs, ids: list[str],
                         class_names: list[str] | None) -> PredictionTable:
        """The embeddings: id, then one column per bottleneck unit."""
        codes = outputs.embeddings
        return PredictionTable(["id", *(f"e{i}" for i in range(codes.shape[1]))],
                               [[sample_id, *row] for sample_id, row in zip(ids, codes, strict=True)])

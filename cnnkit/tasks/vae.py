"""Variational autoencoders (Kingma & Welling 2014): images -> a Gaussian over latent vectors ->
images (`model=vae`, `cnnkit.models.variational`).

The loss per image is the reconstruction loss summed over pixels (`bce`: binary cross-entropy,
the Bernoulli likelihood of images in [0, 1]; `mse`: half the squared error) plus
`kl_weight` x KL(q(z|x) || N(0, I)). With `kl_warmup_epochs` the KL weight grows linearly
from 0 over those epochs, counted in optimizer steps, so a resumed run continues the ramp from
where it was. `cnnkit predict` writes reconstructions, `cnnkit sample` draws from the prior.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.tasks import TASKS
from cnnkit.tasks.base import PredictionImages
from cnnkit.tasks.generative import Generative, needs_model_kind
from cnnkit.tasks.schemas import VaeSchema


class VariationalObjective:
    """`objective(x, reconstruction, mean, log_var, step) -> (loss, logs)`."""

    log_names = ("reconstruction_loss", "kl_loss", "kl_weight")

    def __init__(self, reconstruction: str, kl_weight: float, warmup_steps: int) -> None:
        self.reconstruction, self.kl_weight = reconstruction, float(kl_weight)
        self.warmup_steps = int(warmup_steps)

    def weight(self, step: Any) -> Any:
        from keras import ops

        if not self.warmup_steps:
            return ops.convert_to_tensor(self.kl_weight)
        ramp = ops.cast(step, "float32") / float(self.warmup_steps)
        return self.kl_weight * ops.minimum(1.0, ramp)

    def __call__(self, x: Any, reconstruction: Any, mean: Any, log_var: Any,
                 step: Any) -> tuple[Any, dict[str, Any]]:
        from keras import ops

        axes = tuple(range(1, len(x.shape)))
        if self.reconstruction == "bce":
            clipped = ops.clip(reconstruction, 1e-6, 1.0 - 1e-6)
            per_pixel = -(x * ops.log(clipped) + (1.0 - x) * ops.log(1.0 - clipped))
        else:
            per_pixel = 0.5 * ops.square(x - reconstruction)
        rec = ops.mean(ops.sum(per_pixel, axis=axes))
        kl = ops.mean(-0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=1))
        weight = self.weight(step)
        return rec + weight * kl, {"reconstruction_loss": rec, "kl_loss": kl, "kl_weight": weight}


@TASKS.register("vae", schema=VaeSchema,
                check=needs_model_kind("vae", "vae", "an encoder and a decoder"))
class Vae(Generative):
    name = "vae"
    target_kind = "input"
    output_kind = "images"

    def fit(self, data: Any) -> None:
        """The KL warm-up is given in epochs; the objective counts optimizer steps."""
        from cnnkit.data.pipeline import steps_per_epoch

        self.steps_per_epoch = steps_per_epoch(data.source.split("train"),
                                               int(data.data_cfg.batch_size))

    def loss(self, model: Any) -> VariationalObjective:
        warmup = int(self.option("kl_warmup_epochs", 0)) * getattr(self, "steps_per_epoch", 0)
        return VariationalObjective(str(self.option("reconstruction_loss", "bce")),
                                    float(self.option("kl_weight", 1.0)), warmup)

    def predict_samples(self, model: Any, raw_inputs: Any, preprocessing: Any) -> list[np.ndarray]:
        """Reconstructions (through the mean of each input's latent Gaussian)."""
        from cnnkit.tasks.base import preprocess_batch

        batch = preprocess_batch(raw_inputs, preprocessing)
        return list(np.asarray(model.predict(batch, verbose=0), "float32"))

    def prediction_images(self, outputs: list[np.ndarray]) -> PredictionImages:
        return PredictionImages(outputs, "auto", png_scale=255.0)

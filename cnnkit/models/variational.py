"""The Keras model of a variational autoencoder (Kingma & Welling 2014).

The encoder gives a mean and a log-variance per latent dimension; training samples
z = mean + exp(log_var / 2) * eps (the reparameterisation trick, so gradients flow through the
sampling) and decodes it. The loss (reconstruction plus the weighted KL divergence) is the vae
task's objective, passed as `compile(loss=...)`. `call(x)` reconstructs from the mean, which is
what `cnnkit predict` writes; `decode(z)` turns latent vectors into images in [0, 1].
"""

from __future__ import annotations

from typing import Any

import keras

from cnnkit.models.adversarial import OwnTrainStep, stateless_normal


@keras.saving.register_keras_serializable(package="cnnkit")
class Variational(OwnTrainStep):
    def __init__(self, encoder: Any, decoder: Any, latent_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = int(latent_dim)
        self.num_classes = None  # not conditional
        self.objective: Any = None
        self.trackers: dict[str, Any] = {}
        self.built = True  # both networks are built functional models

    @property
    def inputs(self) -> list[Any]:
        return self.encoder.inputs

    @property
    def outputs(self) -> list[Any]:
        return self.decoder.outputs

    def call(self, inputs: Any, training: bool = False) -> Any:
        mean, _ = self.encoder(inputs, training=training)
        return self.decoder(mean, training=training)

    def decode(self, z: Any, labels: Any = None) -> Any:
        return self.decoder(z, training=False)

    def compile(self, optimizer: Any = None, loss: Any = None, **kwargs: Any) -> None:
        kwargs.pop("metrics", None)
        super().compile(optimizer=optimizer, **kwargs)
        self.objective = loss
        self.track_losses(["loss", *(loss.log_names if loss is not None else ())])

    def _objective(self, x: Any, training: bool) -> tuple[Any, dict[str, Any]]:
        import tensorflow as tf

        x = keras.ops.cast(x, "float32")
        mean, log_var = self.encoder(x, training=training)
        step = self.optimizer.iterations if training else 0
        z = mean + keras.ops.exp(0.5 * log_var) * stateless_normal(tf.shape(mean), step, 0)
        reconstruction = self.decoder(z, training=training)
        return self.objective(x, reconstruction, mean, log_var, self.optimizer.iterations)

    def _log(self, values: dict[str, Any]) -> dict[str, Any]:
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data: Any) -> dict[str, Any]:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, logs = self._objective(data[0], True)
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        return self._log({"loss": loss, **logs})

    def test_step(self, data: Any) -> dict[str, Any]:
        loss, logs = self._objective(data[0], False)
        return self._log({"loss": loss, **logs})

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "latent_dim": self.latent_dim,
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Variational:
        config = dict(config)
        networks = {key: keras.saving.deserialize_keras_object(config.pop(key))
                    for key in ("encoder", "decoder")}
        return cls(**networks, **config)

"""The Keras model of a GAN: a generator and a discriminator trained by alternating updates.

`compile(optimizer=..., loss=objective)` is what the training engine calls for every task: the
optimizer it builds (with `trainer.ema`, clipping, the schedule) trains the generator, and a copy
of it without EMA trains the discriminator; the objective (the gan task's, `cnnkit.tasks.gan`)
holds the losses and `n_critic`. So that Keras' own EMA hooks and the engine's (validation and
checkpoints on the averaged weights, the average written into the weights when `fit` ends) touch
the generator only, `trainable_weights` are the generator's: those that `model.optimizer` trains.

The latent noise of step k is drawn from (k, draw) by a stateless generator, so a resumed run
draws the same noise as an uninterrupted one without saving any random state.
"""

from __future__ import annotations

from typing import Any

import keras

NOISE_SALT = 15  # the second half of every stateless noise seed


def stateless_normal(shape: Any, step: Any, draw: int) -> Any:
    """Standard normal noise that depends only on (step, draw)."""
    import tensorflow as tf

    seed = tf.stack([tf.cast(step, "int64") * 8 + draw, tf.constant(NOISE_SALT, "int64")])
    return tf.random.stateless_normal(shape, seed=seed)


class OwnTrainStep(keras.Model):
    """A model with its own `train_step` (GAN, VAE): one running mean per logged loss, and
    nothing to recompile on loading (sampling needs no optimizer)."""

    def track_losses(self, names: list[str]) -> None:
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    def get_compile_config(self) -> None:
        return None

    @property
    def metrics(self) -> list[Any]:
        return list(self.trackers.values())


@keras.saving.register_keras_serializable(package="cnnkit")
class Adversarial(OwnTrainStep):
    """`call(z)` / `call([z, label])` and `decode` give images in [0, 1]; the networks
    themselves work in [-1, 1]."""

    def __init__(self, generator: Any, discriminator: Any, latent_dim: int,
                 num_classes: int | None = None, head: str = "plain", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.num_classes, self.head = int(latent_dim), num_classes, head
        self.objective: Any = None
        self.d_optimizer: Any = None
        self.trackers: dict[str, Any] = {}
        self.built = True  # both networks are built functional models

    @property
    def trainable_weights(self) -> list[Any]:
        return self.generator.trainable_weights if self.trainable else []

    @property
    def inputs(self) -> list[Any]:  # what `cnnkit validate` prints: the generator's mapping
        return self.generator.inputs

    @property
    def outputs(self) -> list[Any]:
        return self.generator.outputs

    def generator_inputs(self, z: Any, labels: Any) -> Any:
        return [z, labels] if self.num_classes else z

    def call(self, inputs: Any, training: bool = False) -> Any:
        return (self.generator(inputs, training=training) + 1.0) / 2.0

    def decode(self, z: Any, labels: Any = None) -> Any:
        """Images in [0, 1] for latent vectors (and labels, when conditional)."""
        return self(self.generator_inputs(z, labels), training=False)

    def critic(self, images: Any, labels: Any, training: bool) -> tuple[Any, Any]:
        """(realness logits (N, 1), class logits (N, C) of an auxiliary head or None) of images
        in [-1, 1]."""
        if self.head == "projection":
            return self.discriminator([images, labels], training=training), None
        out = self.discriminator(images, training=training)
        return (out[0], out[1]) if self.head == "auxiliary" else (out, None)

    def compile(self, optimizer: Any = None, loss: Any = None, **kwargs: Any) -> None:
        kwargs.pop("metrics", None)  # the losses of both networks are logged instead
        super().compile(optimizer=optimizer, **kwargs)
        # built here on the list train_step applies: built later on `trainable_variables`
        # (resume does), its slots came in another order and a saved state did not load
        self.optimizer.build(self.generator.trainable_variables)
        self.objective = loss
        config = {**optimizer.get_config(), "use_ema": False}
        self.d_optimizer = type(optimizer).from_config(config)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.track_losses(["d_loss", "g_loss", *(loss.log_names if loss is not None else ())])

    def _labels(self, y: Any) -> Any:
        return keras.ops.cast(keras.ops.reshape(y, (-1,)), "int32") if self.num_classes else None

    def _log(self, values: dict[str, Any]) -> dict[str, Any]:
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data: Any) -> dict[str, Any]:
        import tensorflow as tf

        x, y = data[0], data[1]
        real = keras.ops.cast(x, "float32") * 2.0 - 1.0
        labels = self._labels(y)
        n = tf.shape(real)[0]
        step, objective = self.optimizer.iterations, self.objective
        logs: dict[str, Any] = {}
        for draw in range(objective.n_critic):
            z = stateless_normal([n, self.latent_dim], step, draw)
            with tf.GradientTape() as tape:
                fake = self.generator(self.generator_inputs(z, labels), training=True)
                d_loss, d_logs = objective.discriminator_loss(self, real, fake, labels, True)
            variables = self.discriminator.trainable_variables
            self.d_optimizer.apply(tape.gradient(d_loss, variables), variables)
        z = stateless_normal([n, self.latent_dim], step, objective.n_critic)
        with tf.GradientTape() as tape:
            fake = self.generator(self.generator_inputs(z, labels), training=True)
            g_loss, g_logs = objective.generator_loss(self, fake, labels, True)
        variables = self.generator.trainable_variables
        self.optimizer.apply(tape.gradient(g_loss, variables), variables)
        logs.update(d_logs, **g_logs)
        return self._log({"d_loss": d_loss, "g_loss": g_loss, **logs})

    def test_step(self, data: Any) -> dict[str, Any]:
        import tensorflow as tf

        x, y = data[0], data[1]
        real = keras.ops.cast(x, "float32") * 2.0 - 1.0
        labels = self._labels(y)
        z = stateless_normal([tf.shape(real)[0], self.latent_dim], 0, 0)
        fake = self.generator(self.generator_inputs(z, labels), training=False)
        d_loss, d_logs = self.objective.discriminator_loss(self, real, fake, labels, False)
        g_loss, g_logs = self.objective.generator_loss(self, fake, labels, False)
        return self._log({"d_loss": d_loss, "g_loss": g_loss, **d_logs, **g_logs})

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "latent_dim": self.latent_dim, "num_classes": self.num_classes,
                "head": self.head,
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Adversarial:
        config = dict(config)
        networks = {key: keras.saving.deserialize_keras_object(config.pop(key))
                    for key in ("generator", "discriminator")}
        return cls(**networks, **config)

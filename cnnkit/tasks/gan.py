"""Generative adversarial networks (Goodfellow et al. 2014): the discriminator learns to tell
real from generated images, the generator to fool it (`model=dcgan`, `cnnkit.models.adversarial`).

Losses (`task.loss`), on the discriminator's logits d(real), d(fake):
    non_saturating  D: softplus(-d(real)) + softplus(d(fake))   G: softplus(-d(fake))
    hinge           D: relu(1 - d(real)) + relu(1 + d(fake))    G: -d(fake)
    wgan_gp         D: d(fake) - d(real) + gp_weight * (|grad d(x_hat)| - 1)^2   G: -d(fake)
                    (Gulrajani et al. 2017; x_hat between a real and a fake image)
`task.n_critic` discriminator updates precede each generator update (each on the same real
batch with fresh noise). `task.top_k_fraction` < 1 trains the generator on the adversarial loss
of only that share of each batch, the samples the discriminator scores most real (top-k
training, Sinha et al. 2020): the worst samples' gradients point at the discriminator's current
blind spots rather than at the data, and dropping them sharpened fashion_gan's samples.
`task.conditional=true` learns from the labels: both networks get the
label (`model.num_classes`), and the discriminator either projects its features onto a label
embedding (`conditioning: projection`) or also classifies the images (`auxiliary`, AC-GAN: both
networks add `class_loss_weight` x the cross-entropy of the requested class).
"""

from __future__ import annotations

from typing import Any

from cnnkit.errors import ConfigError
from cnnkit.tasks import TASKS
from cnnkit.tasks.generative import Generative, needs_model_kind
from cnnkit.tasks.schemas import GanSchema
from cnnkit.tasks.segmentation import set_default


class AdversarialObjective:
    """The losses `Adversarial.train_step` minimises, and how many critic steps it takes."""

    def __init__(self, loss: str, n_critic: int, gp_weight: float, class_weight: float,
                 auxiliary: bool, top_k_fraction: float = 1.0) -> None:
        self.loss, self.n_critic, self.gp_weight = loss, int(n_critic), float(gp_weight)
        self.top_k_fraction = float(top_k_fraction)
        self.class_weight, self.auxiliary = float(class_weight), auxiliary
        self.log_names = (["d_class_loss", "g_class_loss"] if auxiliary else []) + (
            ["gradient_penalty"] if loss == "wgan_gp" else [])

    def discriminator_loss(self, model: Any, real: Any, fake: Any, labels: Any,
                           training: bool) -> tuple[Any, dict[str, Any]]:
        from keras import ops

        real_logit, real_classes = model.critic(real, labels, training)
        fake_logit, fake_classes = model.critic(fake, labels, training)
        if self.loss == "hinge":
            loss = ops.mean(ops.relu(1.0 - real_logit)) + ops.mean(ops.relu(1.0 + fake_logit))
        elif self.loss == "wgan_gp":
            loss = ops.mean(fake_logit) - ops.mean(real_logit)
        else:
            loss = ops.mean(ops.softplus(-real_logit)) + ops.mean(ops.softplus(fake_logit))
        logs: dict[str, Any] = {}
        if self.loss == "wgan_gp":
            logs["gradient_penalty"] = self._penalty(model, real, fake, labels) if training \
                else ops.zeros(())
            loss = loss + self.gp_weight * logs["gradient_penalty"]
        if self.auxiliary:
            logs["d_class_loss"] = 0.5 * (_crossentropy(labels, real_classes)
                                          + _crossentropy(labels, fake_classes))
            loss = loss + self.class_weight * logs["d_class_loss"]
        return loss, logs

    def generator_loss(self, model: Any, fake: Any, labels: Any,
                       training: bool) -> tuple[Any, dict[str, Any]]:
        from keras import ops

        logit, classes = model.critic(fake, labels, training)
        if training and self.top_k_fraction < 1.0:
            logit = self._most_real(logit)
        loss = ops.mean(ops.softplus(-logit)) if self.loss == "non_saturating" else -ops.mean(logit)
        logs: dict[str, Any] = {}
        if self.auxiliary:
            logs["g_class_loss"] = _crossentropy(labels, classes)
            loss = loss + self.class_weight * logs["g_class_loss"]
        return loss, logs

    def _most_real(self, logit: Any) -> Any:
        """The ceil(top_k_fraction x N) highest of the N realness logits: every loss here falls
        as the logit rises, so these are the samples with the smallest generator losses."""
        import tensorflow as tf

        flat = tf.reshape(logit, [-1])
        count = tf.cast(tf.shape(flat)[0], "float32")
        k = tf.maximum(1, tf.cast(tf.math.ceil(self.top_k_fraction * count), "int32"))
        return tf.math.top_k(flat, k).values

    @staticmethod
    def _penalty(model: Any, real: Any, fake: Any, labels: Any) -> Any:
        import tensorflow as tf

        shape = [tf.shape(real)[0]] + [1] * (len(real.shape) - 1)
        # stateless, from the critic's update count: a resumed run mixes as an uninterrupted
        # one (a stateful draw restarts its stream in a new process)
        seed = tf.stack([tf.cast(model.d_optimizer.iterations, "int64"),
                         tf.constant(PENALTY_SALT, "int64")])
        mix = tf.random.stateless_uniform(shape, seed=seed)
        between = mix * real + (1.0 - mix) * fake
        with tf.GradientTape() as tape:
            tape.watch(between)
            logit, _ = model.critic(between, labels, True)
        grads = tf.reshape(tape.gradient(logit, between), [tf.shape(real)[0], -1])
        return tf.reduce_mean((tf.norm(grads, axis=1) - 1.0) ** 2)


#: the second half of the gradient penalty's seeds (the generator noise uses 15)
PENALTY_SALT = 16


def _crossentropy(labels: Any, logits: Any) -> Any:
    from keras import ops

    return ops.mean(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True))


@TASKS.register("gan", schema=GanSchema,
                check=needs_model_kind("gan", "dcgan", "a generator and a discriminator"))
class Gan(Generative):
    name = "gan"

    @property
    def conditional(self) -> bool:
        return bool(self.option("conditional", False))

    @property
    def target_kind(self) -> str:  # type: ignore[override]
        """Labels when conditional; otherwise the images alone (any source, labelled or not)."""
        return "label" if self.conditional else "input"

    def complete_model_config(self, model_cfg: Any, class_names: list[str] | None,
                              input_shape: list[int] | None = None) -> None:
        if not self.conditional:
            return
        if not class_names:
            raise ConfigError("`task.conditional=true` needs class labels, and the data give "
                              "none. Use labelled data, or task.conditional=false.")
        set_default(model_cfg, "num_classes", len(class_names))
        model_cfg.discriminator_head = str(self.option("conditioning", "projection"))

    def loss(self, model: Any) -> AdversarialObjective:
        return AdversarialObjective(
            str(self.option("loss", "non_saturating")), int(self.option("n_critic", 1)),
            float(self.option("gp_weight", 10.0)), float(self.option("class_loss_weight", 1.0)),
            auxiliary=getattr(model, "head", None) == "auxiliary",
            top_k_fraction=float(self.option("top_k_fraction", 1.0)))

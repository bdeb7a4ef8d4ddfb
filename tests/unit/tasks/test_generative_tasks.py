"""The gan and vae tasks: their losses on known logits, the KL warm-up, what they need from the
config, and sampling (grid rows per class, latent walks from their end points)."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import open_dict

from cnnkit.commands.validation import validated
from cnnkit.config.compose import compose
from cnnkit.errors import CnnkitError, ConfigError
from cnnkit.models.build import build_model
from cnnkit.tasks import get_task
from cnnkit.tasks.gan import AdversarialObjective
from cnnkit.tasks.vae import VariationalObjective


class FixedCritic:
    """A stand-in model whose discriminator says `real` for real images and `fake` otherwise."""

    def __init__(self, real: float, fake: float, classes=None) -> None:
        self.values, self.classes = {"real": real, "fake": fake}, classes

    def critic(self, images, labels, training):
        return np.full((2, 1), self.values[images], "float32"), self.classes


@pytest.mark.parametrize(("loss", "d_expected", "g_expected"), [
    ("non_saturating", 2 * np.log1p(np.exp(-2.0)), np.log1p(np.exp(2.0))),
    ("hinge", 0.0, 2.0),  # relu(1 - 2) + relu(1 - 2); G: -d(fake)
])
def test_adversarial_losses_on_known_logits(loss, d_expected, g_expected):
    objective = AdversarialObjective(loss, 1, 10.0, 1.0, auxiliary=False)
    model = FixedCritic(real=2.0, fake=-2.0)
    d_loss, _ = objective.discriminator_loss(model, "real", "fake", None, False)
    g_loss, _ = objective.generator_loss(model, "fake", None, False)
    assert float(d_loss) == pytest.approx(d_expected, rel=1e-5)
    assert float(g_loss) == pytest.approx(g_expected, rel=1e-5)


class ScoredCritic:
    """A stand-in whose discriminator gives the fake batch the given logits."""

    def __init__(self, logits) -> None:
        self.logits = np.asarray(logits, "float32").reshape(-1, 1)

    def critic(self, images, labels, training):
        return self.logits, None


@pytest.mark.parametrize("loss", ["non_saturating", "hinge"])
def test_top_k_training_keeps_the_samples_scored_most_real(loss):
    logits = [-3.0, 2.0, 0.5, -1.0]
    per_sample = {"non_saturating": lambda v: np.log1p(np.exp(-v)), "hinge": lambda v: -v}[loss]
    objective = AdversarialObjective(loss, 1, 10.0, 1.0, auxiliary=False, top_k_fraction=0.5)
    g_loss, _ = objective.generator_loss(ScoredCritic(logits), "fake", None, True)
    # ceil(0.5 x 4) = 2: the logits 2.0 and 0.5
    assert float(g_loss) == pytest.approx(np.mean(per_sample(np.array([2.0, 0.5]))), rel=1e-5)
    # evaluation scores every sample
    g_all, _ = objective.generator_loss(ScoredCritic(logits), "fake", None, False)
    assert float(g_all) == pytest.approx(np.mean(per_sample(np.array(logits))), rel=1e-5)


def test_auxiliary_head_adds_the_class_losses():
    classes = np.log(np.array([[0.9, 0.1], [0.1, 0.9]], "float32"))
    objective = AdversarialObjective("hinge", 1, 10.0, 2.0, auxiliary=True)
    _, logs = objective.generator_loss(FixedCritic(2.0, -2.0, classes), "fake",
                                       np.array([0, 1]), False)
    assert float(logs["g_class_loss"]) == pytest.approx(-np.log(0.9), rel=1e-4)
    assert objective.log_names == ["d_class_loss", "g_class_loss"]


def test_kl_weight_warms_up_linearly_then_stays():
    objective = VariationalObjective("bce", 0.5, warmup_steps=100)
    assert [float(objective.weight(s)) for s in (0, 50, 100, 400)] == [0.0, 0.25, 0.5, 0.5]
    x = np.full((2, 4, 4, 1), 0.5, "float32")
    loss, logs = objective(x, x, np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32"), 100)
    assert float(logs["kl_loss"]) == 0.0  # the prior itself
    assert float(loss) == pytest.approx(16 * np.log(2), rel=1e-4)  # BCE of 0.5 against 0.5


@pytest.mark.parametrize(("args", "message"), [
    (["task=gan"], "`task=gan` trains a generator and a discriminator"),
    (["model=dcgan", "task=classification"], "`model.kind=gan` (dcgan) is trained by task=gan"),
    (["task=vae", "model=dcgan"], "is trained by task=gan"),
    (["task=gan", "model=dcgan", "task.los=hinge"], "Did you mean: loss?"),
    (["task=gan", "model=dcgan", "task.loss=wgan"], "wgan_gp"),
    (["task=gan", "model=dcgan", "task.top_k_fraction=0"], "`task.top_k_fraction`"),
    (["task=gan", "model=dcgan", "model.generator.layrs=[]"], "`model.generator.layrs`"),
])
def test_config_mistakes_are_one_line(args, message):
    with pytest.raises(CnnkitError) as caught:
        validated(compose("train", args), uses_data=False)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("model, task", [("dcgan", "gan"), ("dcgan3d", "gan"), ("vae", "vae")])
def test_a_generative_model_preset_picks_its_task_unless_one_is_given(model, task):
    assert compose("train", [f"model={model}"]).task.name == task
    assert compose("train", [f"model={model}", "task=regression"]).task.name == "regression"


@pytest.fixture(scope="module")
def conditional():
    cfg = compose("train", ["task=gan", "model=dcgan", "task.conditional=true",
                            "model.input_shape=[28,28,1]"])
    task = get_task(cfg.task, cfg)
    with open_dict(cfg):
        task.complete_model_config(cfg.model, [str(i) for i in range(10)], [28, 28, 1])
    return task, build_model(cfg.model)


def test_conditional_gan_learns_from_labels_and_grids_one_row_per_class(conditional):
    task, model = conditional
    assert task.target_kind == "label" and model.num_classes == 10
    images, columns = task.grid(model)
    assert columns == 6 and images.shape == (60, 28, 28, 1)  # 64 // 10 per class row


def test_samples_are_reproducible_and_walks_end_where_they_start(conditional):
    task, model = conditional
    first = task.sample(model, 5, np.full(5, 3), seed=4)
    np.testing.assert_array_equal(first, task.sample(model, 5, np.full(5, 3), seed=4))
    walk = task.interpolate(model, rows=2, steps=5, seed=1)
    assert walk.shape == (10, 28, 28, 1)


def test_unconditional_gan_refuses_a_class():
    cfg = compose("train", ["task=gan", "model=dcgan", "model.input_shape=[28,28,1]"])
    task = get_task(cfg.task, cfg)
    assert task.target_kind == "input"
    with pytest.raises(ConfigError, match="not conditional"):
        task.sample(build_model(cfg.model), 2, np.zeros(2))


def test_truncation_keeps_latent_values_within_the_limit_and_off_draws_the_full_prior():
    def latent(*args):
        cfg = compose("train", ["task=gan", "model=dcgan", *args])
        return get_task(cfg.task, cfg).latent(np.random.default_rng(0), (4000, 8))

    truncated = latent("task.truncation=0.5")
    assert truncated.shape == (4000, 8) and np.abs(truncated).max() <= 0.5
    assert truncated.std() > 0.25  # spread over the interval, not collapsed to 0
    full = latent()
    assert np.abs(full).max() > 3.0  # the untruncated normal reaches its tails

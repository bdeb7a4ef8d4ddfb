"""Model kinds `gan` and `vae`: two networks, each a layer spec in the YAML grammar.

    model.generator.layers       latent vector -> image (the images' shape, values in [-1, 1])
    model.discriminator.layers   image -> features; the builder adds the critic head
    model.encoder.layers         image -> features; the builder adds the mean and log-variance
    model.decoder.layers         latent vector -> image (values in [0, 1])

`model.blocks` is shared by both networks. With `model.num_classes` set (the gan task sets it for
`task.conditional=true`) the generator embeds the label and concatenates it to the latent
vector; the discriminator gets a projection head (a label embedding dotted with its features,
Miyato & Koyama 2018) or an auxiliary classifier (Odena et al. 2017), `model.discriminator_head`.
`model.spectral_norm` wraps every convolution and dense layer of the discriminator in
`keras.layers.SpectralNormalization` (Miyato et al. 2018).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cnnkit.config.check import setting
from cnnkit.errors import ModelSpecError
from cnnkit.models.build import MODEL_KINDS
from cnnkit.models.schemas import SpecModelSchema, check_layer_arguments, check_spec

HEADS = ("plain", "projection", "auxiliary")


@dataclass
class NetworkSchema:
    """One network of a generative model: its layers (blocks come from `model.blocks`)."""

    layers: list[Any] = setting(factory=list, min_items=1)


def _rank_of(values: dict[str, Any], networks: tuple[str, ...]) -> int | None:
    if values.get("rank"):
        return int(values["rank"])
    shape = values.get("input_shape")
    if shape:
        return len(shape) - 1
    ranks = {SpecModelSchema.rank_of({"layers": (values.get(n) or {}).get("layers"),
                                      "blocks": values.get("blocks")}) for n in networks}
    ranks.discard(None)
    return ranks.pop() if len(ranks) == 1 else None


@dataclass
class GanModelSchema:
    """`kind: gan` (conf/model/dcgan.yaml). A preset's own variables are allowed as in `spec`."""

    kind: str = "gan"
    name: str = "gan"
    input_shape: list[int] | None = None  # the images, channels last (null: the data's)
    latent_dim: int = setting(64, min=1)
    num_classes: int | None = setting(None, min=1)  # conditional: set by the gan task
    embedding_dim: int = setting(32, min=1)  # the label embedding the generator gets
    discriminator_head: Literal["plain", "projection", "auxiliary"] = "plain"  # set by the task
    spectral_norm: bool = False
    generator: NetworkSchema = field(default_factory=NetworkSchema)
    discriminator: NetworkSchema = field(default_factory=NetworkSchema)
    blocks: dict[str, Any] | None = None
    rank: int | None = setting(None, min=1, max=3)
    output_activation: str | None = None  # unused: the generator ends in tanh by its spec

    @staticmethod
    def rank_of(values: dict[str, Any]) -> int | None:
        return _rank_of(values, ("generator", "discriminator"))


@dataclass
class VaeModelSchema:
    """`kind: vae` (conf/model/vae.yaml)."""

    kind: str = "vae"
    name: str = "vae"
    input_shape: list[int] | None = None
    latent_dim: int = setting(16, min=1)
    num_classes: int | None = None  # unused: a VAE is not conditional
    encoder: NetworkSchema = field(default_factory=NetworkSchema)
    decoder: NetworkSchema = field(default_factory=NetworkSchema)
    blocks: dict[str, Any] | None = None
    rank: int | None = setting(None, min=1, max=3)
    output_activation: str | None = None

    @staticmethod
    def rank_of(values: dict[str, Any]) -> int | None:
        return _rank_of(values, ("encoder", "decoder"))


def _check_networks(kind: str, *networks: str) -> Any:
    def check(values: dict[str, Any], config: dict[str, Any]) -> None:
        task = str((config.get("task") or {}).get("name"))
        if task != kind:
            raise ModelSpecError(f"`model.kind={kind}` ({values.get('name')}) is trained by "
                                 f"task={kind}, which has its own training step. Received: "
                                 f"task={task}. Use task={kind}, or a model of kind spec.")
        check_spec({"input_shape": values.get("input_shape")}, config)
        check_layer_arguments({"blocks": values.get("blocks")})
        for name in networks:
            check_layer_arguments({"layers": values[name]["layers"]}, f"model.{name}")
        if values.get("discriminator_head", "plain") != "plain" and not values.get("num_classes"):
            raise ModelSpecError(
                f"`model.discriminator_head={values['discriminator_head']}` needs labels: set "
                "task.conditional=true (it sets model.num_classes from the data).")
    return check


def _network(model_cfg: Any, key: str, input_shape: list[int]) -> Any:
    from cnnkit.models.spec import build_from_spec

    return build_from_spec(model_cfg[key].layers, input_shape, name=key,
                           blocks=model_cfg.get("blocks"), rank=_rank(model_cfg),
                           path=f"model.{key}.layers")


def _rank(model_cfg: Any) -> int:
    return int(model_cfg.get("rank") or len(model_cfg.input_shape) - 1)


def _image_shape(model_cfg: Any) -> list[int]:
    if not model_cfg.get("input_shape"):
        raise ModelSpecError("`model.input_shape` must be the images' shape, channels last "
                             "(e.g. [28, 28, 1]). Received: null")
    return [int(d) for d in model_cfg.input_shape]


def _must_make_images(net: Any, shape: list[int], key: str) -> None:
    got = tuple(net.output.shape[1:])
    if got != tuple(shape):
        raise ModelSpecError(f"`model.{key}.layers` ends in shape {got}. Expected the images' "
                             f"shape {tuple(shape)} (model.input_shape): adjust its upsampling "
                             "or its last layer's filters.")


def _features(net: Any, x: Any) -> Any:
    """The network's output on `x` as one vector per example."""
    import keras

    h = net(x)
    return keras.layers.Flatten(name="features")(h) if len(h.shape) > 2 else h


def _spectral(net: Any) -> Any:
    """`net` with every convolution and dense layer spectrally normalised."""
    import keras

    normalised = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
                  keras.layers.Dense)

    def wrap(layer: Any) -> Any:
        fresh = layer.__class__.from_config(layer.get_config())
        if isinstance(layer, normalised):
            return keras.layers.SpectralNormalization(fresh, name=f"{layer.name}_sn")
        return fresh

    return keras.models.clone_model(net, clone_function=wrap)


def _dense(units: int, name: str, spectral: bool) -> Any:
    import keras

    layer = keras.layers.Dense(units, name=name)
    return keras.layers.SpectralNormalization(layer, name=f"{name}_sn") if spectral else layer


@MODEL_KINDS.register("gan", schema=GanModelSchema, check=_check_networks("gan", "generator",
                                                                           "discriminator"))
def build_gan(model_cfg: Any) -> Any:
    import keras

    from cnnkit.models.adversarial import Adversarial

    shape = _image_shape(model_cfg)
    latent, classes = int(model_cfg.latent_dim), model_cfg.get("num_classes")
    head = str(model_cfg.get("discriminator_head") or "plain")
    conditional = head != "plain"
    width = latent + (int(model_cfg.embedding_dim) if conditional else 0)
    body = _network(model_cfg, "generator", [width])
    _must_make_images(body, shape, "generator")
    z = keras.Input((latent,), name="latent")
    label = keras.Input((), dtype="int32", name="label")
    if conditional:
        embedded = keras.layers.Embedding(int(classes), int(model_cfg.embedding_dim),
                                          name="label_embedding")(label)
        joined = keras.layers.Concatenate(name="latent_and_label")([z, embedded])
        generator = keras.Model([z, label], body(joined), name="generator")
    else:
        generator = keras.Model(z, body(z), name="generator")

    critic_body = _network(model_cfg, "discriminator", shape)
    spectral = bool(model_cfg.get("spectral_norm"))
    if spectral:
        critic_body = _spectral(critic_body)
    image = keras.Input(tuple(shape), name="image")
    h = _features(critic_body, image)
    logit = _dense(1, "critic", spectral)(h)
    if head == "projection":
        projected = keras.layers.Embedding(int(classes), int(h.shape[-1]),
                                           name="label_projection")(label)
        logit = keras.layers.Add(name="critic_projected")(
            [logit, keras.layers.Dot(axes=1, name="projection")([projected, h])])
        discriminator = keras.Model([image, label], logit, name="discriminator")
    elif head == "auxiliary":
        discriminator = keras.Model(image, [logit, _dense(int(classes), "classes", spectral)(h)],
                                    name="discriminator")
    else:
        discriminator = keras.Model(image, logit, name="discriminator")
    return Adversarial(generator, discriminator, latent_dim=latent,
                       num_classes=int(classes) if conditional else None, head=head,
                       name=str(model_cfg.get("name") or "gan"))


@MODEL_KINDS.register("vae", schema=VaeModelSchema, check=_check_networks("vae", "encoder", "decoder"))
def build_vae(model_cfg: Any) -> Any:
    import keras

    from cnnkit.models.variational import Variational

    shape = _image_shape(model_cfg)
    latent = int(model_cfg.latent_dim)
    body = _network(model_cfg, "encoder", shape)
    image = keras.Input(tuple(shape), name="image")
    h = _features(body, image)
    encoder = keras.Model(image, [keras.layers.Dense(latent, name="mean")(h),
                                  keras.layers.Dense(latent, name="log_var")(h)], name="encoder")
    decoder = _network(model_cfg, "decoder", [latent])
    _must_make_images(decoder, shape, "decoder")
    return Variational(encoder, decoder, latent_dim=latent, name=str(model_cfg.get("name") or "vae"))

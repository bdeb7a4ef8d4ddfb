"""cnnkit's own serialisable Keras layers.

A saved model must reload with `keras.models.load_model(path, safe_mode=True)`, so nothing here is
a `Lambda`: each layer is a registered class whose config is plain data. Importing this module
registers them; `cnnkit.io.rundir` imports it before loading a run's model.
"""

from __future__ import annotations

from typing import Any

import keras

# ImageNet statistics behind `keras.applications.imagenet_utils.preprocess_input`.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)  # on [0, 255], BGR order
TORCH_MEAN = (0.485, 0.456, 0.406)  # on [0, 1], RGB order
TORCH_STD = (0.229, 0.224, 0.225)
PREPROCESSING_MODES = ("caffe", "tf", "torch", "none")


@keras.saving.register_keras_serializable(package="cnnkit")
class BackbonePreprocessing(keras.layers.Layer):
    """Maps RGB images in [0, 1] to the input a keras.applications backbone was trained on.

    For every mode, `layer(x) == preprocess_input(255 * x)` of the backbone's module:
    `caffe` (VGG, ResNet): BGR, [0, 255] minus the ImageNet mean; `tf` (Inception, MobileNet,
    Xception, ResNetV2, NASNet): [-1, 1]; `torch` (DenseNet): ImageNet mean/std on [0, 1];
    `none` (EfficientNet, ConvNeXt, MobileNetV3: they normalise inside): [0, 255].
    """

    def __init__(self, mode: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(
                f"mode must be one of {', '.join(PREPROCESSING_MODES)}. Received: {mode!r}"
            )
        self.mode = mode

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x * 2.0 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(TORCH_MEAN, self.compute_dtype)
            std = ops.convert_to_tensor(TORCH_STD, self.compute_dtype)
            return (x - mean) / std
        if self.mode == "caffe":
            mean = ops.convert_to_tensor(CAFFE_BGR_MEAN, self.compute_dtype)
            return ops.flip(x, axis=-1) * 255.0 - mean
        return x * 255.0

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="cnnkit")
class RandomAugmentation(keras.layers.Layer):
    """The `augment` transforms inside the model (`augment.where=model`): geometric transforms of
    the input, drawn afresh every training step; the identity at inference, so a saved model
    predicts unchanged. Built from plain config, so it reloads with safe_mode=True."""

    def __init__(self, transforms: list[dict[str, Any]], seed: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from cnnkit.augment import build_augmentation

        self.transforms = [dict(t) for t in transforms]
        self.seed = int(seed)
        self.augmentation = build_augmentation(
            {"where": "model", "transforms": self.transforms}, "label", self.seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not training or self.augmentation is None:
            return inputs
        import tensorflow as tf

        seed = tf.cast(self.seed_generator.next(), tf.int64)
        augmented, _ = self.augmentation.apply_batch(inputs, None, seed)
        return augmented

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "transforms": self.transforms, "seed": self.seed}


def apply_input_augmentation(spec: Any, inputs: Any) -> Any:
    """`inputs` through a RandomAugmentation layer when `model.input_augmentation` is set."""
    if not spec:
        return inputs
    from omegaconf import DictConfig, OmegaConf

    if isinstance(spec, DictConfig):
        spec = OmegaConf.to_container(spec, resolve=True)
    return RandomAugmentation(spec["transforms"], spec.get("seed", 0), name="augmentation")(inputs)

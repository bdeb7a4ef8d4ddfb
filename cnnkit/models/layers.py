"""cnnkit's own serialisable Keras layers.

A saved model must reload with `keras.models.load_model(path, safe_mode=True)`, so nothing here is
a `Lambda`: each layer is a registered class whose config is plain data. Importing this module
registers them; `cnnkit.rundir` imports it before loading a run's model.
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

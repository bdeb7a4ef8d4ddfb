"""Layers by path (`outer/inner` inside a nested model) and models that expose their activations.

Grad-CAM needs a model returning (activation, output). For a layer inside a nested backbone the
usual `keras.Model(model.inputs, inner_layer.output)` fails with "Graph disconnected" (the inner
layer's tensors belong to the nested model's own graph: tf-keras-vis #63/#71, tensorflow#44462,
keras#16355). Here the nested model is swapped, in a clone of the outer graph that shares every
layer and weight, for a model of its own inputs returning (activation, its output).
"""

from __future__ import annotations

from typing import Any

from cnnkit.errors import ConfigError, did_you_mean

CONV_TYPES = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D",
              "SeparableConv1D", "Conv2DTranspose", "Conv3DTranspose")


def is_model(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.Model)


def layer_paths(model: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, layer) of every layer, nested models' layers included, in graph order."""
    found = []
    for layer in model.layers:
        path = f"{prefix}{layer.name}"
        found.append((path, layer))
        if is_model(layer):
            found += layer_paths(layer, f"{path}/")
    return found


def conv_paths(model: Any) -> list[str]:
    return [p for p, layer in layer_paths(model) if type(layer).__name__ in CONV_TYPES]


def find_layer(model: Any, path: str, key: str = "layer") -> Any:
    """The layer at `path`, or an error naming the model's layers (did-you-mean included)."""
    paths = dict(layer_paths(model))
    if path in paths:
        return paths[path]
    leaf = {p.rsplit("/", 1)[-1]: p for p in paths}  # an inner layer named without its model
    if path in leaf:
        return paths[leaf[path]]
    # keras names a backbone after its input size (mobilenetv2_1.00_224 at 224, _32 at 32):
    # a path written for another size still names one inner layer
    rest = path.partition("/")[2]
    same = [p for p in paths if rest and p.partition("/")[2] == rest]
    if len(same) == 1:
        return paths[same[0]]
    convs = conv_paths(model)
    raise ConfigError(f"`{key}={path}` is not a layer of the model.{did_you_mean(path, paths)} "
                      f"Expected a layer path such as {', '.join(convs[-3:] or list(paths)[-3:])}")


def resolve_path(model: Any, path: str) -> str:
    """The full path of a layer named by path or by its own name."""
    layer = find_layer(model, path)
    return next(p for p, candidate in layer_paths(model) if candidate is layer)


def default_conv(model: Any, key: str = "layer", last: bool = True) -> str:
    """The last (or first) convolution in graph order, inside nested models too."""
    convs = conv_paths(model)
    if not convs:
        raise ConfigError(f"The model has no convolution layer: give `{key}=` one of "
                          f"{', '.join(p for p, _ in layer_paths(model))}")
    return convs[-1] if last else convs[0]


def activation_model(model: Any, path: str) -> Any:
    """A model of `model`'s inputs returning [activation of the layer at `path`, outputs]."""
    import keras

    head, _, rest = path.partition("/")
    if not rest:
        layer = model.get_layer(head)
        return keras.Model(_inputs(model), [layer.output, *_as_list(model.outputs)])
    nested = model.get_layer(head)
    inner = activation_model(nested, rest)
    captured: list[Any] = []

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if layer is not nested:
            return layer(*args, **kwargs)
        activation, *outputs = inner(*args, **kwargs)
        captured.append(activation)
        return outputs[0] if len(outputs) == 1 else outputs

    clone = keras.models.clone_model(model, clone_function=lambda layer: layer,
                                     call_function=call)
    return keras.Model(_inputs(clone), [captured[-1], *_as_list(clone.outputs)])


def _inputs(model: Any) -> Any:
    """The model's input tensor (a list only for several inputs), as Keras expects it called."""
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def _as_list(outputs: Any) -> list[Any]:
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def penultimate_model(model: Any) -> Any:
    """Inputs -> the flattened input of the output layer (the last hidden representation)."""
    import keras

    features = model.layers[-1].input
    return keras.Model(_inputs(model), keras.layers.Flatten()(features))

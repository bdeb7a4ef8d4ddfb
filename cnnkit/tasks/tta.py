"""Test-time augmentation of whole images: `cnnkit evaluate|predict run=RUN tta=flips`.

`flips` averages the model over the input and its mirror image (the last spatial axis, width):
the usual TTA for natural images, which are mirrored in training too. `flips_all` averages over
every combination of flips of the spatial axes (4 views of an image, 8 of a volume): for data
with no up or down, such as many medical images. Probabilities are averaged, not logits: a
logit model's views become probabilities (softmax or sigmoid, as its task reads them) and the
mean becomes logits again, so the wrapped model is a drop-in for the task's loss, metrics and
`finalize`. Outputs with the input's spatial shape (segmentation) are flipped back first.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from cnnkit.errors import ConfigError

TTA_MODES = ("none", "flips", "flips_all")
#: tasks whose single output is a class, values or a whole-image mask
SUPPORTED = ("classification", "regression", "segmentation")
EPSILON = 1e-7  # probabilities are kept in [eps, 1 - eps] before the log


def flip_axes(mode: str, rank: int) -> list[tuple[int, ...]]:
    """The axes each view flips, for a batch of `rank` dimensions (batch first, channels last);
    `()` is the input itself."""
    spatial = list(range(1, rank - 1))
    if mode == "flips":
        return [(), (spatial[-1],)]
    if mode == "flips_all":
        return [axes for k in range(len(spatial) + 1) for axes in combinations(spatial, k)]
    return [()]


def with_tta(model: Any, mode: str, task: Any) -> Any:
    """`model` itself for `tta=none`, else a compiled model averaging it over the flipped views."""
    if mode == "none":
        return model
    if task.name not in SUPPORTED or len(model.outputs) != 1:
        raise ConfigError(f"`tta={mode}` supports single-output {', '.join(SUPPORTED)} runs. "
                          f"Received: a {task.name} run. Expected tta=none")
    wrapped = flip_average(model, flip_axes(mode, len(model.input_shape)),
                           task.probability_activation(model))
    wrapped.compile(loss=task.loss(wrapped), metrics=task.metrics(wrapped))
    return wrapped


def flip_average(model: Any, views: list[tuple[int, ...]], activation: str | None) -> Any:
    """A functional model: `model` on each flipped view of the input, outputs of the input's
    spatial shape flipped back, then averaged as probabilities under `activation` (softmax or
    sigmoid; None: as they are)."""
    import keras

    inputs = keras.Input(batch_shape=model.input_shape)
    dense = len(model.output_shape) == len(model.input_shape) and \
        model.output_shape[1:-1] == model.input_shape[1:-1]
    outputs = []
    for axes in views:
        y = model(flipped(inputs, axes))
        outputs.append(flipped(y, axes) if dense else y)
    last = model.layers[-1]
    own = keras.activations.softmax if type(last).__name__ == "Softmax" \
        else getattr(last, "activation", keras.activations.linear)
    return keras.Model(inputs, view_mean_layer(activation, own)(outputs), name=f"{model.name}_tta")


def flipped(x: Any, axes: tuple[int, ...]) -> Any:
    import keras

    for axis in axes:
        x = keras.ops.flip(x, axis=axis)
    return x


def view_mean_layer(activation: str | None, own: Any) -> Any:
    """The layer averaging the views. It carries the wrapped model's output activation as its
    own, so the task reads the wrapper's outputs as it reads the model's (logits or not)."""
    import keras

    class ViewMean(keras.layers.Layer):
        def __init__(self) -> None:
            super().__init__(name="tta_mean")
            self.activation = own

        def call(self, views: list[Any]) -> Any:
            ops = keras.ops
            stacked = ops.stack(views, axis=0)
            if activation is None:
                return ops.mean(stacked, axis=0)
            to_probability = ops.softmax if activation == "softmax" else ops.sigmoid
            mean = ops.clip(ops.mean(to_probability(stacked), axis=0), EPSILON, 1 - EPSILON)
            # softmax(log p) = p for p summing to 1; sigmoid(log p - log(1 - p)) = p
            return ops.log(mean) if activation == "softmax" else ops.log(mean) - ops.log(1 - mean)

    return ViewMean()

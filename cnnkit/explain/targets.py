"""What an explanation explains: one scalar per input, from the model's outputs.

Classification: the chosen class's score before softmax/sigmoid (gradients of a saturated
probability vanish; tf-keras-vis calls this ReplaceToLinear). Regression: the chosen output.
Segmentation: the class's scores summed over the pixels predicted as that class (Grad-CAM of a
region, Vinogradova et al. 2020). Multi-task: the chosen head, then its own task's rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnkit.errors import ConfigError, did_you_mean


@dataclass
class Target:
    """Which output and which class/unit of it, for a task kind."""

    kind: str  # classification | regression | segmentation | other
    output: int  # index among the model's outputs
    unit: int | None  # class or output unit; None: each input's predicted class


def task_kind(task: Any, head: str | None) -> tuple[str, Any]:
    """(kind, the task that explains it): a multi-task head's own task."""
    heads = getattr(task, "heads", None)
    if heads:
        names = list(heads)
        chosen = head or names[0]
        if chosen not in heads:
            raise ConfigError(f"`explain.head={chosen}` is not a head of the task."
                              f"{did_you_mean(chosen, names)} Expected one of: {', '.join(names)}")
        task = heads[chosen]
    return str(getattr(task, "name", "other")), task


def choose_target(model: Any, task: Any, head: str | None, unit: str | None,
                  class_names: list[str] | None) -> Target:
    """The output index and unit for `class=` (an index or a class/output name)."""
    kind, head_task = task_kind(task, head)
    output = model.output_names.index(head) if head and head in model.output_names else 0
    if unit is None:
        return Target(kind, output, None if kind in ("classification", "segmentation") else 0)
    names = list(class_names or [])
    if kind == "segmentation":
        names = list(head_task.classes)
    if kind == "regression":
        names = head_task.output_names(int(_outputs(model)[output].shape[-1]))
    if unit in names:
        return Target(kind, output, names.index(unit))
    if unit.lstrip("-").isdigit():
        return Target(kind, output, int(unit))
    raise ConfigError(f"`class={unit}` is neither an index nor a name of the outputs."
                      f"{did_you_mean(unit, names)} Expected one of: {', '.join(names)}")


def _outputs(model: Any) -> list[Any]:
    return list(model.outputs)


def linear_outputs(model: Any) -> None:
    """Set the output layers' softmax/sigmoid to linear (in place: the model is only explained)."""
    import keras

    output_layers = [layer for layer in model.layers if any(
        id(t) in {id(o) for o in model.outputs} for t in _as_tuple(layer.output))]
    for layer in output_layers:
        name = getattr(getattr(layer, "activation", None), "__name__", "")
        if name in ("softmax", "sigmoid"):
            layer.activation = keras.activations.linear


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


def score(target: Target, outputs: Any, units: Any) -> Any:
    """One score per input (a tensor), for the classes `units` (one per input)."""
    import tensorflow as tf

    y = outputs[target.output] if isinstance(outputs, list | tuple) else outputs
    units = tf.cast(units, tf.int32)
    if target.kind == "segmentation":
        channels = int(y.shape[-1])
        if channels == 1:  # binary: the foreground logit, or minus it for the background
            sign = tf.where(units == 0, -1.0, 1.0)
            flat = tf.reshape(y[..., 0], [tf.shape(y)[0], -1]) * sign[:, None]
            region = tf.cast(flat > 0, y.dtype)
        else:
            chosen = tf.gather(y, units, axis=-1, batch_dims=1)
            flat = tf.reshape(chosen, [tf.shape(y)[0], -1])
            winner = tf.reshape(tf.argmax(y, -1, output_type=tf.int32), [tf.shape(y)[0], -1])
            region = tf.cast(winner == units[:, None], y.dtype)
        return tf.reduce_sum(flat * region, -1) / tf.maximum(tf.reduce_sum(region, -1), 1.0)
    flat = tf.reshape(y, [tf.shape(y)[0], -1])
    if target.kind == "classification" and int(flat.shape[-1]) == 1:  # one sigmoid unit
        return flat[:, 0] * tf.where(units == 0, -1.0, 1.0)
    return tf.gather(flat, units, axis=-1, batch_dims=1)

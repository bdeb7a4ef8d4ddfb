"""What tasks with image-shaped outputs share (segmentation, reconstruction): running a model
at each input's own size, and the choice of output format (`cnnkit.io.image_files` writes them).

A model trained on fixed-size crops is rebuilt with free spatial dimensions (same weights), so
a fully convolutional network predicts a 512x512 image at 512x512. Inputs are padded to a
multiple of `task.size_multiple` (the network's total downsampling) and outputs cropped back.
Models that are not fully convolutional, and models trained on resized files (1024x1024
images read at `data.image_size=256`: `Preprocessing.resized`), run at their training size, and
outputs are resized back to the input's size: a model that learnt at 256 sees objects at the
scale it knows. Outputs are resized linearly (logits or probabilities, thresholded afterwards:
smoother masks than upsampling the labels). A model trained on patches (or given
`predict.window`) predicts inputs larger than the window on any axis window by window
(tasks/sliding_window.py), at the scale it was trained at.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.tasks.sliding_window import (
    WindowOptions,
    flip_averaged,
    predict_windows,
    window_size,
)

OUTPUT_FORMATS = ("auto", "png", "nifti", "npy")


def fully_convolutional(model: Any) -> Any | None:
    """The same network with free spatial input dimensions, or None if it needs a fixed size
    (dense layers, flatten) or is not a functional model."""
    import keras

    try:
        config = copy.deepcopy(model.get_config())
        inputs = [layer for layer in config["layers"] if layer["class_name"] == "InputLayer"]
        if len(inputs) != 1:
            return None
        shape = inputs[0]["config"]["batch_shape"]
        inputs[0]["config"]["batch_shape"] = [shape[0], *([None] * (len(shape) - 2)), shape[-1]]
        flexible = keras.Model.from_config(config)
        flexible.set_weights(model.get_weights())
        # a flatten/dense head may still build; it fails (or loses the grid) on another size
        probe = np.zeros((1, *(2 * int(n) for n in shape[1:-1]), shape[-1]), "float32")
        out_shape = tuple(np.shape(flexible(probe)))
        if len(out_shape) != len(shape) or out_shape[1:-1] != probe.shape[1:-1]:
            return None
        return flexible
    except Exception:  # noqa: BLE001 - any failure to rebuild or run means "not convolutional"
        return None


def _pad_to_multiple(x: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[slice, ...]]:
    """Reflect-pad the spatial axes of one (spatial..., C) array; the slices undo it."""
    pads = [(0, (-n) % multiple) for n in x.shape[:-1]] + [(0, 0)]
    crop = tuple(slice(0, n) for n in x.shape[:-1])
    return np.pad(x, pads, mode="reflect" if min(x.shape[:-1]) > 1 else "edge"), crop


def resize_output(y: np.ndarray, size: tuple[int, ...], nearest: bool) -> np.ndarray:
    """Resize one (spatial..., C) output to `size` (nearest for labels, linear otherwise)."""
    if tuple(y.shape[:-1]) == tuple(size):
        return y
    from scipy.ndimage import zoom

    factors = [s / n for s, n in zip(size, y.shape[:-1], strict=True)] + [1.0]
    return zoom(y, factors, order=0 if nearest else 1, mode="nearest", grid_mode=True)


def native_size_model(model: Any, preprocessing: Any) -> Any | None:
    """The model to run at each input's own size, or None: run at the training size (training
    resized the files, so that is the scale the model knows, or the model needs it)."""
    return None if preprocessing.resized else fully_convolutional(model)


def predict_dense(model: Any, raw_inputs: list[np.ndarray], preprocessing: Any,
                  size_multiple: int, nearest: bool, options: WindowOptions | None = None
                  ) -> list[np.ndarray]:
    """Model outputs, one (spatial..., C) array per raw input, at that input's spatial size;
    `options` (the `predict.*` keys): the sliding window and test-time flips."""
    options = options or WindowOptions()
    patched = preprocessing.patch_shape is not None
    # patches are cut from frames at the training scale: a resized frame is windowed whole
    flexible = fully_convolutional(model) if patched else native_size_model(model, preprocessing)
    outputs = []
    for raw in raw_inputs:
        frame = raw
        if patched and preprocessing.resized:  # trained on patches of resized frames
            frame = resize_output(raw, tuple(preprocessing.raw_shape[:-1]), nearest=False)
        window = window_size(preprocessing, options, raw.ndim - 1)
        if window is not None and any(n > w for n, w in zip(frame.shape[:-1], window,
                                                            strict=True)):
            _check_window(window, size_multiple, flexible is not None, preprocessing)
            y = predict_windows(flexible or model, frame, preprocessing, window, options)
            outputs.append(resize_output(y, raw.shape[:-1], nearest))
            continue
        whole = replace(preprocessing, patch_shape=None)  # fits the model input, no window
        if flexible is not None:
            native = replace(whole, target_shape=[*raw.shape[:-1], whole.target_shape[-1]])
            x, crop = _pad_to_multiple(np.asarray(native(raw[np.newaxis]))[0], size_multiple)
            y = flip_averaged(lambda b: flexible.predict(b, verbose=0), x[np.newaxis],
                              options.tta)[0][crop]
        else:
            y = flip_averaged(lambda b: model.predict(b, verbose=0),
                              np.asarray(whole(raw[np.newaxis])), options.tta)[0]
        outputs.append(resize_output(y, raw.shape[:-1], nearest))
    return outputs


def _check_window(window: tuple[int, ...], size_multiple: int, flexible: bool,
                  preprocessing: Any) -> None:
    """A window the model can run: its training input, or (fully convolutional models) any
    multiple of `task.size_multiple`."""
    trained = [int(d) for d in preprocessing.target_shape[:-1]]
    if list(window) == trained:
        return
    if not flexible:
        raise ConfigError(f"`predict.window` must be the model's input size {trained} (the model "
                          f"is not fully convolutional). Received: {list(window)}")
    if any(w % size_multiple for w in window):
        raise ConfigError(f"`predict.window` must be multiples of `task.size_multiple` "
                          f"({size_multiple}). Received: {list(window)}")


def check_output_format(value: str) -> str:
    """`task.output_format`, checked against the formats the writers know."""
    if value not in OUTPUT_FORMATS:
        raise ConfigError(f"`task.output_format` must be one of {', '.join(OUTPUT_FORMATS)}. "
                          f"Received: {value!r}")
    return value

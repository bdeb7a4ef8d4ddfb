"""Writing the serving function as a SavedModel (Keras' ExportArchive), ONNX (tf2onnx) or TFLite
(TensorFlow's converter; float16 weights, or int8 with a calibration sample)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.io.rundir import atomic_write

FORMATS = ("savedmodel", "onnx", "tflite")
QUANTIZE = ("none", "float16", "int8")
ONNX_OPSET = 17
FILE_NAMES = {"savedmodel": "saved_model", "onnx": "model.onnx", "tflite": "model.tflite"}


def check_choice(key: str, value: str, choices: Iterable[str]) -> str:
    from cnnkit.errors import did_you_mean

    choices = list(choices)
    if value not in choices:
        raise ConfigError(f"`{key}` must be one of {', '.join(choices)}. Received: {value!r}."
                          f"{did_you_mean(value, choices)}")
    return value


def check_export(fmt: str, quantize: str) -> None:
    """A known format, and a quantisation that format supports."""
    check_choice("format", fmt, FORMATS)
    check_choice("quantize", quantize, QUANTIZE)
    if quantize != "none" and fmt != "tflite":
        raise ConfigError(f"`quantize={quantize}` applies to format=tflite. Received: "
                          f"format={fmt}. Expected quantize=none, or format=tflite")


def write_savedmodel(model: Any, serve: Any, path: Path) -> Path:
    """A SavedModel whose `serve` signature is the serving function (written beside, then moved)."""
    import keras

    path = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix=".savedmodel", dir=path.parent))
    try:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", serve)
        archive.write_out(str(tmp / "model"), verbose=False)
        if path.exists():
            shutil.rmtree(path)
        (tmp / "model").rename(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def write_onnx(serve: Any, path: Path) -> Path:
    import tf2onnx

    model_proto, _ = tf2onnx.convert.from_function(
        serve, input_signature=serve.input_signature, opset=ONNX_OPSET)
    return atomic_write(path, lambda tmp: tmp.write_bytes(model_proto.SerializeToString()))


def write_tflite(model: Any, serve: Any, path: Path, quantize: str,
                 calibration: np.ndarray | None) -> Path:
    """TFLite from the SavedModel; `int8` calibrates activations on `calibration` (raw inputs)
    and keeps float32 inputs and outputs, so the file is called like the float one."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix=".tflite", dir=Path(path).parent) as tmp:
        saved = write_savedmodel(model, serve, Path(tmp) / "saved_model")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=["serve"])
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            if calibration is None or not len(calibration):
                raise ConfigError("`quantize=int8` needs a calibration sample: the run's "
                                  "training split is empty")
            converter.representative_dataset = lambda: ([x[np.newaxis]] for x in calibration)
        flat = converter.convert()
    return atomic_write(path, lambda tmp: tmp.write_bytes(flat))


def export_model(model: Any, serve: Any, fmt: str, folder: Path, quantize: str = "none",
                 calibration: np.ndarray | None = None) -> Path:
    """The exported file (or SavedModel folder) for `fmt` in `folder`."""
    check_export(fmt, quantize)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = FILE_NAMES[fmt] if quantize == "none" else f"model_{quantize}.tflite"
    if fmt == "savedmodel":
        return write_savedmodel(model, serve, folder / name)
    if fmt == "onnx":
        return write_onnx(serve, folder / name)
    return write_tflite(model, serve, folder / name, quantize, calibration)

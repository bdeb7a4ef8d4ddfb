"""Running an exported model on raw inputs: ONNX Runtime for `.onnx`, LiteRT's interpreter for
`.tflite` (TensorFlow's own `tf.lite.Interpreter` where ai_edge_litert is not installed: it is
deprecated), TensorFlow for a SavedModel folder. One interface for the parity check and for
`cnnkit predict exported=`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import DataError

BATCH = 256


@dataclass
class Exported:
    """An exported model: `predict(raw)` on a float32 batch (N, *raw_shape)."""

    path: Path
    kind: str  # onnx | tflite | savedmodel
    runner: Any

    def predict(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, "float32")
        return np.concatenate([self.runner(raw[i:i + BATCH]) for i in range(0, len(raw), BATCH)])


def _onnx(path: Path) -> Any:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def tflite_interpreter(path: Path) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806
    return Interpreter(model_path=str(path))


def _tflite(path: Path) -> Any:
    interpreter = tflite_interpreter(path)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    shape = [None]

    def run(x: np.ndarray) -> np.ndarray:
        if shape[0] != x.shape:
            interpreter.resize_tensor_input(source["index"], list(x.shape))
            interpreter.allocate_tensors()
            shape[0] = x.shape
        interpreter.set_tensor(source["index"], x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(target["index"]))

    return run


def _savedmodel(path: Path) -> Any:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return lambda x: np.asarray(loaded.serve(tf.constant(x)))


def load_exported(path: Path, key: str = "exported") -> Exported:
    """The exported model at `path` (by its suffix, or a SavedModel folder)."""
    path = Path(path).expanduser()
    if path.is_dir() and (path / "saved_model.pb").is_file():
        return Exported(path, "savedmodel", _savedmodel(path))
    if path.is_file() and path.suffix in (".onnx", ".tflite"):
        kind = path.suffix[1:]
        return Exported(path, kind, _onnx(path) if kind == "onnx" else _tflite(path))
    raise DataError(f"`{key}={path}`: not an exported model. Expected a .onnx or .tflite file "
                    "or a SavedModel folder, as `cnnkit export` writes them")

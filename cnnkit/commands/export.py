"""`cnnkit export run=RUN format=savedmodel|onnx|tflite [quantize=none|float16|int8] [output=DIR]`.

Wires the run (model, task state, preprocessing) to the serving function, writes the format,
runs the written file on raw validation inputs against the Keras model and stores the parity
in DIR/parity.json (quantised: the validation accuracy change too).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.commands.common import apply_overrides, console
from cnnkit.commands.validation import validated
from cnnkit.data.build import prepare_data
from cnnkit.data.pipeline import as_dataset
from cnnkit.errors import ConfigError, did_you_mean
from cnnkit.export.convert import check_export, export_model
from cnnkit.export.parity import accuracy_change, parity, reference_outputs
from cnnkit.export.runtime import load_exported
from cnnkit.export.serving import serving_function
from cnnkit.io.rundir import EXPORT, RunDir, read_task_state, write_json
from cnnkit.models.precision import as_float32
from cnnkit.tasks import get_task

USAGE = "cnnkit export run=RUN_DIR format=savedmodel|onnx|tflite [quantize=none|float16|int8] [output=DIR]"
NAMED = ("run", "format", "quantize", "output")
PARITY_SAMPLES = 256
CALIBRATION_SAMPLES = 200
PARITY = "parity.json"  # exported file name -> its parity check, for every export in the folder


def parse(args: list[str]) -> tuple[dict[str, str], list[str]]:
    named: dict[str, str] = {}
    overrides = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and key in NAMED:
            named[key] = value
        elif sep and "." in key:
            overrides.append(arg)
        elif key not in ("debug", "+debug", "++debug"):
            raise ConfigError(f"`{arg}` is not an argument of cnnkit export."
                              f"{did_you_mean(key, NAMED)} Usage: {USAGE}")
    for key in ("run", "format"):
        if not named.get(key):
            raise ConfigError(f"missing `{key}=`. Usage: {USAGE}")
    return named, overrides


def raw_split(data: Any, split: str, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Up to `limit` raw (inputs, targets) of a split, as the source gives them."""
    ds = as_dataset(data.source.split(split))
    if limit:
        ds = ds.take(limit)
    pairs = list(ds.batch(1024).as_numpy_iterator())
    return (np.concatenate([x for x, _ in pairs]).astype("float32"),
            np.concatenate([np.asarray(y) for _, y in pairs]))


def run(args: list[str]) -> dict[str, Any]:
    """Export, check parity, write parity.json; returns what it wrote."""
    import cnnkit.training.lr_schedule  # noqa: F401  (registers the schedule a saved optimizer names)

    named, overrides = parse(args)
    fmt, quantize = named["format"], named.get("quantize", "none")
    check_export(fmt, quantize)
    run_dir = RunDir.open(named["run"])
    cfg = validated(apply_overrides(run_dir.load_config(), overrides), saved=True)
    task = get_task(cfg.task, cfg)
    task.restore_state(read_task_state(run_dir.path))
    preprocessing = run_dir.load_preprocessing()
    if preprocessing.patch_shape:  # its serving function would resize whole inputs to a patch
        raise ConfigError(
            f"`run={named['run']}` trained on patches (data.patch_size="
            f"{preprocessing.patch_shape}); an exported model takes whole inputs of one size and "
            "no sliding window. Expected a run trained on whole images; use `cnnkit predict`")
    trained = run_dir.load_model()
    model = as_float32(trained)  # ONNX and TFLite have no bfloat16 convolutions
    folder = Path(named.get("output") or run_dir.path / EXPORT).expanduser()
    data = prepare_data(cfg, task.target_kind, preprocessing=preprocessing)
    check_split = "val" if data.has_split("val") else "train"
    calibration = (raw_split(data, "train", CALIBRATION_SAMPLES)[0] if quantize == "int8"
                   else None)
    path = export_model(model, serving_function(model, task, preprocessing), fmt, folder,
                        quantize, calibration)
    exported = load_exported(path)
    limit = None if quantize != "none" else PARITY_SAMPLES  # quantised: the whole split
    raw, labels = raw_split(data, check_split, limit)
    reference = reference_outputs(model, task, preprocessing, raw)
    outputs = exported.predict(raw)
    result = {"format": fmt, "quantize": quantize, "file": str(path), "split": check_split,
              "runtime": exported.kind, **parity(reference, outputs, quantize)}
    if quantize != "none" and "argmax_agreement" in result and labels.ndim == 1:
        result.update(accuracy_change(reference, outputs, labels.astype(int)))
    parity_file = folder / PARITY
    checks = json.loads(parity_file.read_text()) if parity_file.is_file() else {}
    write_json(parity_file, {**checks, path.name: result})
    out = console()
    if model is not trained:
        mixed = next((layer.dtype_policy.name for layer in trained.layers  # a nested model's
                      if layer.dtype_policy.name != "float32"), "mixed precision")  # may hide it
        out.print(f"The run computes in {mixed}: exported in float32 with its weights, and parity "
                  "is against that float32 model")
    out.print(f"Exported {fmt}{'' if quantize == 'none' else f' ({quantize})'} to {path}")
    out.print(f"parity on {result['samples']} {check_split} inputs: max |difference| "
              f"{result['max_abs_diff']:.3g}"
              + (f" (tolerance {result['tolerance']:g})" if result["tolerance"] else "")
              + (f", argmax agreement {result['argmax_agreement']:.4f}"
                 if "argmax_agreement" in result else ""))
    if "accuracy_change" in result:
        out.print(f"{check_split} accuracy: Keras {result['accuracy_keras']:.4f}, exported "
                  f"{result['accuracy_exported']:.4f} (change {result['accuracy_change']:+.4f})")
    out.print(f"Wrote {parity_file}")
    return result

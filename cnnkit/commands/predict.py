"""`cnnkit predict run=RUN_DIR input=PATH output=PATH`: apply a trained run to new inputs.

PATH is an image file (DICOM too), a folder of images, a volume (NIfTI, MetaImage `.mha`, NRRD
`.nrrd`, a folder of DICOM slices) or a folder of them, or a `.npy` array of raw inputs in the dataset's own form (e.g. N x 8 x 8 digits with values
0-16). The run's preprocessing is applied unchanged. Classification and regression write a CSV to
`output`; tasks with image outputs (segmentation, reconstruction) write one file per input into
the folder `output` (a name with a file suffix such as `masks.csv` is refused), named after the
input's path below `input` (`input/a/b/x.png` -> `output/a/b/x.png`), at the input's own size
(NIfTI outputs keep the input's affine and header, MetaImage/NRRD ones its spacing, origin and
direction; a DICOM series' mask is NIfTI). A run trained on resized files
(`data.image_size`) predicts at its training size and scales the output back. Segmentation
masks: binary ones are 0/255 gray PNGs, more classes palette PNGs whose pixel values are the
class indices (coloured in any viewer); `output/summary.csv` has each mask's id, size, and the
pixels and fraction of the image per class.
`exported=` runs a file written by `cnnkit export` instead of model.keras, with the same writers.
`predict.window=[H,W]`, `predict.overlap`, `predict.batch_size`: the sliding window over inputs
larger than the training patch (see `PredictSchema`). `tta=flips` (or `flips_all`) averages the
outputs over flipped inputs (cnnkit/tasks/tta.py), flipped back for masks; windows alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.commands.common import apply_overrides, console, split_named_args, tta_option
from cnnkit.commands.validation import validated
from cnnkit.config.check import check_group
from cnnkit.config.plain import to_plain
from cnnkit.config.schema import PredictSchema
from cnnkit.errors import ConfigError, DataError
from cnnkit.io.predictions import check_output_folder, write_predictions, write_summary
from cnnkit.io.readers import input_chunks, load_inputs
from cnnkit.io.rundir import RunDir, read_task_state
from cnnkit.tasks import get_task
from cnnkit.tasks.tta import with_tta

USAGE = ("cnnkit predict run=RUN_DIR input=PATH output=PATH [exported=MODEL.onnx|.tflite|DIR] "
         "[predict.window=[H,W]] [predict.overlap=0.5] [predict.batch_size=8] "
         "[tta=none|flips|flips_all]")
#: output kinds predicted a chunk of inputs at a time (their outputs are arrays per input)
STREAMED = ("table", "counts", "images")


def run(args: list[str]) -> dict[str, Any]:
    """Predict every input and write the task's output (a CSV, or a folder of images/volumes)."""
    from omegaconf import open_dict

    exported = next((a.partition("=")[2] for a in args if a.startswith("exported=")), None)
    args = [a for a in args if not a.startswith("exported=")]
    tta, args = tta_option(args)
    options = {**predict_options([a for a in args if a.startswith("predict.")]), "tta": tta}
    args = [a for a in args if not a.startswith("predict.")]
    named, overrides = split_named_args(
        args,
        {"run": "the trained run directory",
         "input": "an image, a NIfTI volume, a folder of either, or a .npy file",
         "output": "the file (CSV) or folder (image outputs) to write"},
        USAGE,
    )
    run_dir = RunDir.open(named["run"])
    # the training data need not be at hand to predict: only the config's own rules apply
    cfg = validated(apply_overrides(run_dir.load_config(), overrides), uses_data=False,
                    saved=True)
    with open_dict(cfg):  # the tasks read it from the run config (sliding_window.window_options)
        cfg.predict = options
    source = Path(named["input"]).expanduser()
    if not source.exists():
        raise DataError(f"`input={source}`: no such file or folder.")
    preprocessing = run_dir.load_preprocessing()
    task = get_task(cfg.task, cfg)
    task.restore_state(read_task_state(run_dir.path))
    output = Path(named["output"]).expanduser()
    check_output_folder(task, output)
    if tta != "none" and exported:
        raise ConfigError(f"`tta={tta}` runs on model.keras, not on an exported file. "
                          f"Received: exported={exported}. Expected tta=none")
    if exported:
        model: Any = None
    else:
        import cnnkit.training.lr_schedule  # noqa: F401  (registers a saved optimizer's schedule)
        model = run_dir.load_model()
        # image outputs average flips inside predict_dense (whole inputs and windows alike)
        model = with_tta(model, tta, task) if task.output_kind == "table" else model
    # Images are read, predicted and (image outputs) written a chunk at a time, so memory holds
    # one chunk however many files there are; tables are written once, from every chunk's rows.
    streamed = task.output_kind in STREAMED
    window = cfg.data.get("window")  # DICOM images are windowed as in training
    chunks = input_chunks(source, preprocessing, window=window) if streamed else iter(
        [load_inputs(source, preprocessing, window)])
    kept, infos, summaries = [], [], []
    for inputs, chunk_infos in chunks:
        outputs = (predict_exported(exported, inputs) if exported
                   else task.predict_samples(model, inputs, preprocessing))
        if task.output_kind == "images":
            summaries.append(write_predictions(task, outputs, [i.id for i in chunk_infos],
                                               preprocessing.class_names, output,
                                               inputs=chunk_infos))
        else:
            kept.append(outputs)
        infos += chunk_infos
    if kept:
        import numpy as np

        outputs = np.concatenate(kept) if streamed else kept[0]
        summaries.append(write_predictions(task, outputs, [i.id for i in infos],
                                           preprocessing.class_names, output, inputs=infos))
    write_summary(output, [table for table in summaries if table is not None])
    console().print(f"Wrote {len(infos)} predictions to {output}")
    return {"count": len(infos), "output": str(output)}


def predict_options(args: list[str]) -> dict[str, Any]:
    """The `predict.KEY=VALUE` arguments checked against `PredictSchema`, defaults filled in."""
    from omegaconf import OmegaConf

    section = {}
    for arg in args:
        key, _, value = arg.partition("=")
        section[key[len("predict."):]] = to_plain(OmegaConf.from_dotlist([f"v={value}"]).v)
    return check_group(section, PredictSchema, "predict")


def predict_exported(path: str, inputs: Any) -> Any:
    """What `cnnkit export` wrote, run on the raw inputs (which it takes as they are)."""
    import numpy as np

    from cnnkit.export.runtime import load_exported

    model = load_exported(Path(path))
    if not isinstance(inputs, np.ndarray):
        if len({x.shape for x in inputs}) > 1:
            raise DataError(f"`exported={path}` takes inputs of one size; the inputs have "
                            "several. Expected images of the size the run was trained on")
        inputs = np.stack(inputs)
    return model.predict(inputs)

"""`cnnkit predict run=RUN_DIR input=PATH output=PATH`: apply a trained run to new inputs.

PATH is an image file, a folder of images, a NIfTI volume (`.nii`, `.nii.gz`) or a folder of
them, or a `.npy` array of raw inputs in the dataset's own form (e.g. N x 8 x 8 digits with values
0-16). The run's preprocessing is applied unchanged. Classification and regression write a CSV to
`output`; tasks with image outputs (segmentation, reconstruction) write one file per input into
the folder `output`, at the input's own size (NIfTI outputs keep the input's affine and header).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.commands.common import apply_overrides, console, split_named_args
from cnnkit.commands.validation import validated
from cnnkit.errors import DataError
from cnnkit.io.predictions import write_predictions
from cnnkit.io.readers import load_inputs
from cnnkit.io.rundir import RunDir, read_task_state
from cnnkit.tasks import get_task

USAGE = "cnnkit predict run=RUN_DIR input=PATH output=PATH"


def run(args: list[str]) -> dict[str, Any]:
    """Predict every input and write the task's output (a CSV, or a folder of images/volumes)."""
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
    source = Path(named["input"]).expanduser()
    if not source.exists():
        raise DataError(f"`input={source}`: no such file or folder.")
    preprocessing = run_dir.load_preprocessing()
    inputs, infos = load_inputs(source, preprocessing)
    task = get_task(cfg.task, cfg)
    task.restore_state(read_task_state(run_dir.path))
    import cnnkit.training.lr_schedule  # noqa: F401  (registers the schedule a saved optimizer names)
    model = run_dir.load_model()
    outputs = task.predict_samples(model, inputs, preprocessing)
    output = Path(named["output"]).expanduser()
    write_predictions(task, outputs, [i.id for i in infos], preprocessing.class_names, output,
                      inputs=infos)
    console().print(f"Wrote {len(infos)} predictions to {output}")
    return {"count": len(infos), "output": str(output)}

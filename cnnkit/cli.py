"""The `cnnkit` command line: parse the subcommand, hand over to Hydra, map errors to exit codes.

Kept thin and free of heavy imports: `cnnkit --help` must not import TensorFlow.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from cnnkit import __version__
from cnnkit.errors import CnnkitError, did_you_mean

TOP_HELP = """\
usage: cnnkit <command> [conf=NAME|PATH.yaml] [key=value ...]

Train, evaluate and inspect convolutional neural networks described in YAML
(Keras 3 on TensorFlow, configured with Hydra).

commands:
  train      train a model; writes outputs/<name>/<timestamp>/ (config, model, history, metrics)
  evaluate   score a trained run on a split:       cnnkit evaluate run=RUN_DIR data.split=test
  predict    apply a trained run to new inputs:    cnnkit predict run=RUN_DIR input=PATH output=p.csv
  explain    what the network looks at: Grad-CAM, saliency, occlusion, feature maps, filters,
             top activations, t-SNE embedding:    cnnkit explain run=RUN_DIR input=x.npy method=gradcam
  report     one self-contained report.html of a run (or several, side by side): cnnkit report run=RUN_DIR
  export     SavedModel, ONNX or TFLite taking raw inputs, with a parity check: cnnkit export run=RUN_DIR format=onnx
  summary    per-layer shapes, params, FLOPs, memory (no training)
  data       counts per split and class, shapes, value ranges, a PNG of augmented samples
             (alias: inspect); `cnnkit data convert ... output=DIR` writes TFRecord shards
  validate   check a config (every key, type and name) and build its model, train nothing
  plan       the model and training keys train would choose for your data: cnnkit plan data=folder data.path=DIR
  sample     draw images from a GAN or VAE run:    cnnkit sample run=RUN_DIR n=64 output=grid.png

examples:
  cnnkit train                                     # small CNN on the built-in digits
  cnnkit train model=lenet5 trainer.epochs=3 optimizer.lr=3e-4
  cnnkit train conf=./my.yaml                      # your own YAML, merged over the defaults
  cnnkit summary model=lenet5 summary.format=json

`cnnkit <command> --help` shows the options of one command. Add debug=true to see tracebacks.
A user error (bad key, unknown name, missing file) prints one line and exits with code 2.
"""

TRAIN_HELP = """\
usage: cnnkit train [conf=NAME|PATH.yaml] [key=value ...] [-m] [--cfg job]

Compose conf/train.yaml with a preset (conf=NAME, from conf/experiment/) or your own YAML file
(conf=PATH.yaml, merged over the defaults), then any Hydra overrides, and train.

config groups (pick with group=option) and presets (conf=NAME):
{groups}

common keys:
  trainer.epochs=10  data.batch_size=32  optimizer.lr=1e-3  optimizer.schedule=cosine
  model.input_shape=[32,32,1]  model.num_classes=10  seed=42  name=my_experiment
  hydra.run.dir=PATH         where the run directory goes (default outputs/<name>/<timestamp>)

run directories:
  resume=RUN_DIR|last        continue an interrupted run where it stopped (its own config)
  allow_changes=[KEY,...]    with resume=: keys the overrides may change (e.g. trainer.epochs)
  overwrite=true             train into a finished run's directory, clearing what it wrote

Hydra features: -m / --multirun sweeps (optimizer.lr=1e-3,1e-4), --cfg job prints the composed
config without training, --info, --hydra-help.
"""

SUMMARY_HELP = """\
usage: cnnkit summary [conf=NAME|PATH.yaml] [key=value ...] [summary.format=table|json]

Build the model without training and print, per layer: name, type, output shape, activation
elements, parameters (trainable / frozen) and FLOPs (forward pass, 2 per multiply-add), then the
totals and the forward activation memory per sample in float32. Takes the same config as train.
"""

DATA_HELP = """\
usage: cnnkit data [conf=NAME|PATH.yaml] [key=value ...] [output=PATH]
       cnnkit data convert [conf=NAME|PATH.yaml] [data=SOURCE data.KEY=VALUE ...] output=DIR
                           [shard_mb=128] [shuffle=true] [overwrite=false]
       (alias: cnnkit inspect)

Load the configured data as `cnnkit train` would and print, per split, the number of examples,
shapes, raw value range and counts per class (share of each class for masks), then the model input
the preprocessing makes. Writes a PNG grid of augmented training samples (masks overlaid, boxes
drawn), so you see what the network will see. Try: cnnkit data data=shapes augment=strong

keys: output=PATH (default outputs/data/<name>/samples.png)  inspect.num_samples=16  augment=none|light|strong

`convert` writes the data (any source) as TFRecord shards per split, DIR/train-00000-of-00008.tfrecord
..., with DIR/records.json; train on them with data=records data.path=DIR.
"""

EVALUATE_HELP = """\
usage: cnnkit evaluate run=RUN_DIR [data.split=test] [data.KEY=VALUE ...] [tta=none|flips|flips_all]

Reload a run's model, config and preprocessing, evaluate on one split, print a table and write
RUN_DIR/eval/<split>.json (classification: loss, accuracy, top-k, per-class precision/recall/F1,
confusion matrix, ROC AUC, expected calibration error), each scalar metric with a 95% bootstrap
confidence interval (`ci95`), and plots in RUN_DIR/plots/ (confusion matrix, ROC/PR, reliability,
most confidently wrong; segmentation overlays and Dice per image; regression scatter/residuals).

test-time augmentation: tta=flips averages the probabilities of the input and its mirror image
  (tta=flips_all: every combination of spatial flips); eval/<split>.json records `tta`

robustness: attack=fgsm|pgd [attack.eps=[0,0.01,0.03,0.1]] [attack.steps=10]
  accuracy (Dice for segmentation) under the attack at each eps, a fraction of the data's raw
  value range; writes RUN_DIR/eval/<split>_<attack>.json and plots/robustness_<split>_<attack>.png
"""

VALIDATE_HELP = """\
usage: cnnkit validate [conf=NAME|PATH.yaml] [key=value ...]

Check the config exactly as `cnnkit train` would — every key of every group, types, value
ranges, names of layers' activations and initializers, that the task fits the data — then build
the model symbolically and print its input and output shapes and parameter count. Nothing is
trained and the dataset is not decoded (a few examples may be read for the input shape).
Exit code 0: the config trains; 2: it does not, with one line saying why.
"""

PLAN_HELP = """\
usage: cnnkit plan [conf=NAME|PATH.yaml] data=SOURCE data.path=PATH [task=segmentation] [key=value ...]

Profile the training split (image size and aspect, channels, voxel spacing, example and class
counts, foreground share of a sample of masks; headers of at most a few hundred files are read)
and print the plan: the architecture, input size, batch size, epochs, time budget, optimizer and
schedule, augmentation and class weighting, each with its reason. Nothing is trained.
`cnnkit train` follows the same plan when no model is given and the data are not a built-in demo
source (or with model=auto), and saves it as plan.yaml in the run directory. Keys you give
(trainer.epochs=3, data.batch_size=16, augment=none) are kept: the plan fills only the rest.
"""

PREDICT_HELP = """\
usage: cnnkit predict run=RUN_DIR input=PATH output=FILE [exported=MODEL.onnx|.tflite|DIR] [tta=none|flips]

PATH is an image file, a folder of images, or a .npy array of raw inputs in the dataset's own
form (e.g. N x 8 x 8 digits with values 0-16). The run's preprocessing is applied; OUTPUT is a CSV
with columns id,prediction,prob_<class>... exported=: run the file `cnnkit export` wrote (ONNX
Runtime, LiteRT or the SavedModel) instead of model.keras, with the same writers.
tta=flips (tta=flips_all): classification and regression average the input and its mirror image
(every combination of spatial flips).
"""

EXPLAIN_HELP = """\
usage: cnnkit explain run=RUN_DIR input=PATH method=METHOD [layer=NAME] [class=INDEX|NAME]
                      [output=DIR] [explain.KEY=VALUE ...]

methods: gradcam, gradcam++ (class: the predicted one by default; layer: any conv layer, default
the last, `backbone/Conv_1` inside a nested keras.applications model), saliency (explain.variant=
vanilla|smoothgrad|integrated_gradients), occlusion (explain.patch=, explain.stride=),
feature_maps (layer=), filters (the first convolution), top_activations (the split's images
that most activate channels of layer=), embedding (t-SNE of the penultimate layer over
input=PATH or, with input=split, over data.split=val).
Writes PNG overlays (colour bar; class and score in the title) and index.json into DIR
(default RUN_DIR/explain/<method>). 3D inputs: slices through the maximum and a NIfTI heat map.
keys: explain.head=NAME (multi-task), explain.samples=, explain.steps=, explain.noise=,
explain.channels=, explain.top=, explain.perplexity=
"""

REPORT_HELP = """\
usage: cnnkit report run=RUN_DIR[,RUN_DIR...] [output=FILE.html]

One self-contained HTML page (images embedded as base64 PNG) with each run's config, training
metrics, evaluations with their 95% intervals and every plot in plots/. Several runs, or a
multirun folder, add a side-by-side table. Default output: RUN_DIR/report.html.
"""

EXPORT_HELP = """\
usage: cnnkit export run=RUN_DIR format=savedmodel|onnx|tflite [quantize=none|float16|int8]
                     [output=DIR]

The exported model takes raw inputs as the data source gives them (the run's preprocessing is
built in) and returns what `cnnkit predict` reports (probabilities, values in target units).
A parity check on a sample of the validation split against the Keras model is printed and stored
in DIR/parity.json (default DIR: RUN_DIR/export/). quantize= (TFLite): float16 weights, or int8
with a calibration sample of the training split; the accuracy change on validation is reported.
"""

SAMPLE_HELP = """\
usage: cnnkit sample run=RUN_DIR output=grid.png|DIR|file.npy [n=64] [class=C] [interpolate=true]
                     [seed=0]

Draw n new images from a generative run (task=gan or task=vae). OUTPUT ending in .png is one
grid, .npy an array in the training data's raw units and shape (e.g. uint8 0-255, N x 28 x 28
for Fashion-MNIST, so it feeds `cnnkit predict` as is), anything else a folder of PNGs.
class=C (a class name or index) asks a conditional GAN (task.conditional=true) for that class;
interpolate=true walks the latent space: n/8 rows of 8 steps between two random points.
"""


@dataclass
class Command:
    help: str
    handler: Callable[[list[str]], object]
    # False: the command imports TensorFlow itself, after checks that should fail fast
    # (train checks that its data exists first: a missing dataset then fails in a second).
    import_tensorflow_first: bool = True


def _train(args: list[str]) -> object:
    from cnnkit.commands.launch import launch_train

    return launch_train(args)


def _summary(args: list[str]) -> object:
    from cnnkit.commands.summary import run

    return run(args)


def _data(args: list[str]) -> object:
    from cnnkit.commands.inspect import run

    return run(args)


def _validate(args: list[str]) -> object:
    from cnnkit.commands.validate import run

    return run(args)


def _plan(args: list[str]) -> object:
    from cnnkit.commands.plan import run

    return run(args)


def _evaluate(args: list[str]) -> object:
    from cnnkit.commands.evaluate import run

    return run(args)


def _predict(args: list[str]) -> object:
    from cnnkit.commands.predict import run

    return run(args)


def _explain(args: list[str]) -> object:
    from cnnkit.commands.explain import run

    return run(args)


def _report(args: list[str]) -> object:
    from cnnkit.commands.report import run

    return run(args)


def _export(args: list[str]) -> object:
    from cnnkit.commands.export import run

    return run(args)


def _sample(args: list[str]) -> object:
    from cnnkit.commands.sample import run

    return run(args)


COMMANDS = {
    "train": Command(TRAIN_HELP, _train, import_tensorflow_first=False),
    "evaluate": Command(EVALUATE_HELP, _evaluate),
    "predict": Command(PREDICT_HELP, _predict),
    "explain": Command(EXPLAIN_HELP, _explain),
    "report": Command(REPORT_HELP, _report, import_tensorflow_first=False),
    "export": Command(EXPORT_HELP, _export),
    "sample": Command(SAMPLE_HELP, _sample),
    "summary": Command(SUMMARY_HELP, _summary, import_tensorflow_first=False),
    "validate": Command(VALIDATE_HELP, _validate, import_tensorflow_first=False),
    "plan": Command(PLAN_HELP, _plan, import_tensorflow_first=False),
    "data": Command(DATA_HELP, _data, import_tensorflow_first=False),
    "inspect": Command(DATA_HELP, _data, import_tensorflow_first=False),
}


def config_groups_text() -> str:
    """The shipped options of each config group, read from the package (no TensorFlow)."""
    from cnnkit.config.compose import GROUPS, preset_names

    lines = []
    for group in GROUPS:
        label = "conf" if group == "experiment" else group
        lines.append(f"  {label}=" + "|".join(preset_names(group)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(TOP_HELP, end="")
        sys.exit(0)
    if any(a in ("-V", "--version") for a in args):  # under every subcommand too
        print(f"cnnkit {__version__}")
        sys.exit(0)
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"cnnkit: unknown command {name!r}. Expected one of: {', '.join(COMMANDS)}."
              f"{did_you_mean(name, COMMANDS)}\nRun `cnnkit --help` for usage.", file=sys.stderr)
        sys.exit(2)
    command = COMMANDS[name]
    if any(a in ("-h", "--help") for a in rest):
        print(command.help.replace("{groups}", config_groups_text()), end="")
        sys.exit(0)
    from cnnkit.commands.common import quiet_tensorflow, report_error, user_error, wants_debug

    if command.import_tensorflow_first:
        quiet_tensorflow(debug=wants_debug(rest))
    try:
        command.handler(rest)
    except Exception as error:
        found = user_error(error)
        if wants_debug(rest) or not isinstance(found, CnnkitError):
            raise
        sys.exit(report_error(name, found))
    except KeyboardInterrupt:
        print(f"cnnkit {name}: interrupted", file=sys.stderr)
        sys.exit(130)

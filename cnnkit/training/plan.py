"""The plan: a model and training keys chosen from a profile of the data (`model=auto`, the
default of `cnnkit train` on data that is not a built-in demo source; `cnnkit plan` prints it).

Every rule is a pure function of the `DataProfile`, the task and the keys the user set (which
always win: a choice the user made is kept and shown as theirs). The rules, in order:

  model          2D classification: resnet18 with the small stem when the input is <= 64 px
                 (28x28 stays 28x28 instead of 7x7), resnet18 with the ImageNet stem above,
                 resnet34 from 20,000 training images; 2D segmentation: unet (base_filters 16
                 up to 128 px, 32 above); volumes: unet3d (segmentation, base_filters 16) or
                 cnn3d (classification); other tasks or 1D data keep the default model
  input size     images <= 64 px keep their size; larger ones are resized to a square of at
                 most 224 px (segmentation 256, a multiple of 16 for the U-Net's poolings);
                 volumes to at most 96 voxels per axis (multiples of 8)
  batch size     128 for small images, 32 for larger ones, 8 for 2D segmentation, 2 for volumes,
                 and at most a quarter of the training examples (a power of two)
  epochs         enough for ~2,000 optimizer steps, between 10 and 60
  max_time       10m for up to 5e7 training pixels (a few thousand small images), 1h up to 2e9,
                 else 4h: a bare run always ends
  optimizer      AdamW, weight decay 0.05, cosine schedule, one warm-up epoch from 10 epochs
  augment        light_noflip for gray images <= 32 px (digits, glyphs: a mirror changes their
                 meaning), light for other images, strong for segmentation of fewer than 1,000
                 images and for volumes; none for other tasks
  class weights  task.class_weight=balanced when the largest class has >= 3x the smallest
  loss           segmentation with under 2% foreground: tversky (weighs missed foreground)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cnnkit.data.profile import DataProfile

SMALL_SIDE = 64
CAP_CLASSIFY, CAP_SEGMENT, CAP_VOLUME = 224, 256, 96
LARGE_DATASET = 20_000
TARGET_STEPS, MIN_EPOCHS, MAX_EPOCHS = 2000, 10, 60
IMBALANCE = 3.0
SPARSE_FOREGROUND = 0.02
TIME_BUDGETS = ((5e7, "10m"), (2e9, "1h"), (math.inf, "4h"))  # training pixels -> max_time
PLANNED_TASKS = ("classification", "segmentation")


@dataclass(frozen=True)
class Choice:
    """One planned key (or config group: model, optimizer, augment), its value and why."""

    key: str
    value: Any
    why: str
    yours: bool = False  # the user set it: kept as given


@dataclass
class Plan:
    profile: DataProfile
    task: str
    choices: list[Choice] = field(default_factory=list)

    def value(self, key: str) -> Any:
        return next((c.value for c in self.choices if c.key == key), None)

    def overrides(self) -> list[str]:
        """`key=value` arguments of the planned choices (the user's own are left out)."""
        return [f"{c.key}={hydra_value(c.value)}" for c in self.choices if not c.yours]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "data": self.profile.to_dict(),
                "choices": [{"key": c.key, "value": c.value, "why": c.why,
                             "set_by": "you" if c.yours else "plan"} for c in self.choices]}


def hydra_value(value: Any) -> str:
    """A value as Hydra's override grammar reads it back (null, lists)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    return str(value)


def _size(profile: DataProfile) -> str:
    return "×".join(map(str, profile.size_median))


def _power_of_two(n: float) -> int:
    return 2 ** int(math.floor(math.log2(max(n, 1))))


def input_size(profile: DataProfile, task: str) -> tuple[Any, str]:
    """`data.image_size` (images) or `data.shape` (volumes) and why; None keeps the size."""
    uniform = profile.size_min == profile.size_max
    if profile.rank == 3:
        shape = [max(8, min(n, CAP_VOLUME) // 8 * 8) for n in profile.size_median]
        if uniform and shape == list(profile.size_median):
            return None, f"volumes {_size(profile)} fit the network as they are"
        return shape, (f"volumes {_size(profile)} (median) to multiples of 8, at most "
                       f"{CAP_VOLUME} per axis")
    side = profile.side
    if task == "segmentation":
        size = max(16, min(side, CAP_SEGMENT) // 16 * 16)
        if uniform and profile.size_median == (size, size):
            return None, f"images {_size(profile)} fit the U-Net's poolings as they are"
        return size, f"images {_size(profile)} (median) to a square multiple of 16, ≤ {CAP_SEGMENT}"
    aspect = f"; aspect {profile.aspect:.2f} becomes 1" if abs(profile.aspect - 1) > 0.05 else ""
    if side <= SMALL_SIDE and uniform:
        return None, f"images {_size(profile)} ≤ {SMALL_SIDE} px keep their size"
    size = min(side, CAP_CLASSIFY)
    return size, f"images {_size(profile)} (median) to a square of ≤ {CAP_CLASSIFY} px{aspect}"


def model_choices(profile: DataProfile, task: str, side: int) -> list[Choice]:
    """The architecture and its keys for the data and task (`side`: the model input's)."""
    if profile.rank == 3 and task == "segmentation":
        return [Choice("model", "unet3d", f"volumes {_size(profile)} with masks"),
                Choice("model.input_shape", None, "taken from the data"),
                Choice("model.base_filters", 16, "a 3D U-Net that fits a small GPU or a CPU")]
    if profile.rank == 3 and task == "classification":
        return [Choice("model", "cnn3d", f"volumes {_size(profile)} with labels"),
                Choice("model.input_shape", None, "taken from the data")]
    if profile.rank == 2 and task == "segmentation":
        base = 16 if side <= 128 else 32
        return [Choice("model", "unet", f"images {_size(profile)} with masks"),
                Choice("model.input_shape", None, "taken from the data"),
                Choice("model.base_filters", base, f"input {side} px: {base} filters keep it fast")]
    if profile.rank == 2 and task == "classification":
        if side <= SMALL_SIDE:
            return [Choice("model", "resnet18", f"images {side} px: a CIFAR-style ResNet"),
                    Choice("model.stem", "small", f"input {side} px ≤ {SMALL_SIDE}: full "
                           "resolution into the first stage")]
        name = "resnet34" if profile.examples >= LARGE_DATASET else "resnet18"
        return [Choice("model", name, f"{profile.examples} training images of {side} px"),
                Choice("model.stem", "imagenet", f"input {side} px > {SMALL_SIDE}")]
    return [Choice("model", "default", f"no planned architecture for task={task} on "
                   f"{profile.rank}D data: the small default CNN")]


def batch_size(profile: DataProfile, task: str, side: int) -> tuple[int, str]:
    if profile.rank == 3:
        cap, what = 2, "volumes"
    elif task == "segmentation":
        cap, what = 8, "2D segmentation"
    else:
        cap, what = (128, f"images ≤ {SMALL_SIDE} px") if side <= SMALL_SIDE else (
            32, f"images of {side} px")
    size = max(2, min(cap, _power_of_two(profile.examples / 4)))
    return size, f"{what}: {cap} at most; ≤ a quarter of {profile.examples} training examples"


def epochs(examples: int, batch: int) -> tuple[int, str]:
    steps = max(1, math.ceil(examples / batch))
    count = max(MIN_EPOCHS, min(MAX_EPOCHS, math.ceil(TARGET_STEPS / steps)))
    return count, f"~{TARGET_STEPS} steps at {steps} per epoch, within {MIN_EPOCHS}-{MAX_EPOCHS}"


def max_time(profile: DataProfile) -> tuple[str, str]:
    pixels = profile.examples * math.prod(profile.size_median)
    budget = next(b for limit, b in TIME_BUDGETS if pixels <= limit)
    return budget, f"{pixels:.1e} training pixels: the run stops cleanly by then"


def augment(profile: DataProfile, task: str) -> tuple[str, str] | None:
    if task not in PLANNED_TASKS or profile.rank == 1:
        return None
    if profile.rank == 3:
        return "strong", "volumes: mirrors, turns and deformations keep the labels"
    if task == "segmentation":
        if profile.examples < 1000:
            return "strong", f"{profile.examples} images with masks: heavy augmentation"
        return "light", f"{profile.examples} images with masks"
    if profile.channels == 1 and profile.side <= 32:
        return "light_noflip", "small gray images look like digits or glyphs: no mirrors"
    return "light", "natural images: mirrors and small affine changes"


def make_plan(profile: DataProfile, task: str, given: dict[str, Any]) -> Plan:
    """The plan for `profile` and `task`. `given` maps the keys (and groups) the user set to
    their values: those choices are theirs and the rules read them (an explicit
    `data.batch_size` sets the epochs' step count)."""
    plan = Plan(profile, task)

    def choose(key: str, value: Any, why: str) -> Any:
        if key in given:
            plan.choices.append(Choice(key, given[key], "set by you", yours=True))
            return given[key]
        plan.choices.append(Choice(key, value, why))
        return value

    size_key = "data.shape" if profile.rank == 3 else "data.image_size"
    if profile.rank == 3 and profile.source != "nifti":
        size = None  # only the nifti source fits volumes to a shape
    else:
        size = choose(size_key, *input_size(profile, task))
    side = max(size) if isinstance(size, (list, tuple)) else int(size or profile.side)
    for choice in model_choices(profile, task, side):
        choose(choice.key, choice.value, choice.why)
    if task not in PLANNED_TASKS:
        return plan
    batch = int(choose("data.batch_size", *batch_size(profile, task, side)))
    count = int(choose("trainer.epochs", *epochs(profile.examples, batch)))
    choose("trainer.max_time", *max_time(profile))
    if "optimizer" not in given:
        choose("optimizer", "adamw", "Adam with decoupled weight decay: robust defaults")
        choose("optimizer.weight_decay", 0.05, "regularises the larger planned networks")
    choose("optimizer.schedule", "cosine", "decays the rate smoothly to the end of the run")
    choose("optimizer.warmup_epochs", 1 if count >= 10 else 0,
           "one epoch of warm-up from 10 epochs (none for shorter runs)")
    picked = augment(profile, task)
    if picked:
        choose("augment", *picked)
    if task == "classification" and profile.imbalance >= IMBALANCE:
        choose("task.class_weight", "balanced",
               f"largest class {profile.imbalance:.1f}x the smallest (≥ {IMBALANCE:g}x)")
    if task == "segmentation" and (profile.foreground or 1.0) < SPARSE_FOREGROUND:
        choose("task.loss", "tversky", f"foreground {profile.foreground:.1%} of the pixels "
               f"(< {SPARSE_FOREGROUND:.0%}): missed foreground weighs more")
    return plan

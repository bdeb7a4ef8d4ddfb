"""Wires a source and the preprocessing into ready-to-fit datasets."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cnnkit.augment import build_augmentation, needs_one_hot
from cnnkit.data.caching import cache_mode, cache_root, disk_cached, memory_budget
from cnnkit.data.file_splits import FileSplit
from cnnkit.data.input_size import resizes
from cnnkit.data.patches import PatchSampling, patch_sampling
from cnnkit.data.pipeline import (
    Preprocessing,
    as_dataset,
    build_pipeline,
    example_shape,
    sample_dataset,
    split_length,
    steps_per_epoch,
)
from cnnkit.data.sources import SourceData, load_source

log = logging.getLogger("cnnkit.data")
#: the normalisation statistics are computed on at most this many training examples by default
STATS_SAMPLES = 4096


@dataclass
class PreparedData:
    """A loaded source with its fitted preprocessing."""

    source: SourceData
    preprocessing: Preprocessing
    data_cfg: Any
    seed: int
    target_kind: Any = "label"  # the task's, so targets are resized and augmented with inputs
    augmentation: Any = None  # `augment` config built for `target_kind`; used when training
    #: with `augment.where=model` the pipeline does not augment: train.py puts the transforms
    #: into the model (`model.input_augmentation`) instead
    one_hot: bool = False  # labels as one-hot vectors (mixup/cutmix need soft labels)
    #: split -> (the split as read, cache mode), decided once per split (see `cached_split`)
    cached: dict[str, tuple[Any, str]] = field(default_factory=dict)
    budget_left: int | None = None
    patches: PatchSampling | None = None  # `data.patch_size`: train and validate on patches

    def cached_split(self, name: str) -> tuple[Any, str]:
        """The split `name` as the pipeline reads it and where its examples are kept between
        epochs (data/caching.py): `auto` spends the memory budget on the training split first."""
        if name in self.cached:
            return self.cached[name]
        cfg, split = self.data_cfg, self.source.split(name)
        mode = cache_mode(cfg.get("cache", "auto"))
        if mode == "auto":
            if self.budget_left is None:
                self.budget_left = memory_budget(cfg.get("cache_budget_gb"))
            need = prepared_bytes(split, self.preprocessing.frame_shape)
            if 0 <= need <= self.budget_left:
                mode, self.budget_left = "memory", self.budget_left - need
            else:
                mode = "disk" if isinstance(split, FileSplit) else "none"
            log.info("data.cache=auto: the %s split (%s prepared) %s", name, _gigabytes(need),
                     "is kept in memory" if mode == "memory" else
                     f"exceeds the memory budget of {_gigabytes(self.budget_left)}: "
                     + ("decoded once into a disk cache" if mode == "disk" else "read each epoch"))
        if mode == "disk" and isinstance(split, FileSplit):
            split = disk_cached(split, cache_root(cfg.get("cache_dir")), name)
        elif mode == "disk":
            mode = "none"  # arrays are in memory already; tfds reads its own files
        self.cached[name] = (split, mode)
        return split, mode

    def dataset(self, split: str, training: bool = False, target_fn: Any = None,
                start_epoch: int | None = None) -> Any:
        """Batched (input, target) pairs; the configured augmentation applies when training.
        `start_epoch` (training): the endless stream of epochs `fit` reads, from that epoch on."""
        cfg = self.data_cfg
        classes = self.preprocessing.class_names
        examples, cache = self.cached_split(split)
        return build_pipeline(
            examples, self.preprocessing, int(cfg.batch_size), training,
            self.seed, target_fn=target_fn,
            augment_fn=self.augmentation if training and not self.augments_in_model else None,
            cache=cache, shuffle_buffer=int(cfg.get("shuffle_buffer", 2048)),
            target_kind=self.target_kind,
            num_classes=len(classes) if self.one_hot and classes else None,
            start_epoch=start_epoch, patches=self.patches,
        )

    def training_stream(self, target_fn: Any, start_epoch: int = 0) -> tuple[Any, int]:
        """The endless training stream from `start_epoch` and its batches per epoch.

        One iterator for the whole fit (Keras would otherwise start a new one per epoch: the
        shuffle buffer refills, AUTOTUNE re-learns, prefetch starts empty; with augment=strong
        that made lenet5 on digits 35.5 against 14.3 ms/step here), while each epoch's order
        derives from (seed, epoch) alone, so a resumed run reads what an uninterrupted one did."""
        per = self.patches.per_image if self.patches else 1
        steps = steps_per_epoch(self.cached_split("train")[0], int(self.data_cfg.batch_size), per)
        return self.dataset("train", training=True, target_fn=target_fn,
                            start_epoch=start_epoch), steps

    @property
    def augments_in_model(self) -> bool:
        return self.augmentation is not None and self.augmentation.where == "model"

    def has_split(self, split: str) -> bool:
        return split in self.source.splits


def augmented_samples(data: PreparedData, count: int, target_fn: Any) -> tuple[np.ndarray, Any]:
    """`count` training examples after preprocessing and augmentation, in [0, 1] units."""
    preprocessing = replace(data.preprocessing, normalize="none")
    ds = build_pipeline(data.source.split("train"), preprocessing, count, True, data.seed,
                        target_fn=target_fn, augment_fn=data.augmentation, cache="none",
                        shuffle_buffer=int(data.data_cfg.get("shuffle_buffer", 2048)),
                        target_kind=data.target_kind, patches=data.patches)
    x, y = next(iter(ds))
    return x.numpy(), (
        {k: v.numpy() for k, v in y.items()} if isinstance(y, dict) else y.numpy())


def prepared_bytes(split: Any, target_shape: list[int]) -> int:
    """Bytes of a split's prepared examples (float32 inputs at the model's size, or whole at
    their own with patches; their targets); -1 when its length is unknown."""
    count = split_length(split)
    if count < 0:
        return -1
    per_example = int(np.prod(target_shape)) * 4
    if isinstance(split, FileSplit) and split.mask_decoder is not None:
        per_example += int(np.prod(target_shape[:-1])) * 4
    return count * per_example


def _gigabytes(count: int | None) -> str:
    return "an unknown size" if count is None or count < 0 else f"{count / 2**30:.2f} GB"


def default_input_shape(raw_shape: list[int], image_size: Any, patch_size: Any = None
                        ) -> list[int]:
    """The model input when `model.input_shape` is null: the raw shape, resized if asked, or
    the patch (`data.patch_size`) with the raw channels."""
    if patch_size:
        return [*(int(p) for p in patch_size), raw_shape[-1]]
    if image_size and len(raw_shape) == 3:
        return [int(image_size), int(image_size), raw_shape[-1]]
    return list(raw_shape)


def array_input_shape(source: SourceData, data_cfg: Any) -> list[int] | None:
    """The model input shape of a source whose training split is in-memory arrays, found
    without TensorFlow (the engine chooses its thread pools before TensorFlow starts); None for
    file and tf.data splits."""
    split = source.splits.get("train")
    if not (isinstance(split, tuple) and isinstance(split[0], np.ndarray)):
        return None
    return default_input_shape(list(split[0].shape[1:]), data_cfg.get("image_size"),
                               data_cfg.get("patch_size"))


def prepare_data(cfg: Any, target_kind: Any, input_shape: list[int] | None = None,
                 preprocessing: Preprocessing | None = None,
                 source: SourceData | None = None) -> PreparedData:
    """Load `cfg.data` and fit the preprocessing on its training split (or reuse a saved one).

    `target_kind` is the task's (`Task.target_kind`): the caller asks the task, so the data
    need not know tasks, and targets are resized and augmented with the inputs as it says."""
    source = source or load_source(cfg.data)
    if preprocessing is None:
        train = source.split("train")
        raw_shape = example_shape(as_dataset(train))
        patches = patch_sampling(cfg.data, raw_shape)
        target = list(input_shape) if input_shape else default_input_shape(
            raw_shape, cfg.data.get("image_size"))
        if patches:  # the model input follows the patch, whatever `model.input_shape` says
            target = [*patches.size, target[-1]]
        preprocessing = Preprocessing(
            raw_shape=raw_shape, target_shape=target, value_max=float(source.value_max),
            normalize=str(cfg.data.get("normalize", "standardize")),
            class_names=source.class_names,
            # patches are cut, not resized: only the source's own resizing counts for them
            resized=resizes(source, raw_shape, raw_shape if patches else target),
            patch_shape=list(patches.size) if patches else None,
        ).fit(sample_dataset(train, int(cfg.data.get("stats_samples") or STATS_SAMPLES),
                             int(cfg.seed)))
    else:
        patches = patch_sampling(cfg.data, preprocessing.raw_shape)
    return PreparedData(source, preprocessing, cfg.data, int(cfg.seed), target_kind,
                        build_augmentation(cfg.get("augment"), target_kind, int(cfg.seed)),
                        target_kind == "label" and needs_one_hot(cfg.get("augment")),
                        patches=patches)


def peek(cfg: Any) -> tuple[list[int], list[str] | None]:
    """The default model input shape and class names, without fitting any statistics."""
    source = load_source(cfg.data)
    raw_shape = example_shape(as_dataset(source.split("train")))
    return (default_input_shape(raw_shape, cfg.data.get("image_size"), cfg.data.get("patch_size")),
            source.class_names)

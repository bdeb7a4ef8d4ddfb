"""Wires a source and the preprocessing into ready-to-fit datasets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnkit.data.pipeline import Preprocessing, as_dataset, build_pipeline, example_shape
from cnnkit.data.sources import SourceData, load_source


@dataclass
class PreparedData:
    """A loaded source with its fitted preprocessing."""

    source: SourceData
    preprocessing: Preprocessing
    data_cfg: Any
    seed: int

    def dataset(self, split: str, training: bool = False, target_fn: Any = None,
                augment_fn: Any = None) -> Any:
        cfg = self.data_cfg
        return build_pipeline(
            self.source.split(split), self.preprocessing, int(cfg.batch_size), training,
            self.seed, target_fn=target_fn, augment_fn=augment_fn if training else None,
            cache=bool(cfg.get("cache", True)), shuffle_buffer=int(cfg.get("shuffle_buffer", 2048)),
        )

    def has_split(self, split: str) -> bool:
        return split in self.source.splits


def default_input_shape(raw_shape: list[int], image_size: Any) -> list[int]:
    """The model input when `model.input_shape` is null: the raw shape, resized if asked."""
    if image_size and len(raw_shape) == 3:
        return [int(image_size), int(image_size), raw_shape[-1]]
    return list(raw_shape)


def prepare_data(cfg: Any, input_shape: list[int] | None = None,
                 preprocessing: Preprocessing | None = None) -> PreparedData:
    """Load `cfg.data` and fit the preprocessing on its training split (or reuse a saved one)."""
    source = load_source(cfg.data)
    if preprocessing is None:
        train = as_dataset(source.split("train"))
        raw_shape = example_shape(train)
        target = list(input_shape) if input_shape else default_input_shape(
            raw_shape, cfg.data.get("image_size"))
        preprocessing = Preprocessing(
            raw_shape=raw_shape, target_shape=target, value_max=float(source.value_max),
            normalize=str(cfg.data.get("normalize", "standardize")),
            class_names=source.class_names,
        ).fit(train)
    return PreparedData(source, preprocessing, cfg.data, int(cfg.seed))


def peek(cfg: Any) -> tuple[list[int], list[str] | None]:
    """The default model input shape and class names, without fitting any statistics."""
    source = load_source(cfg.data)
    raw_shape = example_shape(as_dataset(source.split("train")))
    return default_input_shape(raw_shape, cfg.data.get("image_size")), source.class_names

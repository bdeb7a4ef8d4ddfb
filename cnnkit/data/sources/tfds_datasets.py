"""TensorFlow Datasets: any prepared tfds dataset, read from `data.data_dir`.

The prepared dataset is found on disk (`DATA_DIR/NAME[/CONFIG]/VERSION/dataset_info.json`) and
read with `tfds.builder_from_directory`, which never touches the network. Only with
`data.download: true` is tfds asked to download and prepare it: its own retries take minutes
offline, so a missing dataset otherwise fails at once with the steps to prepare it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.sources import (
    SOURCES,
    CommonDataSchema,
    SourceData,
    typed_data_config,
)
from cnnkit.errors import ConfigError, DataError

INFO_FILE = "dataset_info.json"


def _default_splits() -> dict[str, str]:
    return {"train": "train[:85%]", "val": "train[85%:]", "test": "test"}


@dataclass
class TfdsSchema(CommonDataSchema):
    source: str = "tfds"
    name: str = ""  # NAME, NAME:VERSION, NAME/CONFIG or NAME/CONFIG:VERSION
    data_dir: str | None = None  # null: $TFDS_DATA_DIR or ~/tensorflow_datasets
    splits: dict[str, str | None] = field(default_factory=_default_splits)  # tfds split strings
    image_key: str = "image"
    label_key: str | None = "label"
    mask_key: str | None = None  # segmentation: the mask feature, used instead of the label
    download: bool = False

    @staticmethod
    def provides(values: dict[str, Any]) -> tuple[Any, str] | None:
        return ("mask", "data.mask_key") if values.get("mask_key") else ("label", "data.label_key")

    @staticmethod
    def rank(values: dict[str, Any]) -> int | None:
        return None


def default_data_dir() -> Path:
    return Path(os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser()


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def find_prepared(name: str, data_dir: Path) -> Path | None:
    """The folder of a prepared dataset (highest version unless `name` pins one), or None."""
    base, _, version = name.partition(":")
    folder = data_dir / base
    if version:
        candidate = folder / version
        return candidate if (candidate / INFO_FILE).is_file() else None
    if not folder.is_dir():
        return None
    versions = [p for p in folder.iterdir() if (p / INFO_FILE).is_file()]
    return max(versions, key=lambda p: _version_key(p.name)) if versions else None


def not_prepared(name: str, data_dir: Path) -> DataError:
    base = name.partition(":")[0]
    return DataError(
        f"The tfds dataset {name!r} is not prepared in {data_dir} (looked for "
        f"{data_dir / base}/<version>/{INFO_FILE}), and `data.download` is false. To prepare it: "
        f"on a machine with internet run `tfds build {base} --data_dir {data_dir}` (or "
        f"`python -c \"import tensorflow_datasets as tfds; tfds.load('{base}', "
        f"data_dir='{data_dir}')\"`) and copy that folder here, then pass "
        f"`data.data_dir=DIR`; or, online, set `data.download=true`."
    )


def _feature(features: Any, key: str | None, what: str) -> str:
    if key is None or key not in features:
        raise ConfigError(
            f"`data.{what}` names a feature the dataset does not have. Received: {key!r}. "
            f"Features: {', '.join(sorted(features))}"
        )
    return key


def locate(cfg: TfdsSchema) -> tuple[Path, Path | None]:
    """(data_dir, the prepared dataset's folder or None); raises when missing and offline."""
    if not cfg.name:
        raise ConfigError("`data.name` is required: a tensorflow-datasets name such as mnist.")
    data_dir = Path(cfg.data_dir).expanduser() if cfg.data_dir else default_data_dir()
    folder = find_prepared(cfg.name, data_dir)
    if folder is None and not cfg.download:
        raise not_prepared(cfg.name, data_dir)
    return data_dir, folder


def check_tfds(data_cfg: Any, config: Any = None) -> None:
    """Files present (no decoding, no TensorFlow): run by the validation pass."""
    locate(typed_data_config(TfdsSchema, data_cfg))


@SOURCES.register("tfds", schema=TfdsSchema, check=check_tfds)
def load_tfds_source(data_cfg: Any) -> SourceData:
    """Splits as tf.data.Datasets of (image, label or mask), resized to `data.image_size`."""
    cfg = typed_data_config(TfdsSchema, data_cfg)
    data_dir, folder = locate(cfg)

    import tensorflow as tf
    import tensorflow_datasets as tfds

    if folder is None:  # download: true, and the user asked for the network
        builder = tfds.builder(cfg.name, data_dir=str(data_dir))
        builder.download_and_prepare()
    else:
        builder = tfds.builder_from_directory(str(folder))
    features = builder.info.features
    image_key = _feature(features, cfg.image_key, "image_key")
    segmentation = cfg.mask_key is not None
    target_key = _feature(features, cfg.mask_key if segmentation else cfg.label_key,
                          "mask_key" if segmentation else "label_key")
    size = (cfg.image_size, cfg.image_size) if cfg.image_size else None
    shape = getattr(features[image_key], "shape", ())
    if size is None and None in tuple(shape):
        raise ConfigError(f"The images of {cfg.name!r} vary in size {tuple(shape)}: set "
                          "`data.image_size` to resize them when loading.")

    def pair(example: dict[str, Any]) -> tuple[Any, Any]:
        x, y = example[image_key], example[target_key]
        if size is not None:
            x = tf.cast(tf.image.resize(x, size, antialias=True), x.dtype)
            if segmentation:
                y = tf.image.resize(y, size, method="nearest")
        return x, y

    available = list(builder.info.splits)
    splits = {}
    for name, split in cfg.splits.items():
        if split is None:
            continue
        if split.split("[")[0].split("+")[0] not in available:
            raise ConfigError(
                f"`data.splits.{name}` names a split {cfg.name!r} does not have. Received: "
                f"{split!r}. Splits: {', '.join(available)} (slices such as 'train[:90%]' work)."
            )
        splits[name] = builder.as_dataset(split=split, shuffle_files=False).map(
            pair, num_parallel_calls=tf.data.AUTOTUNE)
    target = features[target_key]
    class_names = list(target.names) if hasattr(target, "names") else None
    dtype = np.dtype(getattr(features[image_key], "np_dtype", "float32")).name
    value_max = {"uint8": 255.0, "uint16": 65535.0}.get(dtype, 1.0)
    return SourceData(splits=splits, class_names=class_names, value_max=value_max,
                      meta={"description": f"tfds {builder.info.full_name}",
                            "tfds": {"name": cfg.name.partition(":")[0],
                                     "version": str(builder.info.version),
                                     "splits": {n: s for n, s in cfg.splits.items() if s},
                                     "data_dir": str(data_dir)},
                            "read_files": [p for p in Path(builder.data_dir).rglob("*")
                                           if p.is_file()]})

"""`keras.datasets` images (mnist, fashion_mnist, cifar10, cifar100) from the Keras cache.

Keras downloads these on first use and retries for minutes offline; it also downloads again
when a cached file's checksum differs from the official one (a re-saved mnist.npz, say). So
the files are looked for in its cache first (`$KERAS_HOME` or ~/.keras, folder `datasets/`): a
missing one fails at once, naming the file to put there. mnist and fashion_mnist are then read
directly (an .npz and four IDX files); cifar is left to Keras, which unpacks its archive.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cnnkit.data.sources import (
    SOURCES,
    SourceData,
    SplitSchema,
    check_split_keys,
    typed_data_config,
)
from cnnkit.data.splits import assemble_splits
from cnnkit.errors import ConfigError, DataError

MNIST_FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
               "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
# name -> (files Keras reads in its cache's datasets/ folder, where they come from, class names)
DATASETS: dict[str, tuple[list[str], str, list[str] | None]] = {
    "mnist": (["mnist.npz"], "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
              "mnist.npz", [str(i) for i in range(10)]),
    "fashion_mnist": ([f"fashion-mnist/{f}" for f in MNIST_FILES],
                      "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
                      ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                       "Sneaker", "Bag", "Ankle boot"]),
    "cifar10": (["cifar-10-batches-py-target_archive"],
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck"]),
    "cifar100": (["cifar-100-python-target_archive"],
                 "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", None),
}


@dataclass
class KerasSchema(SplitSchema):
    source: str = "keras"
    name: Literal["mnist", "fashion_mnist", "cifar10", "cifar100"] = "mnist"
    label_mode: Literal["fine", "coarse"] = "fine"  # cifar100 only: fine (100 classes) | coarse (20)
    download: bool = False  # true: let Keras download a missing dataset


def keras_cache() -> Path:
    """Where Keras keeps downloaded datasets."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets"


def _idx(path: Path, offset: int) -> np.ndarray:
    """The payload of a gzipped IDX file (labels: offset 8; images: offset 16)."""
    with gzip.open(path, "rb") as stream:
        return np.frombuffer(stream.read(), np.uint8, offset=offset)


def _read(cfg: KerasSchema, paths: list[Path]) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """((x_train, y_train), (x_test, y_test)) as keras.datasets returns them."""
    local = all(p.is_file() for p in paths)  # else data.download is true: Keras fetches them
    try:
        if local and cfg.name == "mnist":
            with np.load(paths[0], allow_pickle=False) as f:
                return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        if local and cfg.name == "fashion_mnist":
            y_train, x_train, y_test, x_test = (_idx(p, 8 if "labels" in p.name else 16)
                                                for p in paths)
            return ((x_train.reshape(len(y_train), 28, 28), y_train),
                    (x_test.reshape(len(y_test), 28, 28), y_test))
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise DataError(f"Cannot read the keras dataset {cfg.name!r} from "
                        f"{', '.join(map(str, paths))}: {exc}") from exc
    import keras

    kwargs = {"label_mode": cfg.label_mode} if cfg.name == "cifar100" else {}
    return getattr(keras.datasets, cfg.name).load_data(**kwargs)


def cached_files(cfg: KerasSchema) -> list[Path]:
    """The dataset's files in the Keras cache; raises, naming them, when missing and offline."""
    if cfg.name not in DATASETS:
        from cnnkit.errors import did_you_mean

        raise ConfigError(f"`data.name` names an unknown keras dataset. Received: {cfg.name!r}. "
                          f"Expected one of: {', '.join(DATASETS)}.{did_you_mean(cfg.name, DATASETS)}")
    files, origin, _ = DATASETS[cfg.name]
    missing = [f for f in files if not (keras_cache() / f).is_file()]
    if missing and not cfg.download:
        raise DataError(
            f"The keras dataset {cfg.name!r} is not in the Keras cache: missing "
            f"{', '.join(str(keras_cache() / f) for f in missing)}, and `data.download` is false. "
            f"Download {origin} on a machine with internet and put it at that path (for cifar, "
            "the .tar.gz itself under that name), set KERAS_HOME to a folder holding "
            "datasets/, or, online, set `data.download=true`."
        )
    return [keras_cache() / f for f in files]


def check_keras(data_cfg: Any, config: Any = None) -> None:
    """Files present (no decoding, no TensorFlow): run by the validation pass."""
    check_split_keys(data_cfg)
    cached_files(typed_data_config(KerasSchema, data_cfg))


@SOURCES.register("keras", schema=KerasSchema, check=check_keras)
def load_keras_source(data_cfg: Any) -> SourceData:
    cfg = typed_data_config(KerasSchema, data_cfg)
    paths = cached_files(cfg)
    (x_train, y_train), (x_test, y_test) = _read(cfg, paths)
    add_axis = (lambda x: x[..., None]) if x_train.ndim == 3 else (lambda x: x)
    given = {"train": (add_axis(x_train), y_train.reshape(-1).astype("int32")),
             "test": (add_axis(x_test), y_test.reshape(-1).astype("int32"))}
    splits = assemble_splits(given, cfg.val_fraction, cfg.test_fraction, cfg.seed,
                             folds=cfg.folds, fold=cfg.fold)
    class_names = DATASETS[cfg.name][2]
    if class_names is None:
        class_names = [str(i) for i in range(int(np.max(y_train)) + 1)]
    return SourceData(splits=splits, class_names=class_names, value_max=255.0,
                      meta={"description": f"keras.datasets.{cfg.name}"})

"""Arrays saved with NumPy: one `.npz` archive, or a folder of `.npy` files named by key.

The default keys are those of the Keras `mnist.npz` (x_train, y_train, x_test, y_test; x_val,
y_val when present); `data.keys` remaps them. Missing val/test are carved from train.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.images import MAX_8BIT, MAX_16BIT, binary_to_index
from cnnkit.data.sources import (
    SOURCES,
    SourceData,
    SplitSchema,
    check_split_keys,
    typed_data_config,
)
from cnnkit.data.splits import SPLIT_NAMES, assemble_splits
from cnnkit.errors import ConfigError, DataError


def _default_keys() -> dict[str, str]:
    return {f"{xy}_{split}": f"{xy}_{split}" for split in SPLIT_NAMES for xy in ("x", "y")}


@dataclass
class NumpySchema(SplitSchema):
    source: str = "numpy"
    path: str = ""
    keys: dict[str, str] = field(default_factory=_default_keys)  # x_train -> name in the file
    classes: list[str] | None = None  # names of the integer labels 0..n-1
    value_max: float | None = None  # raw value that maps to 1.0; null: 255 for uint8, 65535
    # for uint16, 1.0 for floats in [0, 1]

    @staticmethod
    def provides(values: dict[str, Any]) -> tuple[Any, str] | None:
        return None  # labels, masks or values: known once the arrays are read

    @staticmethod
    def rank(values: dict[str, Any]) -> int | None:
        return None


def _open(path: Path) -> Any:
    """A mapping name -> array for an .npz archive or a folder of .npy files."""
    if path.is_dir():
        return {p.stem: p for p in sorted(path.glob("*.npy"))}
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read {path}: {exc}") from exc


def _array(store: Any, name: str, path: Path) -> np.ndarray:
    try:
        item = store[name]
        return np.load(item, allow_pickle=False) if isinstance(item, Path) else np.asarray(item)
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read array {name!r} of {path}: {exc}") from exc


def value_max_of(x: np.ndarray, given: float | None) -> float:
    """The raw value that maps to 1.0, from the dtype when not given."""
    if given is not None:
        return float(given)
    if x.dtype == np.uint8 or x.dtype == np.bool_:
        return float(MAX_8BIT) if x.dtype == np.uint8 else 1.0
    if x.dtype == np.uint16:
        return float(MAX_16BIT)
    top = float(x.max()) if x.size else 1.0
    if top <= 1.0:
        return 1.0
    raise ConfigError(f"Set `data.value_max`: the images are {x.dtype} with values up to {top:g}, "
                      "so their full-scale value cannot be guessed (e.g. 255 or 4095).")


def arrays_path(cfg: NumpySchema) -> Path:
    if not cfg.path:
        raise ConfigError("`data.path` is required: an .npz file or a folder of .npy files.")
    path = Path(cfg.path).expanduser()
    if not (path.is_dir() or (path.suffix == ".npz" and path.is_file())):
        raise DataError(f"`data.path` must be an .npz file or a folder of .npy files. "
                        f"Received: {str(path)!r}")
    return path


def check_numpy(data_cfg: Any, config: Any = None) -> None:
    """Files present (no decoding, no TensorFlow): run by the validation pass."""
    check_split_keys(data_cfg)
    arrays_path(typed_data_config(NumpySchema, data_cfg))


@SOURCES.register("numpy", schema=NumpySchema, check=check_numpy)
def load_numpy_source(data_cfg: Any) -> SourceData:
    cfg = typed_data_config(NumpySchema, data_cfg)
    path = arrays_path(cfg)
    unknown = sorted(set(cfg.keys) - set(_default_keys()))
    if unknown:
        raise ConfigError(f"`data.keys.{unknown[0]}` is not a key. Expected some of: "
                          f"{', '.join(_default_keys())}")
    keys = {**_default_keys(), **cfg.keys}
    store = _open(path)
    available = list(store.keys()) if hasattr(store, "keys") else []
    given = {}
    for split in SPLIT_NAMES:
        x_name, y_name = keys[f"x_{split}"], keys[f"y_{split}"]
        if x_name not in available:
            continue
        if y_name not in available:
            raise DataError(f"{path} holds {x_name!r} but not its targets {y_name!r} "
                            f"(`data.keys.y_{split}`). Arrays: {', '.join(available)}")
        x, y = _array(store, x_name, path), _array(store, y_name, path)
        if len(x) != len(y):
            raise DataError(f"{path}: {x_name!r} has {len(x)} examples but {y_name!r} has "
                            f"{len(y)}.")
        given[split] = (x[..., None] if x.ndim == 3 else x, y)
    if "train" not in given:
        raise DataError(f"{path} has no training images {keys['x_train']!r} "
                        f"(`data.keys.x_train`). Arrays: {', '.join(available) or 'none'}")
    x_train, y_train = given["train"]
    segmentation = y_train.ndim >= 3
    if segmentation:
        given = {s: (x, binary_to_index(y[..., None] if y.ndim == 3 else y))
                 for s, (x, y) in given.items()}
    elif y_train.ndim == 2 and y_train.shape[1] == 1:
        given = {s: (x, y[:, 0]) for s, (x, y) in given.items()}
    if not segmentation and np.issubdtype(y_train.dtype, np.integer):
        given = {s: (x, y.astype("int32")) for s, (x, y) in given.items()}
    splits = assemble_splits(given, cfg.val_fraction, cfg.test_fraction, cfg.seed,
                             folds=cfg.folds, fold=cfg.fold)
    labels = splits["train"][1]
    class_names = None
    if np.issubdtype(labels.dtype, np.integer):
        top = max(int(y.max()) for _, y in splits.values() if y.size)
        class_names = list(cfg.classes) if cfg.classes else [str(i) for i in range(top + 1)]
        if top >= len(class_names):
            raise DataError(f"{path}: label {top} is outside the {len(class_names)} classes of "
                            f"`data.classes` ({', '.join(class_names)}).")
    return SourceData(splits=splits, class_names=class_names,
                      value_max=value_max_of(x_train, cfg.value_max),
                      meta={"description": f"NumPy arrays {path}",
                            "read_files": [store[n] for n in dict.fromkeys(keys.values())
                                           if n in available] if path.is_dir() else [path]})

"""Must-show 1 of issue 3: one image set, four sources, one model, the same validation accuracy.

Writes N scikit-learn digits (upscaled to SIZE x SIZE gray PNGs) as a class-folder tree, a CSV
table, an .npz archive and a tfds dataset (store_as_tfds_dataset), all with the same train/val
split in the same order, trains the default model on each through `cnnkit train`'s code path
with the same seed, and prints the validation accuracy per source.

    .venv/bin/python scripts/compare_sources.py --n 1797 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def digit_images(n: int, size: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Stratified train/val splits of n digits as uint8 (N, size, size), sorted by label."""
    from PIL import Image
    from sklearn.datasets import load_digits

    from cnnkit.data.splits import carve_splits

    digits = load_digits()
    x = np.stack([np.asarray(Image.fromarray((im * 255 / 16).astype("uint8")).resize(
        (size, size), Image.Resampling.BILINEAR)) for im in digits.images[:n]])
    splits = carve_splits(x, digits.target[:n].astype("int32"), 0.25, 0.0, seed)
    return {name: (sx[np.argsort(sy, kind="stable")], np.sort(sy)) for name, (sx, sy)
            in splits.items()}


def write_all(root: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, list[str]]:
    """The same examples in four formats; returns the cnnkit overrides that load each."""
    import tensorflow as tf
    import tensorflow_datasets as tfds
    from PIL import Image

    rows = ["path,label,split"]
    for name, (x, y) in splits.items():
        for i, (image, label) in enumerate(zip(x, y, strict=True)):
            path = root / "folder" / name / str(label) / f"{i:05d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
            rows.append(f"{path.relative_to(root)},{label},{name}")
    (root / "table.csv").write_text("\n".join(rows) + "\n")
    np.savez(root / "digits.npz", **{f"{xy}_{name}": arr for name, pair in splits.items()
                                     for xy, arr in zip("xy", pair, strict=True)})
    features = tfds.features.FeaturesDict({
        "image": tfds.features.Image(shape=(*splits["train"][0].shape[1:], 1)),
        "label": tfds.features.ClassLabel(names=[str(i) for i in range(10)]),
    })
    tfds.dataset_builders.store_as_tfds_dataset(
        name="digits_images", version="1.0.0", features=features, data_dir=root / "tfds",
        disable_shuffling=True,  # keep the written order, like the other three
        split_datasets={name: tf.data.Dataset.from_tensor_slices({"image": x[..., None],
                                                                  "label": y})
                        for name, (x, y) in splits.items()})
    return {
        "folder": ["data=folder", f"data.path={root / 'folder'}"],
        "csv": ["data=csv", f"data.path={root / 'table.csv'}"],
        "numpy": ["data=numpy", f"data.path={root / 'digits.npz'}"],
        "tfds": ["data=tfds", "data.name=digits_images", f"data.data_dir={root / 'tfds'}",
                 "data.splits.train=train", "data.splits.val=val", "data.splits.test=null"],
    }


def train(overrides: list[str], run_path: Path, epochs: int, batch_size: int) -> float:
    from cnnkit.commands.train import run
    from cnnkit.config.compose import compose

    cfg = compose("train", [*overrides, "data.test_fraction=0", f"trainer.epochs={epochs}",
                            f"data.batch_size={batch_size}", "trainer.verbose=0"])
    run(cfg, run_path)
    return float(json.loads((run_path / "metrics.json").read_text())["val_accuracy"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1797, help="digits to use (of 1797)")
    parser.add_argument("--size", type=int, default=16, help="image side in pixels")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cnnkit-sources-") as folder:
        root = Path(folder)
        splits = digit_images(args.n, args.size, args.seed)
        sources = write_all(root, splits)
        results = {}
        for name, overrides in sources.items():
            start = time.perf_counter()
            results[name] = train([*overrides, f"seed={args.seed}"], root / "runs" / name,
                                  args.epochs, args.batch_size)
            print(f"{name:7s} val_accuracy={results[name]:.4f}  "
                  f"({time.perf_counter() - start:.1f} s)", flush=True)
    sizes = {k: len(v[1]) for k, v in splits.items()}
    spread = max(results.values()) - min(results.values())
    print(f"{args.n} digits {args.size}x{args.size}, split {sizes}, {args.epochs} epochs: "
          f"spread {spread:.4f}")
    print("RESULT " + json.dumps({"val_accuracy": results, "spread": spread}))


if __name__ == "__main__":
    main()

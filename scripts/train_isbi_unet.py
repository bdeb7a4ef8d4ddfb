"""Train the U-Net preset on the ISBI 2012 EM membrane data and print the held-out Dice.

Images 0-24 of `isbi-em/train` train the network, images 25-29 are held out (the challenge's
test labels were never released). Training uses random crops of the 25 training images with
the `light` augmentation (the network is fully convolutional); the held-out images are predicted
whole, at 512x512, by `cnnkit predict`, and scored here against their labels. Label 255 (cell
interior, ~78% of pixels) is the foreground class; the membrane Dice and the Dice of predicting
"all foreground" are printed beside it so the figure can be judged.

Everything runs through the `cnnkit` command line, as a user would:
    python scripts/train_isbi_unet.py [--epochs 20 --crop 128 --base-filters 16]
Not part of CI: the defaults took about 8 minutes on 2 shared CPU cores and gave a held-out
cell Dice of 0.951 (membrane 0.801; "all cell" 0.889); --base-filters 8 --epochs 15 took about
4 minutes for 0.945 (membrane 0.771).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "isbi-em"
TRAIN_IDS, HELD_OUT_IDS = range(0, 25), range(25, 30)


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


def random_crops(images: list[np.ndarray], masks: list[np.ndarray], size: int, per_image: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`per_image` random size x size crops of each image with its mask (labels 0/1)."""
    xs, ys = [], []
    for image, mask in zip(images, masks, strict=True):
        for _ in range(per_image):
            r, c = rng.integers(0, image.shape[0] - size + 1), rng.integers(0, image.shape[1] - size + 1)
            xs.append(image[r:r + size, c:c + size])
            ys.append(mask[r:r + size, c:c + size] // 255)
    return np.stack(xs)[..., None], np.stack(ys)[..., None].astype("uint8")


def dice(truth: np.ndarray, pred: np.ndarray) -> float:
    inter = float(np.logical_and(truth, pred).sum())
    return 2 * inter / max(float(truth.sum() + pred.sum()), 1.0)


def cnnkit(*args: str) -> None:
    command = [str(Path(sys.executable).with_name("cnnkit")), *args]
    print("$ " + " ".join(shlex.quote(a) for a in command), flush=True)
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temp dir)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--crop", type=int, default=128, help="training crop size (multiple of 16)")
    parser.add_argument("--crops-per-image", type=int, default=8)
    parser.add_argument("--base-filters", type=int, default=16, help="U-Net width (paper: 64)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--loss", default="ce_dice")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train_dir = args.data / "train"
    if not (train_dir / "image").is_dir():
        sys.exit(f"{train_dir}/image not found: pass --data to the isbi-em folder")
    work = args.out or Path(tempfile.mkdtemp(prefix="isbi-unet-"))
    work.mkdir(parents=True, exist_ok=True)
    load = lambda ids, kind: [read(train_dir / kind / f"{i}.png") for i in ids]  # noqa: E731
    images, masks = load(TRAIN_IDS, "image"), load(TRAIN_IDS, "label")
    rng = np.random.default_rng(args.seed)
    x_train, y_train = random_crops(images, masks, args.crop, args.crops_per_image, rng)
    x_val, y_val = random_crops(images, masks, args.crop, 1, rng)  # monitoring only
    held_images, held_masks = load(HELD_OUT_IDS, "image"), load(HELD_OUT_IDS, "label")
    np.savez(work / "isbi_crops.npz", x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
             x_test=np.stack(held_images)[..., None],
             y_test=(np.stack(held_masks) // 255)[..., None].astype("uint8"))
    held_dir = work / "held_out"
    held_dir.mkdir(exist_ok=True)
    for i in HELD_OUT_IDS:  # links, not copies, so predict can read them as a folder
        link = held_dir / f"{i}.png"
        if not link.exists():
            os.symlink((train_dir / "image" / f"{i}.png").resolve(), link)

    run = work / "run"
    cnnkit("train", "model=unet", "task=segmentation", "data=numpy",
           f"data.path={work / 'isbi_crops.npz'}", "data.batch_size=" + str(args.batch_size),
           "task.classes=[membrane,cell]", f"task.loss={args.loss}", "augment=light",
           "model.input_shape=null", f"model.base_filters={args.base_filters}",
           "model.dropout=0.2", f"trainer.epochs={args.epochs}", f"seed={args.seed}",
           "name=isbi_unet", f"hydra.run.dir={run}")
    cnnkit("predict", f"run={run}", f"input={held_dir}", f"output={work / 'predictions'}")

    rows, cell_scores, membrane_scores, trivial_scores = [], [], [], []
    for i, mask in zip(HELD_OUT_IDS, held_masks, strict=True):
        pred = read(work / "predictions" / f"{i}.png") > 127
        truth = mask > 127
        cell_scores.append(dice(truth, pred))
        membrane_scores.append(dice(~truth, ~pred))
        trivial_scores.append(dice(truth, np.ones_like(truth)))
        rows.append(f"  {i}.png  cell Dice {cell_scores[-1]:.4f}  membrane Dice "
                    f"{membrane_scores[-1]:.4f}")
    print("\nHeld-out images (512x512, predicted whole):")
    print("\n".join(rows))
    print(f"Held-out foreground (cell, label 255) Dice: {np.mean(cell_scores):.4f}")
    print(f"Held-out membrane (label 0) Dice:           {np.mean(membrane_scores):.4f}")
    print(f"Baseline 'everything is cell' Dice:         {np.mean(trivial_scores):.4f}")
    print(f"Run directory: {run}")


if __name__ == "__main__":
    main()

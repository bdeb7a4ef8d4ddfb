"""Train `conf=isbi_unet` on the ISBI 2012 EM membrane data and print the held-out Dice.

The experiment (conf/experiment/isbi_unet.yaml) holds out images 25-29 of `isbi-em/train`
(`data.test_files`; the challenge's test labels were never released) and trains a U-Net on
random 128x128 patches of the others at full resolution (`data.patch_size`). The held-out images
are predicted whole, at 512x512, by `cnnkit predict` (a sliding window of the training patch)
and scored here against their labels. Label 255 (cell interior, ~78% of pixels) is the foreground
class; the membrane Dice and the Dice of predicting "all cell" are printed beside it so the
figure can be judged.

Everything runs through the `cnnkit` command line, as a user would:
    python scripts/train_isbi_unet.py [--data ../shared/data/isbi-em] [key=value overrides...]
Not part of CI: see the README ("Large images") for the time and Dice measured.
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
HELD_OUT_IDS = range(25, 30)  # the experiment's data.test_files


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


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
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. trainer.epochs=10")
    args = parser.parse_args()

    train_dir = args.data / "train"
    if not (train_dir / "image").is_dir():
        sys.exit(f"{train_dir}/image not found: pass --data to the isbi-em folder")
    work = args.out or Path(tempfile.mkdtemp(prefix="isbi-unet-"))
    work.mkdir(parents=True, exist_ok=True)
    held_dir = work / "held_out"
    held_dir.mkdir(exist_ok=True)
    for i in HELD_OUT_IDS:  # links, not copies, so predict can read them as a folder
        link = held_dir / f"{i}.png"
        if not link.exists():
            os.symlink((train_dir / "image" / f"{i}.png").resolve(), link)

    run = work / "run"
    cnnkit("train", "conf=isbi_unet", f"data.path={train_dir}", f"hydra.run.dir={run}",
           *args.overrides)
    cnnkit("predict", f"run={run}", f"input={held_dir}", f"output={work / 'predictions'}")

    rows, cell_scores, membrane_scores, trivial_scores = [], [], [], []
    for i in HELD_OUT_IDS:
        truth = read(train_dir / "label" / f"{i}.png") > 127
        pred = read(work / "predictions" / f"{i}.png") > 127
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

"""The recipes of conf/experiment/ against their published anchors and a plain Keras script.

For each recipe, in one run on the same data (the .npz files of ../shared/data):
  cnnkit        `cnnkit train conf=RECIPE data.path=FILE.npz` through the CLI (the recipe
                evaluates its test split after training), then `cnnkit evaluate tta=flips` for
                recipes whose augmentation mirrors; wall time of each command;
  plain Keras   a 4-conv + BN CNN (468,586 parameters with 10 classes), `model.fit` for 10
                epochs on NumPy arrays scaled to [0, 1] (Adam, batch 128, no augmentation),
                test accuracy and wall time;
  anchor        the published figure: Fashion-MNIST, ResNet-18 of the benchmark table in
                zalandoresearch/fashion-mnist's README (0.949, with flips, translation and
                rotation); MNIST, a convolutional net trained on elastic distortions, 0.40% test
                error (Simard, Steinkraus & Platt, ICDAR 2003, as listed on LeCun's MNIST page).
Exits 1 when a recipe misses its target (TARGETS: accuracy and wall-time budget).

    python scripts/bench_recipes.py [--recipes fashion_mnist mnist] [--quick]
        [--data DIR] [--output DIR]

`--quick` is a smoke test: 2 epochs on 6,000 examples each, targets not checked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
QUICK = ["trainer.epochs=2", "data.max_samples=6000"]  # the EMA warms up: fine in 2 epochs
QUICK_SAMPLES = 6000
PLAIN_EPOCHS = 10


@dataclass(frozen=True)
class Recipe:
    npz: str  # below --data
    anchor: float
    anchor_source: str
    target: float  # test accuracy the recipe must reach ...
    budget_s: float  # ... within this wall time (train + evaluate) on a 2-core CPU
    tta: bool  # the augmentation mirrors: also evaluate with tta=flips


RECIPES = {
    "fashion_mnist": Recipe("fashion-mnist/fashion-mnist.npz", 0.949,
                            "ResNet-18, Fashion-MNIST benchmark table", 0.94, 45 * 60, True),
    "mnist": Recipe("mnist/mnist.npz", 0.996, "Simard et al. 2003", 0.995, 30 * 60, False),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", choices=sorted(RECIPES),
                        default=["fashion_mnist", "mnist"])
    parser.add_argument("--quick", action="store_true", help="2 epochs on 6,000 examples")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="holds the .npz files")
    parser.add_argument("--output", type=Path, default=None,
                        help="run directories (default: a temporary folder)")
    return parser.parse_args(argv)


def plain_cnn(num_classes: int = 10) -> Any:
    """The plain Keras baseline: two pairs of 3x3 conv + BN, max pooling, a 128-unit dense
    layer; 468,586 parameters on 28x28x1 with 10 classes."""
    import keras

    layers = keras.layers
    model = keras.Sequential([keras.Input((28, 28, 1))])
    for filters in (32, 32, "pool", 64, 64, "pool"):
        if filters == "pool":
            model.add(layers.MaxPooling2D(2))
            continue
        model.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
        model.add(layers.BatchNormalization())
    for layer in (layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.5),
                  layers.Dense(num_classes, activation="softmax")):
        model.add(layer)
    return model


def train_plain(npz: Path, quick: bool) -> dict[str, float]:
    """Test accuracy and wall time of `plain_cnn` fitted on the npz's training arrays."""
    import keras
    import numpy as np

    start = time.perf_counter()
    arrays = np.load(npz)
    x, y = arrays["x_train"][..., None] / 255.0, arrays["y_train"]
    x_test, y_test = arrays["x_test"][..., None] / 255.0, arrays["y_test"]
    if quick:
        x, y, x_test, y_test = x[:QUICK_SAMPLES], y[:QUICK_SAMPLES], x_test[:1000], y_test[:1000]
    keras.utils.set_random_seed(42)
    model = plain_cnn(int(y.max()) + 1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=2 if quick else PLAIN_EPOCHS, verbose=2)
    accuracy = model.evaluate(x_test, y_test, return_dict=True, verbose=0)["accuracy"]
    return {"accuracy": float(accuracy), "seconds": time.perf_counter() - start}


def cnnkit(*args: str) -> float:
    """Run `cnnkit ARGS` as a user would; its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cnnkit", *args], check=True, cwd=ROOT)
    return time.perf_counter() - start


def train_recipe(name: str, recipe: Recipe, data: Path, output: Path,
                 quick: bool) -> dict[str, Any]:
    """The recipe trained and evaluated through the CLI: accuracies and wall times."""
    run = output / name
    seconds = cnnkit("train", f"conf={name}", f"data.path={data / recipe.npz}",
                     f"hydra.run.dir={run}", *(QUICK if quick else []))
    result: dict[str, Any] = {"seconds": seconds,
                              "accuracy": json.loads((run / "eval" / "test.json").read_text())
                              ["accuracy"]}
    if recipe.tta:
        result["tta_seconds"] = cnnkit("evaluate", f"run={run}", "tta=flips")
        result["tta_accuracy"] = json.loads((run / "eval" / "test.json").read_text())["accuracy"]
    return result


def report(name: str, recipe: Recipe, ours: dict[str, Any], plain: dict[str, float],
           quick: bool) -> bool:
    """Print one recipe's row beside the anchor and the plain script; True if on target."""
    best = max(ours["accuracy"], ours.get("tta_accuracy", 0.0))
    seconds = ours["seconds"] + ours.get("tta_seconds", 0.0)
    tta = (f"  tta=flips {ours['tta_accuracy']:.4f} (+{ours['tta_seconds']:.0f} s)"
           if "tta_accuracy" in ours else "")
    print(f"\n{name}")
    print(f"  anchor       {recipe.anchor:.3f}  ({recipe.anchor_source})")
    print(f"  plain Keras  {plain['accuracy']:.4f}  in {plain['seconds']:.0f} s "
          f"({PLAIN_EPOCHS if not quick else 2} epochs, 468k parameters)")
    print(f"  cnnkit       {ours['accuracy']:.4f}  in {ours['seconds']:.0f} s{tta}")
    met = best >= recipe.target and seconds <= recipe.budget_s
    print(f"  target       {recipe.target:.3f} within {recipe.budget_s / 60:.0f} min: "
          f"{'quick run, not checked' if quick else ('met' if met else 'MISSED')}")
    return met or quick


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [RECIPES[n].npz for n in args.recipes if not (args.data / RECIPES[n].npz).exists()]
    if missing:
        print(f"missing data in {args.data}: {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-recipes-") as tmp:
        output = args.output or Path(tmp)
        ok = []
        for name in args.recipes:
            recipe = RECIPES[name]
            ours = train_recipe(name, recipe, args.data, output, args.quick)
            plain = train_plain(args.data / recipe.npz, args.quick)
            ok.append(report(name, recipe, ours, plain, args.quick))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())

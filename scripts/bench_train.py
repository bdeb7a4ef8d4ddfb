"""Training-step throughput of the default model under each device setting, side by side.

Prints images/s for XLA off/on and steps_per_execution 1/8 on this machine, as ratios against the
baseline (XLA off, 1 step per execution) measured in the same run; this is what the
`trainer.jit_compile=auto` and `trainer.steps_per_execution` defaults are based on.

    python scripts/bench_train.py [--model default] [--image-size 32] [--steps 60]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def measure(model_name: str, image_size: int, steps: int, jit: bool, spe: int, batch: int) -> float:
    import keras
    import numpy as np
    import tensorflow as tf

    from cnnkit.config.compose import compose
    from cnnkit.models.build import build_model

    cfg = compose("train", [f"model={model_name}", f"model.input_shape=[{image_size},{image_size},1]",
                            "model.num_classes=10"])
    keras.utils.set_random_seed(0)
    model = build_model(cfg.model)
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=jit, steps_per_execution=spe)
    x = np.random.rand(batch * steps, image_size, image_size, 1).astype("float32")
    y = np.random.randint(0, 10, batch * steps)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).cache()
    model.fit(ds.take(2 * spe), epochs=1, verbose=0)  # compile / trace outside the timing
    start = time.perf_counter()
    model.fit(ds, epochs=1, verbose=0)
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    settings = [("baseline: XLA off, 1 step/execution", False, 1), ("XLA on", True, 1),
                ("8 steps/execution", False, 8), ("XLA on, 8 steps/execution", True, 8)]
    base = None
    print(f"model={args.model} input={args.image_size}x{args.image_size}x1 batch={args.batch} "
          f"steps={args.steps} cpus={os.cpu_count()}")
    for label, jit, spe in settings:
        rate = measure(args.model, args.image_size, args.steps, jit, spe, args.batch)
        base = base or rate
        print(f"{label:38s} {rate:10.0f} images/s   x{rate / base:.2f} of baseline")


if __name__ == "__main__":
    main()

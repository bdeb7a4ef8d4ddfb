"""Input pipeline vs training step: images/s side by side for the default models.

The pipeline alone (decode, preprocess, cache, shuffle, `augment=strong`, batch, prefetch,
iterated without a model) must deliver at least 3x the images/s of the model's training step
(measured on batches already in memory), so the model never waits for data. Both figures come
from the same run on this machine, measured alternately (`--rounds`, medians) so that a slow
spell of a shared machine hits both; the script prints them with their ratio and exits 1 when a
ratio is below the target.

    python scripts/bench_input.py [--models default lenet5] [--seconds 2] [--rounds 3] [--augment strong]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
TARGET_RATIO = 3.0


def images_per_second(batches: Any, seconds: float) -> float:
    """Iterate `batches` (endless) for about `seconds`; images per second."""
    count, start = 0, time.perf_counter()
    for x, _ in batches:
        count += int(x.shape[0])
        if time.perf_counter() - start >= seconds:
            break
    return count / (time.perf_counter() - start)


def measure(model_name: str, augment: str, data: str, seconds: float, rounds: int
            ) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    from cnnkit.config.compose import compose
    from cnnkit.data.build import prepare_data
    from cnnkit.models.build import build_model
    from cnnkit.models.summary import summarize
    from cnnkit.tasks import get_task
    from cnnkit.tasks.model_config import complete_model_config
    from cnnkit.training.compile import build_optimizer
    from cnnkit.training.strategy import build_policy, steps_per_execution

    cfg = compose("train", [f"model={model_name}", f"augment={augment}", f"data={data}"])
    keras.utils.set_random_seed(0)
    task = get_task(cfg.task, cfg)
    data = prepare_data(cfg, task.target_kind, input_shape=cfg.model.get("input_shape"))
    complete_model_config(cfg, task, data.preprocessing.target_shape, data.preprocessing.class_names)
    train = data.dataset("train", training=True, target_fn=task.target_fn())
    # The pipeline is read as `cnnkit train` feeds it to fit: one endless iterator.
    stream, epoch_steps = data.training_stream(task.target_fn())
    endless = iter(stream)

    # The training step alone, on one batch held in memory, compiled as `cnnkit train` does.
    policy = build_policy(cfg.trainer)
    model = build_model(cfg.model)
    spe = steps_per_execution(cfg.trainer.steps_per_execution, summarize(model)["flops"],
                              int(cfg.data.batch_size), epoch_steps)
    model.compile(optimizer=build_optimizer(cfg.optimizer, cfg.trainer, 100, int(cfg.trainer.epochs)), loss=task.loss(model),
                  metrics=task.metrics(model), jit_compile=policy.jit_compile,
                  steps_per_execution=spe)
    for _ in train:  # one whole epoch fills the cache: the timed epochs read from it
        pass
    batch = next(iter(train))
    in_memory = tf.data.Dataset.from_tensors(batch).repeat()
    # Whole calls only (Keras runs `spe` steps per call, even past steps_per_epoch).
    model.fit(in_memory, steps_per_epoch=2 * spe, epochs=1, verbose=0, shuffle=False)  # trace outside the timing
    start = time.perf_counter()
    model.fit(in_memory, steps_per_epoch=20 * spe, epochs=1, verbose=0, shuffle=False)
    calls = max(20, int(20 * seconds / (time.perf_counter() - start)))  # about `seconds` of steps
    steps = calls * spe

    def training_rate() -> float:
        start = time.perf_counter()
        model.fit(in_memory, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
        return steps * int(batch[0].shape[0]) / (time.perf_counter() - start)

    # Alternate the two so that a slow spell of a shared machine hits both; report medians.
    pipeline, training = [], []
    for _ in range(rounds):
        pipeline.append(images_per_second(endless, seconds))
        training.append(training_rate())
    return {"model": model_name, "input": "x".join(map(str, cfg.model.input_shape)),
            "batch": int(cfg.data.batch_size), "pipeline": statistics.median(pipeline),
            "training": statistics.median(training)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["default", "lenet5"])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--augment", default="strong")
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurements; medians")
    args = parser.parse_args()
    print(f"data={args.data} augment={args.augment} cpus={os.cpu_count()} "
          f"load average={os.getloadavg()[0]:.1f} (other processes share these CPUs)")
    print(f"{'model':10s} {'input':10s} {'batch':>5s} {'pipeline img/s':>15s} "
          f"{'train step img/s':>17s} {'ratio':>7s}")
    ok = True
    for name in args.models:
        row = measure(name, args.augment, args.data, args.seconds, args.rounds)
        ratio = row["pipeline"] / row["training"]
        ok &= ratio >= TARGET_RATIO
        print(f"{row['model']:10s} {row['input']:10s} {row['batch']:5d} {row['pipeline']:15.0f} "
              f"{row['training']:17.0f} {ratio:6.1f}x {'ok' if ratio >= TARGET_RATIO else 'SLOW'}")
    print(f"target: pipeline >= {TARGET_RATIO:.0f}x the training step")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""Input pipeline vs training step: images/s side by side for the default models.

The pipeline alone (decode, preprocess, cache, shuffle, `augment=strong`, batch, prefetch,
iterated without a model) must deliver at least 3x the images/s of the model's training step
(measured on batches already in memory), so the model never waits for data. Both figures come
from the same run on this machine, measured alternately (`--rounds`, medians) so that a slow
spell of a shared machine hits both; the script prints them with their ratio and exits 1 when a
ratio is below the target.

    python scripts/bench_input.py [--models default lenet5] [--seconds 2] [--rounds 3] [--augment strong]

With `--folder DIR` (class sub-folders of images) it compares instead cnnkit's folder pipeline
with `keras.utils.image_dataset_from_directory`, the anchor a Keras user would pick, both
resizing to `--image-size` and batching: on the first pass (decode-bound, no cache on either
side) and in steady state with each side's defaults (cnnkit: data.cache=auto, filled by one pass
before timing; Keras: no cache, so it decodes again). `--images N` links N files of DIR into a
temporary folder both sides read. Target: cnnkit >= 1.5x on the first pass.

    python scripts/bench_input.py --folder DIR [--image-size 224] [--images 4000] [--rounds 3]
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
FIRST_PASS_TARGET = 1.5


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


def linked_subset(folder: str, images: int, into: str) -> str:
    """`images` files of the class tree `folder` (the same share of each class), linked into
    `into`, so both contenders read the same files and a pass takes seconds, not minutes."""
    from pathlib import Path

    classes = sorted(p for p in Path(folder).iterdir() if p.is_dir())
    per_class = max(1, images // len(classes))
    for label in classes:
        target = Path(into) / label.name
        target.mkdir(parents=True)
        for file in sorted(label.iterdir())[:per_class]:
            (target / file.name).symlink_to(file.resolve())
    return into


def first_pass_rate(batches: Any) -> float:
    """Images/s over one whole pass of a fresh dataset (its start-up included)."""
    count, start = 0, time.perf_counter()
    for x, _ in batches:
        count += int(x.shape[0])
    return count / (time.perf_counter() - start)


def compare_folder(folder: str, image_size: int, batch: int, rounds: int) -> dict[str, list[float]]:
    """images/s of cnnkit's folder pipeline and Keras' image_dataset_from_directory, alternating."""
    import tempfile

    import keras

    from cnnkit.config.compose import compose
    from cnnkit.data.build import prepare_data

    def cnnkit_data(cache: str, cache_dir: str) -> Any:
        cfg = compose("train", ["data=folder", f"data.path={folder}", f"data.image_size={image_size}",
                                f"data.batch_size={batch}", "data.val_fraction=0",
                                "data.test_fraction=0", "augment=none", f"data.cache={cache}",
                                "data.normalize=rescale", f"data.cache_dir={cache_dir}"])
        return prepare_data(cfg, "label")

    def keras_data() -> Any:
        return keras.utils.image_dataset_from_directory(
            folder, image_size=(image_size, image_size), batch_size=batch, verbose=False)

    def decode_only() -> Any:
        """Reading and decoding each file, nothing else: the most any pipeline that decodes
        these files whole can deliver (no resize, no batching into one tensor)."""
        import tensorflow as tf

        files = tf.data.Dataset.list_files(f"{folder}/*/*", shuffle=False)
        decoded = files.map(lambda f: tf.io.decode_jpeg(tf.io.read_file(f),
                                                        dct_method="INTEGER_FAST"),
                            num_parallel_calls=tf.data.AUTOTUNE)
        return decoded.batch(batch).map(lambda x: (x, 0)).prefetch(tf.data.AUTOTUNE)

    rates: dict[str, list[float]] = {k: [] for k in ("cnnkit first", "keras first",
                                                     "cnnkit steady", "keras steady",
                                                     "decode only")}
    with tempfile.TemporaryDirectory() as cache_dir:
        steady = cnnkit_data("auto", cache_dir)
        stream, steps = steady.training_stream(None)  # one iterator for all epochs, as fit reads
        batches = iter(stream)
        for _ in range(steps):  # the first epoch fills the memory cache (disk: filled already)
            next(batches)
        for _ in range(rounds):
            rates["cnnkit first"].append(first_pass_rate(
                cnnkit_data("none", cache_dir).dataset("train", training=True)))
            rates["keras first"].append(first_pass_rate(keras_data()))
            rates["decode only"].append(first_pass_rate(decode_only()))
            rates["cnnkit steady"].append(first_pass_rate(next(batches) for _ in range(steps)))
            rates["keras steady"].append(first_pass_rate(keras_data()))
        rates["cnnkit cache"] = [0.0 if steady.cached_split("train")[1] == "memory" else 1.0]
    return rates


def folder_main(args: Any) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as links:
        folder = linked_subset(args.folder, args.images, links) if args.images else args.folder
        rates = compare_folder(folder, args.image_size, args.batch, args.rounds)
    median = {k: statistics.median(v) for k, v in rates.items()}
    cache = "disk" if median.pop("cnnkit cache") else "memory"
    print(f"folder {args.folder} ({args.images or 'all'} images) at {args.image_size}x"
          f"{args.image_size}, batch {args.batch}, {args.rounds} alternating rounds, medians; "
          f"cpus={os.cpu_count()} load average={os.getloadavg()[0]:.1f}")
    print(f"{'pass':28s} {'cnnkit img/s':>13s} {'Keras img/s':>12s} {'ratio':>7s}")
    first = median["cnnkit first"] / median["keras first"]
    for label, key in (("first pass (no cache)", "first"),
                       (f"steady state (cnnkit {cache} cache)", "steady")):
        ratio = median[f"cnnkit {key}"] / median[f"keras {key}"]
        print(f"{label:28s} {median[f'cnnkit {key}']:13.0f} {median[f'keras {key}']:12.0f} "
              f"{ratio:6.2f}x")
    ceiling = median["decode only"]
    print(f"{'decode only (the ceiling)':28s} {ceiling:13.0f} {'':12s} "
          f"{ceiling / median['keras first']:6.2f}x  (read + libjpeg-turbo decode of each file, "
          "nothing else)")
    print(f"target: first pass >= {FIRST_PASS_TARGET}x image_dataset_from_directory: "
          f"{first:.2f}x {'ok' if first >= FIRST_PASS_TARGET else 'MISSED'}")
    sys.exit(0 if first >= FIRST_PASS_TARGET else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", help="compare folder pipelines on this class tree instead")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--images", type=int, default=4000, help="with --folder; 0: all")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--models", nargs="+", default=["default", "lenet5"])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--augment", default="strong")
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurements; medians")
    args = parser.parse_args()
    if args.folder:
        folder_main(args)
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

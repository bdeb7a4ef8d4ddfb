"""Training throughput: cnnkit's training loop beside a plain Keras script and a plain PyTorch loop.

In one process, on the same model, data and batch:
  cnnkit        `cnnkit train`'s own code path with cnnkit's defaults: Engine.prepare, the
                engine's compile and its endless training stream, through Engine.fit;
  plain Keras   the same layers written with plain keras layers, `model.compile` with Keras'
                defaults and `model.fit(x, y, batch_size=B)` on standardised NumPy arrays;
  PyTorch       when torch is installed (it is no cnnkit dependency; skipped when absent): a plain
                CPU loop of the same layers (shuffled index batches, Adam, cross-entropy), on
                its default threads and on one (the targets take the faster each round);
  matmul        float32 `tf.linalg.matmul` of two large square matrices: the peak beside which
                the achieved GFLOP/s stand (cnnkit summary's forward FLOPs x 3 for training).
None of them validates or writes checkpoints: this measures the training steps. Each contender
runs in its own thread and keeps its loop and iterator alive, but only one runs at a time: they
take turns of about `--seconds` each, in orders where each follows every other equally often,
and the figures are
medians over `--rounds` (the first turn, with tracing and warm-up, is not counted), because this
shared machine runs a short burst up to 2x faster than sustained load; ratios are medians of
the per-round ratios. Exits 1 when a target (TARGETS) is missed.

    python scripts/bench_train.py [--preset default|468k|all] [--rounds 15] [--seconds 1]
        [--also 'trainer.steps_per_execution=1'] [--intra-op 1] [--no-torch]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnkit.training.strategy import TRAINING_FLOPS_FACTOR  # imports no TensorFlow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
EPOCHS = 10**6  # every contender runs until its turns are over
MATMUL_SIZE = 2048

# A 468k-parameter CNN for 28x28x1 images (VGG-like: two conv pairs, a dense head): 467,818
# parameters with 10 classes; compute-bound at batch 128, unlike the default model on digits.
CNN468K = """\
model:
  input_shape: [28, 28, 1]
  layers:
    - Conv2D: {filters: 32, kernel_size: 3, padding: same, activation: relu}
    - Conv2D: {filters: 32, kernel_size: 3, padding: same, activation: relu}
    - MaxPooling2D: {pool_size: 2}
    - Conv2D: {filters: 64, kernel_size: 3, padding: same, activation: relu}
    - Conv2D: {filters: 64, kernel_size: 3, padding: same, activation: relu}
    - MaxPooling2D: {pool_size: 2}
    - Flatten: {}
    - Dense: {units: 128, activation: relu}
    - Dropout: {rate: 0.5}
    - Dense: {units: "${model.num_classes}", activation: "${model.output_activation}"}
"""


# --- the pure parts: turns, medians, FLOP arithmetic ------------------------------------------

class Finished(Exception):
    """A contender's turns are over: unwinds its training loop."""


def balanced_orders(n: int) -> list[list[int]]:
    """Orders of n contenders in which each one directly follows every other equally often (a
    Williams design): a heavy turn (the matmul heats the cores and spends the boost) must not
    always come before the same contender, as it would in merely rotated orders."""
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(v + i) % n for v in first] for i in range(n)]
    return rows + [row[::-1] for row in rows] if n % 2 else rows


class Turns:
    """Contenders take turns, one at a time, round after round in balanced orders (each follows
    every other equally often). A failed contender ends everybody's turns."""

    def __init__(self, names: list[str], rounds: int) -> None:
        orders = balanced_orders(len(names))
        self.schedule = [names[i] for r in range(rounds) for i in orders[r % len(orders)]]
        self.position = 0
        self._cond = threading.Condition()

    def wait(self, name: str) -> bool:
        """Block until `name`'s next turn; False when it has none left."""
        with self._cond:
            self._cond.wait_for(lambda: self.position >= len(self.schedule)
                                or self.schedule[self.position] == name)
            return self.position < len(self.schedule)

    def done(self) -> None:
        """The turn now running is over: the next one's."""
        with self._cond:
            self.position += 1
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self.position = len(self.schedule)
            self._cond.notify_all()


@dataclass
class Clock:
    """One contender's side of the turns. `tick()`, called before each step (or each execution of
    several), ends a turn once it has lasted `seconds`: it records the units of work done (read
    with `count`) and the time, and waits for the next turn. Raises `Finished` when none is left."""

    name: str
    turns: Turns
    seconds: float
    count: Callable[[], int] = lambda: 0
    bursts: list[tuple[int, float]] = field(default_factory=list)  # (units, seconds) per turn

    def begin(self) -> None:
        if not self.turns.wait(self.name):
            raise Finished
        self._start, self._units = time.perf_counter(), self.count()

    def tick(self) -> None:
        elapsed = time.perf_counter() - self._start
        if elapsed < self.seconds:
            return
        self.bursts.append((self.count() - self._units, elapsed))
        self.turns.done()
        self.begin()


def rates(clock: Clock, scale: float = 1.0, skip: int = 1) -> list[float]:
    """Units per second of each timed turn (round order), times `scale`."""
    return [scale * units / seconds for units, seconds in clock.bursts[skip:]]


def paired_median(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of the ratio of two contenders' rates in the same round: both were
    measured seconds apart, so a slow spell of the machine mostly cancels."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=False))


def training_gflops(images_per_second: float, forward_flops: int) -> float:
    """Achieved GFLOP/s of training: forward FLOPs per image x 3 (forward, backward)."""
    return images_per_second * forward_flops * TRAINING_FLOPS_FACTOR / 1e9


def matmul_flops(n: int) -> int:
    """FLOPs of one n x n by n x n matrix product (n^3 multiply-adds)."""
    return 2 * n**3


def run_in_turns(contenders: dict[str, Callable[[Clock], None]], rounds: int, seconds: float
                 ) -> dict[str, Clock]:
    """Run every contender in its own thread, in turns (`rounds` timed ones after a warm-up
    turn each); each calls `clock.tick()` before every step. Their clocks, with the bursts."""
    turns = Turns(list(contenders), rounds + 1)
    clocks = {name: Clock(name, turns, seconds) for name in contenders}
    errors: list[BaseException] = []

    def work(name: str, run: Callable[[Clock], None]) -> None:
        try:
            clocks[name].begin()
            run(clocks[name])
        except Finished:
            return
        except BaseException as exc:  # noqa: BLE001 (re-raised in the main thread)
            errors.append(exc)
            turns.abort()

    threads = [threading.Thread(target=work, args=item, name=item[0], daemon=True)
               for item in contenders.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return clocks


# --- the contenders ---------------------------------------------------------------------------

@dataclass
class Preset:
    name: str
    overrides: list[str]
    keras_layers: Callable[[Any, int], list[Any]]  # (keras.layers, classes) -> the layers
    torch_layers: Callable[[Any, int, int], list[Any]]  # (torch.nn, channels, classes)
    needs: Path | None = None  # data that must exist


def default_keras(L: Any, classes: int) -> list[Any]:
    """conf/model/default.yaml written by hand."""
    return [L.Conv2D(32, 3, padding="same", activation="relu"), L.BatchNormalization(momentum=0.9),
            L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
            L.Conv2D(64, 3, padding="same", activation="relu"), L.BatchNormalization(momentum=0.9),
            L.GlobalAveragePooling2D(), L.Dropout(0.2), L.Dense(classes, activation="softmax")]


def default_torch(nn: Any, channels: int, classes: int) -> list[Any]:
    return [nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(32, 1e-3, 0.1),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(64, 1e-3, 0.1),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, classes)]


def cnn468k_keras(L: Any, classes: int) -> list[Any]:
    """CNN468K written by hand."""
    return [L.Conv2D(32, 3, padding="same", activation="relu"),
            L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
            L.Conv2D(64, 3, padding="same", activation="relu"),
            L.Conv2D(64, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
            L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.5),
            L.Dense(classes, activation="softmax")]


def cnn468k_torch(nn: Any, channels: int, classes: int) -> list[Any]:
    return [nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, classes)]


def presets(data_dir: Path, spec_file: Path) -> dict[str, Preset]:
    fashion = data_dir / "fashion-mnist" / "fashion-mnist.npz"
    return {
        "default": Preset("default", [], default_keras, default_torch),
        "468k": Preset("468k", [f"conf={spec_file}", "data=numpy", f"data.path={fashion}",
                                "data.val_fraction=0", "data.batch_size=128"],
                       cnn468k_keras, cnn468k_torch, needs=fashion),
    }


def keras_turns(clock: Clock, model: Any) -> Any:
    """A Keras callback that ticks `clock` before every call of the train function, counting the
    optimizer's steps; only `on_train_batch_begin`, so Keras still dispatches batch-end
    callbacks asynchronously as it does without one."""
    import keras

    class Turn(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            clock.tick()

    clock.count = lambda: int(model.optimizer.iterations.numpy())
    return Turn()


def cnnkit_contender(overrides: list[str], run_dir: Path) -> tuple[Any, Callable[[Clock], None]]:
    """The engine, prepared as `cnnkit train` prepares it; runs Engine.fit with the turns as its
    only callback (no validation, checkpoints or history: what is timed is the training steps)."""
    from rich.console import Console

    from cnnkit.commands.validation import validated
    from cnnkit.config.compose import compose
    from cnnkit.training.engine import Engine

    cfg = validated(compose("train", [*overrides, f"trainer.epochs={EPOCHS}", "trainer.verbose=0"]))
    engine = Engine(cfg, run_dir, Console(file=open(os.devnull, "w")))  # noqa: SIM115
    engine.prepare()
    engine.has_val = False

    def run(clock: Clock) -> None:
        engine.callbacks.all = [keras_turns(clock, engine.model)]
        engine.fit()

    return engine, run


def plain_arrays(engine: Any) -> tuple[Any, Any]:
    """The training split as a plain script has it: NumPy arrays scaled to [0, 1] and
    standardised with the same mean and std (the presets need no resizing)."""
    import numpy as np

    prep = engine.data.preprocessing
    x, y = engine.data.source.split("train")
    x = np.asarray(x, "float32").reshape(len(x), *prep.target_shape) / prep.value_max
    mean, std = np.asarray(prep.mean or [0.0], "float32"), np.asarray(prep.std or [1.0], "float32")
    return (x - mean) / std, np.asarray(y, "int64")


def keras_contender(layers: list[Any], x: Any, y: Any, batch: int) -> tuple[Any, Callable[[Clock], None]]:
    """The hand-written Keras script: Keras' defaults everywhere but the epochs."""
    import keras

    model = keras.Sequential([keras.Input(x.shape[1:]), *layers])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    def run(clock: Clock) -> None:
        model.fit(x, y, batch_size=batch, epochs=EPOCHS, verbose=0,
                  callbacks=[keras_turns(clock, model)])

    return model, run


def torch_contender(layers: list[Any], x: Any, y: Any, batch: int, threads: int
                    ) -> tuple[Any, Callable[[Clock], None]]:
    """The plain PyTorch loop: channels-first tensors, a shuffled index batch per step, on
    `threads` (set again before a step when the other PyTorch contender changed it)."""
    import torch

    model = torch.nn.Sequential(*layers)
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    yt = torch.from_numpy(y)

    def run(clock: Clock) -> None:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()
        steps = [0]
        clock.count = lambda: steps[0]
        model.train()
        while True:
            order = torch.randperm(len(xt))
            for start in range(0, len(xt), batch):
                clock.tick()
                if torch.get_num_threads() != threads:
                    torch.set_num_threads(threads)
                index = order[start:start + batch]
                optimizer.zero_grad()
                loss_fn(model(xt[index]), yt[index]).backward()
                optimizer.step()
                steps[0] += 1

    return model, run


def matmul_contender(n: int) -> Callable[[Clock], None]:
    def run(clock: Clock) -> None:
        import tensorflow as tf

        a, b = tf.random.normal([n, n], seed=1), tf.random.normal([n, n], seed=2)
        done = [0]
        clock.count = lambda: done[0]
        while True:
            clock.tick()
            tf.linalg.matmul(a, b)  # eager on CPU: returns when the product is there
            done[0] += 1

    return run


# --- one preset, printed --------------------------------------------------------------------

def measure(preset: Preset, work: Path, rounds: int, seconds: float, with_torch: bool,
            variants: list[str]) -> dict[str, Any]:
    """Build the contenders of `preset`, run them in turns; images/s per turn of each, and
    the matmul's GFLOP/s."""
    import keras

    from cnnkit.models.summary import summarize

    engine, run_cnnkit = cnnkit_contender(preset.overrides, work / f"{preset.name}-cnnkit")
    batch = int(engine.cfg.data.batch_size)
    x, y = plain_arrays(engine)
    classes = int(engine.cfg.model.num_classes)
    plain, run_plain = keras_contender(preset.keras_layers(keras.layers, classes), x, y, batch)
    contenders = {"cnnkit": run_cnnkit, "plain Keras": run_plain}
    models = {"cnnkit": engine.model, "plain Keras": plain}
    for i, variant in enumerate(variants):  # cnnkit with other settings, e.g. a former default
        other, contenders[variant] = cnnkit_contender([*preset.overrides, *variant.split()],
                                                      work / f"{preset.name}-variant{i}")
        models[variant] = other.model
    params = {name: _trainable(model) for name, model in models.items()}
    if with_torch:
        import torch

        # Its default (a thread per core) and one thread: with another process busy on one of
        # two cores, the default's OpenMP barriers wait for a descheduled thread at every op,
        # 30x slower here; one thread keeps going. The target is against the faster of the two.
        torch.manual_seed(0)
        for name, threads in {"PyTorch": torch.get_num_threads(), "PyTorch 1 thread": 1}.items():
            net, contenders[name] = torch_contender(
                preset.torch_layers(torch.nn, x.shape[-1], classes), x, y, batch, threads)
            params[name] = sum(p.numel() for p in net.parameters())
    contenders["matmul"] = matmul_contender(MATMUL_SIZE)
    clocks = run_in_turns(contenders, rounds, seconds)
    return {"engine": engine, "batch": batch, "images": len(x), "params": params,
            "spe": {name: model.steps_per_execution for name, model in models.items()},
            "rates": {name: rates(clock, batch) for name, clock in clocks.items() if name != "matmul"},
            "peak": rates(clocks["matmul"], matmul_flops(MATMUL_SIZE) / 1e9),
            "flops": int(summarize(engine.model)["flops"]),
            "total_params": engine.model.count_params()}


def _trainable(model: Any) -> int:
    return int(sum(int(w.numpy().size) for w in model.trainable_weights))


def report(preset: str, figures: dict[str, Any], targets: dict[str, float]) -> bool:
    """Print one preset's table; True when its targets hold."""
    cfg, policy = figures["engine"].cfg, figures["engine"].policy
    found, peak, flops = figures["rates"], figures["peak"], figures["flops"]
    base = found["plain Keras"]
    print(f"\n== preset {preset}: model {cfg.model.name}, {figures['total_params']:,} parameters "
          f"(trainable: {', '.join(f'{k} {v:,}' for k, v in figures['params'].items())})")
    print(f"   input {'x'.join(map(str, cfg.model.input_shape))}, data={cfg.data.source} "
          f"({figures['images']:,} training images), batch {figures['batch']}; forward "
          f"{flops / 1e6:.2f} MFLOP per image (cnnkit summary), training counted x{TRAINING_FLOPS_FACTOR}")
    print(f"   cnnkit: XLA {'on' if policy.jit_compile else 'off'}, steps per execution "
          f"{', '.join(f'{k} {v}' for k, v in figures['spe'].items())}")
    width = max(12, *(len(name) for name in found))
    print(f"   {'contender':{width}s} {'images/s':>9s} {'(quartiles)':>15s} {'x plain Keras':>13s} "
          f"{'GFLOP/s':>8s} {'of peak':>8s}")
    for name, values in found.items():
        q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        gflops = [training_gflops(v, flops) for v in values]
        print(f"   {name:{width}s} {statistics.median(values):9.0f} {f'({q1:.0f}-{q3:.0f})':>15s} "
              f"{paired_median(values, base):12.2f}x {statistics.median(gflops):8.1f} "
              f"{paired_median(gflops, peak):7.0%}")
    q1, _, q3 = statistics.quantiles(peak, n=4) if len(peak) > 1 else peak * 3
    print(f"   {'matmul peak':{width}s} {'':9s} {'':15s} {'':13s} {statistics.median(peak):8.1f} "
          f"{'100%':>8s}   float32 {MATMUL_SIZE}x{MATMUL_SIZE} (quartiles {q1:.0f}-{q3:.0f})")
    print("   (ratios and shares: medians of the per-round ratios)")
    ok = True
    for other, target in targets.items():
        kin = [values for name, values in found.items() if name.startswith(other)]
        if not kin:
            print(f"   target cnnkit >= {target:.2f}x {other}: not measured ({other} absent)")
            continue
        best = [max(per_round) for per_round in zip(*kin, strict=True)]
        ratio = paired_median(found["cnnkit"], best)
        each = [a / b for a, b in zip(found["cnnkit"], best, strict=True)]
        q1, _, q3 = statistics.quantiles(each, n=4) if len(each) > 1 else each * 3
        ok &= ratio >= target
        print(f"   target cnnkit >= {target:.2f}x {other}{' (the faster each round)' if len(kin) > 1 else ''}"
              f": {ratio:.2f}x (rounds' quartiles {q1:.2f}-{q3:.2f}) {'ok' if ratio >= target else 'MISSED'}")
    return ok


# 468k: "no slower" when both run the same kernels; 0.98 because paired turns resolve ~2-3% here
TARGETS = {"default": {"plain Keras": 1.25, "PyTorch": 1.4}, "468k": {"plain Keras": 0.98}}
PEAK_GOAL = 0.70  # share of the matmul peak on the compute-bound preset (reported, not enforced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=["default", "468k", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=15, help="timed turns of each contender")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one turn")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--also", action="append", default=[], metavar="OVERRIDES",
                        help="one more cnnkit contender with these overrides (space-separated), "
                             "e.g. --also 'trainer.steps_per_execution=1': a default's before/after")
    parser.add_argument("--intra-op", type=int, default=0, metavar="N",
                        help="TensorFlow's intra-op threads for the whole process, every TensorFlow "
                             "contender alike (0: TensorFlow's default, one per core)")
    args = parser.parse_args()
    if args.preset == "all":  # one process each: cnnkit fixes TensorFlow's threads per process
        codes = [subprocess.run([sys.executable, __file__, *sys.argv[1:], "--preset", name]).returncode
                 for name in ("default", "468k")]
        sys.exit(max(codes))
    try:
        import torch

        with_torch = not args.no_torch
        torch_line = (f", PyTorch {torch.__version__} ({torch.get_num_threads()} threads by default)"
                      if with_torch else ", PyTorch left out")
    except ImportError:
        with_torch, torch_line = False, ", PyTorch not installed: its loop is skipped (no cnnkit dependency)"
    import keras
    import tensorflow as tf

    if args.intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    print(f"cpus={os.cpu_count()} load average={os.getloadavg()[0]:.1f} (a shared machine: the "
          f"contenders take turns of {args.seconds:g} s, {args.rounds} rounds); TensorFlow "
          f"{tf.__version__}, Keras {keras.__version__} (intra-op threads "
          f"{args.intra_op or 'default'}){torch_line}")
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        spec = Path(tmp) / "cnn468k.yaml"
        spec.write_text(CNN468K)
        chosen = presets(SHARED_DATA, spec)
        if args.intra_op:  # cnnkit's trainer.threads=auto would set its own before the others
            for preset in chosen.values():
                preset.overrides.append(f"trainer.threads={args.intra_op}")
        name, preset = args.preset, chosen[args.preset]
        if preset.needs is not None and not preset.needs.exists():
            print(f"\n== preset {name}: skipped, {preset.needs} is absent (the shared Fashion-MNIST)")
            sys.exit(0)
        figures = measure(preset, Path(tmp), args.rounds, args.seconds, with_torch, args.also)
        ok = report(name, figures, TARGETS[name])
        if name == "468k":
            share = paired_median([training_gflops(v, figures["flops"])
                                   for v in figures["rates"]["cnnkit"]], figures["peak"])
            print(f"   cnnkit reaches {share:.0%} of the matmul peak (goal {PEAK_GOAL:.0%}: "
                  f"{'met' if share >= PEAK_GOAL else 'not met'})")
        print(f"   load average now {os.getloadavg()[0]:.1f}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

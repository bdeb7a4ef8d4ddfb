"""Device policy: tf.distribute strategy, mixed precision and XLA, decided per device.

Distribution uses TensorFlow's own engines (MirroredStrategy on several local GPUs,
MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster); cnnkit adds no engine of its own,
only the shim that makes Keras' fit work on several workers (`cnnkit.training.distribute`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnkit.errors import ConfigError
from cnnkit.training.distribute import fix_multi_worker_fit, is_chief

# `trainer.steps_per_execution=auto`: the training work one call of the train function should do.
# Each call costs ~1-2 ms of Python and dispatch here, which a small model's step does not hide
# (the default CNN on digits: ~6 ms/step). 8 GFLOP take ~0.3 s on this CPU: the default CNN runs
# its whole 40-step epoch in one call, measured 4.5-7% more images/s than 10 steps per call
# (2 GFLOP) in three bench_train runs of 25 rounds; a progress bar still moves a few times a second.
EXECUTION_FLOPS = 8e9
TRAINING_FLOPS_FACTOR = 3  # a training step: forward, then gradients of inputs and of weights


@dataclass
class DevicePolicy:
    strategy: Any
    jit_compile: bool
    mixed_precision: bool
    gpus: int
    threads: int | None = None  # TensorFlow's threads per op when cnnkit set them

    @property
    def precision(self) -> str:
        return precision_policy(self.mixed_precision, self.gpus)

    def describe(self) -> str:
        slow = (" (this CPU has no bfloat16 units: emulated, no faster than float32; set "
                "trainer.mixed_precision=false)"
                if self.precision == "mixed_bfloat16" and cpu_has_bfloat16() is False else "")
        threads = f"; {_count(self.threads, 'thread')} per op" if self.threads else ""
        return (f"{strategy_in_words(self.strategy, self.gpus)}; XLA "
                f"{'on' if self.jit_compile else 'off'}; {self.precision}{slow}{threads}")


#: below this many input values per batch (batch x the model input's size) a training step's
#: ops are too small to split across cores: on the default CNN and 8x8 digits at batch 32
#: (2,048), scripts/bench_train.py measured cnnkit at 1.24x the PyTorch loop of the same run
#: with one thread per core and 1.42x with one thread per op; the 468k-parameter CNN at batch
#: 128 on 28x28 images (100,352) lost ~7% with one thread
SMALL_STEP_VALUES = 2**16


def small_step(batch_size: int, input_shape: list[int] | None) -> bool | None:
    """Whether a batch holds fewer than SMALL_STEP_VALUES input values (None: the input shape is
    not known before TensorFlow starts, e.g. a folder of images)."""
    if not input_shape or any(d is None for d in input_shape):
        return None
    return int(batch_size) * math.prod(int(d) for d in input_shape) < SMALL_STEP_VALUES


def intra_op_threads(value: Any, small: bool | None) -> int | None:
    """`trainer.threads`: TensorFlow's threads per op, or None for its default (one per core).
    auto: 1 for a small step (`small_step`), else the default (also when its size is unknown)."""
    if value != "auto":
        return int(value)
    return 1 if small else None


def set_intra_op_threads(threads: int | None, explicit: bool) -> int | None:
    """Apply `threads` (must run before TensorFlow's first op); the number in effect, or None.
    Where TensorFlow already runs in this process (a notebook, tests) its pools stay: an explicit
    `trainer.threads` is then refused, auto keeps them."""
    import tensorflow as tf

    if threads is None or tf.config.threading.get_intra_op_parallelism_threads() == threads:
        return threads
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError as exc:
        if explicit:
            raise ConfigError(
                f"`trainer.threads={threads}` needs a process where TensorFlow has not run yet "
                "(its thread pools are fixed at the first op). Received: a process where it "
                "has. Expected: a fresh `cnnkit train`, or trainer.threads=auto") from exc
        return None
    return threads


def cpu_has_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> bool | None:
    """Whether the CPU has AMX or AVX-512 bfloat16 instructions (None: not known, e.g. not Linux)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return None
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), None)
    return None if flags is None else bool({"amx_bf16", "avx512_bf16"} & set(flags))


def auto_mixed_precision(gpus: int, small: bool | None, has_bfloat16: bool | None) -> bool:
    """`trainer.mixed_precision=auto`: on GPUs (float16); on a CPU only where it has bfloat16
    units and a step is known not to be small. Emulated bfloat16 gains nothing (on this
    project's AVX2-only EPYC a 1024x1024 matmul and a 3x3 convolution took float32's time) and
    only adds casts and rounding, and a small step's casts cost more than its matmuls gain."""
    return gpus > 0 or (has_bfloat16 is True and small is False)


def precision_policy(mixed: bool, gpus: int) -> str:
    """The Keras dtype policy of `trainer.mixed_precision`: float16 on GPUs (tensor cores; Keras
    scales the loss), bfloat16 on CPUs, where oneDNN runs it on AMX / AVX-512 BF16 units (a
    2048x2048 matmul ran 2.3x float32's speed on this machine's Xeon) and float16 is emulated."""
    if not mixed:
        return "float32"
    return "mixed_float16" if gpus else "mixed_bfloat16"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def strategy_in_words(strategy: Any, gpus: int) -> str:
    """What the strategy trains on, for the device line, by its public name (TF's classes are
    private ones such as CollectiveAllReduceStrategy): `worker 0 (chief) of 2 machines
    (MultiWorkerMirroredStrategy)`, `2 GPUs on this machine (MirroredStrategy)`, ..."""
    import tensorflow as tf

    replicas = strategy.num_replicas_in_sync
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        resolver = strategy.cluster_resolver  # from TF_CONFIG; no task type outside a cluster
        cluster = resolver.cluster_spec().as_dict()
        machines = max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))
        if resolver.task_type == "chief":
            task = "the chief"
        else:
            task = f"worker {resolver.task_id or 0}{' (chief)' if is_chief(strategy) else ''}"
        extra = f", {_count(replicas, 'replica')} in all" if replicas != machines else ""
        return f"{task} of {_count(machines, 'machine')}{extra} (MultiWorkerMirroredStrategy)"
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        device = "GPU" if gpus else "CPU device"
        return f"{_count(replicas, device)} on this machine (MirroredStrategy)"
    return f"one device, no distribution; {'GPU' if gpus else 'CPU'}"


def multi_worker_requested(mode: str) -> bool:
    """`trainer.distribute` resolves to multi_worker: asked for, or `auto` with TF_CONFIG set."""
    return mode == "multi_worker" or (mode == "auto" and bool(os.environ.get("TF_CONFIG")))


def check_cluster(config: dict[str, Any]) -> None:
    """A rule of the validation pass: TF_CONFIG, when it is used, describes a cluster."""
    mode = (config.get("trainer") or {}).get("distribute", "auto")
    raw = os.environ.get("TF_CONFIG")
    if mode == "multi_worker" and not raw:
        raise ConfigError(
            "`trainer.distribute=multi_worker` needs the TF_CONFIG environment variable "
            "describing the cluster. Received: TF_CONFIG unset")
    if mode not in ("auto", "multi_worker") or not raw:
        return
    example = '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"`TF_CONFIG` is not valid JSON ({exc.msg} at character {exc.pos}). "
                          f"Expected e.g. {example}") from exc
    cluster = spec.get("cluster") if isinstance(spec, dict) else None
    task = spec.get("task") if isinstance(spec, dict) else None
    if not isinstance(cluster, dict) or not any(isinstance(v, list) and v for v in cluster.values()):
        raise ConfigError(f"`TF_CONFIG` has no `cluster` with a list of hosts. Received: {raw!r}. "
                          f"Expected e.g. {example}")
    if not isinstance(task, dict) or task.get("type") not in cluster or not isinstance(
            task.get("index"), int) or not 0 <= task["index"] < len(cluster[task["type"]]):
        raise ConfigError(f"`TF_CONFIG.task` must name this process's role in the cluster, "
                          f"e.g. {{\"type\": \"worker\", \"index\": 0}}. Received: {task!r}")


def _pick(value: Any, auto: bool) -> bool:
    return auto if value == "auto" else bool(value)


def build_policy(trainer_cfg: Any, threads: int | None = None,
                 small: bool | None = None) -> DevicePolicy:
    """Choose the strategy, XLA and precision (`small`: whether a step is small, `small_step`);
    must run before any model is built."""
    import keras
    import tensorflow as tf

    gpus = len(tf.config.list_physical_devices("GPU"))
    mode = str(trainer_cfg.distribute)
    if multi_worker_requested(mode):
        check_cluster({"trainer": {"distribute": "multi_worker"}})
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        fix_multi_worker_fit(strategy)  # before any model is compiled
    elif mode == "mirrored" or (mode == "auto" and gpus > 1):
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    bfloat16 = cpu_has_bfloat16() if gpus == 0 and trainer_cfg.mixed_precision == "auto" else None
    mixed = _pick(trainer_cfg.mixed_precision, auto_mixed_precision(gpus, small, bfloat16))
    keras.mixed_precision.set_global_policy(precision_policy(mixed, gpus))
    return DevicePolicy(strategy, _pick(trainer_cfg.jit_compile, gpus > 0), mixed, gpus, threads)


def multi_worker(strategy: Any) -> bool:
    """Whether `strategy` is a MultiWorkerMirroredStrategy (one or several machines)."""
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def steps_per_execution(value: Any, forward_flops: int, batch_size: int, steps_per_epoch: int) -> int:
    """`trainer.steps_per_execution` for an epoch of `steps_per_epoch` steps.

    Keras runs every call's steps from the one endless training stream, so a number that does not
    divide the epoch would carry each epoch into the next one's batches (epochs longer than the
    data, and resume no longer exact): a given number must divide it. `auto`: the largest divisor
    of the epoch that does not exceed EXECUTION_FLOPS of training work per call (from the forward
    FLOPs of one example, as `cnnkit summary` counts them); 1 when the FLOPs are unknown (0)."""
    steps = int(steps_per_epoch)
    if value != "auto":
        if steps % int(value):
            raise ConfigError(
                f"`trainer.steps_per_execution` must divide the {steps} steps of an epoch, or the "
                f"epochs would run into one another. Received: {value}. Expected one of: "
                f"{', '.join(map(str, _divisors(steps)))}, or auto")
        return int(value)
    step = TRAINING_FLOPS_FACTOR * int(forward_flops) * int(batch_size)
    if step <= 0:
        return 1
    wanted = max(1, math.ceil(EXECUTION_FLOPS / step))
    return max(d for d in _divisors(steps) if d <= wanted)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]

"""The keras#20585 shim (two real workers on localhost), the chief rule, batch and lr scaling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnkit.training.distribute import TESTED, global_batch_size, is_chief, scaled_lr
from tests.cluster import Finished, run_workers
from tests.conftest import REPO

WORKER = Path(__file__).with_name("fit_worker.py")
TIMEOUT = 300  # seconds for the whole cluster; one fit takes ~10 s here


PYTHONPATH = {"PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def _two_workers(tmp_path: Path, mode: str) -> list[Finished]:
    for index in range(2):
        (tmp_path / f"worker{index}").mkdir()
    commands = [[sys.executable, str(WORKER), str(tmp_path / f"worker{i}"), mode] for i in range(2)]
    return run_workers(commands, tmp_path, TIMEOUT, env={0: PYTHONPATH, 1: PYTHONPATH})


def _weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as arrays:
        return [arrays[key] for key in sorted(arrays.files, key=lambda k: int(k.split("_")[1]))]


@pytest.mark.slow  # two TensorFlow processes in a cluster: 20-90 s
def test_two_workers_fit_to_identical_weights_with_the_shim(tmp_path: Path) -> None:
    workers = _two_workers(tmp_path, "shim")
    for index, worker in enumerate(workers):
        assert worker.returncode == 0, f"worker {index} exited {worker.returncode}:\n{worker.output[-4000:]}"
    assert "device: worker 0 (chief) of 2 machines (MultiWorkerMirroredStrategy)" in workers[0].output
    assert "device: worker 1 of 2 machines (MultiWorkerMirroredStrategy)" in workers[1].output
    assert all("shim active: True; idempotent: True" in w.output for w in workers)
    for model in ("plain", "batchnorm"):  # batchnorm: moving statistics averaged too
        first, second = (_weights(tmp_path / f"worker{i}" / f"{model}.npz") for i in range(2))
        assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True)), model

    # one process with the whole global batch ends where the two workers' halves did
    (tmp_path / "alone").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"} | PYTHONPATH
    alone = subprocess.run([sys.executable, str(WORKER), str(tmp_path / "alone"), "plain"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    together = _weights(tmp_path / "worker0" / "plain.npz")
    for a, b in zip(together, _weights(tmp_path / "alone" / "plain.npz"), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.slow  # two TensorFlow processes in a cluster: 20-90 s
def test_keras_still_needs_the_shim(tmp_path: Path) -> None:
    """When this fails, Keras fits under MultiWorkerMirroredStrategy on its own: remove the shim."""
    workers = _two_workers(tmp_path, "plain")
    if all(w.returncode == 0 for w in workers):
        pytest.fail("Two workers fit WITHOUT the shim: keras#20585 is fixed upstream. Remove "
                    "fix_multi_worker_fit from cnnkit/training/distribute.py and its call in "
                    "strategy.build_policy, and widen the pins in pyproject.toml.")
    for index, worker in enumerate(workers):
        assert worker.returncode not in (0, None), f"worker {index} hung or passed:\n{worker.output[-4000:]}"
        assert "PerReplica" in worker.output, worker.output[-4000:]


def test_versions_are_pinned_to_the_ones_the_shim_was_tested_with() -> None:
    import keras
    import tensorflow as tf

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    keras_minor, tf_minor = TESTED["keras"], TESTED["tensorflow"]
    major, minor = (int(p) for p in tf_minor.split("."))
    assert f"tensorflow>={tf_minor},<{major}.{minor + 1}" in project["dependencies"]
    assert f"tensorflow[and-cuda]>={tf_minor},<{major}.{minor + 1}" in project["optional-dependencies"]["gpu"]
    major, minor = (int(p) for p in keras_minor.split("."))
    assert f"keras>={keras_minor},<{major}.{minor + 1}" in project["dependencies"]
    assert keras.__version__.startswith(f"{keras_minor}."), "installed Keras is not the tested one"
    assert tf.__version__.startswith(f"{tf_minor}."), "installed TensorFlow is not the tested one"


def test_the_shim_leaves_other_strategies_alone() -> None:
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    from cnnkit.training.distribute import fix_multi_worker_fit

    before = (trainer.reduce_per_replica, trainer.TensorFlowTrainer._maybe_symbolic_build)
    assert fix_multi_worker_fit(tf.distribute.get_strategy()) is False
    assert fix_multi_worker_fit(tf.distribute.MirroredStrategy()) is False
    assert (trainer.reduce_per_replica, trainer.TensorFlowTrainer._maybe_symbolic_build) == before


def _cluster(task: dict, **roles: list[str]) -> str:
    return json.dumps({"cluster": roles or {"worker": ["a:1", "b:1"]}, "task": task})


@pytest.mark.parametrize(("tf_config", "chief"), [
    (None, True),
    (_cluster({"type": "worker", "index": 0}), True),
    (_cluster({"type": "worker", "index": 1}), False),
    (_cluster({"type": "chief", "index": 0}, chief=["c:1"], worker=["a:1"]), True),
    (_cluster({"type": "worker", "index": 0}, chief=["c:1"], worker=["a:1"]), False),
    (_cluster({"type": "evaluator", "index": 0}, worker=["a:1"], evaluator=["e:1"]), False),
])
def test_is_chief_reads_the_task_of_tf_config(monkeypatch: pytest.MonkeyPatch,
                                              tf_config: str | None, chief: bool) -> None:
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    assert is_chief() is chief


def test_batch_size_is_global_unless_per_replica() -> None:
    assert global_batch_size(32, 4, per_replica=False) == 32
    assert global_batch_size(32, 4, per_replica=True) == 128


def test_learning_rate_scales_with_the_rule() -> None:
    assert scaled_lr(0.1, 4, "none") == pytest.approx(0.1)
    assert scaled_lr(0.1, 4, "linear") == pytest.approx(0.4)
    assert scaled_lr(0.1, 4, "sqrt") == pytest.approx(0.2)

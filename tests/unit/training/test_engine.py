"""The engine in-process: an interrupted run resumed in its directory ends exactly where an
uninterrupted one does, in one phase and across the fine-tuning boundary."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from rich.console import Console

from cnnkit.commands.validation import validated
from cnnkit.config.compose import compose
from cnnkit.training.engine import TrainingInterrupted, train

SMALL = ['model.layers=[{Conv2D: {filters: 4, kernel_size: 3, activation: relu}}, {Dropout: '
         '{rate: 0.3}}, {GlobalAveragePooling2D: {}}, {Dense: {units: "${model.num_classes}", '
         'activation: softmax}}]']
BACKBONE = ["model=backbone", "model.name=VGG16", "model.weights=null", "data.image_size=32",
            "model.fine_tune={unfreeze_from: block5_conv1, at_epoch: 1, lr_factor: 0.1}",
            "optimizer.lr=0.01"]


def config(*args: str):
    # one step per call, so that KillAt can stop between two batches (steps_per_execution=auto
    # would run this tiny model's whole epoch in one call; the CLI resume test runs with auto)
    return validated(compose("train", ["data.max_samples=240", "data.batch_size=32",
                                       "trainer.epochs=3", "trainer.verbose=0", "augment=light",
                                       "trainer.steps_per_execution=1", *args]))


class KillAt(keras.callbacks.Callback):
    """Ctrl-C in the middle of an epoch."""

    def __init__(self, epoch: int, batch: int) -> None:
        super().__init__()
        self.at, self.epoch = (epoch, batch), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def quiet() -> Console:
    return Console(file=open("/dev/null", "w"))  # noqa: SIM115 (closed with the process)


def interrupted_then_resumed(args: list[str], run: Path, epoch: int) -> dict:
    with pytest.raises(TrainingInterrupted, match=rf"after {epoch} of 3 epochs, all saved.*resume={run}"):
        train(config(*args), run, quiet(), loggers=[KillAt(epoch, 2)])
    assert not (run / "model.keras").exists()
    return train(config(*args), run, quiet(), resume=True)


def assert_same_run(a: Path, b: Path) -> None:
    wa = keras.models.load_model(a / "model.keras").get_weights()
    wb = keras.models.load_model(b / "model.keras").get_weights()
    assert len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb, strict=True))
    assert (a / "history.csv").read_text() == (b / "history.csv").read_text()
    assert json.loads((a / "metrics.json").read_text()) == json.loads((b / "metrics.json").read_text())


def test_a_run_interrupted_mid_epoch_resumes_bit_identically(tmp_path):
    whole = train(config(*SMALL), tmp_path / "whole", quiet())
    resumed = interrupted_then_resumed(SMALL, tmp_path / "cut", epoch=1)
    assert resumed == whole and whole["epochs_run"] == 3
    assert_same_run(tmp_path / "whole", tmp_path / "cut")


@pytest.mark.slow
def test_fine_tuning_resumed_across_its_phase_boundary_matches(tmp_path):
    whole = train(config(*BACKBONE), tmp_path / "whole", quiet())
    rows = (tmp_path / "whole" / "history.csv").read_text().splitlines()
    lr = [float(r.split(",")[-1]) for r in rows[1:]]
    assert lr == pytest.approx([0.01, 0.001, 0.001])  # phase 2 at lr x lr_factor
    assert interrupted_then_resumed(BACKBONE, tmp_path / "cut", epoch=1) == whole
    assert_same_run(tmp_path / "whole", tmp_path / "cut")

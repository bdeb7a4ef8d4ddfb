"""The callbacks of a run: the best-model checkpoint is named, not found by position."""

from __future__ import annotations

import keras
from omegaconf import OmegaConf

from cnnkit.training.callbacks import BestModelCheckpoint, build_callbacks


def trainer(**options):
    return OmegaConf.create({"monitor_mode": "auto", "early_stopping_patience": 0,
                             "reduce_lr_patience": 0, "tensorboard": False, **options})


def test_the_checkpoint_is_named_and_among_the_callbacks_fit_gets(tmp_path):
    callbacks = build_callbacks(tmp_path, trainer(), "val_accuracy")
    assert isinstance(callbacks.checkpoint, BestModelCheckpoint)
    assert callbacks.checkpoint in callbacks.all and len(callbacks.all) == 3
    assert callbacks.checkpoint.mode == "max"  # accuracy: higher is better
    assert callbacks.checkpoint.path == tmp_path / "checkpoints" / "best.keras"


def test_early_stopping_and_lr_schedule_are_added_when_asked(tmp_path):
    callbacks = build_callbacks(tmp_path, trainer(early_stopping_patience=2, reduce_lr_patience=1),
                                "val_loss")
    kinds = [type(c) for c in callbacks.all]
    assert keras.callbacks.EarlyStopping in kinds and keras.callbacks.ReduceLROnPlateau in kinds
    assert callbacks.checkpoint.mode == "min"

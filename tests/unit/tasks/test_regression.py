"""Regression: target statistics learned on the training split, applied in the pipeline and
undone in reports and predictions; reconstruction's output channels follow the input."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from cnnkit.data.sources import SourceData
from cnnkit.errors import ConfigError
from cnnkit.io.predictions import write_predictions
from cnnkit.io.rundir import read_task_state, write_task_state
from cnnkit.tasks import get_task


class FakeData:
    """What `Task.fit` reads from a `PreparedData`: the source's splits."""

    def __init__(self, y: np.ndarray) -> None:
        self.source = SourceData(splits={"train": (np.zeros((len(y), 2, 2, 1), "float32"), y)})


def regression(**options):
    return get_task(OmegaConf.create({"name": "regression", "outputs": ["a", "b"], **options}))


def test_targets_are_standardised_and_restored(tmp_path):
    y = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 50.0]], "float32")
    task = regression()
    task.fit(FakeData(y))
    assert task.state["target_mean"] == pytest.approx([2.0, 30.0])
    assert task.state["target_std"] == pytest.approx([np.std([0, 2, 4]), np.std([10, 30, 50])])
    normalised = np.stack([task.target_fn()(row).numpy() for row in y])
    assert normalised.mean(0) == pytest.approx([0, 0], abs=1e-6)
    assert normalised.std(0) == pytest.approx([1, 1], abs=1e-6)
    write_task_state(tmp_path, task.state)
    restored = regression()
    restored.restore_state(read_task_state(tmp_path))
    assert restored.denormalize(normalised) == pytest.approx(y, abs=1e-5)


def test_evaluate_and_csv_are_in_target_units(tmp_path):
    y = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 50.0]], "float32")
    task = regression()
    task.fit(FakeData(y))
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))  # predicts its input
    model.compile(loss=task.loss(model), metrics=task.metrics(model))
    x = np.stack([task.target_fn()(row).numpy() for row in y]) + np.array([0.5, 0.0], "float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a, task.target_fn()(b)))
    report = task.evaluate(model, ds.batch(2), None)
    # output a is off by 0.5 std everywhere, output b is exact
    assert report["mae/a"] == pytest.approx(0.5 * np.std([0, 2, 4]), rel=1e-5)
    assert report["mae/b"] == pytest.approx(0.0, abs=1e-4)
    assert report["r2/b"] == pytest.approx(1.0)
    write_predictions(task, task.predict(model, x), ["p", "q", "r"], None, tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "id,a,b" and lines[2].split(",")[2] == "30"


def test_regression_needs_output_names_or_a_count():
    cfg = OmegaConf.create({"num_classes": None})
    with pytest.raises(ConfigError, match=r"`task.outputs` is empty"):
        regression(outputs=[]).complete_model_config(cfg, None, [8, 8, 1])
    with pytest.raises(ConfigError, match=r"`task.target_kind` must be values or boxes"):
        _ = regression(target_kind="points").target_kind


def test_reconstruction_outputs_as_many_channels_as_the_input():
    cfg = OmegaConf.create({"num_classes": None, "output_activation": None})
    get_task(OmegaConf.create({"name": "reconstruction"})).complete_model_config(
        cfg, None, [16, 16, 3])
    assert (cfg.num_classes, cfg.output_activation) == (3, "linear")


def test_outputs_are_named_after_the_target_columns_and_saved_with_the_run(tmp_path):
    run_cfg = OmegaConf.create({"data": {"source": "csv", "target_columns": ["radius", "brightness"]}})
    task = get_task(OmegaConf.create({"name": "regression", "outputs": None}), run_cfg)
    model_cfg = OmegaConf.create({"num_classes": None})
    task.complete_model_config(model_cfg, None, [8, 8, 1])
    assert model_cfg.num_classes == 2
    task.fit(FakeData(np.array([[1.0, 2.0], [3.0, 5.0]], "float32")))
    write_task_state(tmp_path, task.state)
    later = get_task(OmegaConf.create({"name": "regression", "outputs": None}))  # no data config
    later.restore_state(read_task_state(tmp_path))
    assert later.output_names(2) == ["radius", "brightness"]
    table = later.prediction_table(np.zeros((1, 2), "float32"), ["a.png"], None)
    assert table.header == ["id", "radius", "brightness"]
    assert get_task(OmegaConf.create({"name": "regression"})).output_names(1) == ["value"]


def test_outputs_that_disagree_with_the_target_columns_are_refused():
    run_cfg = OmegaConf.create({"data": {"source": "csv", "target_columns": ["radius", "brightness"]}})
    with pytest.raises(ConfigError, match=r"`task.outputs` names 1 outputs \(value\) but "
                                          r"data.target_columns gives 2 \(radius, brightness\)"):
        get_task(OmegaConf.create({"name": "regression", "outputs": ["value"]}), run_cfg
                 ).configured_names()

"""Multi-task heads on one model: weighted loss, per-head reports and outputs, config errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from cnnkit.data.pipeline import Preprocessing
from cnnkit.errors import ConfigError, DataError
from cnnkit.io.image_files import InputInfo
from cnnkit.io.predictions import write_predictions
from cnnkit.io.rundir import read_task_state, write_task_state
from cnnkit.tasks import get_task
from cnnkit.tasks.losses import WeightedLoss

SIZE = 8


def multitask(heads: dict) -> object:
    return get_task(OmegaConf.create({"name": "multitask", "heads": heads}))


def constant_model() -> keras.Model:
    """Two outputs that ignore the input: density 2.0 everywhere, mask probability sigmoid(1)."""
    inputs = keras.Input((SIZE, SIZE, 1), name="input")
    density = keras.layers.Conv2D(1, 1, kernel_initializer="zeros",
                                  bias_initializer=keras.initializers.Constant(2.0),
                                  name="count")(inputs)
    mask = keras.layers.Conv2D(1, 1, activation="sigmoid", kernel_initializer="zeros",
                               bias_initializer="ones", name="mask")(inputs)
    return keras.Model(inputs, [density, mask])


HEADS = {"count": {"task": "density", "weight": 0.5, "scale": 1.0},
         "mask": {"task": "segmentation", "loss": "bce", "weight": 2.0}}
# count: mse((0 - 2)^2) = 4, weight 0.5; mask: bce(1, sigmoid(1)) = log(1 + e^-1), weight 2
EXPECTED_LOSS = 0.5 * 4.0 + 2.0 * math.log1p(math.exp(-1.0))


def dataset(n: int = 4) -> tf.data.Dataset:
    x = np.random.default_rng(0).random((n, SIZE, SIZE, 1), dtype="float32")
    y = {"count": np.zeros((n, SIZE, SIZE, 1), "float32"), "mask": np.ones((n, SIZE, SIZE, 1), "uint8")}
    return tf.data.Dataset.from_tensor_slices((x, y))


def test_weighted_loss_scales_and_round_trips():
    loss = WeightedLoss(keras.losses.MeanSquaredError(), 0.25)
    value = float(loss(np.zeros((2, 3)), np.full((2, 3), 2.0)))
    assert value == pytest.approx(0.25 * 4.0)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert again.weight == 0.25 and float(again(np.zeros((2, 3)), np.full((2, 3), 2.0))) == value


def test_multitask_loss_is_the_weighted_sum_of_head_losses(tmp_path):
    task = multitask(HEADS)
    model = constant_model()
    model.compile(loss=task.loss(model), metrics=task.metrics(model))
    ds = dataset().map(lambda x, y: (x, task.target_fn()(y))).batch(2)
    result = model.evaluate(ds, return_dict=True, verbose=0)
    assert result["loss"] == pytest.approx(EXPECTED_LOSS, rel=1e-4)
    # the saved model (weighted losses, head metrics) reloads in safe mode
    path = tmp_path / "m.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    reloaded_loss = reloaded.evaluate(ds, return_dict=True, verbose=0)["loss"]
    assert reloaded_loss == pytest.approx(EXPECTED_LOSS, rel=1e-4)


def test_evaluate_reports_every_head_with_its_prefix():
    task = multitask(HEADS)
    model = constant_model()
    model.compile(loss=task.loss(model))
    ds = dataset().map(lambda x, y: (x, task.target_fn()(y))).batch(2)
    report = task.evaluate(model, ds, ["circle", "square"])
    assert report["heads"] == ["count", "mask"]
    assert report["count/mae"] == pytest.approx(2.0 * SIZE * SIZE)  # 2 per pixel, true count 0
    assert report["mask/dice"] == pytest.approx(1.0)  # p = 0.73 everywhere: all foreground
    assert report["mask/loss"] == pytest.approx(math.log1p(math.exp(-1.0)), rel=1e-4)  # unweighted
    assert report["loss"] == pytest.approx(EXPECTED_LOSS, rel=1e-4)


def test_heads_fill_the_model_config_in_order():
    task = multitask({"class": {"task": "classification"}, "mask": {"task": "segmentation"}})
    model_cfg = OmegaConf.create({"num_classes": None, "outputs": None})
    task.complete_model_config(model_cfg, ["a", "b", "c"], [8, 8, 1])
    assert model_cfg.outputs == ["class", "mask"] and model_cfg.num_classes == 3
    assert task.target_kind == {"class": "label", "mask": "mask"}


def test_predictions_are_written_per_head(tmp_path):
    task = multitask(HEADS)
    model = constant_model()
    identity = Preprocessing([SIZE, SIZE, 1], [SIZE, SIZE, 1], 1.0, normalize="none")
    outputs = task.predict_samples(model, np.zeros((2, SIZE, SIZE, 1), "float32"), identity)
    task.heads["mask"].cfg.output_format = "npy"
    infos = [InputInfo(f"s{i}", (SIZE, SIZE)) for i in range(2)]
    write_predictions(task, outputs, ["s0", "s1"], None, tmp_path / "preds.csv", infos)
    rows = (tmp_path / "preds_count.csv").read_text().splitlines()
    assert rows[0] == "id,count" and rows[1] == f"s0,{2.0 * SIZE * SIZE:.4f}"
    assert np.load(tmp_path / "preds_count_density.npy").shape == (2, SIZE, SIZE, 1)
    assert (tmp_path / "preds_mask" / "s1.npy").is_file()  # image heads: a folder, no suffix


def test_targets_must_name_every_head():
    task = multitask(HEADS)
    with pytest.raises(DataError, match=r"one target per head \['count', 'mask'\]"):
        task.target_fn()(tf.zeros((2,)))
    with pytest.raises(DataError, match=r"Received: \['count'\]"):
        task.target_fn()({"count": tf.zeros((2,))})


def test_a_head_missing_from_the_model_outputs_is_named():
    task = multitask({"count": HEADS["count"], "seg": {"task": "segmentation"}})
    with pytest.raises(ConfigError, match=r"names 'seg', which is not an output.*count, mask"):
        task.loss(constant_model())


@pytest.mark.parametrize(
    ("heads", "message"),
    [
        (None, r"`task.heads` must name at least one head"),
        ({"a": "classification"}, r"`task.heads.a` must be a mapping with a `task` name"),
        ({"a": {"task": "segmentaton"}}, r"`task.heads.a.task`.*Did you mean: segmentation"),
        ({"a": {"task": "multitask"}}, r"`task.heads.a.task` names an unknown single task"),
        ({"a": {"task": "density", "weight": -1}}, r"`task.heads.a.weight` must be a number >= 0"),
        ({"a": {"task": "autoencoder"}}, r"`task.heads.a.task`: an autoencoder reconstructs"),
    ],
)
def test_bad_heads_are_named(heads, message):
    with pytest.raises(ConfigError, match=message):
        multitask(heads)


def test_head_options_keras_cannot_take_are_refused():
    task = multitask({"a": {"task": "density"}})
    task.heads["a"].fit_options = lambda: {"class_weight": {0: 1.0}}
    with pytest.raises(ConfigError, match=r"`task.heads.a` asks for class_weight"):
        task.fit_options()


def test_heads_learn_their_state_from_their_own_targets(tmp_path):
    from cnnkit.config.compose import compose
    from cnnkit.data.build import prepare_data

    cfg = compose("train", ["data=shapes_multi", "data.num_train=12", "data.num_val=0",
                            "data.num_test=0", "data.target={n: count, mask: mask}",
                            "task=multitask",
                            "task.heads={n: {task: regression, outputs: [n]}, mask: {task: segmentation}}"])
    task = get_task(cfg.task, cfg)
    data = prepare_data(cfg, task.target_kind)
    task.fit(data)
    counts = data.source.splits["train"][1]["n"]
    assert task.state["n"]["target_mean"] == pytest.approx([counts.mean()])
    assert "mask" not in task.state  # segmentation learns nothing
    write_task_state(tmp_path, task.state)
    again = get_task(cfg.task, cfg)
    again.restore_state(read_task_state(tmp_path))
    assert again.heads["n"].state == task.heads["n"].state

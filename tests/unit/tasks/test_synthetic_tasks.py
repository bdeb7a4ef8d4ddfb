"""Density counting and autoencoders: hand-computed counts, errors, outputs and embeddings."""

import csv
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from cnnkit.errors import ConfigError
from cnnkit.io.predictions import write_predictions
from cnnkit.tasks import get_task
from cnnkit.tasks.density import counts
from cnnkit.tasks.metrics import CountMeanAbsoluteError


def density_task(**options) -> object:
    return get_task(OmegaConf.create({"name": "density", "loss": "mse", "scale": 10.0, **options}))


def identity_model(size: int = 4) -> keras.Model:
    inputs = keras.Input((size, size, 1))
    outputs = keras.layers.Conv2D(1, 1, kernel_initializer="ones", use_bias=False)(inputs)
    return keras.Model(inputs, outputs)


def test_count_is_the_sum_of_the_map():
    maps = np.zeros((2, 4, 4, 1))
    maps[0, 1, 1] = 0.25
    maps[0, 2, 2] = 0.75  # one object spread over two pixels
    maps[1] += 3 / 16  # three objects spread evenly
    assert counts(maps) == pytest.approx([1.0, 3.0])


def test_count_mae_metric_undoes_the_scale():
    metric = CountMeanAbsoluteError(scale=10.0)
    y_true = np.zeros((2, 4, 4, 1), "float32")
    y_true[0, 0, 0], y_true[1, 0, 0] = 20.0, 30.0  # counts 2 and 3 at scale 10
    y_pred = np.zeros((2, 4, 4, 1), "float32")
    y_pred[0] += 25.0 / 16
    y_pred[1, 3, 3] = 10.0  # counts 2.5 and 1
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx((0.5 + 2.0) / 2)
    assert CountMeanAbsoluteError.from_config(metric.get_config()).scale == 10.0


def test_density_trains_on_scaled_maps_and_reports_counts_in_objects():
    task = density_task()
    truth = np.zeros((2, 4, 4, 1), "float32")
    truth[0, 1, 1], truth[1] = 1.0, 2 / 16  # counts 1 and 2
    error = np.zeros_like(truth)
    error[0, 0, 0], error[1, 3, 3] = 0.5, -1.0  # the model will be off by +0.5 and -1 objects
    y = task.target_fn()(truth)
    assert float(tf.reduce_sum(y)) == pytest.approx(10.0 * 3)  # targets are x scale
    x = (truth + error) * 10.0  # an identity model then predicts truth + error (at scale)
    model = identity_model()
    model.compile(loss=task.loss(model), metrics=task.metrics(model))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
    report = task.evaluate(model, ds, None)
    assert report["mae"] == pytest.approx(0.75) and report["count_mae"] == pytest.approx(0.75)
    assert report["rmse"] == pytest.approx(math.sqrt((0.25 + 1.0) / 2))
    assert report["mean_count"] == pytest.approx(1.5)
    assert report["mean_predicted_count"] == pytest.approx(1.25)


def test_density_predictions_write_counts_and_maps(tmp_path):
    task = density_task()
    maps = task.predict(identity_model(), np.full((3, 4, 4, 1), 10.0 / 16, "float32"))
    assert counts(maps) == pytest.approx([1.0, 1.0, 1.0])  # the scale is undone
    write_predictions(task, maps, ["a.png", "b.png", "c.png"], None, tmp_path / "counts.csv")
    with open(tmp_path / "counts.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["id"], float(r["count"])) for r in rows] == [("a.png", 1.0), ("b.png", 1.0),
                                                           ("c.png", 1.0)]
    assert np.allclose(np.load(tmp_path / "counts_density.npy"), maps)


def test_density_model_config_and_errors():
    task = density_task()
    model_cfg = OmegaConf.create({"num_classes": None, "output_activation": None})
    task.complete_model_config(model_cfg, ["circle"], [8, 8, 1])
    assert model_cfg.num_classes == 1 and model_cfg.output_activation == "linear"
    with pytest.raises(ConfigError, match=r"`task.loss` must be one of mse, l2, mae, l1, huber"):
        density_task(loss="dice").loss(identity_model())
    with pytest.raises(ConfigError, match=r"`task.scale` must be a positive number. Received: 0"):
        density_task(scale=0).target_fn()


def tiny_autoencoder(size: int = 8) -> keras.Model:
    inputs = keras.Input((size, size, 1))
    code = keras.layers.Dense(3, name="bottleneck")(keras.layers.Flatten()(inputs))
    flat = keras.layers.Dense(size * size, activation="sigmoid")(code)
    return keras.Model(inputs, keras.layers.Reshape((size, size, 1))(flat))


def autoencoder_task(**options) -> object:
    config = {"name": "autoencoder", "output_format": "npy", "embedding_layer": "bottleneck"}
    return get_task(OmegaConf.create({**config, **options}))


def test_autoencoder_targets_are_the_inputs_scaled_to_unit_range():
    from cnnkit.data.pipeline import Preprocessing, build_pipeline

    x = np.arange(2 * 4 * 4, dtype="float32").reshape(2, 4, 4, 1)  # raw values 0..31
    prep = Preprocessing([4, 4, 1], [4, 4, 1], value_max=32.0).fit(
        tf.data.Dataset.from_tensor_slices((x, np.zeros(2))))
    task = autoencoder_task()
    inputs, targets = next(iter(build_pipeline((x, np.array([3, 5])), prep, 2, False, 0,
                                               target_fn=task.target_fn(),
                                               target_kind=task.target_kind)))
    assert np.allclose(targets, x / 32.0)  # the input in [0, 1], whatever the labels were
    assert abs(float(np.mean(inputs))) < 1e-5  # while the model input is standardised


def test_autoencoder_writes_reconstructions_and_embeddings(tmp_path):
    from cnnkit.data.pipeline import Preprocessing
    from cnnkit.io.image_files import InputInfo

    task = autoencoder_task()
    model = tiny_autoencoder()
    raw = np.random.default_rng(0).random((2, 8, 8, 1)).astype("float32")
    outputs = task.predict_samples(model, raw, Preprocessing([8, 8, 1], [8, 8, 1], 1.0, "none"))
    code = model.get_layer("bottleneck").output  # the same layer, read directly
    direct = keras.Model(model.input, code).predict(raw, verbose=0)
    assert np.allclose(outputs.embeddings, direct, atol=1e-6)
    write_predictions(task, outputs, ["a", "b"], None, tmp_path,
                      [InputInfo("a", (8, 8)), InputInfo("b", (8, 8))])
    assert np.load(tmp_path / "a.npy").shape == (8, 8, 1)
    with open(tmp_path / "embeddings.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "e0", "e1", "e2"] and [r[0] for r in rows[1:]] == ["a", "b"]
    assert np.allclose([float(v) for v in rows[2][1:]], direct[1], atol=1e-4)
    assert np.allclose(np.load(tmp_path / "embeddings.npy"), direct, atol=1e-6)


def test_autoencoder_names_a_missing_embedding_layer():
    task = autoencoder_task(embedding_layer="bottlenek")
    with pytest.raises(ConfigError, match=r"`task.embedding_layer`.*'bottlenek'.*Did you mean: bottleneck"):
        task.loss(tiny_autoencoder())

"""Classification modes (multi-class, binary, multi-label), class weights, label smoothing, focal."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from cnnkit.data.pipeline import Preprocessing
from cnnkit.data.sources import SourceData
from cnnkit.errors import ConfigError
from cnnkit.io.predictions import write_predictions
from cnnkit.tasks import get_task
from cnnkit.tasks.losses import FocalCrossentropy


class FakeData:
    def __init__(self, labels: np.ndarray, names: list[str]) -> None:
        self.source = SourceData(splits={"train": (np.zeros((len(labels), 2), "float32"), labels)})
        self.preprocessing = Preprocessing([2], [2], 1.0, "none", class_names=names)


def classification(augment=None, **options):
    run_cfg = OmegaConf.create({"augment": augment or {}})
    return get_task(OmegaConf.create({"name": "classification", **options}), run_cfg)


def dense_model(units: int, activation: str):
    inputs = keras.Input((2,))
    return keras.Model(inputs, keras.layers.Dense(units, activation=activation)(inputs))


def test_binary_mode_is_one_sigmoid_unit():
    cfg = OmegaConf.create({"num_classes": None, "output_activation": None})
    classification(mode="binary").complete_model_config(cfg, ["neg", "pos"])
    assert (cfg.num_classes, cfg.output_activation) == (1, "sigmoid")
    task = classification(mode="binary")
    model = dense_model(1, "sigmoid")
    assert isinstance(task.loss(model), keras.losses.BinaryCrossentropy)
    probs = task.predict(model, np.zeros((3, 2), "float32"))
    assert probs.shape == (3, 2) and probs.sum(-1) == pytest.approx([1, 1, 1])
    with pytest.raises(ConfigError, match=r"needs a sigmoid output, but the model's output layer "
                                          r"uses softmax"):
        task.loss(dense_model(1, "softmax"))


def test_balanced_class_weights_from_counts():
    task = classification(class_weight="balanced")
    task.fit(FakeData(np.array([0, 1, 1, 1]), ["a", "b"]))
    # n / (K x count): 4 / (2 x 1) and 4 / (2 x 3)
    assert task.state["class_counts"] == [1, 3]
    weights = task.fit_options()["class_weight"]
    assert weights[0] == pytest.approx(2.0) and weights[1] == pytest.approx(2 / 3)
    with pytest.raises(ConfigError, match=r"`task.class_weight` must be null or balanced"):
        classification(class_weight="inverse").fit(FakeData(np.array([0, 1]), ["a", "b"]))


def test_label_smoothing_uses_one_hot_targets_and_categorical_crossentropy():
    task = classification(label_smoothing=0.1)
    task.fit(FakeData(np.array([0, 1, 2]), ["a", "b", "c"]))
    assert task.target_fn()(tf.constant(2)).numpy().tolist() == [0, 0, 1]
    loss = task.loss(dense_model(3, "softmax"))
    assert isinstance(loss, keras.losses.CategoricalCrossentropy)
    assert loss.get_config()["label_smoothing"] == pytest.approx(0.1)


def test_mixup_in_augment_switches_to_one_hot_targets():
    task = classification(augment={"transforms": [{"name": "mixup"}]})
    assert task.one_hot
    assert isinstance(task.loss(dense_model(3, "softmax")), keras.losses.CategoricalCrossentropy)


def test_focal_loss_and_unknown_losses():
    assert isinstance(classification(loss="focal").loss(dense_model(3, "softmax")), FocalCrossentropy)
    with pytest.raises(ConfigError, match=r"`task.loss` must be one of .* Received: 'dice'"):
        classification(loss="dice").loss(dense_model(3, "softmax"))


def test_multilabel_thresholds_per_class_in_evaluate_and_csv(tmp_path):
    task = classification(mode="multilabel", threshold=[0.5, 0.9])
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Activation("sigmoid")(inputs))  # logits in, probs out
    model.compile(loss=task.loss(model), metrics=task.metrics(model))
    logits = np.array([[3.0, 1.0], [-3.0, 3.0], [3.0, 3.0], [-3.0, -3.0]], "float32")  # p 0.95/0.73
    labels = np.array([[1, 1], [0, 1], [1, 1], [0, 0]], "float32")
    ds = tf.data.Dataset.from_tensor_slices((logits, labels)).batch(2)
    report = task.evaluate(model, ds, ["a", "b"])
    # class b: 0.73 < 0.9 is a miss in row 0; 0.95 >= 0.9 hits in rows 1 and 2
    assert report["per_class"]["b"]["recall"] == pytest.approx(2 / 3)
    assert report["subset_accuracy"] == pytest.approx(3 / 4)
    write_predictions(task, task.predict(model, logits), list("pqrs"), ["a", "b"], tmp_path / "p.csv")
    rows = [line.split(",")[1] for line in (tmp_path / "p.csv").read_text().splitlines()[1:]]
    assert rows == ["a", "b", "a;b", ""]


def test_multilabel_report_has_auroc_and_average_precision_per_class():
    task = classification(mode="multilabel")
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Activation("sigmoid")(inputs))
    model.compile(loss=task.loss(model), metrics=task.metrics(model))
    logits = np.array([[2.0, 1.0], [-1.0, 3.0], [1.0, -2.0], [-3.0, 0.5]], "float32")
    labels = np.array([[1, 0], [0, 1], [0, 0], [0, 1]], "float32")  # a: one positive, ranked top
    report = task.evaluate(model, tf.data.Dataset.from_tensor_slices((logits, labels)).batch(2),
                           ["a", "b"])
    assert report["per_class"]["a"]["auroc"] == 1.0 and report["per_class"]["a"]["threshold"] == 0.5
    # b: positives at p(3.0), p(0.5); negatives at p(1.0), p(-2.0) -> 3 of 4 pairs ordered
    assert report["per_class"]["b"]["auroc"] == pytest.approx(0.75)
    assert report["per_class"]["b"]["average_precision"] == pytest.approx((1 + 2 / 3) / 2)
    assert report["auc"] == pytest.approx(0.875)


def test_auto_mode_is_multilabel_for_multi_hot_table_labels():
    from omegaconf import OmegaConf

    from cnnkit.errors import ConfigError
    from cnnkit.tasks.classification import resolve_mode

    separated = OmegaConf.create({"source": "csv", "label_separator": "|"})
    assert resolve_mode("auto", separated) == "multilabel"
    assert resolve_mode("auto", {"source": "csv", "label_columns": ["a", "b"]}) == "multilabel"
    assert resolve_mode("auto", {"source": "csv", "label_column": "label"}) == "auto"
    with pytest.raises(ConfigError, match=r"`task.mode=multiclass` learns one label per image, "
                                          r"but data.label_separator gives several"):
        resolve_mode("multiclass", separated)

"""The loggers: TensorBoard event files from a fit, MLflow params/metrics/artefacts/status, and
`logger=mlflow` without MLflow refused up front."""

from __future__ import annotations

import importlib.util

import keras
import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.cli import main
from cnnkit.commands.validation import validated
from cnnkit.config.compose import compose
from cnnkit.errors import ConfigError
from cnnkit.training.loggers import build_loggers, run_loggers
from cnnkit.training.mlflow_logger import default_tracking_uri, flatten_params


def config(tensorboard: bool = False, logger: str = "none"):
    return OmegaConf.create({"name": "tiny", "seed": 0,
                             "trainer": {"epochs": 2, "tensorboard": tensorboard},
                             "logger": {"name": logger, "tracking_uri": None,
                                        "experiment": None},
                             "model": {"layers": [{"Dense": {"units": 1}}]}})


def tiny_fit(callbacks, epochs: int = 2, initial_epoch: int = 0) -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse")
    x = np.random.default_rng(0).random((16, 3), dtype="float32")
    model.fit(x, x.sum(1), validation_data=(x, x.sum(1)), batch_size=8, epochs=epochs,
              initial_epoch=initial_epoch, verbose=0, callbacks=callbacks)


def event_tags(folder) -> set[str]:
    import tensorflow as tf

    return {value.tag for path in folder.glob("events.out.tfevents*")
            for event in tf.compat.v1.train.summary_iterator(str(path))
            for value in event.summary.value}


def test_tensorboard_writes_epoch_metrics_and_the_learning_rate(tmp_path):
    loggers = build_loggers(tmp_path, config(tensorboard=True))
    [board] = loggers
    # no per-batch Python: Keras' batch hooks are the do-nothing defaults
    assert type(board).on_train_batch_end is keras.callbacks.Callback.on_train_batch_end
    tiny_fit(loggers)
    assert list((tmp_path / "tensorboard" / "train").glob("events.out.tfevents*"))
    assert {"epoch_loss", "epoch_learning_rate"} <= event_tags(tmp_path / "tensorboard" / "train")
    assert "epoch_loss" in event_tags(tmp_path / "tensorboard" / "validation")


def test_no_logger_asked_for_gives_no_callback(tmp_path):
    assert build_loggers(tmp_path, config()) == []


def test_params_are_the_flattened_config_with_keys_mlflow_accepts():
    params = flatten_params(OmegaConf.to_container(config()) | {"odd[key]": [True, None, 0.5]})
    assert params["trainer.epochs"] == "2" and params["trainer.tensorboard"] == "false"
    assert params["model.layers.0.Dense.units"] == "1" and params["logger.tracking_uri"] == "null"
    assert params["odd_key_.0"] == "true" and params["odd_key_.2"] == "0.5"


def hide_mlflow(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))


def test_logger_mlflow_without_mlflow_is_refused_before_training(monkeypatch, capsys):
    hide_mlflow(monkeypatch)
    with pytest.raises(ConfigError, match=r'needs MLflow.*pip install "cnnkit\[mlflow\]"$'):
        validated(compose("train", ["logger=mlflow"]))
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "logger=mlflow"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0  # one line


def test_mlflow_logs_params_epoch_metrics_artefacts_and_how_the_run_ended(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run_path = tmp_path / "outputs" / "tiny" / "run1"
    run_path.mkdir(parents=True)
    cfg = config(logger="mlflow")
    with run_loggers(run_path, cfg) as loggers:
        tiny_fit(loggers)
        (run_path / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
        (run_path / "metrics.json").write_text("{}")
    assert (tmp_path / "outputs" / "tiny" / "mlruns" / "mlflow.db").is_file()  # beside the runs
    client = MlflowClient(default_tracking_uri(run_path))
    experiment = client.get_experiment_by_name("tiny")
    [run] = client.search_runs([experiment.experiment_id])
    run_id = run.info.run_id
    assert run.info.status == "FINISHED" and run.data.params["trainer.epochs"] == "2"
    assert [m.step for m in client.get_metric_history(run_id, "val_loss")] == [1, 2]
    assert run.data.metrics["learning_rate"] == pytest.approx(0.05)
    assert {"config.yaml", "metrics.json"} <= {a.path for a in client.list_artifacts(run_id)}

    with pytest.raises(RuntimeError), run_loggers(run_path, cfg, resume=True) as loggers:
        tiny_fit(loggers, epochs=3, initial_epoch=2)  # the resumed run goes on, then fails
        raise RuntimeError("boom")
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.run_id == run_id and run.info.status == "FAILED"
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == [1, 2, 3]

"""`logger=mlflow`: the resolved config as params, each epoch's metrics, the run's files as
artefacts, in an MLflow run whose status says how the run ended.

The default store is local and needs no server: `tracking_uri: null` means
$MLFLOW_TRACKING_URI when set, else `sqlite:///<folder of the run dirs>/mlruns/mlflow.db` with
artefacts in `mlruns/artifacts` beside it (`mlflow ui --backend-store-uri sqlite:///...` shows
it). Not a `./mlruns` file store: MLflow 3 refuses those unless MLFLOW_ALLOW_FILE_STORE=true
("maintenance mode", measured with 3.17.2). MLflow is imported only when this logger is built.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import keras

from cnnkit.io import rundir
from cnnkit.io.manifest import MANIFEST, command_line, hydra_overrides
from cnnkit.training.callbacks import current_lr

STORE_DIR = "mlruns"
RUN_DIR_TAG = "cnnkit.run_dir"
#: cnnkit's words for how a run ended (as in manifest.json) -> MLflow's run status
RUN_STATUS = {"completed": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}
#: files (and the eval/ folder) of the run directory copied to the run's artefacts at the end
ARTIFACTS = (rundir.CONFIG, rundir.PREPROCESSING, rundir.TASK_STATE, rundir.HISTORY,
             rundir.METRICS, MANIFEST, rundir.EVAL)
BATCH = 100  # MLflow takes at most 100 params or tags per log_batch call
MAX_VALUE = 6000  # MLflow's longest param value
log = logging.getLogger(__name__)


def default_tracking_uri(run_path: Path) -> str:
    """The local SQLite store beside the run directories: `<parent>/mlruns/mlflow.db`."""
    store = Path(run_path).resolve().parent / STORE_DIR
    store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def flatten_params(values: Any, prefix: str = "") -> dict[str, str]:
    """A nested config as MLflow params: `trainer.epochs` -> "10", list items by index
    (`model.layers.0.Conv2D.filters`), values as in YAML (true, null); keys cleaned of
    characters MLflow refuses, values cut at its length limit."""
    if isinstance(values, dict) and values:
        items = [(f"{prefix}{_key(k)}.", v) for k, v in values.items()]
    elif isinstance(values, list | tuple) and values:
        items = [(f"{prefix}{i}.", v) for i, v in enumerate(values)]
    else:
        text = values if isinstance(values, str) else json.dumps(values)
        return {prefix[:-1]: text[:MAX_VALUE]}
    out: dict[str, str] = {}
    for key, value in items:
        out.update(flatten_params(value, key))
    return out


def _key(name: Any) -> str:
    return "".join(c if c.isalnum() or c in "_-. /" else "_" for c in str(name))


class MlflowLogger(keras.callbacks.Callback):
    """Logs to one MLflow run per run directory (a resumed run continues it)."""

    def __init__(self, run_path: Path, cfg: Any, resume: bool = False) -> None:
        super().__init__()
        from omegaconf import OmegaConf

        self.run_path = Path(run_path)
        self.config = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(
            cfg) else dict(cfg)
        logger_cfg = self.config.get("logger") or {}
        self.tracking_uri = logger_cfg.get("tracking_uri")
        self.experiment = logger_cfg.get("experiment") or str(self.config.get("name", "default"))
        self.log_model = bool(logger_cfg.get("log_model", True))
        self.resume = resume
        self.client: Any = None
        self.run_id: str | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.run_id is None:  # once: fine-tuning fits a second time into the same run
            self._start()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        from mlflow.entities import Metric

        values = {k: float(v) for k, v in (logs or {}).items()}
        values.setdefault("learning_rate", current_lr(self.model))
        now = int(time.time() * 1000)
        try:  # the step is the epoch number of history.csv (1 for the first epoch)
            self.client.log_batch(self.run_id, metrics=[
                Metric(_key(k), v, now, epoch + 1) for k, v in values.items()])
        except Exception as error:  # a busy or unreachable store must not stop training
            log.warning("MLflow: could not log epoch %d: %s", epoch + 1, error)

    def finish_run(self, status: str = "completed") -> None:
        """Copy the run's files to the artefacts and close the run with `status` (completed |
        failed | interrupted). A run never started (failed before fitting) has nothing."""
        if self.run_id is None:
            return
        atexit.unregister(self.finish_run)
        names = [*ARTIFACTS, *([rundir.MODEL] if self.log_model else [])]
        for name in names:
            path = self.run_path / name
            try:
                if path.is_dir():
                    self.client.log_artifacts(self.run_id, str(path), name)
                elif path.is_file():
                    self.client.log_artifact(self.run_id, str(path))
            except Exception as error:  # a full disk must not hide how the run ended
                log.warning("MLflow: could not store %s: %s", path, error)
        try:
            self.client.set_terminated(self.run_id, RUN_STATUS[status])
        except Exception as error:  # the run's own files are written: do not fail it now
            log.warning("MLflow: could not close run %s: %s", self.run_id, error)
        self.run_id = None

    def _start(self) -> None:
        from mlflow.tracking import MlflowClient

        uri = self.tracking_uri or _env_uri() or default_tracking_uri(self.run_path)
        store_log = logging.getLogger("mlflow.store.db.utils")
        level = store_log.level
        store_log.setLevel(logging.WARNING)  # "Creating initial MLflow database tables..."
        try:
            self.client = MlflowClient(tracking_uri=uri)
            experiment_id = self._experiment_id(uri)
        finally:
            store_log.setLevel(level)
        run_dir = str(self.run_path.resolve())
        run = self._existing_run(experiment_id, run_dir) if self.resume else None
        params = flatten_params(self.config)
        if run is None:
            overrides = hydra_overrides()
            run = self.client.create_run(experiment_id, run_name=self.run_path.name, tags={
                RUN_DIR_TAG: run_dir, "cnnkit.command": command_line()[:MAX_VALUE],
                **({"cnnkit.overrides": " ".join(overrides)[:MAX_VALUE]} if overrides else {})})
            changed: dict[str, str] = {}
        else:
            self.client.update_run(run.info.run_id, status="RUNNING")
            logged = run.data.params
            changed = {f"resumed.{k}": v for k, v in params.items()
                       if k in logged and logged[k] != v}
            params = {k: v for k, v in params.items() if k not in logged}
        self.run_id = run.info.run_id
        self._log(params, changed)
        atexit.register(self.finish_run, "interrupted")  # ended without saying how

    def _experiment_id(self, uri: str) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(self.experiment)
        if found is None:
            location = None
            if uri.startswith("sqlite:///") and not self.tracking_uri and not _env_uri():
                location = (Path(uri[len("sqlite:///"):]).parent / "artifacts").as_uri()
            try:
                return self.client.create_experiment(self.experiment, artifact_location=location)
            except MlflowException:  # a parallel trial created it meanwhile
                found = self.client.get_experiment_by_name(self.experiment)
                if found is None:
                    raise
        if found.lifecycle_stage == "deleted":
            self.client.restore_experiment(found.experiment_id)
        return found.experiment_id

    def _existing_run(self, experiment_id: str, run_dir: str) -> Any:
        """This run directory's MLflow run (by its tag), or None."""
        quote = next((q for q in "'\"" if q not in run_dir), None)
        if quote is None:
            return None
        runs = self.client.search_runs(
            [experiment_id], f"tags.`{RUN_DIR_TAG}` = {quote}{run_dir}{quote}", max_results=1,
            order_by=["attributes.start_time DESC"])
        return runs[0] if runs else None

    def _log(self, params: dict[str, str], tags: dict[str, str]) -> None:
        from mlflow.entities import Param, RunTag

        param_list = [Param(k[:250], v) for k, v in params.items()]
        tag_list = [RunTag(k[:250], v[:MAX_VALUE]) for k, v in tags.items()]
        for start in range(0, len(param_list), BATCH):
            self.client.log_batch(self.run_id, params=param_list[start:start + BATCH])
        for start in range(0, len(tag_list), BATCH):
            self.client.log_batch(self.run_id, tags=tag_list[start:start + BATCH])


def _env_uri() -> str | None:
    return os.environ.get("MLFLOW_TRACKING_URI") or None

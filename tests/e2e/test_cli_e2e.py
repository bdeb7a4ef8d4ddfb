"""End to end through the installed console script: train -> evaluate -> predict -> summary."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def numbers_close(a, b) -> bool:
    """Equal structure and values, floats to 1e-6: the training process runs small ops on one
    thread, a fresh `cnnkit evaluate` on TensorFlow's default, so a loss sums in another order."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(numbers_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(numbers_close, a, b))
    return a == pytest.approx(b, rel=1e-6, abs=1e-9) if isinstance(a, float) else a == b


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One tiny digits run shared by the tests of this module."""
    import subprocess

    from tests.conftest import cnnkit_executable

    work = tmp_path_factory.mktemp("e2e")
    run = work / "run"
    result = subprocess.run(
        [*cnnkit_executable(), "train", "trainer.epochs=2", "trainer.evaluate_on=[test]",
         f"hydra.run.dir={run}"],
        cwd=work, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return run, result.stdout


def test_train_writes_the_run_directory(trained_run):
    run, stdout = trained_run
    for name in ("config.yaml", "model.keras", "checkpoints/best.keras", "history.csv",
                 "metrics.json", "preprocessing.json"):
        assert (run / name).is_file(), name
    rows = read_csv(run / "history.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 <= metrics["val_accuracy"] <= 1 and metrics["epochs_run"] == 2
    prep = json.loads((run / "preprocessing.json").read_text())
    assert prep["class_names"] == [str(i) for i in range(10)] and prep["value_max"] == 16
    assert "val_accuracy" in stdout and str(run) in stdout


def test_evaluate_matches_keras_evaluate_on_the_same_split(trained_run, cli):
    import keras

    from cnnkit.commands.common import apply_overrides
    from cnnkit.data.build import prepare_data
    from cnnkit.io.rundir import RunDir
    from cnnkit.tasks import get_task

    run, train_stdout = trained_run
    in_training = json.loads((run / "eval" / "test.json").read_text())  # trainer.evaluate_on
    assert "Confusion matrix" in train_stdout
    result = cli("evaluate", f"run={run}", "data.split=test")
    assert "Confusion matrix" in result.stdout
    report = json.loads((run / "eval" / "test.json").read_text())
    assert numbers_close(report, in_training)  # the same report, without a second start-up
    assert report["split"] == "test" and report["num_samples"] == 270
    assert len(report["confusion_matrix"]) == 10 and set(report["per_class"]) == set(map(str, range(10)))
    run_dir = RunDir.open(run)
    cfg = apply_overrides(run_dir.load_config(), ["data.split=test"])
    task = get_task(cfg.task)
    data = prepare_data(cfg, task.target_kind, preprocessing=run_dir.load_preprocessing())
    model = keras.models.load_model(run / "model.keras")
    dataset = data.dataset("test", target_fn=task.target_fn())
    expected = model.evaluate(dataset, return_dict=True, verbose=0)
    assert report["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
    assert report["loss"] == pytest.approx(expected["loss"], abs=1e-6)


def test_predict_on_raw_digits_and_on_image_files(trained_run, cli, tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    run, _ = trained_run
    digits = load_digits()
    np.save(tmp_path / "x.npy", digits.images[:50])  # N x 8 x 8, values 0-16, no channel axis
    cli("predict", f"run={run}", f"input={tmp_path / 'x.npy'}", f"output={tmp_path / 'p.csv'}")
    rows = read_csv(tmp_path / "p.csv")
    assert list(rows[0]) == ["id", "prediction", *(f"prob_{i}" for i in range(10))]
    assert len(rows) == 50
    probs = np.array([[float(r[f"prob_{i}"]) for i in range(10)] for r in rows])
    assert np.allclose(probs.sum(1), 1, atol=1e-4)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray((digits.images[i] * 255 / 16).astype("uint8")).resize((24, 24)).save(folder / f"{i}.png")
    cli("predict", f"run={run}", f"input={folder}", f"output={tmp_path / 'q.csv'}")
    ids = [r["id"] for r in read_csv(tmp_path / "q.csv")]
    assert ids == ["0.png", "1.png", "2.png"]


def test_predict_rejects_arrays_of_the_wrong_shape(trained_run, cli, tmp_path):
    run, _ = trained_run
    np.save(tmp_path / "bad.npy", np.zeros((4, 5, 5)))
    result = cli("predict", f"run={run}", f"input={tmp_path / 'bad.npy'}", "output=o.csv", check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "(4, 5, 5)" in result.stderr and "(N, 8, 8, 1)" in result.stderr


def test_summary_json_of_a_user_file(cli, tmp_path):
    Path(tmp_path / "my.yaml").write_text(
        "model:\n  input_shape: [32, 32, 3]\n  layers:\n"
        "    - Conv2D: {filters: 8, kernel_size: 5, activation: relu}\n"
        "    - MaxPooling2D: {pool_size: 2}\n    - Flatten: {}\n"
        "    - Dense: {units: 10, activation: softmax}\n")
    result = cli("summary", "conf=./my.yaml", "summary.format=json")
    data = json.loads(result.stdout)
    assert data["total_params"] == 608 + 14 * 14 * 8 * 10 + 10
    assert data["model"] == "my"


@pytest.mark.parametrize(("args", "expected"), [
    (["summary", "model.layers=[{Conv2DD: {filters: 8}}]"], "Did you mean: Conv2D"),
    (["evaluate", "run=./no_such_run"], "no_such_run"),
    (["train", "conf=./nope.yaml"], "nope.yaml"),
    (["train", "trainer.epochs=0"], "trainer.epochs"),
])
def test_user_errors_are_one_message_without_traceback(cli, args, expected):
    result = cli(*args, check=False)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_debug_true_shows_the_traceback(cli):
    result = cli("evaluate", "run=./no_such_run", "debug=true", check=False)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_multirun_and_cfg_job(cli, tmp_path):
    shown = cli("train", "--cfg", "job", "model=lenet5")
    assert "name: lenet5" in shown.stdout and "epochs:" in shown.stdout
    swept = cli("train", "-m", "trainer.epochs=1", "data.max_samples=200",
                "optimizer.lr=0.01,0.001", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir()) == ["0", "1"]
    assert (tmp_path / "sweep" / "1" / "model.keras").is_file()
    trials = read_csv(tmp_path / "sweep" / "trials.csv")  # the table at the end, as CSV
    assert [(t["trial"], t["status"], t["optimizer.lr"]) for t in trials] == [
        ("0", "ok", "0.01"), ("1", "ok", "0.001")]
    for t in trials:
        metrics = json.loads((tmp_path / "sweep" / t["trial"] / "metrics.json").read_text())
        assert float(t["val_loss"]) == metrics["val_loss"]
    best = min(trials, key=lambda t: float(t["val_loss"]))
    assert [t["best"] for t in trials] == ["1" if t is best else "0" for t in trials]
    assert "Sweep: 2 trials (best by val_loss, min)" in swept.stdout
    assert f"best: trial {best['trial']} (val_loss {float(best['val_loss']):.4f}) " \
           f"optimizer.lr={best['optimizer.lr']}" in swept.stdout

"""Atomic writes and loading runs back."""

import json

import pytest

from cnnkit.errors import RunDirError
from cnnkit.io import rundir


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.json"
    rundir.write_json(target, {"accuracy": 0.5})

    def explode(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        rundir.atomic_write(target, explode)
    assert json.loads(target.read_text()) == {"accuracy": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left behind


def test_written_files_have_normal_permissions(tmp_path):
    path = rundir.write_text(tmp_path / "a.txt", "x")
    assert path.stat().st_mode & 0o044  # group/other can read (not mkstemp's 0600)


def test_open_names_a_missing_run_and_missing_files(tmp_path):
    with pytest.raises(RunDirError, match=r"`run=.*no_such_run`: no such run directory"):
        rundir.RunDir.open(tmp_path / "no_such_run")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.yaml").write_text("a: 1\n")
    with pytest.raises(RunDirError, match=r"missing preprocessing\.json, model\.keras"):
        rundir.RunDir.open(tmp_path / "half")

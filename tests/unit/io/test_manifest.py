"""manifest.json: versions, command line, git revision, seed, times, and resumed sessions."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import metadata

import pytest
from omegaconf import OmegaConf

from cnnkit.io.manifest import command_line, finish, git_state, read_manifest, write_manifest

CFG = OmegaConf.create({"name": "exp", "seed": 7})
DATA = {"kind": "arrays", "sha256": "ab" * 32}


@pytest.fixture
def no_repo_above(tmp_path, monkeypatch):
    """git must not find a repository above tmp_path (a checkout holding /tmp, say)."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    return tmp_path


def git(cwd, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


def test_manifest_names_the_installed_versions_seed_device_and_data(tmp_path, no_repo_above,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_manifest(tmp_path / "run", CFG, "CPU, 1 replica", DATA)
    manifest = json.loads(path.read_text())
    packages = manifest["packages"]
    assert packages["tensorflow"] == metadata.version("tensorflow")
    assert packages["keras"] == metadata.version("keras")
    assert packages["numpy"] == metadata.version("numpy")
    assert packages["hydra-core"] == metadata.version("hydra-core")
    assert manifest["seed"] == 7 and manifest["name"] == "exp"
    assert manifest["device"] == "CPU, 1 replica" and manifest["data"] == DATA
    assert manifest["status"] == "running" and manifest["finished"] is None
    assert manifest["git"] == {"revision": None, "dirty": None}  # tmp_path is no repository
    assert manifest["platform"]["cpu_count"] >= 1 and manifest["python"]["version"]


def test_finish_records_status_end_and_duration(tmp_path, no_repo_above):
    write_manifest(tmp_path, CFG, "cpu", DATA)
    finish(tmp_path, "interrupted")
    manifest = read_manifest(tmp_path)
    assert manifest["status"] == "interrupted" and manifest["finished"] >= manifest["started"]
    assert manifest["duration_s"] >= 0
    with pytest.raises(ValueError, match="status must be one of"):
        finish(tmp_path, "done")
    assert finish(tmp_path / "never-written") is None


def test_a_resumed_run_keeps_the_earlier_session(tmp_path, no_repo_above):
    write_manifest(tmp_path, CFG, "cpu", DATA, argv=["py", "/venv/bin/cnnkit", "train"])
    finish(tmp_path, "interrupted")
    write_manifest(tmp_path, CFG, "cpu", DATA,
                   argv=["py", "/venv/bin/cnnkit", "train", "resume=last"])
    manifest = read_manifest(tmp_path)
    assert manifest["command"] == "cnnkit train resume=last" and manifest["status"] == "running"
    [earlier] = manifest["earlier_sessions"]
    assert earlier["status"] == "interrupted" and earlier["command"] == "cnnkit train"
    assert earlier["data_sha256"] == DATA["sha256"]


def test_command_line_reads_as_typed_and_pastes_back():
    assert command_line(["/v/bin/python", "/v/bin/cnnkit", "train", "a=[1,2]", "b=x"]) == (
        "cnnkit train 'a=[1,2]' b=x")
    assert command_line(["/usr/bin/python3", "-m", "cnnkit", "train"]) == "python -m cnnkit train"


def test_git_state_is_null_outside_a_repository_and_without_git(no_repo_above, monkeypatch):
    assert git_state(no_repo_above) == {"revision": None, "dirty": None}
    monkeypatch.setenv("PATH", str(no_repo_above))  # no git executable to be found
    assert git_state(no_repo_above) == {"revision": None, "dirty": None}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_state_names_the_revision_and_whether_tracked_files_changed(no_repo_above):
    repo = no_repo_above
    git(repo, "init", "-q")
    (repo / "train.yaml").write_text("a: 1\n")
    git(repo, "add", "train.yaml")
    git(repo, "commit", "-q", "-m", "first")
    revision = git(repo, "rev-parse", "HEAD")
    (repo / "outputs").mkdir()
    (repo / "outputs" / "run.txt").write_text("untracked run output")
    assert git_state(repo / "outputs") == {"revision": revision, "dirty": False}
    (repo / "train.yaml").write_text("a: 2\n")
    assert git_state(repo) == {"revision": revision, "dirty": True}

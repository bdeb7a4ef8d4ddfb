"""`<run>/manifest.json`: what it takes to reproduce a run, or to tell why two runs differ.

Written when training starts (`write_manifest`) and completed when it ends (`finish`): package
versions, Python, platform, device, the command line as typed, the git revision of the working
directory, the seed, start and end time, and the fingerprint of the data
(`cnnkit.data.fingerprint`). A resumed run keeps the earlier sessions' summaries, so the file
says when the run was interrupted and by which command it continued.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from cnnkit import __version__
from cnnkit.io.rundir import write_json

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
#: how long git may take to answer; a slow network file system must not hold up training
GIT_TIMEOUT_S = 3.0
#: distributions recorded when installed; the first five always (null when absent). TensorFlow
#: may come as any of its builds.
TENSORFLOW_DISTS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel",
                    "tf-nightly")
REQUIRED_PACKAGES = ("cnnkit", "tensorflow", "keras", "numpy", "hydra-core",
                     "tensorflow-datasets")
OPTIONAL_PACKAGES = ("omegaconf", "tensorboard", "mlflow", "scikit-learn", "scipy", "pillow",
                     "nibabel", "h5py", "ml-dtypes", "protobuf", "optuna",
                     "hydra-optuna-sweeper", "hydra-joblib-launcher", "hydra-submitit-launcher",
                     "tensorflow-metadata", "nvidia-cudnn-cu12", "nvidia-cublas-cu12")
#: the states `finish` records; "running" is what a killed run (kill -9) still says
STATUSES = ("running", "completed", "failed", "interrupted")


def write_manifest(run_path: Path, cfg: Any, device: str, data_fingerprint: dict[str, Any],
                   argv: list[str] | None = None) -> Path:
    """Write `<run_path>/manifest.json` for a run starting now (status "running").

    `device` is the plain-words device line, `data_fingerprint` what
    `cnnkit.data.fingerprint.fingerprint` returned; `argv` defaults to the process's own
    command line (`sys.orig_argv`, untouched by Hydra). An existing manifest (a resumed run)
    lends its sessions to `earlier_sessions`."""
    path = Path(run_path) / MANIFEST
    previous = read_manifest(run_path)
    earlier = [] if previous is None else [*previous.get("earlier_sessions", []),
                                           _session_summary(previous)]
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "status": "running",
        "started": _now(),
        "finished": None,
        "duration_s": None,
        "name": cfg.get("name"),
        "seed": cfg.get("seed"),
        "command": command_line(argv),
        "argv": list(sys.orig_argv if argv is None else argv),
        "overrides": hydra_overrides(),
        "cwd": os.getcwd(),
        "git": git_state(Path.cwd()),
        "device": device,
        "python": {"version": platform.python_version(),
                   "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "platform": {"system": platform.system(), "release": platform.release(),
                     "machine": platform.machine(), "description": platform.platform(),
                     "cpu_count": os.cpu_count()},
        "packages": package_versions(),
        "tensorflow_build": _tensorflow_build(),
        "data": data_fingerprint,
        "earlier_sessions": earlier,
    }
    return write_json(path, manifest)


def finish(run_path: Path, status: str = "completed") -> Path | None:
    """Record the end of the run: `status` (completed | failed | interrupted), the end time and
    the duration. No manifest (the run failed before writing one): nothing to do, None."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}. Received: {status!r}")
    manifest = read_manifest(run_path)
    if manifest is None:
        return None
    finished = datetime.now(timezone.utc).astimezone()
    started = datetime.fromisoformat(manifest["started"])
    manifest.update(status=status, finished=finished.isoformat(timespec="seconds"),
                    duration_s=round((finished - started).total_seconds(), 1))
    return write_json(Path(run_path) / MANIFEST, manifest)


def read_manifest(run_path: Path) -> dict[str, Any] | None:
    """The run's manifest, or None when it has none (or an unreadable one)."""
    path = Path(run_path) / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def command_line(argv: list[str] | None = None) -> str:
    """The command as the user typed it: `cnnkit train ...` (or `python -m cnnkit ...`),
    quoted so it can be pasted back into a shell."""
    args = list(sys.orig_argv if argv is None else argv)
    if len(args) >= 3 and args[1:3] == ["-m", "cnnkit"]:
        return shlex.join(["python", "-m", "cnnkit", *args[3:]])
    if len(args) >= 2 and Path(args[1]).name == "cnnkit":  # python .venv/bin/cnnkit ...
        return shlex.join(["cnnkit", *args[2:]])
    return shlex.join(args)


def git_state(directory: Path) -> dict[str, Any]:
    """{"revision", "dirty"} of the git work tree holding `directory`; both null when git is
    missing, slow, or `directory` is in no repository. Untracked files (run outputs) do not
    count as dirty."""
    revision = _git(directory, "rev-parse", "HEAD")
    status = None if revision is None else _git(
        directory, "status", "--porcelain", "--untracked-files=no")
    return {"revision": revision, "dirty": None if status is None else bool(status)}


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True,
            timeout=GIT_TIMEOUT_S, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a run depends on (importlib.metadata, no imports)."""
    versions: dict[str, str | None] = {}
    for name in (*REQUIRED_PACKAGES, *OPTIONAL_PACKAGES):
        if name == "cnnkit":  # the code running, which may not be the installed copy
            versions[name] = __version__
            continue
        candidates = TENSORFLOW_DISTS if name == "tensorflow" else (name,)
        version = next((v for v in map(_version, candidates) if v is not None), None)
        if version is not None or name in REQUIRED_PACKAGES:
            versions[name] = version
    return versions


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _tensorflow_build() -> dict[str, Any] | None:
    """CUDA and cuDNN TensorFlow was built with, when TensorFlow is already imported."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None
    info = dict(tf.sysconfig.get_build_info())
    return {k: info.get(k) for k in ("is_cuda_build", "cuda_version", "cudnn_version")}


def hydra_overrides() -> list[str] | None:
    """This job's own overrides (one trial of a sweep has its own), when Hydra runs it."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else None
    except (ImportError, ValueError):
        return None


def _session_summary(manifest: dict[str, Any]) -> dict[str, Any]:
    keys = ("started", "finished", "status", "command", "git", "device")
    return {**{k: manifest.get(k) for k in keys},
            "data_sha256": (manifest.get("data") or {}).get("sha256")}


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")

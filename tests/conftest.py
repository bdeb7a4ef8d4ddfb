"""Shared fixtures: quiet TensorFlow, the shared data folder (skipped when absent), a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# disk caches of decoded data go to a folder of this session, never the user's ~/.cache
os.environ.setdefault("CNNKIT_CACHE_DIR", tempfile.mkdtemp(prefix="cnnkit-test-cache-"))
# Under pytest-xdist (`make test` runs a worker per core) each worker, and every CLI it starts,
# gets its share of the cores for TensorFlow's thread pools rather than a pool per core each
# (which oversubscribes the cores: a pool's threads wait on each other for a core).
if os.environ.get("PYTEST_XDIST_WORKER"):
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", _share)
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", _share)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the repository; tests that need it skip cleanly without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


def cnnkit_executable() -> list[str]:
    """The installed console script (as a user runs it), else `python -m cnnkit`."""
    script = Path(sys.executable).with_name("cnnkit")
    if script.exists():
        return [str(script)]
    found = shutil.which("cnnkit")
    return [found] if found else [sys.executable, "-m", "cnnkit"]


@pytest.fixture
def cli(tmp_path: Path):
    """Run `cnnkit ARGS...` in tmp_path; returns the CompletedProcess (text, merged output)."""

    def run(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*cnnkit_executable(), *args], cwd=tmp_path, capture_output=True, text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"cnnkit {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    return run

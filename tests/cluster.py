"""A TF_CONFIG cluster of processes on localhost for tests (free ports from the OS, timeouts), and
the arrays of a saved model to compare what the workers ended with."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import time
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np


def free_ports(count: int) -> list[int]:
    """Ports the OS hands out for port 0, all held open together so they differ."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"localhost:{port}" for port in ports]},
                       "task": {"type": "worker", "index": index}})


@dataclass
class Finished:
    returncode: int | None  # None: killed at the timeout
    output: str


def run_workers(commands: list[list[str]], cwd: Path, timeout: float,
                env: dict[int, dict[str, str]] | None = None) -> list[Finished]:
    """Run one process per command as workers 0..n-1 of one cluster (`env[i]`: worker i's own
    variables); all are killed `timeout` seconds after the start (a worker whose peer died waits
    for it for ever)."""
    ports = free_ports(len(commands))
    deadline = time.monotonic() + timeout
    procs = []
    for index, command in enumerate(commands):
        worker_env = {**os.environ, "TF_CONFIG": tf_config(ports, index),
                      **(env or {}).get(index, {})}
        procs.append(subprocess.Popen(command, cwd=cwd, env=worker_env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    finished = []
    for proc in procs:
        try:
            output, _ = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            finished.append(Finished(proc.returncode, output))
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            finished.append(Finished(None, output))
    return finished


def saved_arrays(model_file: Path) -> dict[str, np.ndarray]:
    """Every array a `.keras` file holds (weights and layer statistics), by its path inside."""
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(model_file) as archive, h5py.File(
            io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
        weights.visititems(lambda name, item: arrays.__setitem__(name, item[()])
                           if isinstance(item, h5py.Dataset) else None)
    return arrays

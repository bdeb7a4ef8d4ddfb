"""Where a multi-worker member other than the chief writes: never the run directory.

Under MultiWorkerMirroredStrategy every worker runs the same `cnnkit train`; only the chief
(`cnnkit.training.distribute.is_chief`) writes the run directory. The others are pointed, before
Hydra creates `.hydra/`, at a folder of their own: $CNNKIT_WORKER_DIR (kept, e.g. to compare
weights or read a worker's log) or a temporary folder removed at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cnnkit.commands.common import console

WORKER_DIR_ENV = "CNNKIT_WORKER_DIR"


@dataclass(frozen=True)
class WorkerFolder:
    path: Path
    temporary: bool

    def redirect(self, overrides: list[str]) -> list[str]:
        """`overrides` with Hydra's run and sweep directories pointed at this folder."""
        own = [o for o in overrides
               if not o.lstrip("+~").startswith(("hydra.run.dir=", "hydra.sweep.dir="))]
        return [*own, f"hydra.run.dir='{self.path}'", f"hydra.sweep.dir='{self.path}'"]

    def remove(self) -> None:
        if self.temporary:
            shutil.rmtree(self.path, ignore_errors=True)


def worker_folder(distribute: str) -> WorkerFolder | None:
    """This process's own folder when it is a worker but not the chief (`trainer.distribute`
    resolving to multi_worker); None when it writes the run directory itself."""
    from cnnkit.training.distribute import is_chief
    from cnnkit.training.strategy import multi_worker_requested

    if not multi_worker_requested(distribute) or is_chief():
        return None
    kept = os.environ.get(WORKER_DIR_ENV)
    folder = WorkerFolder(Path(kept).resolve(), False) if kept else WorkerFolder(
        Path(tempfile.mkdtemp(prefix="cnnkit-worker-")), True)
    console().print(f"  not the chief: this worker writes to {folder.path}"
                    f"{' (removed at the end)' if folder.temporary else ''}; "
                    "the chief writes the run directory")
    return folder

"""One process per run directory: a run, or a ``resume=`` of it, holds ``<run dir>/run.lock``.

Two processes continuing one run would log each epoch twice and export two versions, so a
second ``resume=`` (or one started while the run still trains) is refused in one line. The
lock is ``flock``'s: the OS releases it when its process ends, so a kill leaves no stale lock.
"""

from __future__ import annotations

import fcntl
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from tfexp.errors import TfexpError

LOCK_FILE = "run.lock"


class RunInUse(TfexpError):
    """Another process is running or resuming this run now."""


@contextmanager
def run_lock(run_dir: Path):
    """Hold ``run_dir``'s lock for the ``with`` block, or raise :class:`RunInUse` naming its holder."""
    path = Path(run_dir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunInUse(
                f"{run_dir} is in use: {holder} is running or resuming this run now. "
                f"Wait for it to end (or stop it), then resume=... again"
            ) from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)

"""TensorFlow Serving's layout ``<base>/<model_name>/<version>/``, versions 1, 2, 3, ...

A version is written in a hidden staging directory and renamed into place, so a server
watching the base directory never loads a half-written one, and runs exporting to the
same base at the same time (the jobs of a sweep) each get their own number.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def versions(model_dir: Path) -> list[int]:
    """The published versions under ``model_dir``, ascending."""
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def staging_dir(model_dir: Path) -> Path:
    """A fresh hidden directory beside the versions (servers only look at numeric names)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=".staging-", dir=model_dir))
    staged.chmod(0o755)  # mkdtemp makes it private; a server running as another user reads it
    return staged


def publish(staged: Path, model_dir: Path) -> int:
    """Rename ``staged`` to the next free version number and return that number."""
    while True:
        version = max(versions(model_dir), default=0) + 1
        try:
            os.rename(staged, model_dir / str(version))
            return version
        except OSError as exc:  # another run published this number first: take the next
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise

"""A local sqlite store is created whole, by one process at a time.

MLflow creates its schema on first use with alembic migrations. Separate processes doing that
at once race (``Online migration expected to match one row ... 'alembic_version'; 0 found``) and
leave a half-made file that every later run refuses. So tfexp creates the store under a file
lock (``<db>.lock``, which works for processes that do not know each other), into a temporary
file that is linked into place only when complete, before any MLflow client opens it.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from contextlib import closing, contextmanager
from pathlib import Path

from tfexp.errors import TfexpError

SETTLE_S = 30.0
"""How long to wait for a store that another program (not tfexp) is creating right now."""


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for servers and in-memory stores)."""
    if not uri.startswith("sqlite:///") or uri.removeprefix("sqlite:///") in ("", ":memory:"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?")[0])


SQLITE_HEADER = b"SQLite format 3\x00"


def check_store(uri: str) -> None:
    """A sqlite store that cannot be used, named in one line before anything opens it: a
    directory, a file that is not a database, a place that cannot be written."""
    from tfexp.errors import ConfigError
    from tfexp.output_dir import write_problem

    path = sqlite_path(uri)
    if path is None:
        return
    if path.is_dir():
        problem = "it is a directory"
    elif path.is_file() and path.stat().st_size and _header(path) != SQLITE_HEADER:
        problem = "it is not an SQLite database"
    elif path.is_file() and not os.access(path, os.R_OK | os.W_OK):
        problem = "it cannot be read and written"
    else:
        problem = write_problem(str(path.parent))
    if problem:
        raise ConfigError(
            f"tracking.uri={uri} cannot be the MLflow store: {path}: {problem}. "
            f"Set tracking.uri=sqlite:///<a new file in a writable directory>.db"
        )


def _header(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(len(SQLITE_HEADER))


@contextmanager
def locked(path: Path):
    """Hold ``<path>.lock`` exclusively (released by the OS if the process dies)."""
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepared(uri: str) -> str:
    """``uri``, with its sqlite store created and checked first (other URIs unchanged)."""
    path = sqlite_path(uri)
    if path is None:
        return uri
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path):
            if not path.exists() or path.stat().st_size == 0:
                _create(path)
            _wait_complete(path)
    except OSError as exc:
        raise TfexpError(f"cannot create the MLflow store {path} ({exc}): set tracking.uri to a writable place") from None
    return uri


def _create(path: Path) -> None:
    """Make the schema in a temporary file, then link it into place: the store is complete or absent."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp_uri = f"sqlite:///{tmp}"
    try:
        SqlAlchemyStore(tmp_uri, (path.parent / "mlartifacts").as_uri())
        SqlAlchemyStore._engine_map.pop(tmp_uri).dispose()
        path.unlink(missing_ok=True)  # an empty file left by another program
        os.link(tmp, path)  # never replaces a store another program made meanwhile
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def _wait_complete(path: Path) -> None:
    """Return when the store's schema is MLflow's current one; a store being written now (by
    another program) gets until ``SETTLE_S`` after its last change, then one line names the
    file and the way out."""
    from mlflow.store.db.utils import _get_latest_schema_revision

    head = _get_latest_schema_revision()
    while (found := _schema_version(path)) != head and time.time() - path.stat().st_mtime < SETTLE_S:
        time.sleep(0.5)
    if found == head:
        return
    if found is None:
        raise TfexpError(
            f"{path} is a half-made MLflow store (no schema version): move it away "
            f"(mv {path} {path}.broken) and run again, tfexp then creates a fresh one"
        )
    raise TfexpError(
        f"{path} has MLflow schema {found}, this MLflow needs {head}: back it up, then "
        f"mlflow db upgrade sqlite:///{path}"
    )


def _schema_version(path: Path) -> str | None:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None

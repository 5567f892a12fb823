"""Small file helpers shared by the stores in the data folder."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write `data` to `path` so a reader (or a restart after power loss) sees the old file or
    the new one, never a mix: temp file in the same folder, fsync, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)  # before any byte is written: a secret is never world-readable
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_json(path: Path, obj: Any, *, mode: int | None = None) -> None:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    atomic_write_bytes(path, data, mode=mode)


def read_json(path: Path) -> Any | None:
    """The parsed file, or None if it is missing or unreadable (a damaged file is ignored)."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None

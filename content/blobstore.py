"""Content-addressed blob store: files live at root/ab/cd/<sha256>.

Uploads are streamed to a temp file inside root (same filesystem, so the final
`os.replace` is atomic) while being hashed; nothing is ever held whole in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Protocol

from .errors import ContentError

CHUNK_SIZE = 1024 * 1024
HEAD_SIZE = 4096  # kept from the first chunk for type sniffing
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_TMP_DIR = ".tmp"


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def validate_sha256(sha: str) -> str:
    """Return sha if it is exactly 64 lowercase hex chars, else raise invalid_sha256."""
    if not isinstance(sha, str) or not _SHA_RE.fullmatch(sha):
        raise ContentError("invalid_sha256", "blob id must be 64 lowercase hex characters")
    return sha


class PendingBlob:
    """A fully received, hashed upload in a temp file, awaiting validation.

    Use as a context manager: unless `commit()` was called, the temp file is removed
    on exit, so a failed validation never leaves anything on disk.
    """

    def __init__(self, store: BlobStore, tmp_path: Path, sha256: str, size: int, head: bytes):
        self.store = store
        self.tmp_path = tmp_path
        self.sha256 = sha256
        self.size = size
        self.head = head
        self.committed = False
        self.discarded = False

    def commit(self) -> Path:
        """Move the temp file to its content address (idempotent for duplicate bytes)."""
        if self.discarded:
            raise RuntimeError("blob already discarded")
        if self.committed:
            return self.store.path(self.sha256)
        final = self.store.path(self.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            # Same bytes already stored: keep the single existing copy.
            self.tmp_path.unlink(missing_ok=True)
        else:
            os.chmod(self.tmp_path, 0o644)
            os.replace(self.tmp_path, final)
        self.committed = True
        return final

    def discard(self) -> None:
        if not self.committed and not self.discarded:
            self.tmp_path.unlink(missing_ok=True)
            self.discarded = True

    def __enter__(self) -> PendingBlob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


class BlobStore:
    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.tmp_dir = self.root / _TMP_DIR
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        """Filesystem path of a blob. Only built from a validated hex digest."""
        validate_sha256(sha)
        return self.root / sha[:2] / sha[2:4] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def size(self, sha: str) -> int:
        try:
            return self.path(sha).stat().st_size
        except FileNotFoundError:
            raise ContentError("blob_not_found", "no such blob", sha256=sha) from None

    def open(self, sha: str) -> BinaryIO:
        try:
            return open(self.path(sha), "rb")
        except FileNotFoundError:
            raise ContentError("blob_not_found", "no such blob", sha256=sha) from None

    def delete(self, sha: str) -> bool:
        """Remove a blob; returns False if it was not there."""
        try:
            self.path(sha).unlink()
        except FileNotFoundError:
            return False
        return True

    def ingest_stream(self, fileobj: Readable, max_bytes: int) -> PendingBlob:
        """Stream fileobj into a temp file while hashing it.

        Never reads more than max_bytes + 1 bytes: the moment the count passes
        max_bytes the temp file is removed and `too_large` raised.
        """
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="up-")
        tmp_path = Path(name)
        hasher = hashlib.sha256()
        total = 0
        head = b""
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    # Ask for at most one byte past the limit, so a huge upload is detected
                    # without reading (or buffering) a whole extra chunk.
                    want = min(CHUNK_SIZE, max_bytes + 1 - total)
                    chunk = fileobj.read(want)
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > max_bytes:
                        raise ContentError(
                            "too_large",
                            "file is larger than the upload limit",
                            limit_bytes=max_bytes,
                            received_bytes=total,
                        )
                    if len(head) < HEAD_SIZE:
                        head += chunk[: HEAD_SIZE - len(head)]
                    hasher.update(chunk)
                    out.write(chunk)
                if self.fsync:
                    out.flush()
                    os.fsync(out.fileno())
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
        return PendingBlob(self, tmp_path, hasher.hexdigest(), total, head)

    def cleanup_temp(self, older_than_s: float = 3600.0) -> int:
        """Remove temp files left by a crashed process; returns how many were removed."""
        cutoff = time.time() - older_than_s
        removed = 0
        for p in self.tmp_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if p.stat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
        return removed

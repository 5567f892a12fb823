"""Blob cache: the media files the manifest needs, downloaded over HTTP and checked.

Layout in `<data>/blobs/`: `<sha256>` is a complete, verified file; `<sha256>.part` is a
download in progress, resumed with a Range request after a cut. A file is renamed to its
final name only after its size and SHA-256 match, and is hashed again the first time a run
uses it, so a corrupt or partial file is never shown: it is deleted and fetched again.

A file swapped or edited on disk after it was verified is caught before it is shown: each
verified file's size, mtime, ctime and inode are noted, `ready()` compares them (one stat)
and hashes again only when they changed. A mismatch there, or a download that does not hash
to its sha256, is reported as a `blob_hash` refusal (player/trust.py); with `allowed`, a blob
no verified manifest or broadcast names is never fetched (`unlisted`).

"Last used" is the file's mtime (touched on use): it survives restarts, unlike an in-memory
list, and unlike atime it does not depend on mount options.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import requests
import urllib3

from player.protocol import BLOB_PATH, SHA256_RE
from player.trust import Refused

log = logging.getLogger(__name__)
CHUNK = 256 * 1024


class DownloadError(Exception):
    pass


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


Stamp = tuple[int, int, int, int, int]


def stamp(st: os.stat_result) -> Stamp:
    """What changes when a file is replaced or written: a changed stamp means hash again."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


class BlobCache:
    def __init__(self, folder: Path, *, server_url: str = "", credential: str = "",
                 quota_bytes: int | None = None, session: requests.Session | None = None,
                 timeout_s: float = 30.0,
                 on_refused: Callable[[Refused], None] | None = None,
                 allowed: Callable[[str], bool] | None = None) -> None:
        self.folder = Path(folder)
        self.on_refused = on_refused
        self.allowed = allowed  # None: fetch whatever is asked (no signed list to hold to)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.server_url = server_url.rstrip("/")
        self.credential = credential
        self.quota_bytes = quota_bytes
        self.session = session or requests.Session()
        self.timeout_s = timeout_s
        self.bytes_downloaded = 0  # every body byte received, re-fetches included
        self.downloads = 0  # completed, verified downloads
        self.refused = 0  # downloads thrown away because size or hash did not match
        self._lock = threading.RLock()
        # Hashed in this run, with the file's stamp then: ready() need not hash it again
        # while the stamp is unchanged.
        self._verified: dict[str, Stamp] = {}
        self._needed: set[str] = set()

    # --- state --------------------------------------------------------------------------

    def path(self, sha: str) -> Path:
        if not SHA256_RE.match(sha):
            raise ValueError(f"not a sha256: {sha!r}")
        return self.folder / sha

    def ready(self, sha: str) -> bool:
        """True if the complete, verified file is here: hashed once per run, and again only
        if its stamp changed since (one stat per call otherwise)."""
        p = self.path(sha)
        try:
            st = os.stat(p)
        except FileNotFoundError:
            with self._lock:
                self._verified.pop(sha, None)
            return False
        with self._lock:
            known = self._verified.get(sha)
        if known == stamp(st):
            return True
        # Hash outside the lock: the playback thread must not wait behind the hashing of
        # some other, large file. The stamp noted is the one from before the hash, so a
        # change during it is hashed again next time.
        try:
            good = sha256_file(p) == sha
        except FileNotFoundError:
            return False
        if not good:
            self._refuse(Refused("blob", "blob_hash", sha256=sha, detail=(
                "the cached file changed on disk after it was verified" if known else
                "the cached file does not match its hash") + "; fetching it again"))
            p.unlink(missing_ok=True)
            with self._lock:
                self._verified.pop(sha, None)
            return False
        with self._lock:
            self._verified[sha] = stamp(st)
        return True

    def _refuse(self, refusal: Refused) -> None:
        log.warning("%s", refusal)
        if self.on_refused is not None:
            self.on_refused(refusal)

    def download_percent(self, blobs: Mapping[str, int]) -> int | None:
        """How much of these files' bytes (sha256 -> size) are here, 0-99 (a .part counts
        what it holds); None when every one is ready (STATUS download_percent)."""
        total = held = 0
        complete = True
        for sha, size in blobs.items():
            total += size
            if self.ready(sha):
                held += size
                continue
            complete = False
            part = _stat(self.path(sha).with_name(sha + ".part"))
            held += min(size, part.st_size) if part is not None else 0
        if complete:
            return None
        return min(99, held * 100 // total) if total else 0

    def cached(self) -> list[str]:
        """sha256 of the complete files present (not re-hashed; for HELLO's cache list)."""
        return sorted(p.name for p in self.folder.iterdir() if SHA256_RE.match(p.name))

    def used_bytes(self) -> int:
        return sum(st.st_size for p in self.folder.iterdir() if (st := _stat(p)) is not None)

    def touch(self, sha: str) -> None:
        """Mark as just used (eviction removes the least recently used first). The file's
        new stamp is noted only if it was the verified one, so a file swapped before this is
        still hashed before it shows again."""
        with contextlib.suppress(FileNotFoundError), open(self.path(sha), "rb") as f:
            before = stamp(os.fstat(f.fileno()))
            os.utime(f.fileno())
            after = stamp(os.fstat(f.fileno()))
            with self._lock:
                if self._verified.get(sha) == before:
                    self._verified[sha] = after

    def free_disk_bytes(self) -> int:
        return shutil.disk_usage(self.folder).free

    # --- downloads ----------------------------------------------------------------------

    def fetch(self, sha: str, size: int) -> bool:
        """Download one blob (resuming a .part); True once it is here and verified.

        Raises DownloadError/requests exceptions on network trouble; the .part keeps what
        arrived so the next call resumes from there."""
        if self.ready(sha):
            return True
        if self.allowed is not None and not self.allowed(sha):
            self._refuse(Refused("blob", "unlisted", sha256=sha,
                                 detail="no verified manifest or broadcast names it"))
            raise DownloadError(f"blob {sha}: not named by a verified manifest or broadcast")
        final = self.path(sha)
        part = final.with_name(sha + ".part")
        have = part.stat().st_size if part.exists() else 0
        if have > size:
            part.unlink()
            have = 0
        if have < size or size == 0:
            self._download(sha, part, have, size)
        got = part.stat().st_size if part.exists() else 0
        if got != size or sha256_file(part) != sha:
            # The prefix kept from an earlier attempt could be the bad part, so start over.
            part.unlink(missing_ok=True)
            self.refused += 1
            self._refuse(Refused("blob", "blob_hash", sha256=sha,
                                 detail=f"the download ({got} bytes) does not match it"))
            raise DownloadError(f"blob {sha}: size {got} / hash do not match ({size} expected)")
        hashed = os.stat(part).st_ino
        os.replace(part, final)
        now = os.stat(final)
        with self._lock:
            if now.st_ino == hashed:  # the file just hashed (a rename keeps the inode)
                self._verified[sha] = stamp(now)
            self.downloads += 1
        return True

    def _download(self, sha: str, part: Path, have: int, size: int) -> None:
        headers = {"Authorization": f"Bearer {self.credential}"}
        if have:
            headers["Range"] = f"bytes={have}-"
        url = f"{self.server_url}{BLOB_PATH}/{sha}"
        with self.session.get(url, headers=headers, stream=True, timeout=self.timeout_s) as r:
            if r.status_code == 206 and have:
                mode = "ab"
                start = _range_start(r.headers.get("Content-Range", ""))
                if start != have:
                    raise DownloadError(f"blob {sha}: server resumed at {start}, not {have}")
            elif r.status_code == 200:
                mode = "wb"  # the server ignored the Range: take the whole file again
            elif r.status_code == 416 and have:
                part.unlink(missing_ok=True)
                raise DownloadError(f"blob {sha}: range not satisfiable; restarting")
            else:
                raise DownloadError(f"blob {sha}: HTTP {r.status_code}")
            with part.open(mode) as f:
                try:
                    # read1: whatever has arrived, so a cut loses nothing already received
                    # (iter_content would drop its half-filled buffer with the exception).
                    while chunk := r.raw.read1(CHUNK):
                        self.bytes_downloaded += len(chunk)
                        f.write(chunk)
                        if f.tell() > size:
                            break  # more than announced: the hash check will refuse it
                except urllib3.exceptions.HTTPError as e:
                    raise DownloadError(f"blob {sha}: cut after {f.tell()} bytes: {e}") from e
                finally:
                    f.flush()
                    os.fsync(f.fileno())

    # --- what to keep -------------------------------------------------------------------

    def set_needed(self, shas: Iterable[str]) -> None:
        with self._lock:
            self._needed = set(shas)

    def evict(self, room_for: int = 0) -> list[str]:
        """Delete files the manifest does not need (oldest used first) until used + room_for
        fits the quota; with no quota only stale .part files of unneeded blobs go.
        Needed files are never evicted: the quota is checked before downloading instead."""
        removed = []
        with self._lock:
            entries = []
            for p in self.folder.iterdir():
                sha = p.name.removesuffix(".part")
                if not p.is_file() or not SHA256_RE.match(sha) or sha in self._needed:
                    continue
                st = _stat(p)
                if st is not None:  # gone meanwhile (a swapped file removed by the player)
                    entries.append((st.st_mtime_ns, p, st.st_size))
            entries.sort(key=lambda e: (e[0], e[1].name))
            used = self.used_bytes()
            for _, p, size in entries:
                if self.quota_bytes is not None and used + room_for <= self.quota_bytes:
                    break
                p.unlink(missing_ok=True)
                self._verified.pop(p.name, None)
                used -= size
                removed.append(p.name)
        return removed

    def fits(self, size: int) -> bool:
        return self.quota_bytes is None or self.used_bytes() + size <= self.quota_bytes

    def sync(self, wanted: list[tuple[str, int]],
             on_ready: Callable[[str], None] | None = None) -> dict[str, str]:
        """Make the cache hold `wanted` (sha, size), most urgent first: evict what is not
        wanted, then fetch what is missing while the quota allows. Returns {sha: problem}
        for the blobs that are still not ready (network error, bad hash, no room)."""
        self.set_needed(sha for sha, _ in wanted)
        problems: dict[str, str] = {}
        for sha, size in wanted:
            if self.ready(sha):
                self.touch(sha)
                continue
            have = self.path(sha).with_name(sha + ".part")
            missing = size - (have.stat().st_size if have.exists() else 0)
            self.evict(room_for=max(0, missing))
            if not self.fits(max(0, missing)):
                problems[sha] = "quota"
                continue
            try:
                self.fetch(sha, size)
                if on_ready:
                    on_ready(sha)
            except (DownloadError, requests.RequestException, OSError) as e:
                problems[sha] = str(e)
        return problems

    def close(self) -> None:
        self.session.close()

    def clear(self) -> None:
        """Delete everything (the clear_cache command); needed blobs are fetched again."""
        with self._lock:
            for p in self.folder.iterdir():
                if p.is_file():
                    p.unlink(missing_ok=True)
            self._verified.clear()


def _stat(p: Path) -> os.stat_result | None:
    """A regular file's stat, or None if it is not one or was removed meanwhile (the
    playback thread removes a cached file it finds swapped on disk)."""
    try:
        st = p.stat()
    except FileNotFoundError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _range_start(content_range: str) -> int | None:
    # "bytes 100-999/1000"
    try:
        return int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None

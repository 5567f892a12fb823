"""Worker processes for CPU-heavy jobs: the gevent worker's event loop belongs to the
terminals (DESIGN.md), so decoding media, rendering notices and building exports run here.

Why a pool of our own: concurrent.futures.ProcessPoolExecutor and multiprocessing's Pool
and Queue hang under gevent's monkey-patching (gevent issue #936). A child here is a
Python running `_serve` (CHILD_COMMAND), started with subprocess (patched by gevent: starting and
reaping it yield); it reads jobs on stdin and answers on stdout in length-prefixed pickle
frames, one job at a time. The parent waits for the answer with select.poll on a
non-blocking pipe. gevent patches poll too, so under the gevent worker the request's
greenlet yields while the child works; in threading mode (tests) the calling thread blocks.

Each job runs under a memory limit and a time limit (the parent kills the child when it
passes). The memory limit is RLIMIT_DATA, set by the child around the job to its own data
size (VmData) plus the limit: heap, anonymous mappings and thread stacks, which is where a
decoded image or a rendered page lives. Not RLIMIT_AS: the address space also counts
read-only file mappings, and FreeType maps the 16 MB CJK font once per font size, so
rendering one notice for five LED sizes grew VmSize by 1.6 GB while VmData grew 19 MB (a
1 GB RLIMIT_AS refused it). Measured under RLIMIT_DATA: a 512 MB bytearray and the decode
of a 39 MP JPEG raise MemoryError at 64 and 100 MB; the JPEG passes at 1024 MB. A killed, crashed or overgrown child is replaced at once: the pool never shrinks,
and no job can take the web worker down.

Without a started pool (CLI commands, app tests, scripts) `run` and `run_db` call the
function inline, in the calling process, without limits.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import queue
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from content.errors import ContentError
from server.services.errors import N_, ServiceError

log = logging.getLogger(__name__)
T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
_HEADER = struct.Struct(">Q")
READY_S = 60.0  # a fresh child imports Pillow, PyAV and the server's modules (~1 s idle)
RETIRE_GROWTH_MB = 256  # a child this much bigger than when it started is replaced
_CHUNK = 1 << 20
# Not `-m server.workpool`: importing the package `server` imports this module already,
# and runpy would run it a second time as __main__ (with a warning).
CHILD_COMMAND = [sys.executable, "-c", "from server.workpool import _serve; _serve()"]

# code: (HTTP status, message). The messages say what a person can do about it.
_FAILURES = {
    "job_memory": (422, N_("Processing needs more memory than the limit of %(mb)s MB; "
                           "use a smaller file.")),
    "job_timeout": (503, N_("Processing took longer than the limit of %(seconds)s "
                            "seconds.")),
    "job_crashed": (503, N_("The processing stopped unexpectedly; try again. If it happens "
                            "again with the same file, use another file.")),
    "job_busy": (503, N_("The server is busy processing other work; try again in a "
                         "minute.")),
    "job_error": (500, N_("Processing failed: %(detail)s")),
}


class JobFailed(ServiceError):
    """A job could not finish: over its memory or time limit, its process died, no worker
    was free in time, or what it raised could not be brought back."""

    def __init__(self, code: str, **params: object) -> None:
        status, message = _FAILURES[code]
        super().__init__(message, **params)
        self.code, self.status = code, status


class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


# --- the parent's side ------------------------------------------------------------------


class _Child:
    """One worker process, and the parent's (non-blocking) ends of its two pipes."""

    def __init__(self, env: dict[str, str], n: int) -> None:
        self.env, self.n = env, n
        self.proc: subprocess.Popen | None = None
        self.r = self.w = -1
        self.ready = False
        self.stopped = False  # the pool was stopped: a replacement is not started
        self.spawn()

    def spawn(self) -> None:
        """Start the process; on failure the slot stays, empty, and is filled on next use."""
        child_in, w = os.pipe()
        r, child_out = os.pipe()
        try:
            # subprocess.Popen looked up now: gevent's under the gevent worker.
            self.proc = subprocess.Popen(CHILD_COMMAND, stdin=child_in, stdout=child_out,
                                         env=self.env, cwd=ROOT, close_fds=True)
        except OSError:
            log.exception("job worker %d could not be started", self.n)
            for fd in (w, r):
                os.close(fd)
            self.proc = None
            return
        finally:
            os.close(child_in)
            os.close(child_out)
        os.set_blocking(w, False)
        os.set_blocking(r, False)
        self.r, self.w, self.ready = r, w, False

    def close(self, kill: bool = True) -> None:
        """End the process (SIGKILL unless `kill` is false: then closing stdin ends it)."""
        proc, self.proc = self.proc, None
        for fd in (self.w, self.r):
            if fd >= 0:
                os.close(fd)
        self.r = self.w = -1
        if proc is None:
            return
        if kill and proc.poll() is None:
            proc.kill()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def replace(self) -> None:
        self.close()
        if not self.stopped:
            self.spawn()

    def call(self, frame: bytes, timeout_s: float) -> bytes:
        """Send one job, return the answer's bytes; _Timeout or _Died otherwise."""
        if self.proc is None or self.proc.poll() is not None:
            self.replace()
            if self.proc is None:
                raise _Died("cannot start a worker process")
        if not self.ready:
            try:
                self._recv(time.monotonic() + READY_S)  # ("ready", pid)
            except _Timeout:
                raise _Died(f"not ready after {READY_S:g} s") from None
            self.ready = True
        deadline = time.monotonic() + timeout_s
        self._send(_HEADER.pack(len(frame)) + frame, deadline)
        return self._recv(deadline)

    def _wait(self, fd: int, event: int, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Timeout
        poller = select.poll()  # looked up now: gevent's cooperative one under gevent
        poller.register(fd, event)
        if not poller.poll(remaining * 1000):
            raise _Timeout

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            self._wait(self.w, select.POLLOUT, deadline)
            try:
                view = view[os.write(self.w, view[:_CHUNK]):]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise _Died("worker process closed its input") from None

    def _read(self, n: int, deadline: float) -> bytes:
        parts: list[bytes] = []
        while n:
            self._wait(self.r, select.POLLIN, deadline)
            try:
                chunk = os.read(self.r, min(n, _CHUNK))
            except BlockingIOError:
                continue
            if not chunk:
                raise _Died("worker process ended")
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def _recv(self, deadline: float) -> bytes:
        (size,) = _HEADER.unpack(self._read(_HEADER.size, deadline))
        return self._read(size, deadline)


class Pool:
    """`size` long-lived worker processes, and one more kept for urgent jobs; a job waits for
    a free one of its kind (a queue of idle ones each)."""

    def __init__(self, size: int, env: dict[str, str], timeout_s: float,
                 memory_mb: int) -> None:
        self.timeout_s, self.memory_mb = float(timeout_s), int(memory_mb)
        # Two malloc arenas, not eight per core: each of FFmpeg's decoding threads would
        # otherwise get an arena of its own (64 MB of address space each), whose freed
        # memory stays with the child and counts toward the next job's limit.
        env = {**env, "MALLOC_ARENA_MAX": "2"}
        self.children = [_Child(env, n) for n in range(size)]
        # An emergency broadcast must not queue behind staff's exports and uploads: staff
        # load kept both workers busy and a typed broadcast's POST waited 1.3-2.6 s for one.
        self.urgent = _Child(env, size)
        # First in, first out: a child just replaced (still warming up) goes to the back.
        self._idle: queue.Queue[_Child] = queue.Queue()
        for child in self.children:
            self._idle.put(child)
        self._urgent: queue.Queue[_Child] = queue.Queue()
        self._urgent.put(self.urgent)
        # The scheduler's jobs never hold every worker: at a start the first planned-time
        # and stuck-detection runs took both (20-60 s each on a loaded machine), and the
        # first sign-in's password check waited 20.6 s for one. One token per worker they
        # may hold at once (with a single worker, that one).
        self._background: queue.Queue[None] = queue.Queue()
        for _ in range(max(1, size - 1)):
            self._background.put(None)

    def submit(self, fn: Callable, args: tuple, kwargs: dict, *, with_db: bool,
               timeout_s: float | None = None, memory_mb: int | None = None,
               urgent: bool = False, background: bool = False) -> Any:
        timeout_s = self.timeout_s if timeout_s is None else float(timeout_s)
        memory_mb = self.memory_mb if memory_mb is None else int(memory_mb)
        # Pickled before a worker is taken: a function that cannot be sent is the caller's
        # bug, and raises here as pickle's own error.
        frame = pickle.dumps((fn, args, kwargs, memory_mb, with_db), pickle.HIGHEST_PROTOCOL)
        if not background:
            return self._call(fn, frame, timeout_s, memory_mb, urgent)
        try:
            self._background.get(timeout=timeout_s)
        except queue.Empty:
            raise JobFailed("job_busy") from None
        try:
            return self._call(fn, frame, timeout_s, memory_mb, urgent)
        finally:
            self._background.put(None)

    def _call(self, fn: Callable, frame: bytes, timeout_s: float, memory_mb: int,
              urgent: bool) -> Any:
        """Take a free worker of the kind, run the job on it, give the worker back."""
        idle = self._urgent if urgent else self._idle
        try:
            child = idle.get(timeout=timeout_s)
        except queue.Empty:
            raise JobFailed("job_busy") from None
        name = getattr(fn, "__qualname__", repr(fn))
        try:
            try:
                answer = child.call(frame, timeout_s)
            except _Timeout:
                log.warning("job %s passed its time limit of %g s: worker %d killed",
                            name, timeout_s, child.n)
                child.replace()
                raise JobFailed("job_timeout", seconds=f"{timeout_s:g}") from None
            except _Died as e:
                code = child.proc.poll() if child.proc is not None else None
                log.warning("job %s: worker %d died (%s, exit status %s); replaced",
                            name, child.n, e, code)
                child.replace()
                raise JobFailed("job_crashed") from None
            except BaseException:  # the waiting greenlet was killed: the answer is lost
                child.replace()
                raise
            try:
                reply = pickle.loads(answer)
            except Exception as e:
                raise JobFailed("job_error", detail=f"{type(e).__name__}: {e}"[:300]) from None
            if reply[-1]:  # the child asks to be retired (it grew, or ran out of memory)
                child.replace()
        finally:
            idle.put(child)
        return _outcome(reply, memory_mb, name)

    def close(self) -> None:
        for child in [*self.children, self.urgent]:
            child.stopped = True
            child.close(kill=False)


def _outcome(reply: tuple, memory_mb: int, name: str) -> Any:
    if reply[0] == "ok":
        return reply[1]
    _kind, blob, text, tb, memory, _retire = reply
    if memory:
        log.info("job %s ran out of its %d MB:\n%s", name, memory_mb, tb)
        raise JobFailed("job_memory", mb=memory_mb)
    try:
        exc = pickle.loads(blob) if blob is not None else None
    except Exception:
        exc = None
    if exc is None:
        log.warning("job %s failed:\n%s", name, tb)
        raise JobFailed("job_error", detail=text)
    if not isinstance(exc, (ServiceError, ContentError)):
        exc.add_note(f"raised in a job worker process:\n{tb}")  # for the logged traceback
    raise exc


def _is_memory(exc: BaseException | None) -> bool:
    """MemoryError, or an error raised while handling one (a library's own wrapping)."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, MemoryError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


# --- the API ------------------------------------------------------------------------------

_pool: Pool | None = None


def start(settings) -> Pool:
    """Start this process's pool (gunicorn's post_worker_init); `settings` is the app's
    server.config.Settings, given to the children as their environment."""
    global _pool
    if _pool is None:
        _pool = Pool(settings.job_workers, settings.child_environ(), settings.job_timeout_s,
                     settings.job_memory_mb)
    return _pool


def stop() -> None:
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.close()


def running() -> bool:
    return _pool is not None


def run(fn: Callable[..., T], *args: Any, timeout_s: float | None = None,
        memory_mb: int | None = None, urgent: bool = False, background: bool = False,
        **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a worker process; its result, or what it raised.

    `fn` is a module-level function; arguments and result travel pickled. Raises JobFailed
    past the memory or time limit (defaults: SIGNAGE_JOB_MEMORY_MB, SIGNAGE_JOB_TIMEOUT_S).
    `urgent`: on the worker kept for short jobs that must not wait for staff's heavy ones
    (an emergency broadcast's rendering; nothing anyone can repeat at will, like a
    sign-in, which would let a stranger occupy it).
    `background`: a scheduler's job, which may wait; such jobs together never hold every
    worker, so a person's job (a sign-in's password check) finds one free.
    """
    if _pool is None:
        return _inline(fn, args, kwargs, False, memory_mb)
    return _pool.submit(fn, args, kwargs, with_db=False, timeout_s=timeout_s,
                        memory_mb=memory_mb, urgent=urgent, background=background)


def run_db(fn: Callable[..., T], *args: Any, timeout_s: float | None = None,
           memory_mb: int | None = None, background: bool = False, **kwargs: Any) -> T:
    """`fn(session, *args, **kwargs)` in a worker process with a session of its own,
    committed when fn returns and rolled back when it raises. Inline (no pool) the session
    is a fresh server.db.SessionFactory() one, never the request's. `background`: as in
    `run`.

    The caller must not hold a write transaction meanwhile: on SQLite the job would wait
    for the caller's lock while the caller waits for the job."""
    if _pool is None:
        return _inline(fn, args, kwargs, True, memory_mb)
    return _pool.submit(fn, args, kwargs, with_db=True, timeout_s=timeout_s,
                        memory_mb=memory_mb, background=background)


def _inline(fn: Callable, args: tuple, kwargs: dict, with_db: bool,
            memory_mb: int | None) -> Any:
    try:
        if not with_db:
            return fn(*args, **kwargs)
        from server.db import SessionFactory

        with SessionFactory() as s:
            return _in_session(s, fn, args, kwargs)
    except Exception as exc:
        if _is_memory(exc):
            from server.config import Settings

            raise JobFailed("job_memory", mb=memory_mb or Settings.job_memory_mb) from None
        raise


# --- the child's side ---------------------------------------------------------------------

_engine = None  # the child's own database engine, made by its first run_db job


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _read_exact(fd: int, n: int) -> bytes | None:
    parts: list[bytes] = []
    while n:
        chunk = os.read(fd, min(n, _CHUNK))
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _write_frame(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _with_session(fn: Callable, args: tuple, kwargs: dict) -> Any:
    global _engine
    from sqlalchemy.orm import Session

    if _engine is None:
        from server.config import Settings
        from server.db import PoolSize, make_engine

        settings = Settings.from_env()
        _engine = make_engine(settings.database_url, PoolSize(
            1, 1, settings.db_pool_timeout_s, f"signage {settings.node_name} job"))
    with Session(_engine, expire_on_commit=False) as s:
        return _in_session(s, fn, args, kwargs)


def _in_session(s, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """fn(s, ...), committed when it returns and rolled back when it raises."""
    try:
        value = fn(s, *args, **kwargs)
        s.commit()
        return value
    except BaseException:
        s.rollback()
        raise


def _answer(data: bytes, baseline_kb: int) -> tuple:
    """Run one job under its memory limit; the reply tuple, its last item 'retire me'."""
    try:
        fn, args, kwargs, memory_mb, with_db = pickle.loads(data)
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        limit = _status_kb("VmData") * 1024 + memory_mb * 2**20
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
        try:
            value = _with_session(fn, args, kwargs) if with_db else fn(*args, **kwargs)
        finally:
            resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
    except Exception as exc:
        memory = _is_memory(exc)
        tb = "".join(traceback.format_exception(exc))
        try:
            blob: bytes | None = pickle.dumps(exc, pickle.HIGHEST_PROTOCOL)
            pickle.loads(blob)  # it must come back whole, or as text
        except Exception:
            blob = None
        text = f"{type(exc).__name__}: {exc}"[:300]
        return ("error", blob, text, tb, memory, memory)
    grown = _status_kb("VmRSS") - baseline_kb > RETIRE_GROWTH_MB * 1024
    return ("ok", value, grown)


def _exit_with_parent() -> None:
    """A child whose web worker died (killed by gunicorn) ends too, even mid-job."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _warm() -> None:
    """Import the heavy modules once, before the first job, and find the notice font."""
    import av  # noqa: F401
    from PIL import Image

    import content  # noqa: F401
    import server.models  # noqa: F401
    import server.services.content  # noqa: F401
    import server.services.exports  # noqa: F401
    import server.services.health  # noqa: F401
    import server.services.planned  # noqa: F401
    import server.services.reports  # noqa: F401

    Image.init()
    try:
        from content.fonts import find_cjk_font, font_cmap

        font_cmap(find_cjk_font())
    except Exception:  # no font: a notice job will say so
        pass


def _serve() -> None:
    """The child: answer jobs from stdin until it closes. Never imports gevent."""
    out = os.dup(1)
    os.dup2(2, 1)  # fd 1 is now stderr: a stray print cannot corrupt the frames
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for gunicorn; it ends us
    os.nice(10)  # the terminals' event loop wins the CPU on a 2-core box
    _exit_with_parent()
    _warm()
    # What warming up made lives as long as the child: out of the collector's full passes,
    # which otherwise walked it all and added ~100 ms to a report now and then.
    gc.freeze()
    baseline_kb = _status_kb("VmRSS")
    _write_frame(out, pickle.dumps(("ready", os.getpid())))
    while True:
        header = _read_exact(0, _HEADER.size)
        if header is None:
            return
        data = _read_exact(0, _HEADER.unpack(header)[0])
        if data is None:
            return
        reply = _answer(data, baseline_kb)
        try:
            frame = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            frame = pickle.dumps(("error", None, f"the result cannot be sent back: {exc}"[:300],
                                  "", False, False))
        del reply, data
        _write_frame(out, frame)


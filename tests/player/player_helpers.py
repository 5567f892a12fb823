"""Shared helpers for the player tests: plans, media files, a blob HTTP server."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
from PIL import Image

from player.protocol import BLOB_PATH
from playlists.model import Item, Playlist, Schedule, ScreenPlan, TerminalPlan, Window


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_sha(n: int) -> str:
    return f"{n:064x}"


def item(cid: int, dur: float, sha256: str | None = None, media: str = "image",
         **kw: Any) -> Item:
    return Item(content_id=cid, sha256=sha256 or fake_sha(cid), duration_s=dur, topic_id=1,
                approved=True, media=media, **kw)


def playlist(*items: Item, pid: int = 1) -> Playlist:
    return Playlist(id=pid, name=f"p{pid}", items=tuple(items))


def sched(sid: int, pl: Playlist, kind: str = "normal", priority: int = 0,
          windows: tuple[tuple[str, str], ...] = (("00:00", "00:00"),), **kw: Any) -> Schedule:
    return Schedule(id=sid, playlist=pl, kind=kind, priority=priority,
                    windows=tuple(Window(time.fromisoformat(a), time.fromisoformat(b))
                                  for a, b in windows), **kw)


def screen(pid: int, on: bool, start: str, end: str, brightness: int = 100,
           priority: int = 0) -> ScreenPlan:
    return ScreenPlan(id=pid, on=on, brightness=brightness, priority=priority,
                      windows=(Window(time.fromisoformat(start), time.fromisoformat(end)),))


def plan(*schedules: Schedule, fallback: Playlist | None = None, tz: str = "UTC",
         **kw: Any) -> TerminalPlan:
    return TerminalPlan(terminal_id=1, tz=tz, schedules=tuple(schedules),
                        fallback=fallback or Playlist(id=900, name="fallback", items=()), **kw)


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 32)) -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def make_video(path: Path, *, w: int = 64, h: int = 32, frames: int = 24, rate: int = 12,
               colours: list[tuple[int, int, int]] | None = None) -> Path:
    """A small H.264 clip; frame i has colour colours[i * len(colours) // frames]."""
    colours = colours or [(255, 0, 0), (0, 0, 255)]
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            col = colours[i * len(colours) // frames]
            frame = av.VideoFrame.from_image(Image.new("RGB", (w, h), col))
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


class BlobServer:
    """A real HTTP server for blobs with Range support and ways to misbehave on purpose."""

    def __init__(self, credential: str = "secret") -> None:
        self.blobs: dict[str, bytes] = {}
        self.credential = credential
        self.cut_after: dict[str, int] = {}  # sha -> send only this many bytes, then hang up
        self.corrupt_once: set[str] = set()  # sha -> serve flipped bytes the next time
        self.ignore_range = False  # answer 200 with the whole file, like a server without Range
        self.requests: list[dict[str, Any]] = []
        self.bytes_sent = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests.append({"path": self.path, "range": self.headers.get("Range"),
                                       "auth": self.headers.get("Authorization")})
                if self.headers.get("Authorization") != f"Bearer {outer.credential}":
                    self.send_error(401)
                    return
                sha256 = self.path.removeprefix(BLOB_PATH + "/")
                data = outer.blobs.get(sha256)
                if data is None:
                    self.send_error(404)
                    return
                if sha256 in outer.corrupt_once:
                    outer.corrupt_once.discard(sha256)
                    data = bytes(b ^ 0xFF for b in data)
                start = 0
                m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if m and not outer.ignore_range:
                    start = int(m.group(1))
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = outer.cut_after.pop(sha256, None)
                if cut is not None:
                    body = body[:cut]
                self.wfile.write(body)
                outer.bytes_sent += len(body)
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def add(self, data: bytes) -> str:
        h = sha(data)
        self.blobs[h] = data
        return h

    def __enter__(self) -> BlobServer:
        self.thread.start()
        return self

    def __exit__(self, *a: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Signer:
    """A street signing key for tests: signs manifests and broadcasts as the contract says
    (player/signatures.py), and endorses its successor (planned rotation)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from player import signatures as S

        self.private = Ed25519PrivateKey.generate()
        raw = S.public_raw(self.private.public_key())
        self.public, self.kid = S.b64(raw), S.key_id(raw)

    def _sig(self, statement: bytes) -> dict[str, str]:
        from player import signatures as S

        return {"alg": "ed25519", "key_id": self.kid, "sig": S.sign(self.private, statement)}

    def endorse(self, new: Signer) -> dict[str, str]:
        """The `key` block a manifest signed by `new` carries: `new` endorsed by this key."""
        from player import signatures as S

        return {"key_id": new.kid, "public_key": new.public, "endorsed_by": self.kid,
                "endorsement": S.sign(self.private, S.key_statement(new.kid, new.public))}

    def manifest(self, m: dict[str, Any], key: dict[str, str] | None = None) -> dict[str, Any]:
        from player import signatures as S

        out = {k: v for k, v in m.items() if k not in (S.SIGNATURE, S.KEY)}
        out[S.SIGNATURE] = self._sig(S.manifest_statement(out))
        if key is not None:
            out[S.KEY] = key
        return out

    def broadcast(self, b: dict[str, Any], key: dict[str, str] | None = None) -> dict[str, Any]:
        from player import signatures as S

        out = {k: v for k, v in b.items() if k not in (S.SIGNATURE, S.KEY)}
        out[S.SIGNATURE] = self._sig(S.broadcast_statement(out))
        if key is not None:
            out[S.KEY] = key
        return out

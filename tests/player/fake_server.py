"""A stand-in for the product server, speaking player/protocol.py over real Socket.IO and HTTP.

It is test scaffolding, not the thing under test: just enough of the server's side of the
contract (auth at connect, acks, nudges, commands, revocation, blobs, pairing) to drive a
real player. Every play record it receives goes through protocol.check_play_record.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import socketio
from werkzeug.serving import make_server

from player import protocol as P


class FakeServer:
    def __init__(self, credentials: set[str] | None = None, clock_offset_s: float = 0.0) -> None:
        self.credentials = credentials if credentials is not None else {"cred-1"}
        self.clock_offset_s = clock_offset_s
        self.manifest: dict[str, Any] | None = None
        self.blobs: dict[str, bytes] = {}
        self.events: list[tuple[str, Any]] = []
        self.plays: dict[str, dict[str, Any]] = {}  # id -> record, as accepted
        self.ignore_ids: set[str] = set()  # never confirmed (neither accepted nor rejected)
        self.reject_ids: set[str] = set()
        self.refused_connects = 0
        self.hello_failures = 0  # answer this many HELLOs with {"ok": false}
        self.sids: list[str] = []
        self.pairing_polls = 0
        self.pairing_ready_after = 2
        self.pairing_keys: list[dict[str, str]] | None = None  # the poll answer's `keys`
        self.lock = threading.Lock()
        sio = self.sio = socketio.Server(async_mode="threading", logger=False,
                                         engineio_logger=False)
        ns = P.TERMINAL_NAMESPACE

        @sio.on("connect", namespace=ns)
        def connect(sid: str, environ: dict, auth: Any = None) -> bool:
            if not isinstance(auth, dict) or auth.get("credential") not in self.credentials:
                self.refused_connects += 1
                return False
            self.sids.append(sid)
            return True

        @sio.on(P.HELLO, namespace=ns)
        def hello(sid: str, data: Any) -> dict:
            P.check_hello(data)
            self.events.append((P.HELLO, data))
            if self.hello_failures:
                self.hello_failures -= 1
                return {"ok": False, "error": "try again"}
            return self._manifest_ack(data["manifest_version"]) | {"broadcasts": []}

        @sio.on(P.SYNC, namespace=ns)
        def sync(sid: str, data: Any) -> dict:
            P.check_sync(data)
            self.events.append((P.SYNC, data))
            return self._manifest_ack(data["manifest_version"])

        @sio.on(P.STATUS, namespace=ns)
        def status(sid: str, data: Any) -> dict:
            P.check_status(data)
            self.events.append((P.STATUS, data))
            return {"ok": True}

        @sio.on(P.PLAYS, namespace=ns)
        def plays(sid: str, data: Any) -> dict:
            records = P.check_plays(data)
            self.events.append((P.PLAYS, len(records)))
            accepted, rejected = [], []
            for r in records:
                if r["id"] in self.ignore_ids:
                    continue
                if r["id"] in self.reject_ids:
                    rejected.append({"id": r["id"], "reason": "test"})
                    continue
                P.check_play_record(r, now=self.now())
                with self.lock:
                    self.plays[r["id"]] = r
                accepted.append(r["id"])
            return {"ok": True, "accepted": accepted, "rejected": rejected}

        @sio.on(P.COMMAND_RESULT, namespace=ns)
        def command_result(sid: str, data: Any) -> dict:
            P.check_command_result(data)
            self.events.append((P.COMMAND_RESULT, data))
            return {"ok": True}

        self.app = socketio.WSGIApp(sio, self._http)
        self.httpd = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset_s)

    def _manifest_ack(self, have: int) -> dict:
        m = self.manifest
        version = m["version"] if m else 0
        return {"ok": True, "server_time": P.iso(self.now()), "manifest_version": version,
                "manifest": m if m and version > have else None}

    # --- HTTP: blobs and pairing --------------------------------------------------------

    def _http(self, environ: dict, start_response: Any) -> list[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path.startswith(P.BLOB_PATH + "/"):
            if environ.get("HTTP_AUTHORIZATION", "") not in {
                    f"Bearer {c}" for c in self.credentials}:
                start_response("401 Unauthorized", [])
                return [b""]
            data = self.blobs.get(path.rsplit("/", 1)[1])
            if data is None:
                start_response("404 Not Found", [])
                return [b""]
            m = re.fullmatch(r"bytes=(\d+)-", environ.get("HTTP_RANGE", ""))
            start = int(m.group(1)) if m else 0
            status = "206 Partial Content" if m else "200 OK"
            headers = [("Content-Length", str(len(data) - start))]
            if m:
                headers.append(("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"))
            start_response(status, headers)
            return [data[start:]]
        if path == P.PAIRING_PATH and method == "POST":
            self.events.append(("pairing", None))
            return self._json(start_response, "200 OK",
                              b'{"code": "482913", "poll_token": "tok", "expires_at": null}')
        if path == P.PAIRING_POLL_PATH.format(poll_token="tok"):
            self.pairing_polls += 1
            if self.pairing_polls <= self.pairing_ready_after:
                return self._json(start_response, "202 Accepted", b"{}")
            self.credentials.add("paired-cred")
            answer: dict[str, Any] = {"credential": "paired-cred"}
            if self.pairing_keys is not None:
                answer["keys"] = self.pairing_keys
            return self._json(start_response, "200 OK", json.dumps(answer).encode())
        start_response("404 Not Found", [])
        return [b""]

    @staticmethod
    def _json(start_response: Any, status: str, body: bytes) -> list[bytes]:
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]

    # --- pushes -------------------------------------------------------------------------

    def nudge(self) -> None:
        self.sio.emit(P.MANIFEST_CHANGED, {"manifest_version": self.manifest["version"]},
                      namespace=P.TERMINAL_NAMESPACE)

    def command(self, cid: int, kind: str, args: dict | None = None) -> None:
        self.sio.emit(P.COMMAND, {"id": cid, "kind": kind, "args": args or {}},
                      namespace=P.TERMINAL_NAMESPACE)

    def revoke(self) -> None:
        for sid in list(self.sids):
            self.sio.emit(P.REVOKED, {"reason": "test"}, to=sid, namespace=P.TERMINAL_NAMESPACE)
        self.credentials.clear()

    def received(self, kind: str) -> list[Any]:
        return [d for k, d in self.events if k == kind]

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *a: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

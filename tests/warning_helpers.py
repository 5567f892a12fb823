"""Factories for warning tests that need a message already sent as a broadcast, without
going through intake and dispatch (their own tests do): a source, a message row and a real
broadcast sent through services/broadcasts to paired terminals. They commit."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server.db import db, utcnow
from server.models import Role, Terminal, TerminalState, WarningMessage, WarningSource
from server.services import broadcasts, fleet
from server.services.access import Actor
from server.services.schedules import TargetIn
from server.services.warnings import sources
from server.storage import blob_store
from tests import helpers as h


def paired(b, width: int = 384, height: int = 192) -> Terminal:
    t = h.terminal(b, width, height)
    fleet.issue_credential(db, t)
    db.commit()
    return t


def source(kind: str = "webhook", name: str = "深圳市气象台", secret: str = "s3cret",
           receipt_url: str = "", url: str = "") -> WarningSource:
    """Made as an admin makes one (the default policy rules), with a known secret."""
    src = sources.create_source(db, Actor.system(h.street().id, "test"), sources.SourceIn(
        name=name, kind=kind, url=url, receipt_url=receipt_url))
    src.secret = secret
    db.commit()
    return src


def message(src: WarningSource, terminals: list[Terminal], identifier: str = "msg-1",
            received_at: datetime | None = None, msg_type: str = "Alert",
            ends_at: datetime | None = None) -> WarningMessage:
    """A sent message: its broadcast reaches exactly `terminals`."""
    admin = Actor.system(h.street().id, "test")
    item = h.approved_image(title="台风橙色预警信号")
    bc = broadcasts.send(db, admin, blob_store(), broadcasts.BroadcastIn(
        mode="full", targets=[TargetIn("terminal", t.id) for t in terminals],
        reason="台风橙色预警信号", content_id=item.id, ends_at=ends_at))
    now = received_at or utcnow()
    m = WarningMessage(
        street_id=src.street_id, source_id=src.id, received_at=now, received_via="webhook",
        raw_xml="<alert/>", identifier=identifier, sender="深圳市气象台", sent=now,
        status="Actual", msg_type=msg_type, event="typhoon", event_text="台风", level="orange",
        severity="Severe", headline="深圳市气象台发布台风橙色预警信号", area_desc="盐田区",
        state="sent", decision="auto", decided_at=now, broadcast_id=bc.id, expires=ends_at,
        matched=[{"terminal_id": t.id, "building_id": t.building_id,
                  "community_id": t.building.community_id,
                  "why": {"by": "geocode", "code": "440308", "unit": "street",
                          "name": "沙头角街道", "area": "盐田区"}} for t in terminals])
    db.add(m)
    db.commit()
    return m


def state(t: Terminal, online: bool, screen_on: bool = True,
          last_seen_at: datetime | None = None) -> None:
    db.merge(TerminalState(terminal_id=t.id, online=online, screen_on=screen_on,
                           last_seen_at=last_seen_at or utcnow() - timedelta(minutes=3)))
    db.commit()


def ack(m: WarningMessage, t: Terminal, shown_at: datetime) -> None:
    """As the hub writes a terminal's BROADCAST_SHOWN."""
    assert broadcasts.acknowledge_many(db, [(t.id, {"id": m.broadcast_id,
                                                    "shown_at": shown_at})]) == [None]
    db.commit()


def street_admin() -> Actor:
    return Actor.of(h.user(Role.street_admin))


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Endpoint:
    """A real local HTTP server: records each POST, answers with `status` (settable), and
    serves `files` (path -> (body, headers)) to GETs, answering 304 to a request whose
    If-None-Match or If-Modified-Since matches the file's ETag or Last-Modified."""

    server: ThreadingHTTPServer
    posts: list[Received] = field(default_factory=list)
    gets: list[Received] = field(default_factory=list)
    status: int = 200
    files: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)
    failing: dict[str, int] = field(default_factory=dict)  # GET path -> status to answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def clear(self) -> None:
        self.posts.clear()
        self.gets.clear()
        self.files.clear()
        self.failing.clear()
        self.status = 200


def endpoint() -> Endpoint:
    ep: Endpoint

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            ep.posts.append(Received(self.path, dict(self.headers), body))
            self.send_response(ep.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            ep.gets.append(Received(self.path, dict(self.headers), b""))
            if self.path not in ep.files or self.path in ep.failing:
                self.send_response(ep.failing.get(self.path, 404))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, headers = ep.files[self.path]
            etag, modified = headers.get("ETag"), headers.get("Last-Modified")
            if (etag and self.headers.get("If-None-Match") == etag) or (
                    modified and self.headers.get("If-Modified-Since") == modified):
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ep = Endpoint(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return ep


@pytest.fixture(scope="module")
def endpoint_fixture() -> Iterator[Endpoint]:
    """A module's local HTTP endpoint (import it as `endpoint`)."""
    ep = endpoint()
    yield ep
    ep.server.shutdown()
    ep.server.server_close()

"""Polling warning feeds: a CAP/Atom index or one plain CAP message at a URL. No Flask.

Run by the "warning-feeds" job (every 15 s; each source at its own poll_seconds). The
index is fetched with a conditional request (If-None-Match / If-Modified-Since from the
last answer), so an unchanged feed costs a 304. Each entry not yet received is fetched
and handed to intake.receive, which dedupes by message identifier anyway; an entry whose
exact bytes this source already delivered is not handed over again, so the intake log
does not fill with repeats each time the index changes. Errors go to source.last_error.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.cap.parse import MAX_BYTES, CapError, is_cap, parse_feed
from server.models import WarningIntake, WarningMessage, WarningSource
from server.services.warnings import intake

log = logging.getLogger(__name__)

TIMEOUT_S = (5, 10)  # connect, read
# The hardened reader takes one size for any document (parse.MAX_BYTES, 256 KB), an index
# included: hundreds of entries. Reading more would only be refused.
INDEX_MAX_BYTES = MAX_BYTES
MAX_ENTRIES = 50  # per poll, newest first: a long index is worked through over several polls
USER_AGENT = "community-signage warning feed poller"


class FetchError(Exception):
    """`transient`: worth fetching again at the next poll (network, server error)."""

    def __init__(self, text: str, transient: bool = True) -> None:
        super().__init__(text)
        self.transient = transient


@dataclass
class Fetched:
    status: int  # 200 or 304
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


def fetch(url: str, limit: int, etag: str | None = None,
          last_modified: str | None = None) -> Fetched:
    """GET with the validators given; at most `limit` + 1 bytes are read (one more than the
    limit, so a caller can tell "too large" and refuse it as such)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(f"not an http or https address: {url[:100]}", transient=False)
    headers = {"User-Agent": USER_AGENT,
               "Accept": "application/atom+xml, application/cap+xml, application/xml;q=0.9, "
                         "*/*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with requests.get(url, headers=headers, timeout=TIMEOUT_S, stream=True) as resp:
            if resp.status_code == 304:
                return Fetched(304, etag=etag, last_modified=last_modified)
            if resp.status_code != 200:
                raise FetchError(f"HTTP {resp.status_code} {resp.reason or ''}".strip(),
                                 transient=resp.status_code >= 500 or resp.status_code == 429)
            body = bytearray()
            for chunk in resp.iter_content(64 * 1024):
                body += chunk
                if len(body) > limit:
                    break
            return Fetched(200, bytes(body[:limit + 1]), resp.headers.get("ETag"),
                           resp.headers.get("Last-Modified"))
    except requests.RequestException as err:
        raise FetchError(f"{type(err).__name__}: {err}") from None


def due_sources(s: Session, now: datetime) -> list[WarningSource]:
    sources = s.scalars(select(WarningSource).where(
        WarningSource.kind == "feed", WarningSource.enabled.is_(True),
        WarningSource.url != "").order_by(WarningSource.id))
    return [src for src in sources if src.last_polled_at is None
            or src.last_polled_at + timedelta(seconds=max(src.poll_seconds, 1)) <= now]


def poll_due(s: Session, now: datetime) -> int:
    """Poll every enabled feed whose interval has passed; returns the messages accepted.

    Commits after each source: no transaction is held open while waiting for a feed (a
    slow feed must not hold SQLite's write lock)."""
    ids = [src.id for src in due_sources(s, now)]
    s.commit()
    accepted = 0
    for source_id in ids:
        accepted += poll(s, source_id, now)
        s.commit()
    return accepted


def poll(s: Session, source_id: int, now: datetime) -> int:
    src = s.get(WarningSource, source_id)
    url, etag, modified = src.url, src.etag, src.last_modified
    s.commit()
    got: Fetched | None = None
    errors: list[str] = []
    retry = False
    accepted = 0
    try:
        got = fetch(url, INDEX_MAX_BYTES, etag, modified)
        if got.status == 200:
            accepted, errors, retry = _take(s, source_id, url, got.body)
    except (FetchError, CapError) as err:
        errors, retry = [str(err)], True
    src = s.get(WarningSource, source_id)
    src.last_polled_at = now
    src.last_error = "; ".join(errors)[:500] if errors else None
    if got is not None and got.status == 200 and not retry:
        # Validators only once every entry was dealt with: after a failure that may pass
        # (a timeout, a 5xx) the index is fetched whole again at the next poll.
        src.etag, src.last_modified = got.etag, got.last_modified
    if errors:
        log.warning("warning feed %s (%s): %s", source_id, url, src.last_error)
    return accepted


def _take(s: Session, source_id: int, url: str, body: bytes) -> tuple[int, list[str], bool]:
    """One message, or an index's entries not yet received: (accepted, errors, whether to
    fetch the index again). Raises CapError for a document that is neither."""
    if len(body) <= MAX_BYTES and is_cap(body):
        return _receive(s, source_id, body), [], False
    entries = parse_feed(body, url)  # links resolved; any but http(s) dropped
    entries.sort(key=lambda e: e.updated.timestamp() if e.updated else 0.0, reverse=True)
    src = s.get(WarningSource, source_id)
    known = set(s.scalars(select(WarningMessage.identifier).where(
        WarningMessage.street_id == src.street_id,
        WarningMessage.identifier.in_({e.id for e in entries} | {e.url for e in entries}))))
    todo = [e for e in entries if e.id not in known and e.url not in known]
    more = len(todo) > MAX_ENTRIES  # the rest at the next poll: keep the index uncached
    todo = todo[:MAX_ENTRIES]
    s.commit()
    accepted, errors, retry = 0, [], more
    for e in todo:
        try:
            got = fetch(e.url, MAX_BYTES)
        except FetchError as err:
            errors.append(f"{e.url[:200]}: {err}")
            retry = retry or err.transient
            continue
        accepted += _receive(s, source_id, got.body)
        s.commit()
    return accepted, errors, retry


def _receive(s: Session, source_id: int, body: bytes) -> int:
    """Hand the bytes to intake unless this source already delivered the very same."""
    sha = hashlib.sha256(body).hexdigest()
    if s.scalar(select(WarningIntake.id).where(WarningIntake.source_id == source_id,
                                               WarningIntake.sha256 == sha).limit(1)):
        return 0
    outcome = intake.receive_committed(s, s.get(WarningSource, source_id), body, "feed")
    return 1 if outcome.outcome == "accepted" else 0

"""The terminal wire protocol: event names and payload shapes, in one place.

Both the server (server/hub) and the player import this module; docs/protocol.md
describes it for people. It uses only the standard library, so a terminal installs
nothing from the server to speak it.

Transport:
- Socket.IO namespace TERMINAL_NAMESPACE for control and reports. The terminal's
  credential is sent in the connect `auth` payload: {"credential": "...", "protocol": 1}.
  Unknown, revoked or malformed credentials are refused at connect.
- HTTP for files and pairing (never media over the socket: Engine.IO's message limit
  is 1 MB). Files: GET {BLOB_PATH}/<sha256> with "Authorization: Bearer <credential>",
  Range requests supported.

Every payload is a JSON object. `check_*` functions validate what arrives and raise
ProtocolError with a reason a person can act on; both sides use them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import uuid6

from playlists.layouts import PLAY_REGIONS

PROTOCOL_VERSION = 2  # what this player speaks; the server answers every version listed
PROTOCOLS = (1, 2)
# 2: manifests may carry layouts (plan.layouts, plan.variants) and play records a region.
# A version-1 player gets neither: its manifest has no layouts, so it plays the main
# playlist full-frame, with notices rendered for the whole panel.
LAYOUTS_FROM = 2
TERMINAL_NAMESPACE = "/terminal"

# HTTP paths (relative to the server URL).
PAIRING_PATH = "/terminal-api/v1/pairing"  # POST (any body) -> {code, poll_token, expires_at}
PAIRING_POLL_PATH = "/terminal-api/v1/pairing/{poll_token}"  # GET -> 202 | 200 {credential}
BLOB_PATH = "/terminal-api/v1/blobs"  # GET /<sha256>, Bearer credential, Range

# --- events: terminal -> server (each is acknowledged; the ack carries the answer) -----

HELLO = "hello"
"""{protocol, player_version, manifest_version, cache: [sha256...], clock, trust?}
ack -> {ok, server_time, manifest_version, manifest | null}.
trust: {key_id: <16 hex> | null}, the newest signing key the player trusts (null: it holds
none); a player from before signing leaves it out.
Sent on every connect; the server answers with the manifest whenever the version the
terminal holds differs from its own (newer or, after a restore, older)."""

SYNC = "sync"
"""{manifest_version} -> ack {ok, server_time, manifest_version, manifest | null}.
Sent after a MANIFEST_CHANGED nudge and by the periodic check (with jitter)."""

STATUS = "status"
"""{playing: {content_id, sha256, since} | null, screen_on, brightness, cache_ready,
free_disk_bytes, clock_offset_s, player_version, screenshot_sha256 | null, dark?, trust?,
manifest_version?, download_percent?}
ack -> {ok}. Every STATUS_INTERVAL_S seconds.
manifest_version: the version of the manifest the player has accepted (after its signature
checks); cache_ready says whether every file of that manifest is cached, and
download_percent how much of their bytes are (0-100), null once all are. Publish receipts
(docs/receipts.md) read both: a player that leaves them out never acknowledges a change.
trust: {key_id | null, refused: null | {what: REFUSED_WHAT, reason: REFUSAL_REASONS, at,
version: int | null, sha256: str | null}}, the last refusal since the player last accepted
a good manifest (docs/player.md); left out by a player from before signing.
screenshot_sha256: SHA-256 of the frame's pixels as the content shows them (before dimming);
the server sees a frozen screen by it. dark: true when the brightest pixel of that frame is
below DARK_MAX_LUMA (a black picture). Both optional: a player that cannot tell sends null
and leaves `dark` out, and the server then never judges it stuck."""

PLAYS = "plays"
"""{records: [PlayRecord, ...]} (at most MAX_BATCH) ->
ack {ok, accepted: [id...], rejected: [{id, reason}...]}.
The player deletes from its outbox exactly the accepted and rejected ids."""

COMMAND_RESULT = "command_result"
"""{id, ok, result} -> ack {ok}. The answer to a COMMAND."""

BROADCAST_SHOWN = "broadcast_shown"
"""{id, shown_at, thumbnail_png_base64?} -> ack {ok}. Sent once per broadcast, when it
first appeared on this screen (a ticker: when it started to run)."""

# --- events: server -> terminal -----------------------------------------------------

MANIFEST_CHANGED = "manifest_changed"
"""{}. Only a nudge: the terminal answers with SYNC."""

COMMAND = "command"
"""{id, kind: one of COMMAND_KINDS, args: {}}. Stored before it is sent. Args and results:
screenshot {max_side?} -> {png_base64, width, height}; reload {} -> {};
clear_cache {} -> {}; screen {on: true|false|null (follow the plan)} -> {on};
brightness {level: 0-100|null (follow the plan)} -> {brightness}. Failures: {error}."""

REVOKED = "revoked"
"""{reason}. The credential was revoked; the server disconnects right after."""

BROADCAST = "broadcast"
"""Broadcast (see below). An emergency broadcast for this terminal: shown at once over the
schedule (mode "full") or as a scrolling ticker over it (mode "ticker"), until ends_at or
BROADCAST_END. The HELLO and SYNC acks also carry {broadcasts: [Broadcast...]}, every one
active for the terminal, so one that was missed while offline shows on reconnect."""

BROADCAST_END = "broadcast_end"
"""{id}. The broadcast was cancelled: back to the schedule."""

COMMAND_KINDS = ("screenshot", "reload", "clear_cache", "screen", "brightness")

STATUS_INTERVAL_S = 5.0
SYNC_INTERVAL_S = 60.0  # periodic version check; each terminal adds up to 20 % jitter
MAX_BATCH = 500  # play records per PLAYS event
MAX_PLAY_S = 24 * 3600  # no single record is longer than this (they split at hours anyway)
MAX_FUTURE_S = 300  # records ending further in the future than this are refused
MAX_AGE_DAYS = 400  # records older than this are refused

# Why a play ended (the part of a play cut short carries its reason).
END_REASONS = ("completed", "preempted", "broadcast", "screen_off", "shutdown", "reload")

# \Z, not $: "$" also matches before a trailing newline.
SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
HOUR = timedelta(hours=1)
_FUTURE, _AGE = timedelta(seconds=MAX_FUTURE_S), timedelta(days=MAX_AGE_DAYS)
BROADCAST_MODES = ("full", "ticker")
MAX_THUMBNAIL_B64 = 200_000
DARK_MAX_LUMA = 24  # 0-255: a frame whose brightest pixel is dimmer than this is "dark"

# Signing (player/signatures.py, docs/player.md): what a player refused and why.
KEY_ID_RE = re.compile(r"^[0-9a-f]{16}\Z")
REFUSED_WHAT = ("manifest", "broadcast", "blob")
REFUSAL_REASONS = ("unsigned", "unknown_key", "bad_signature", "replayed", "endorsement",
                   "blob_hash", "unlisted")


class ProtocolError(ValueError):
    """A payload that does not follow this protocol; `reason` says what to fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise ProtocolError(f"{name} must be an ISO 8601 UTC instant string")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ProtocolError(f"{name} is not an ISO 8601 instant: {value!r}") from None
    if t.tzinfo is UTC:  # "...Z", what players send: nothing to convert
        return t
    if t.tzinfo is None:
        raise ProtocolError(f"{name} needs a UTC offset (e.g. a trailing Z)")
    return t.astimezone(UTC)


def _obj(payload: Any, event: str) -> dict:
    if not isinstance(payload, dict):
        raise ProtocolError(f"{event}: payload must be a JSON object")
    return payload


INT32_MAX = 2**31 - 1  # ids and versions: what a database INTEGER column holds
INT64_MAX = 2**63 - 1  # byte counts


def _int(d: dict, key: str, *, minimum: int = 0, maximum: int = INT32_MAX,
         optional: bool = False) -> int | None:
    v = d.get(key)
    if v is None and optional:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or not minimum <= v <= maximum:
        raise ProtocolError(f"{key} must be an integer from {minimum} to {maximum}")
    return v


def check_hello(payload: Any) -> dict:
    d = _obj(payload, HELLO)
    if d.get("protocol") not in PROTOCOLS:
        raise ProtocolError(f"protocol must be one of {', '.join(map(str, PROTOCOLS))}")
    _int(d, "manifest_version")
    cache = d.get("cache", [])
    if not isinstance(cache, list) or len(cache) > 100_000 or not all(
            isinstance(x, str) and SHA256_RE.match(x) for x in cache):
        raise ProtocolError("cache must be a list of sha256 hex strings")
    if not isinstance(d.get("player_version", ""), str):
        raise ProtocolError("player_version must be a string")
    parse_instant(d.get("clock"), "clock")
    if "trust" in d:  # absent: a player from before signing
        _trust(d["trust"], with_refusal=False)
    return d


def _trust(trust: Any, *, with_refusal: bool) -> None:
    """HELLO/STATUS `trust`: {key_id: 16 hex | null} (+ STATUS: refused: null | {...})."""
    if not isinstance(trust, dict):
        raise ProtocolError("trust must be an object")
    kid = trust.get("key_id")
    if kid is not None and (not isinstance(kid, str) or not KEY_ID_RE.match(kid)):
        raise ProtocolError("trust.key_id must be 16 lowercase hex characters or null")
    if not with_refusal:
        return
    r = trust.get("refused")
    if r is None:
        return
    if not isinstance(r, dict):
        raise ProtocolError("trust.refused must be an object or null")
    if r.get("what") not in REFUSED_WHAT:
        raise ProtocolError(f"trust.refused.what must be one of {', '.join(REFUSED_WHAT)}")
    if r.get("reason") not in REFUSAL_REASONS:
        raise ProtocolError(
            f"trust.refused.reason must be one of {', '.join(REFUSAL_REASONS)}")
    parse_instant(r.get("at"), "trust.refused.at")
    _int(r, "version", optional=True)
    sha = r.get("sha256")
    if sha is not None and (not isinstance(sha, str) or not SHA256_RE.match(sha)):
        raise ProtocolError("trust.refused.sha256 must be 64 lowercase hex characters or null")


def check_sync(payload: Any) -> dict:
    d = _obj(payload, SYNC)
    _int(d, "manifest_version")
    return d


def new_play_id() -> str:
    """A UUIDv7 (RFC 9562): time-ordered, so a batch's new rows land together at the end of
    play_record's primary key instead of on ~500 random index pages each. That halved the
    server's ingest time on SQLite (docs/benchmarks.md). The server accepts any UUID."""
    return str(uuid6.uuid7())


def play_record(*, content_id: int, schedule_id: int | None, sha256: str, start: datetime,
                end: datetime, reason: str = "completed", record_id: str | None = None,
                region: str = "main") -> dict:
    """A proof-of-play record as it travels. The player splits plays at hour boundaries.
    `region` is the role of the layout region that showed it (PLAY_REGIONS); a record
    without one (a version-1 player) is the main region's."""
    return {"id": record_id or new_play_id(), "content_id": content_id,
            "schedule_id": schedule_id, "sha256": sha256, "start": iso(start), "end": iso(end),
            "reason": reason, "region": region}


def check_play_record(rec: Any, *, now: datetime | None = None) -> dict:
    """Validate one record; returns it with parsed `start`/`end` datetimes."""
    now = now or now_utc()
    if not isinstance(rec, dict):
        raise ProtocolError("a record must be a JSON object")
    rid = rec.get("id")
    if not isinstance(rid, str) or not UUID_RE.match(rid):
        raise ProtocolError("id must be a UUID made by the player")
    _int(rec, "content_id", minimum=1)
    _int(rec, "schedule_id", minimum=1, optional=True)
    sha = rec.get("sha256")
    if not isinstance(sha, str) or not SHA256_RE.match(sha):
        raise ProtocolError("sha256 must be 64 lowercase hex characters")
    start, end = parse_instant(rec.get("start"), "start"), parse_instant(rec.get("end"), "end")
    if end <= start:
        raise ProtocolError("end must be after start")
    if (end - start).total_seconds() > MAX_PLAY_S:
        raise ProtocolError(f"a record may not be longer than {MAX_PLAY_S} s")
    if start.replace(minute=0, second=0, microsecond=0) + HOUR < end:
        raise ProtocolError("records must be split at hour boundaries")
    if end > now + _FUTURE:
        raise ProtocolError("end is in the future; check the terminal's clock")
    if start < now - _AGE:
        raise ProtocolError(f"start is more than {MAX_AGE_DAYS} days old")
    if rec.get("reason", "completed") not in END_REASONS:
        raise ProtocolError(f"reason must be one of {', '.join(END_REASONS)}")
    if rec.get("region", "main") not in PLAY_REGIONS:
        raise ProtocolError(f"region must be one of {', '.join(PLAY_REGIONS)}")
    return {**rec, "start": start, "end": end, "reason": rec.get("reason", "completed"),
            "region": rec.get("region", "main")}


def check_plays(payload: Any) -> list:
    d = _obj(payload, PLAYS)
    records = d.get("records")
    if not isinstance(records, list):
        raise ProtocolError("records must be a list")
    if len(records) > MAX_BATCH:
        raise ProtocolError(f"at most {MAX_BATCH} records per batch; send the rest next")
    return records


def split_at_hours(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at every UTC hour boundary (Asia/Shanghai hours are UTC hours too)."""
    parts = []
    cur = start
    while cur < end:
        boundary = cur.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        nxt = min(boundary, end)
        parts.append((cur, nxt))
        cur = nxt
    return parts


def check_status(payload: Any) -> dict:
    d = _obj(payload, STATUS)
    playing = d.get("playing")
    if playing is not None:
        if not isinstance(playing, dict):
            raise ProtocolError("playing must be an object or null")
        _int(playing, "content_id", minimum=0)
        parse_instant(playing.get("since"), "playing.since")
    for key in ("screen_on", "cache_ready"):
        if not isinstance(d.get(key), bool):
            raise ProtocolError(f"{key} must be true or false")
    b = d.get("brightness")
    if not isinstance(b, int) or isinstance(b, bool) or not 0 <= b <= 100:
        raise ProtocolError("brightness must be an integer from 0 to 100")
    _int(d, "free_disk_bytes", maximum=INT64_MAX, optional=True)
    off = d.get("clock_offset_s", 0)
    if not isinstance(off, (int, float)) or isinstance(off, bool) or abs(off) > 10 * 365 * 86400:
        raise ProtocolError("clock_offset_s must be a number of seconds")
    if not isinstance(d.get("player_version", ""), str) or len(d.get("player_version", "")) > 40:
        raise ProtocolError("player_version must be a short string")
    shot = d.get("screenshot_sha256")
    if shot is not None and (not isinstance(shot, str) or not SHA256_RE.match(shot)):
        raise ProtocolError("screenshot_sha256 must be 64 lowercase hex characters or null")
    if not isinstance(d.get("dark", False), bool):
        raise ProtocolError("dark must be true or false")
    if "trust" in d:  # absent: a player from before signing
        _trust(d["trust"], with_refusal=True)
    # Absent: a player from before publish receipts.
    _int(d, "manifest_version", optional=True)
    _int(d, "download_percent", maximum=100, optional=True)
    return d


def check_command_result(payload: Any) -> dict:
    d = _obj(payload, COMMAND_RESULT)
    _int(d, "id", minimum=1)
    if not isinstance(d.get("ok"), bool):
        raise ProtocolError("ok must be true or false")
    return d


def check_broadcast(payload: Any) -> dict:
    """Broadcast: {id, mode, content_id, topic_id, sha256 | null, media, duration_s, size,
    text, starts_at, ends_at | null}; a full broadcast names the blob this terminal shows,
    a ticker carries only its text."""
    d = _obj(payload, BROADCAST)
    _int(d, "id", minimum=1)
    _int(d, "content_id", minimum=1)
    _int(d, "topic_id", minimum=0)
    if d.get("mode") not in BROADCAST_MODES:
        raise ProtocolError(f"mode must be one of {', '.join(BROADCAST_MODES)}")
    sha = d.get("sha256")
    if d["mode"] == "full" and (not isinstance(sha, str) or not SHA256_RE.match(sha)):
        raise ProtocolError("a full-screen broadcast needs the sha256 of what to show")
    if not isinstance(d.get("text", ""), str):
        raise ProtocolError("text must be a string")
    dur = d.get("duration_s")
    if not isinstance(dur, (int, float)) or isinstance(dur, bool) or not 1 <= dur <= MAX_PLAY_S:
        raise ProtocolError("duration_s must be a number of seconds from 1")
    starts = parse_instant(d.get("starts_at"), "starts_at")
    ends = parse_instant(d["ends_at"], "ends_at") if d.get("ends_at") is not None else None
    return {**d, "starts_at": starts, "ends_at": ends}


def check_broadcast_shown(payload: Any) -> dict:
    d = _obj(payload, BROADCAST_SHOWN)
    _int(d, "id", minimum=1)
    shown = parse_instant(d.get("shown_at"), "shown_at")
    thumb = d.get("thumbnail_png_base64")
    if thumb is not None and (not isinstance(thumb, str) or len(thumb) > MAX_THUMBNAIL_B64):
        raise ProtocolError(f"thumbnail_png_base64 must be a string of at most "
                            f"{MAX_THUMBNAIL_B64} characters")
    return {**d, "shown_at": shown}

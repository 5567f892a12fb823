"""The receipt of a warning message: which screens it was sent to, which showed it and when,
and why the others did not (as far as we know now). No Flask.

It reads the deliveries of the message's own broadcast (an Update's receipt is its own
broadcast's, not the one it replaced), so it says what every screen acknowledged through
the broadcast machinery, joined with each screen's last known state. `post_due` (the
"warning-receipts" job) posts it back to sources that configured a receipt_url: once
when every screen acknowledged or 5 minutes after sending, whichever comes first, and
again after the broadcast ended. It runs in the scheduler job, never in a request.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from player import protocol
from server.config import PEOPLE_TZ
from server.db import utcnow
from server.models import (
    Broadcast,
    BroadcastDelivery,
    Building,
    Community,
    Terminal,
    TerminalState,
    WarningMessage,
    WarningSource,
)
from server.services.access import Actor
from server.services.naming import name_key
from server.services.warnings.intake import signature
from server.services.warnings.reading import get_message

log = logging.getLogger(__name__)

FIRST_POST_AFTER = timedelta(minutes=5)
POST_TIMEOUT_S = 10
# Broadcasts last at most a week (services.broadcasts.MAX_DAYS): older messages are settled,
# and a receipt_url added to a source later does not post its whole history.
LOOK_BACK = timedelta(days=8)
SIGNATURE_HEADER = "X-Signature-256"
TZ = ZoneInfo(PEOPLE_TZ)

# The CSV is for people (Excel on a Chinese desktop): Chinese headers and words.
CSV_COLUMNS = ("屏幕编号", "屏幕", "楼栋", "社区", "显示时间（北京时间）", "确认时间（北京时间）",
               "到达后显示用时（秒）", "未显示原因", "自何时（北京时间）")
PROBLEM_ZH = {"offline": "离线", "screen_off": "屏幕关闭", "waiting": "在线，等待确认"}


def _broadcast_state(bc: Broadcast, now: datetime) -> str:
    if bc.cancelled_at is not None:
        return "ended"
    return "active" if bc.active_at(now) else ("ended" if bc.ends_at and bc.ends_at <= now
                                                  else "scheduled")


def _ended_at(bc: Broadcast, now: datetime) -> datetime | None:
    if bc.cancelled_at is not None:
        return bc.cancelled_at
    return bc.ends_at if bc.ends_at is not None and bc.ends_at <= now else None


def _rows(s: Session, broadcast_id: int) -> list:
    """One row per targeted screen: its delivery, names and last known state. Columns, not
    objects: a delivery carries its thumbnail, and a receipt may list a thousand screens."""
    return s.execute(
        select(BroadcastDelivery.terminal_id, Terminal.name, Building.name, Community.id,
               Community.name, BroadcastDelivery.shown_at, BroadcastDelivery.acked_at,
               TerminalState.online, TerminalState.last_seen_at, TerminalState.screen_on)
        .join(Terminal, Terminal.id == BroadcastDelivery.terminal_id)
        .join(Building, Building.id == Terminal.building_id)
        .join(Community, Community.id == Building.community_id)
        .outerjoin(TerminalState, TerminalState.terminal_id == Terminal.id)
        .where(BroadcastDelivery.broadcast_id == broadcast_id)).all()


def _problem(shown_at, online, last_seen_at, screen_on) -> tuple[str | None, datetime | None]:
    if shown_at is not None:
        return None, None
    if not online:  # no state row: never connected
        return "offline", last_seen_at
    if screen_on is False:
        return "screen_off", None
    return "waiting", None


def build(s: Session, m: WarningMessage, now: datetime,
          community_id: int | None = None) -> dict:
    """The receipt as plain data (datetimes as datetimes). `community_id`: only that
    community's screens (what community staff see); None: every screen."""
    bc = s.get(Broadcast, m.broadcast_id) if m.broadcast_id else None
    terminals = []
    for (tid, name, building, cid, community, shown_at, acked_at, online, last_seen_at,
         screen_on) in (_rows(s, bc.id) if bc else []):
        if community_id is not None and cid != community_id:
            continue
        problem, since = _problem(shown_at, online, last_seen_at, screen_on)
        seconds = (round((shown_at - m.received_at).total_seconds(), 3)
                   if shown_at is not None else None)
        terminals.append({"terminal_id": tid, "name": name, "building": building,
                          "community": community, "community_id": cid, "shown_at": shown_at,
                          "acked_at": acked_at, "seconds_to_show": seconds,
                          "problem": problem, "since": since})
    terminals.sort(key=lambda t: (name_key(t["community"]), name_key(t["building"]),
                                  name_key(t["name"]), t["terminal_id"]))
    shown = [t["seconds_to_show"] for t in terminals if t["shown_at"] is not None]
    counts = {"offline": 0, "screen_off": 0, "waiting": 0}
    for t in terminals:
        if t["problem"]:
            counts[t["problem"]] += 1
    return {
        "message": {
            "id": m.id, "identifier": m.identifier, "sender": m.sender, "sent": m.sent,
            "msg_type": m.msg_type, "status": m.status, "event": m.event,
            "event_text": m.event_text, "level": m.level, "severity": m.severity,
            "headline": m.headline, "area_desc": m.area_desc, "received_at": m.received_at,
            "received_via": m.received_via, "expires": m.expires, "state": m.state,
            "state_reason": m.state_reason, "decision": m.decision, "decided_at": m.decided_at,
            "mode": m.mode},
        "broadcast": None if bc is None else {
            "id": bc.id, "state": _broadcast_state(bc, now), "mode": bc.mode,
            "starts_at": bc.starts_at, "ends_at": bc.ends_at, "ended_at": _ended_at(bc, now)},
        "matched": len(m.matched or []) if community_id is None else
        sum(1 for r in m.matched or [] if r.get("community_id") == community_id),
        "targeted": len(terminals),
        "acknowledged": len(shown),
        "not_acknowledged": len(terminals) - len(shown),
        "counts": counts,
        "seconds_to_show_p50": round(statistics.median(shown), 3) if shown else None,
        "seconds_to_show_max": max(shown) if shown else None,
        "complete": bool(terminals) and len(shown) == len(terminals),
        "at": now,
        "terminals": terminals,
    }


def receipt(s: Session, actor: Actor, message_id: int, now: datetime | None = None) -> dict:
    m = get_message(s, actor, message_id)
    scope = None if actor.is_street_admin else actor.community_id
    return build(s, m, now or utcnow(), scope)


def _local(t: datetime | None) -> str:
    return t.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S") if t else ""


def receipt_csv(s: Session, actor: Actor, message_id: int, now: datetime | None = None) -> str:
    """One row per targeted screen, Chinese headers, times in Beijing time; starts with a
    BOM so Excel on a Chinese Windows reads it as UTF-8 (encode it as plain UTF-8)."""
    r = receipt(s, actor, message_id, now)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # what Excel writes and expects
    w.writerow(CSV_COLUMNS)
    for t in r["terminals"]:
        w.writerow([t["terminal_id"], t["name"], t["building"], t["community"],
                    _local(t["shown_at"]), _local(t["acked_at"]),
                    "" if t["seconds_to_show"] is None else f"{t['seconds_to_show']:.1f}",
                    PROBLEM_ZH.get(t["problem"], ""), _local(t["since"])])
    return "\ufeff" + buf.getvalue()


def to_json(data) -> object:
    """Datetimes as ISO 8601 UTC instants ("…Z"), as the rest of the API writes them."""
    if isinstance(data, dict):
        return {k: to_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [to_json(v) for v in data]
    if isinstance(data, datetime):
        return protocol.iso(data)
    return data


# --- posting back -----------------------------------------------------------------------


@dataclass
class _Post:
    message_id: int
    source_id: int
    url: str
    body: bytes
    headers: dict[str, str]


def post_due(s: Session, now: datetime) -> int:
    """Post every receipt that is due; returns how many were delivered. Failures are kept
    in receipt_error and retried at the next run (a source whose endpoint failed is not
    tried again for its other messages in the same run).

    Commits: the posts are made with no transaction open (a slow endpoint must not hold
    SQLite's write lock), and each outcome is written once known."""
    q = (select(WarningMessage, Broadcast)
         .join(Broadcast, Broadcast.id == WarningMessage.broadcast_id)
         .join(WarningSource, WarningSource.id == WarningMessage.source_id)
         .where(WarningSource.receipt_url != "")
         .where((WarningMessage.receipt_posted_at.is_(None))
                | (Broadcast.cancelled_at.is_not(None)
                   & (WarningMessage.receipt_posted_at < Broadcast.cancelled_at))
                | (Broadcast.ends_at.is_not(None)
                   & (WarningMessage.receipt_posted_at < Broadcast.ends_at)))
         .where(Broadcast.starts_at >= now - LOOK_BACK)
         .order_by(WarningMessage.id))
    posts: list[_Post] = []
    for m, bc in s.execute(q).all():
        ended = _ended_at(bc, now)
        if m.receipt_posted_at is not None and (ended is None or m.receipt_posted_at >= ended):
            continue  # the first is posted; the final one waits for the end
        r = build(s, m, now)
        if m.receipt_posted_at is None and not (
                r["complete"] or now >= bc.starts_at + FIRST_POST_AFTER or ended):
            continue
        body = json.dumps(to_json({**r, "final": ended is not None}),
                          ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if m.source.secret:
            headers[SIGNATURE_HEADER] = signature(m.source.secret, body)
        posts.append(_Post(m.id, m.source_id, m.source.receipt_url, body, headers))
    s.commit()  # ends the read: nothing is held while we wait for the endpoints
    failed_sources: dict[int, str] = {}
    delivered = 0
    for p in posts:
        error = failed_sources.get(p.source_id) or _post(p)
        m = s.get(WarningMessage, p.message_id)
        if error:
            failed_sources[p.source_id] = error
            m.receipt_error = error[:300]
        else:
            m.receipt_posted_at, m.receipt_error = now, None
            delivered += 1
        s.commit()
    return delivered


def _post(p: _Post) -> str | None:
    """None when the endpoint took it (any 2xx), else why not."""
    try:
        resp = requests.post(p.url, data=p.body, headers=p.headers, timeout=POST_TIMEOUT_S,
                             allow_redirects=False)
    except requests.RequestException as err:
        log.warning("receipt of warning %s not posted to %s: %s", p.message_id, p.url, err)
        return f"{type(err).__name__}: {err}"
    with resp:
        if 200 <= resp.status_code < 300:
            return None
        log.warning("receipt of warning %s refused by %s: HTTP %s", p.message_id, p.url,
                    resp.status_code)
        return f"HTTP {resp.status_code} {resp.reason or ''}".strip()

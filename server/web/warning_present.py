"""What the warning pages show, read from the tables and the warning services: the list,
one message with its card, its match in words and its receipt, the sources with their rules
and the intake log. No Flask here: the views in server/web/warnings.py only translate HTTP.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import get_translations, gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.errors import ContentError
from content.warning_card import render_warning_pngs
from server import workpool
from server.cap import signals
from server.config import PEOPLE_TZ
from server.db import utcnow
from server.models import (
    Broadcast,
    BroadcastDelivery,
    Building,
    Community,
    NoticeRendition,
    Street,
    Terminal,
    WarningIntake,
    WarningMessage,
    WarningSource,
)
from server.services.access import Actor
from server.services.errors import N_, Invalid
from server.services.naming import name_key
from server.services.warnings import dispatch, reading
from server.services.warnings import receipts as receipts_svc
from server.services.warnings import sources as sources_svc

TZ = ZoneInfo(PEOPLE_TZ)
STATES = reading.STATES
ACTIONS = ("auto", "approve", "ignore")
MODES = ("full", "ticker")
INTAKE_SHOWN = 100
# Words for the stored slugs; N_ so Babel extracts them, gettext at display time.
STATE_WORDS = {"pending": N_("Awaiting approval"), "sent": N_("Published"),
               "superseded": N_("Superseded by an update"), "cancelled": N_("Cancelled"),
               "expired": N_("Expired"), "rejected": N_("Not sent (rejected)"),
               "ignored": N_("Recorded only")}
ACTION_WORDS = {"auto": N_("Send automatically"), "approve": N_("Staff approval"),
                "ignore": N_("Record only")}
MODE_WORDS = {"full": N_("Full screen"), "ticker": N_("Scrolling ticker")}
VIA_WORDS = {"feed": N_("Feed"), "webhook": N_("Webhook"), "upload": N_("Upload")}
KIND_WORDS = {"feed": N_("Feed (polled)"), "webhook": N_("Webhook (pushed)"),
              "upload": N_("Manual upload")}
OUTCOME_WORDS = {"accepted": N_("Accepted"), "duplicate": N_("Duplicate"),
                 "refused": N_("Refused")}
# CAP's own values in the words GB/T 35965.1 uses for them.
CAP_WORDS = {
    "Extreme": N_("extreme"), "Severe": N_("severe"), "Moderate": N_("moderate"),
    "Minor": N_("minor"), "Unknown": N_("unknown"), "Immediate": N_("immediate"),
    "Expected": N_("expected"), "Future": N_("future"), "Past": N_("past"),
    "Observed": N_("observed"), "Likely": N_("likely"), "Possible": N_("possible"),
    "Unlikely": N_("unlikely"), "Alert": N_("first issue"), "Update": N_("an update"),
    "Cancel": N_("lifted"), "Actual": N_("actual"), "Exercise": N_("exercise"),
    "System": N_("system message"), "Test": N_("test"), "Draft": N_("draft message")}
DECISION_WORDS = {"auto": N_("sent automatically by policy"), "approved": N_("approved by staff"),
                  "timeout": N_("sent when the approval time ran out")}


def local(at: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return at.astimezone(TZ).strftime(fmt) if at else ""


def chip(level: str | None) -> dict:
    """The signal level as a chip: its Chinese word; the colour comes from level_css."""
    if level not in signals.LEVEL_RGB:
        return {"level": "", "word": gettext("No signal level")}
    return {"level": level, "word": signals.LEVEL_ZH[level]}


def level_css() -> str:
    """The chips' colours from server.cap.signals (the page's CSP allows no inline style),
    with black or white text, whichever reads on the colour."""
    out = []
    for level, rgb in signals.LEVEL_RGB.items():
        r, g, b = rgb[:3]
        fg = "#111" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"
        out.append(f".level-chip.level-{level} {{ background: rgb({r}, {g}, {b}); color: {fg}; }}")
    return "\n".join(out) + "\n"


def event_name(m: WarningMessage) -> str:
    return signals.EVENTS.get(m.event) or m.event_text or m.event


get_message = reading.get_message


def _acknowledged(s: Session, broadcast_ids: list[int]) -> dict[int, int]:
    if not broadcast_ids:
        return {}
    rows = s.execute(select(BroadcastDelivery.broadcast_id, func.count())
                     .where(BroadcastDelivery.broadcast_id.in_(broadcast_ids),
                            BroadcastDelivery.shown_at.is_not(None))
                     .group_by(BroadcastDelivery.broadcast_id)).all()
    return dict(rows)


def left_words(deadline: datetime | None, now: datetime) -> str:
    """"还剩 8 分钟" before the timeout sends it anyway."""
    if deadline is None:
        return ""
    seconds = int((deadline - now).total_seconds())
    if seconds <= 0:
        return gettext("time is up: sending")
    if seconds < 120:
        return gettext("%(n)d s left", n=seconds)
    return gettext("%(n)d min left", n=seconds // 60)


def list_rows(s: Session, actor: Actor, state: str | None = None) -> list[dict]:
    """The messages, pending first (soonest timeout first), then the newest."""
    messages = reading.list_messages(s, actor, state if state in STATES else None)
    far = datetime.max.replace(tzinfo=TZ)
    messages.sort(key=lambda m: (m.state != "pending",
                                 (m.approve_deadline or far) if m.state == "pending" else far))
    acked = _acknowledged(s, [m.broadcast_id for m in messages if m.broadcast_id])
    now = utcnow()
    return [{"id": m.id, "chip": chip(m.level), "event": event_name(m), "headline": m.headline,
             "area": m.area_desc, "state": m.state, "state_word": gettext(STATE_WORDS[m.state])
             if m.state in STATE_WORDS else m.state, "received": local(m.received_at, "%m-%d %H:%M"),
             "matched": len(reading.matched_of(actor, m)),
             "acknowledged": acked.get(m.broadcast_id, 0) if m.broadcast_id else None,
             "test": m.status != "Actual",
             "left": left_words(m.approve_deadline, now) if m.state == "pending" else "",
             "no_timeout": m.state == "pending" and m.approve_deadline is None}
            for m in messages]


def why_words(why: dict, codes: dict[tuple[str, str], str | None]) -> str:
    """"区划代码 440308 包含 东和社区 (440308003005)", "楼栋位置在预警多边形内"."""
    by = why.get("by")
    if by == "polygon":
        return gettext("The building's position is inside the warning's polygon")
    if by == "circle":
        return gettext("The building's position is inside the warning's circle")
    name = why.get("name", "")
    own = codes.get((why.get("unit", ""), name))
    if own:
        return gettext("Area code %(code)s contains %(name)s (%(own)s)",
                       code=why.get("code", ""), name=name, own=own)
    return gettext("Area code %(code)s contains %(name)s", code=why.get("code", ""), name=name)


def _names(s: Session, model, ids: set[int]) -> dict[int, object]:
    return {o.id: o for o in s.scalars(select(model).where(model.id.in_(ids)))} if ids else {}


def matched_groups(s: Session, actor: Actor, m: WarningMessage) -> tuple[list[dict], list]:
    """The match per community and, within it, per reason ("区划代码 440308 包含 东和"): the
    screens and buildings each reason brought in; and the matched terminals themselves
    (for the card sizes). Grouped by reason because one code usually takes a whole
    community: 76 rows saying the same thing would hide the one building that differs."""
    rows = reading.matched_of(actor, m)
    terminals = _names(s, Terminal, {r["terminal_id"] for r in rows})
    buildings = _names(s, Building, {r["building_id"] for r in rows})
    communities = _names(s, Community, {r["community_id"] for r in rows})
    street = s.get(Street, m.street_id)
    codes: dict[tuple[str, str], str | None] = {("street", street.name): street.area_code}
    codes |= {("community", c.name): c.area_code for c in communities.values()}
    per: dict[int, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        if r["terminal_id"] not in terminals:  # deleted since the match
            continue
        why = why_words(r.get("why") or {}, codes)
        reason = per[r["community_id"]].setdefault(why, {"why": why, "screens": 0,
                                                         "buildings": {}})
        reason["screens"] += 1
        b = buildings.get(r["building_id"])
        if b is not None:
            reason["buildings"][b.id] = b.name
    groups = []
    for cid, reasons in per.items():
        out = []
        for reason in reasons.values():
            names = sorted(reason["buildings"].items(), key=lambda kv: name_key(kv[1]))
            out.append({**reason, "buildings": [{"id": i, "name": n} for i, n in names]})
        out.sort(key=lambda x: -x["screens"])
        groups.append({"name": communities[cid].name if cid in communities else "",
                       "reasons": out, "count": sum(x["screens"] for x in out)})
    groups.sort(key=lambda g: name_key(g["name"]))
    return groups, [terminals[r["terminal_id"]] for r in rows if r["terminal_id"] in terminals]


@dataclass
class Panel:
    width: int
    height: int
    colour_mode: str
    screens: int
    src: str = ""  # a URL or a data: URL
    error: str = ""
    scroll: bool = False


def _sizes(terminals: list) -> dict[tuple[int, int, str], int]:
    sizes: dict[tuple[int, int, str], int] = defaultdict(int)
    for t in terminals:
        sizes[(t.width, t.height, t.colour_mode.value)] += 1
    return dict(sorted(sizes.items(), key=lambda kv: (-kv[0][0] * kv[0][1], kv[0])))


def panels(s: Session, m: WarningMessage, terminals: list, font: str | None,
           blob_url) -> list[Panel]:
    """The card as each panel size of the matched screens shows it: the sent broadcast's
    own renditions, or (not sent yet) a preview rendered in a job worker."""
    sizes = _sizes(terminals)
    out = [Panel(w, h, mode, n) for (w, h, mode), n in sizes.items()]
    bc = s.get(Broadcast, m.broadcast_id) if m.broadcast_id else None
    item_id = bc.content_id if bc else None
    if item_id is not None:
        renditions = {(r.width, r.height, r.colour_mode.value): r for r in s.scalars(
            select(NoticeRendition).where(NoticeRendition.item_id == item_id,
                                          NoticeRendition.page == 0))}
        missing = []
        for p in out:
            r = renditions.get((p.width, p.height, p.colour_mode))
            if r is None:
                missing.append(p)
            else:
                p.src, p.scroll = blob_url(item_id, r.blob_sha256), r.mode == "scroll"
        # A broadcast of an image (not a rendered card) shows it scaled on every panel.
        still = bc.content.thumbnail_sha256 or bc.content.blob_sha256
        if still and not renditions:
            for p in missing:
                p.src = blob_url(item_id, still)
            missing = []
        todo = missing
    elif m.state == "pending":
        todo = out
    else:  # never sent: nothing to show, and no render for a page nobody acts on
        todo = []
    if todo:
        source = s.get(WarningSource, m.source_id)
        card = asdict(dispatch.card_of(m, source.name if source else ""))  # as sending would
        results = workpool.run(render_warning_pngs,
                               [(p.width, p.height, p.colour_mode) for p in todo], card, font)
        for p, res in zip(todo, results, strict=True):
            if isinstance(res, ContentError):
                p.error = str(res)
            elif res[0]:
                p.src = "data:image/png;base64," + base64.b64encode(res[0][0]).decode()
                p.scroll = res[1] == "scroll"
    return out


def detail(s: Session, actor: Actor, message_id: int, font: str | None, blob_url) -> dict:
    m = get_message(s, actor, message_id)
    groups, terminals = matched_groups(s, actor, m)
    now = utcnow()
    source = s.get(WarningSource, m.source_id)
    return {"m": m, "chip": chip(m.level), "event": event_name(m),
            "state_word": gettext(STATE_WORDS.get(m.state, m.state)),
            "state_reason": reason_words(m.state_reason),
            "decision_word": gettext(DECISION_WORDS[m.decision]) if m.decision in DECISION_WORDS
            else "", "mode_word": gettext(MODE_WORDS.get(m.mode, m.mode)),
            "source": source.name if source else "", "groups": groups,
            "total": len(terminals),
            # a ticker's text is drawn by the player over what plays: no picture to show
            "panels": [] if m.mode == "ticker" else panels(s, m, terminals, font, blob_url),
            "ticker_text": (m.broadcast.text if m.broadcast else "")
            or f"【{m.headline}】{m.instruction}".strip(),
            "left": left_words(m.approve_deadline, now),
            "deadline": local(m.approve_deadline, "%H:%M:%S"),
            "times": [(gettext("Sent"), local(m.sent)), (gettext("Effective"), local(m.effective)),
                      (gettext("Onset"), local(m.onset)), (gettext("Expires"), local(m.expires)),
                      (gettext("Received"), local(m.received_at, "%Y-%m-%d %H:%M:%S"))],
            "cap": {k: gettext(CAP_WORDS[v]) if v in CAP_WORDS else v for k, v in (
                ("severity", m.severity), ("urgency", m.urgency), ("certainty", m.certainty),
                ("msg_type", m.msg_type), ("status", m.status))},
            "via_word": gettext(VIA_WORDS.get(m.received_via, m.received_via)),
            "references": [{"sender": r[0], "identifier": r[1], "sent": r[2] if len(r) > 2 else ""}
                           for r in (m.references or [])]}


def receipt(s: Session, actor: Actor, message_id: int) -> object:
    """The receipt as the API gives it (times ISO 8601 UTC): the page formats them."""
    return receipts_svc.to_json(receipts_svc.receipt(s, actor, message_id))


def receipt_csv(s: Session, actor: Actor, message_id: int) -> str:
    return receipts_svc.receipt_csv(s, actor, message_id)


def webhook_path(source_id: int) -> str:
    return f"/api/v1/warnings/webhook/{source_id}"


def masked(secret: str | None) -> str:
    return "" if not secret else "•" * 8 + secret[-4:]


def sources(s: Session, actor: Actor) -> list[dict]:
    out = []
    for src in sources_svc.list_sources(s, actor):
        out.append({"s": src, "kind_word": gettext(KIND_WORDS.get(src.kind, src.kind)),
                    "webhook": webhook_path(src.id) if src.kind == "webhook" else "",
                    "masked": masked(src.secret),
                    "polled": local(src.last_polled_at, "%m-%d %H:%M:%S"),
                    "rules": [{"r": r, "action_word": gettext(ACTION_WORDS.get(r.action, r.action)),
                               "mode_word": gettext(MODE_WORDS.get(r.mode, r.mode))}
                              for r in src.rules]})
    return out


def intake_log(s: Session, actor: Actor) -> list[dict]:
    names = dict(s.execute(select(WarningSource.id, WarningSource.name)
                           .where(WarningSource.street_id == actor.street_id)).all())
    rows = s.scalars(select(WarningIntake).where(WarningIntake.street_id == actor.street_id)
                     .order_by(WarningIntake.at.desc(), WarningIntake.id.desc())
                     .limit(INTAKE_SHOWN))
    return [{"at": local(i.at, "%m-%d %H:%M:%S"), "via": gettext(VIA_WORDS.get(i.via, i.via)),
             "source": names.get(i.source_id, ""), "outcome": i.outcome,
             "outcome_word": gettext(OUTCOME_WORDS.get(i.outcome, i.outcome)),
             "reason": reason_words(i.reason), "size": i.size,
             "message_id": i.message_id} for i in rows]


_PARAM = re.compile(r"%\((\w+)\)[sd]")
_reason_patterns: dict[int, list[tuple[str, re.Pattern, str]]] = {}


def reason_words(reason: str) -> str:
    """A stored reason in the reader's language. Refusals are stored as English text with
    their values filled in ("... (line 3): ..."), so one with values is matched back to
    its msgid by the text before its first value, and translated with those values."""
    if not reason:
        return ""
    translated = gettext(reason)
    if translated != reason:
        return translated
    catalog = getattr(get_translations(), "_catalog", {})
    patterns = _reason_patterns.get(id(catalog))
    if patterns is None:
        patterns = []
        for msgid in catalog:
            if isinstance(msgid, str) and _PARAM.search(msgid):
                parts = _PARAM.split(msgid)  # text, name, text, name, ..., text
                rx = "".join(re.escape(x) if i % 2 == 0 else f"(?P<{x}>.*?)"
                             for i, x in enumerate(parts))
                if len(parts[0]) < 8:  # "%(field)s: %(message)s" would match anything
                    continue
                try:
                    patterns.append((parts[0], re.compile(rx + r"\Z", re.S), msgid))
                except re.error:  # the same name twice
                    continue
        patterns.sort(key=lambda x: -len(x[0]))  # the most specific first
        _reason_patterns.clear()  # one catalogue (language) at a time
        _reason_patterns[id(catalog)] = patterns
    for prefix, rx, msgid in patterns:
        if reason.startswith(prefix) and (m := rx.match(reason)):
            try:
                return gettext(msgid) % m.groupdict()
            except (KeyError, ValueError, TypeError):
                return reason
    return reason


def event_choices() -> list[tuple[str, str]]:
    return [("", gettext("Any event"))] + [(k, v) for k, v in signals.EVENTS.items()]


def level_choices() -> list[tuple[str, str]]:
    return [(lv, signals.LEVEL_ZH[lv]) for lv in signals.LEVELS]


def rules_from(form: dict[str, list[str]]) -> list[sources_svc.RuleIn]:
    """The rules table as posted (one list per column, a row per rule; a row without a
    level is an empty spare row)."""
    cols = {k: form.get(k, []) for k in ("event", "min_level", "action", "mode", "timeout_s")}
    n = max((len(v) for v in cols.values()), default=0)
    out = []
    for i in range(n):
        row = {k: v[i].strip() if i < len(v) else "" for k, v in cols.items()}
        if not row["min_level"]:
            continue
        timeout = row["timeout_s"]
        if timeout and not timeout.isdigit():
            raise Invalid(N_("The timeout must be a whole number of seconds."), field="timeout_s")
        out.append(sources_svc.RuleIn(event=row["event"], min_level=row["min_level"],
                                      action=row["action"] or "approve",
                                      mode=row["mode"] or "full",
                                      timeout_s=int(timeout) if timeout else None))
    return out


# --- the audit log's words for what the warning services record ------------------------

AUDIT_OBJECTS = {"warning": N_("warning"), "warning_source": N_("warning source"),
                 "warning_rules": N_("warning source rules"),
                 "warning_intake": N_("received warning file"),
                 "area_codes": N_("area codes"), "building_position": N_("building position")}
AUDIT_ACTIONS = {"receive": N_("received"), "refuse": N_("refused"),
                 "duplicate": N_("received again"), "send": N_("published"),
                 "approve": N_("approved for publishing"), "reject": N_("decided not to publish"),
                 "supersede": N_("superseded"), "expire": N_("expired"),
                 "rotate_secret": N_("made a new secret")}
AUDIT_FIELDS = {
    "name": N_("Name"), "kind": N_("How messages arrive"), "url": N_("Feed URL"),
    "enabled": N_("Enabled"), "poll_seconds": N_("Poll every (seconds)"),
    "receipt_url": N_("Receipts posted to"), "rules": N_("Rules"), "via": N_("Via"),
    "reason": N_("Reason"), "size": N_("Size (bytes)"), "sha256": N_("File fingerprint"),
    "identifier": N_("Identifier"), "msg_type": N_("Message type"), "status": N_("Message status"),
    "level": N_("Level"), "matched": N_("Screens matched"), "state": N_("State"),
    "decision": N_("Decision"), "broadcast_id": N_("Emergency broadcast"),
    "mode": N_("Show as"), "terminals": N_("Screens"), "left_out": N_("Screens left out"),
    "ends_at": N_("Ends"), "intake_id": N_("Intake record"), "latitude": N_("Latitude"),
    "longitude": N_("Longitude")}


def audit_label(key: str) -> str:
    return gettext(AUDIT_FIELDS[key]) if key in AUDIT_FIELDS else key


def rule_words(r: dict) -> str:
    """"台风 橙色及以上：自动发布（全屏）"."""
    event = signals.EVENTS.get(r.get("event") or "", "") or gettext("Any event")
    level = signals.LEVEL_ZH.get(r.get("min_level") or "", r.get("min_level") or "")
    words = gettext("%(event)s, %(level)s and above: %(action)s (%(mode)s)", event=event,
                    level=level, action=gettext(ACTION_WORDS.get(r.get("action"), "")),
                    mode=gettext(MODE_WORDS.get(r.get("mode"), MODE_WORDS["full"])))
    if r.get("timeout_s"):
        words += gettext(", sent anyway after %(n)s s", n=r["timeout_s"])
    return words


def audit_value(key: str, value: object) -> str | None:
    """A recorded value in words, or None to leave it to the audit page's own rules."""
    if key == "rules" and isinstance(value, list):
        return "；".join(rule_words(r) for r in value if isinstance(r, dict)) or "—"
    tables = {"kind": KIND_WORDS, "via": VIA_WORDS, "state": STATE_WORDS,
              "decision": DECISION_WORDS, "mode": MODE_WORDS}
    if key in tables and isinstance(value, str) and value in tables[key]:
        return gettext(tables[key][value])
    if key in ("msg_type", "status") and isinstance(value, str) and value in CAP_WORDS:
        return gettext(CAP_WORDS[value])
    if key == "level" and isinstance(value, str):
        return signals.LEVEL_ZH.get(value, value)
    if key == "reason" and isinstance(value, str):
        return reason_words(value) or "—"
    if key == "left_out" and isinstance(value, list):
        return str(len(value))
    return None

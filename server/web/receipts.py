"""Publish receipts: did a change reach the screens (docs/receipts.md).

The list of recent receipts, and one receipt's page: three stages as x / N and the screens
still behind, with why; the page polls `live` until every screen is through."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_babel import format_datetime, gettext
from sqlalchemy import select

from server.db import db
from server.models import AuditEntry, Receipt
from server.services import content, schedules
from server.services import receipts as svc
from server.services.access import TREE_EDITORS
from server.web import audit_present
from server.web.helpers import actor, allowed, require_login

bp = Blueprint("receipts", __name__)
require_login(bp)
PAGE = 50  # receipts a page of the list shows
# Pages that show the changed object, by the receipt's object_type, and who may open them
# (the schedule's page is its edit form: the save's own check).
OBJECT_PAGES = {
    "content": ("content.item", "item_id", lambda a, ref: content.get_item(db, a, ref)),
    "schedule": ("schedules.edit_schedule", "schedule_id",
                 lambda a, ref: schedules.editable_schedule(db, a, ref)),
}


@bp.route("/receipts")
def index():
    page = max(request.args.get("page", 1, type=int), 1)
    rows = svc.recent(db, actor(), limit=PAGE + 1, offset=(page - 1) * PAGE)
    shown = rows[:PAGE]
    who = _who([r["id"] for r in shown])
    return render_template("receipts/index.html",
                           rows=[{**_described(r), "who": who.get(r["id"])} for r in shown],
                           page=page, more=len(rows) > PAGE)


@bp.route("/receipts/<int:receipt_id>")
def show(receipt_id: int):
    r = _summary(receipt_id)
    entry = db.get(AuditEntry, r["audit_entry_id"]) if r["audit_entry_id"] else None
    return render_template("receipts/show.html", r=_worded(r), who=_who([r["id"]]).get(r["id"]),
                           audit_url=_audit_url(entry), object_url=_object_url(r))


@bp.route("/receipts/<int:receipt_id>.json")
def live(receipt_id: int):
    """What the receipt page polls: the service's summary, its reasons and times in words."""
    return jsonify(_worded(_summary(receipt_id)))


def _summary(receipt_id: int) -> dict:
    r = svc.summary(db, actor(), receipt_id)
    if r is None:  # missing, or another community's: the same answer
        abort(404)
    return r


def _who(receipt_ids: list[int]) -> dict[int, str]:
    """Who made each receipt's change, as the audit log names them (系统（命令行）...)."""
    pairs = db.execute(select(Receipt.id, AuditEntry).join(
        AuditEntry, AuditEntry.id == Receipt.audit_entry_id).where(Receipt.id.in_(receipt_ids))
    ).all()
    rows = audit_present.present(db, [entry for _, entry in pairs])
    return {receipt_id: row.actor for (receipt_id, _), row in zip(pairs, rows, strict=True)}


def by_entry(entry_ids: list[int]) -> dict[int, int]:
    """The receipt of each audit entry that has one (the audit log links to them)."""
    rows = db.execute(select(Receipt.audit_entry_id, Receipt.id)
                      .where(Receipt.audit_entry_id.in_(entry_ids)))
    return {entry_id: receipt_id for entry_id, receipt_id in rows}


def _described(r: dict) -> dict:
    """A receipt's change as the audit log says it: 已通过 内容 “停水通知”."""
    # A list row has no "done": every stage that applies has every screen.
    done = all(x is None or x >= r["screens"] for x in r["stages"].values())
    if r["action"] == "system":  # a change of the server's own, with no audit entry
        action, thing = gettext("changed by the system"), ""
    else:
        action = str(audit_present.FILTER_ACTIONS.get(r["action"], r["action"]))
        thing = str(audit_present.FILTER_OBJECTS.get(r["object_type"], r["object_type"]))
    return {"done": done, **r, "when": _time(r["created_at"]), "action_words": action,
            "object_words": thing, "label": r["label"] or "—"}


def _worded(r: dict) -> dict:
    r = _described(r)
    r["laggards"] = [{**lag, "stage": _stage(lag), "why_words": _why(lag["why"])}
                     for lag in r["laggards"]]
    hidden = r["laggards_total"] - len(r["laggards"])
    r["more_words"] = gettext("%(n)d more screens not through yet: the %(shown)d listed come "
                              "first (offline ones first).", n=hidden, shown=len(r["laggards"])
                              ) if hidden > 0 else ""
    return r


def _time(iso: str | None, fmt: str = "yyyy-MM-dd HH:mm:ss") -> str:
    """An instant of the service (ISO, UTC) as people read it (Asia/Shanghai)."""
    return format_datetime(datetime.fromisoformat(iso), fmt) if iso else ""


def _stage(lag: dict) -> str:
    """How far a screen behind has come."""
    if lag["ready_at"]:
        return gettext("ready at %(when)s", when=_time(lag["ready_at"], "MM-dd HH:mm"))
    if lag["acked_at"]:
        return gettext("acknowledged at %(when)s", when=_time(lag["acked_at"], "MM-dd HH:mm"))
    return gettext("not acknowledged")


def _why(why: dict) -> str:
    code = why["code"]
    if code == "offline":
        return (gettext("offline (since %(when)s)", when=_time(why["since"], "MM-dd HH:mm"))
                if why["since"] else gettext("offline (never connected)"))
    if code == "downloading":
        return (gettext("downloading %(percent)s %%", percent=why["percent"])
                if why["percent"] is not None else gettext("downloading"))
    if code == "screen_off":
        return gettext("the screen is off")
    if code == "not_scheduled":
        return (gettext("scheduled from %(when)s", when=_time(why["until"], "MM-dd HH:mm"))
                if why["until"] else gettext("not scheduled on this screen today or tomorrow"))
    if code == "refused":
        return gettext("refused by the screen")
    return gettext("waiting")


def _object_url(r: dict) -> str | None:
    page = OBJECT_PAGES.get(r["object_type"])
    if page is None or r["object_id"] is None:
        return None
    endpoint, arg, may_open = page
    if not allowed(lambda a: may_open(a, r["object_id"])):  # deleted since, or not theirs
        return None
    return url_for(endpoint, **{arg: r["object_id"]})


def _audit_url(entry: AuditEntry | None) -> str | None:
    """The audit log around the entry (it has no page of its own): that day, that person,
    that object and action, scrolled to the entry. Only administrators read the log."""
    if entry is None or actor().role not in TREE_EDITORS:
        return None
    day = format_datetime(entry.at, "yyyy-MM-dd")
    return url_for("audit.index", actor=entry.actor, object_type=entry.object_type,
                   action=entry.action, since=day, until=day, _anchor=f"entry-{entry.id}")

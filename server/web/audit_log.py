"""The audit log page: administrators browse and filter every change."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_login import login_required

from server.config import PEOPLE_TZ
from server.db import db
from server.services import audit
from server.services.access import TREE_EDITORS
from server.web import audit_present, receipts
from server.web.helpers import actor

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.before_request
@login_required
def _login() -> None:
    actor().require_role(*TREE_EDITORS)


def _local_day(value: str | None, plus_days: int = 0) -> datetime | None:
    """A date typed by a person is a day in Asia/Shanghai."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date() + timedelta(days=plus_days)
    except ValueError:
        return None
    return datetime.combine(day, time(), ZoneInfo(PEOPLE_TZ))


@bp.route("/")
def index():
    args = request.args
    entries = audit.search(
        db, actor(),
        actor_name=args.get("actor") or None,
        object_type=args.get("object_type") or None,
        action=args.get("action") or None,
        since=_local_day(args.get("since")),
        until=_local_day(args.get("until"), plus_days=1),
    )
    return render_template("audit/index.html", rows=audit_present.present(db, entries), args=args,
                           receipts=receipts.by_entry([e.id for e in entries]),
                           actions=audit_present.FILTER_ACTIONS,
                           objects=audit_present.FILTER_OBJECTS)

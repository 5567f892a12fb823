"""The alert list: terminals down or stuck now, and what happened recently (own community)."""

from __future__ import annotations

from flask import Blueprint, render_template

from server.chores import describe
from server.db import db
from server.services import health
from server.web.helpers import actor, require_login

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


require_login(bp)


@bp.app_template_global()
def alert_text(alert) -> str:
    return describe(alert.reason, alert.detail or {})


@bp.app_template_global()
def health_event_text(kind: str, reason: str) -> tuple[str, str]:
    """(what, why) of a status-history line, as msgids for the template to translate."""
    return health.EVENT_KINDS.get(kind, kind), health.EVENT_REASONS.get(reason, reason)


@bp.route("/")
def index():
    open_, recent = health.alerts(db, actor())
    return render_template("alerts/index.html", open_alerts=open_, recent=recent)

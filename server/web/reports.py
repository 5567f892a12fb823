"""The report page: headline, grouped hours with a chart, planned against played, uptime,
and CSV/XLSX exports of exactly what the page shows."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for

from server import reporting
from server.db import db
from server.services import reports, topics, tree
from server.services.errors import ServiceError
from server.web.helpers import actor, require_login

bp = Blueprint("reports", __name__, url_prefix="/reports")


require_login(bp)


@bp.route("/")
def index():
    a = actor()
    error = None
    try:
        req = reporting.parse(request.args)
    except ServiceError as err:
        from server.errors import translate

        error = translate(err)
        req = reporting.parse({})
    rows = reports.playback(db, a, req.period, req.by, req.filters)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        body, mime, name = reporting.export(rows, req, fmt)
        return Response(body, mimetype=mime,
                        headers={"Content-Disposition": f"attachment; filename={name}"})
    planned = terminal_rows = uptime = None
    if req.period.days <= reports.MAX_PLANNED_DAYS:
        planned = reports.planned_vs_played(db, a, req.period, "content", req.filters)
        terminal_rows = reports.planned_vs_played(db, a, req.period, "terminal", req.filters)
        uptime = reports.uptime_by_day(db, a, req.period, req.filters)
    head = reports.headline(db, a, req.period, req.filters, with_planned=False)
    planned_total = sum(r.extra["planned"] for r in terminal_rows) if terminal_rows else None
    chart = {"labels": [r.label for r in rows[:40]],
             "hours": [round(r.hours, 3) for r in rows[:40]]}
    return render_template(
        "reports/index.html", req=req, rows=rows, head=head, planned=planned,
        planned_total=planned_total, terminal_rows=terminal_rows, uptime=uptime, chart=chart,
        error=error, groups=reports.GROUPS,
        csv_url=url_for("reports.index", **{**request.args.to_dict(), "format": "csv"}),
        xlsx_url=url_for("reports.index", **{**request.args.to_dict(), "format": "xlsx"}),
        headers=reporting.headers(), topics=topics.list_topics(db, a, active_only=False),
        communities=tree.list_communities(db, a), buildings=tree.list_buildings(db, a),
    )

"""The report page: headline, grouped hours with a chart, planned against played with
uptime and the reasons for a shortfall, and CSV/XLSX exports of what the page shows."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for

from server import reporting, workpool
from server.errors import translate
from server.services import reports
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
        error = translate(err)
        req = reporting.parse({})
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        rows = workpool.run_db(reports.playback, a, req.period, req.by, req.filters)
        body, mime, name = reporting.export(rows, req, fmt)
        return Response(body, mimetype=mime,
                        headers={"Content-Disposition": f"attachment; filename={name}"})
    # Computed in a job worker: a year of rollups by hour is thousands of rows of Python.
    page = workpool.run_db(reports.page, a, req.period, req.by, req.filters)
    shown = page.rows[:reports.TABLE_ROWS]
    chart = {"labels": [r.label for r in page.rows[:40]],
             "hours": [round(r.hours, 3) for r in page.rows[:40]]}
    return render_template(
        "reports/index.html", req=req, page=page, rows=shown, chart=chart, error=error,
        groups=reports.GROUPS, headers=reporting.headers(),
        csv_url=url_for("reports.index", **{**request.args.to_dict(), "format": "csv"}),
        xlsx_url=url_for("reports.index", **{**request.args.to_dict(), "format": "xlsx"}),
    )

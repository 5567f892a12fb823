"""The report page: headline, grouped hours with a chart, planned against played with
uptime and the reasons for a shortfall, and CSV/XLSX exports of what the page shows."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext

from server import reporting, workpool
from server.errors import translate
from server.services import reports
from server.services.errors import N_, ServiceError
from server.web.helpers import actor, require_login

bp = Blueprint("reports", __name__, url_prefix="/reports")


require_login(bp)

REASONS = {"offline": N_("offline %(h).1f h"), "screen_off": N_("screen off %(h).1f h"),
           "file_not_ready": N_("file not ready %(h).1f h"),
           "broadcast": N_("emergency broadcast %(h).1f h")}


def _why(rows: list[reports.Row]) -> dict:
    """Each terminal's shortfall in words, translated once for all rows (a gettext per
    row and reason was most of the page's rendering)."""
    texts = {k: gettext(v) for k, v in REASONS.items()}
    unexplained = gettext("not explained by its reports")
    return {r.key: " ".join(texts[x] % {"h": r.extra[f"{x}_seconds"] / 3600}
                            for x in r.extra.get("reasons", ()))
            or (unexplained if r.extra.get("unexplained") else "") for r in rows}


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
        body, mime, name = reporting.export(a, req, fmt)
        return Response(body, mimetype=mime,
                        headers={"Content-Disposition": f"attachment; filename={name}"})
    # Computed in a job worker: a year of rollups by hour is thousands of rows of Python.
    page = workpool.run_db(reports.page, a, req.period, req.by, req.filters)
    chart = {"labels": [r.label for r in page.rows[:40]],
             "hours": [round(r.hours, 3) for r in page.rows[:40]]}
    return render_template(
        "reports/index.html", req=req, page=page, rows=page.rows, chart=chart, error=error,
        why=_why(page.terminals),
        groups=reports.GROUPS, headers=reporting.headers(),
        csv_url=url_for("reports.index", **{**request.args.to_dict(), "format": "csv"}),
        xlsx_url=url_for("reports.index", **{**request.args.to_dict(), "format": "xlsx"}),
    )

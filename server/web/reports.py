"""The report page: headline, grouped hours with a chart, planned against played with
uptime and the reasons for a shortfall, and CSV/XLSX exports of what the page shows."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, render_template, request, url_for

from server import reporting, workpool
from server.errors import translate
from server.services import exports, reports
from server.services.errors import ServiceError
from server.web.helpers import actor, require_login

bp = Blueprint("reports", __name__, url_prefix="/reports")


require_login(bp)


def _why(rows: list[reports.Row]) -> dict:
    """Each terminal's shortfall in words, the reasons translated once for all rows."""
    words = reporting.reason_words()
    return {r.key: exports.why(r.extra, words) for r in rows}


def _attachment(name: str, fallback: str) -> str:
    """A Chinese file name for browsers (RFC 6266) and a plain one for the rest."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


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
        body, kind, name = reporting.export(a, req, fmt)
        fallback = f"playback_{req.by}_{req.period.first}_{req.period.last}.{fmt}"
        # content_type, not mimetype: Flask adds "; charset=utf-8" to a text mimetype again.
        return Response(body, content_type=kind,
                        headers={"Content-Disposition": _attachment(name, fallback)})
    # Computed in a job worker: a year of rollups by hour is thousands of rows of Python.
    page = workpool.run_db(reports.page, a, req.period, req.by, req.filters)
    if req.by == "region":
        reporting.name_regions(page.rows)
    chart = {"labels": [r.label for r in page.rows[:40]],
             "hours": [round(r.hours, 3) for r in page.rows[:40]]}
    return render_template(
        "reports/index.html", req=req, page=page, rows=page.rows, chart=chart, error=error,
        why=_why(page.terminals), terms=reporting.terms(), zone=reporting.zone(),
        as_of=reports.as_of_text(req.period, page.as_of),
        groups=reports.GROUPS, headers=reporting.headers(),
        regions=reporting.region_names(), region=reporting.region_choice(req.filters),
        csv_url=url_for("reports.index", **{**request.args.to_dict(), "format": "csv"}),
        xlsx_url=url_for("reports.index", **{**request.args.to_dict(), "format": "xlsx"}),
    )

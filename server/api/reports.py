"""/api/v1/reports/playback: the report page's numbers as JSON."""

from __future__ import annotations

from flask import request

from server import reporting, workpool
from server.api.auth import actor, blueprint
from server.api.schemas import PlaybackOut, ReportQuery
from server.services import reports

blp = blueprint("api_reports", "/reports", "Playback-hour reports")


@blp.route("/playback")
@blp.arguments(ReportQuery, location="query")
@blp.response(200, PlaybackOut)
def playback(_args):
    """Play hours for a period (local dates, Asia/Shanghai), grouped and filtered."""
    req = reporting.parse(request.args)
    rows = workpool.run_db(reports.playback, actor(), req.period, req.by, req.filters)
    if req.by == "region":
        reporting.name_regions(rows)
    head = workpool.run_db(reports.headline, actor(), req.period, req.filters,
                           with_planned=False)
    return {
        "from": req.period.first, "to": req.period.last, "by": req.by,
        "region": reporting.region_choice(req.filters),
        "headline": {"topics": head.topics, "hours": round(head.hours, 4),
                     "seconds": head.seconds, "plays": head.plays,
                     "terminals_reporting": head.terminals_reporting},
        "rows": [{"key": r.key, "label": r.label, "seconds": r.seconds,
                  "hours": round(r.hours, 4), "plays": r.plays} for r in rows],
    }

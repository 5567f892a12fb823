"""/api/v1/reports/playback and /mandates: the report pages' numbers as JSON."""

from __future__ import annotations

from flask import request
from marshmallow import Schema

from server import reporting, workpool
from server.api.auth import actor, blueprint
from server.api.schemas import Day, Id, PlaybackOut, ReportQuery
from server.services import mandate_report, reports

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


class MandateReportQuery(Schema):
    mandate = Id(required=True)
    from_ = Day(data_key="from", metadata={"description": "default: this month's first day"})
    to = Day(metadata={"description": "default: today"})
    terminal = Id(metadata={"description": "one screen, with its hours"})


@blp.route("/mandates")
@blp.arguments(MandateReportQuery, location="query")
@blp.response(200)
@blp.refuses(404)
def mandates(args):
    """Was a mandate's share met, per screen and local day (and hour by hour for one
    screen), from proof of play; reasons are keys (offline, screen_off, broadcast,
    plan_short, played_short) with the seconds they name."""
    period = mandate_report.period(args.get("from_"), args.get("to"))
    r = workpool.run_db(mandate_report.report, actor(), args["mandate"], period,
                        args.get("terminal"))
    return {
        "mandate": {"id": r.mandate_id, "name": r.name, "authority": r.authority,
                    "share_kind": r.share_kind, "share": r.share,
                    "window": list(r.window), "dates": [d.isoformat() for d in r.dates]},
        "from": period.first.isoformat(), "to": period.last.isoformat(),
        "hours": r.hours, "hours_met": r.hours_met,
        "days": [{"day": d.day.isoformat(), "screens": d.screens, "screens_met": d.screens_met,
                  "hours": d.hours, "hours_met": d.hours_met} for d in r.days],
        "screens": [{"terminal_id": x.terminal_id, "terminal": x.terminal,
                     "building": x.building, "community": x.community,
                     "day": x.day.isoformat(), "met": x.met, "hours_met": x.hours_met,
                     "hours": x.hours_total, "played_seconds": round(x.played_s, 3),
                     "required_seconds": round(x.required_s, 3), "reason": x.reason,
                     **({"by_hour": [_hour(h) for h in x.hours]} if x.hours else {})}
                    for x in r.screens],
    }


def _hour(h) -> dict:
    return {"start": h.start.isoformat(), "met": h.met, "played_seconds": round(h.played_s, 3),
            "required_seconds": round(h.required_s, 3), "online_seconds": h.online_s,
            "screen_on_seconds": h.lit_s, "planned_seconds": round(h.planned_s, 3),
            "reason": h.reason, "reason_seconds": round(h.reason_s, 3)}

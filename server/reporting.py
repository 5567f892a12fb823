"""Shared by the report page, the API and the CLI: parse a report request, run it,
and lay out exports with Chinese headers. One place, so all three give the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext

from server import workpool
from server.services import exports, reports
from server.services.access import Actor
from server.services.errors import N_, Invalid

FILTERS = ("topic_id", "content_id", "terminal_id", "building_id", "community_id")


@dataclass
class Request:
    period: reports.Period
    by: str
    filters: reports.Filters


def _date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(N_("Dates are written YYYY-MM-DD."), field=field) from None


def _int(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(N_("%(field)s must be a whole number."), field=field) from None


def parse(args) -> Request:
    by = args.get("by") or "topic"
    if by not in reports.GROUPS:
        raise Invalid(N_("Group by one of: %(groups)s."), field="by",
                      groups=", ".join(reports.GROUPS))
    p = reports.period(_date(args.get("from"), "from"), _date(args.get("to"), "to"))
    return Request(p, by, reports.Filters(**{k: _int(args.get(k), k) for k in FILTERS}))


def headers() -> dict[str, str]:
    return {"topic": gettext("Topic"), "content": gettext("Content"),
            "terminal": gettext("Terminal"), "building": gettext("Building"),
            "community": gettext("Community"), "day": gettext("Day"), "hour": gettext("Hour"),
            "hours": gettext("Play hours"), "seconds": gettext("Play seconds"),
            "plays": gettext("Plays")}


def export(actor: Actor, req: Request, fmt: str) -> tuple[bytes, str, str]:
    """The file's bytes, type and name. Read and built in one job worker (a year of rows by
    hour makes a workbook of seconds of CPU, and rows unpickled on the event loop stalled
    it ~100 ms an export); the headers are translated here, in the request's language."""
    if fmt not in ("csv", "xlsx"):
        raise Invalid(N_("The format is csv, xlsx or json."), field="format")
    heads = headers()
    title = gettext("Playback by %(by)s", by=heads[req.by])
    body = workpool.run_db(exports.report_file, actor, req.period, req.by, req.filters, fmt,
                           heads, title)
    name = f"playback_{req.by}_{req.period.first}_{req.period.last}.{fmt}"
    mime = ("text/csv; charset=utf-8" if fmt == "csv" else
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return body, mime, name

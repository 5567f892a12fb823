"""Shared by the report page, the API and the CLI: parse a report request, run it,
and lay out exports with Chinese headers. One place, so all three give the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext

from server import workpool
from server.config import PEOPLE_TZ
from server.services import exports, reports
from server.services.access import Actor
from server.services.errors import N_, Invalid

FILTERS = ("topic_id", "content_id", "terminal_id", "building_id", "community_id")


@dataclass
class Request:
    period: reports.Period
    by: str
    filters: reports.Filters


def parse_date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(N_("Dates are written YYYY-MM-DD."), field=field) from None


def parse_int(value, field: str) -> int | None:
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
    p = reports.period(parse_date(args.get("from"), "from"), parse_date(args.get("to"), "to"))
    return Request(p, by, reports.Filters(**{k: parse_int(args.get(k), k) for k in FILTERS},
                                          region=reports.region_filter(args.get("region"))))


def headers() -> dict[str, str]:
    return {"topic": gettext("Topic"), "content": gettext("Item"),
            "terminal": gettext("Terminal"), "building": gettext("Building"),
            "community": gettext("Community"), "region": gettext("Region"),
            "day": gettext("Day"), "hour": gettext("Hour"),
            "hours": gettext("Play hours"), "seconds": gettext("Play seconds"),
            "plays": gettext("Plays")}


def region_names() -> dict[str, str]:
    """Each region choice (reports.REGION_CHOICES) as the page, the files and the API name
    it."""
    return {"main": gettext("Main screen"), "ticker": gettext("Ticker"),
            "image": gettext("Image"), "all": gettext("All regions")}


def region_choice(f: reports.Filters) -> str:
    return f.region or reports.ALL_REGIONS


def name_regions(rows: list[reports.Row]) -> None:
    """A grouping by region's labels (the regions' keys) in the request's language."""
    names = region_names()
    for r in rows:
        r.label = names.get(r.key, r.label)


REASONS = {"offline": N_("offline %(h).1f h"), "screen_off": N_("screen off %(h).1f h"),
           "file_not_ready": N_("file not ready %(h).1f h"),
           "broadcast": N_("emergency broadcast %(h).1f h")}


def reason_words() -> dict[str, str]:
    """A shortfall's reasons, translated once (a gettext per row and reason was most of the
    page's rendering); "unexplained" when the terminal's reports do not account for it."""
    return {**{k: gettext(v) for k, v in REASONS.items()},
            "unexplained": gettext("not explained by its reports")}


def zone() -> str:
    """The time zone the report's days and hours are in, as people name it."""
    return gettext("Beijing time (UTC+8)") if PEOPLE_TZ == "Asia/Shanghai" else PEOPLE_TZ


def terms() -> dict[str, str]:
    """What the report's figures mean, in a line each: shown next to the figures on the
    page and under the tables in the Excel file (each with its `*_label`). `period` takes
    first, last, zone and as_of."""
    return {
        "period": gettext("Period %(first)s to %(last)s, whole days in %(zone)s; "
                          "figures up to %(as_of)s."),
        "planned_label": gettext("Planned"),
        "planned": gettext("the time the schedules give a screen while its screen plan has "
                           "it on, from when the terminal was added, up to now."),
        "played_label": gettext("Played"),
        "played": gettext("what the terminals reported playing, every second backed by a "
                          "proof-of-play record."),
        "share_label": gettext("Completion"),
        "share": gettext("played divided by planned."),
        "offline_label": gettext("Offline"),
        "offline": gettext("time after the terminal was added in which it did not report "
                           "to the server; time online with the screen off is counted apart "
                           "as screen off."),
        "regions": gettext("Hours count the main screen only; the ticker and images are "
                           "counted apart."),
        "main_only": gettext("Planned against played compares the main screen only: "
                             "planned time is the main screen's."),
    }


def words(by: str) -> dict[str, str]:
    """Every word of an Excel export, translated here in the request's language: the job
    worker that builds the file has no request."""
    heads = headers()
    return {**heads, **terms(), **{f"reason_{k}": v for k, v in reason_words().items()},
            **{f"region_{k}": v for k, v in region_names().items()},
            "by": heads[by], "zone": zone(),
            "report": gettext("Playback hours report"),
            "filters": gettext("Filters: %(filters)s"),
            "sheet_rows": gettext("By %(by)s", by=heads[by]),
            "sheet_planned": gettext("Planned against played"),
            "sheet_terminals": gettext("Terminals: uptime"),
            "chart": gettext("Play hours by %(by)s", by=heads[by]),
            "planned_hours": gettext("Planned hours"), "played_hours": gettext("Played hours"),
            "share_col": gettext("Completion"), "online": gettext("Hours online"),
            "screen_on": gettext("Hours screen on"), "offline_col": gettext("Hours offline"),
            "why": gettext("Why less was played"), "total": gettext("Total"),
            "notes": gettext("Notes")}


def export(actor: Actor, req: Request, fmt: str) -> tuple[bytes, str, str]:
    """The file's bytes, content type and name. Read and built in one job worker (a year of
    rows by hour makes a workbook of seconds of CPU, and rows unpickled on the event loop
    stalled it ~100 ms an export); its words are translated here, in the request's
    language."""
    if fmt not in ("csv", "xlsx"):
        raise Invalid(N_("The format is csv, xlsx or json."), field="format")
    body = workpool.run_db(exports.report_file, actor, req.period, req.by, req.filters, fmt,
                           words(req.by))
    name = f"{gettext('Playback hours report')}_{headers()[req.by]}_{req.period.first}_" \
        f"{req.period.last}.{fmt}"
    kind = ("text/csv; charset=utf-8" if fmt == "csv" else
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return body, kind, name

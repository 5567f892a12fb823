"""Mandate reports: was the required share met, screen by screen and day by day, and hour
by hour for one screen; CSV and Excel files to send upward."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext

from server import reporting, workpool
from server.db import db
from server.errors import translate
from server.reporting import parse_date, parse_int
from server.services import mandate_report, reports
from server.services.errors import N_, ServiceError
from server.web.helpers import actor, require_login
from server.web.mandate_present import share_words
from server.web.reports import _attachment

bp = Blueprint("mandate_reports", __name__)
require_login(bp)

TABLE_ROWS = 1000  # screen-days on the page, the missed first; the files carry them all

HOUR_REASONS = {"offline": N_("offline %(m)s min"), "screen_off": N_("screen off %(m)s min"),
                "broadcast": N_("pre-empted by a broadcast %(m)s min"),
                "plan_short": N_("not planned enough (%(m)s min planned)"),
                "played_short": N_("played less than planned (%(m)s min played)")}
DAY_REASONS = {"offline": N_("offline in %(n)d h"), "screen_off": N_("screen off in %(n)d h"),
               "broadcast": N_("pre-empted by a broadcast in %(n)d h"),
               "plan_short": N_("not planned enough in %(n)d h"),
               "played_short": N_("played less than planned in %(n)d h")}


def words() -> dict[str, str]:
    """Every word of the page's reasons and of the files, translated here in the request's
    language (the job worker that builds a file has no request)."""
    return {
        **{f"hour_{k}": gettext(v) for k, v in HOUR_REASONS.items()},
        **{f"day_{k}": gettext(v) for k, v in DAY_REASONS.items()},
        "community": gettext("Community"), "building": gettext("Building"),
        "terminal": gettext("Terminal"), "day": gettext("Day"), "hour": gettext("Hour"),
        "played_min": gettext("Played (min)"), "required_min": gettext("Required (min)"),
        "lit_min": gettext("Screen on (min)"), "online_min": gettext("Online (min)"),
        "met": gettext("Met"), "yes": gettext("yes"), "no": gettext("no"),
        "not_required": gettext("nothing required"),
        "why": gettext("Why not met"), "screens": gettext("Screens"),
        "screens_met": gettext("Screens met"), "hours_total": gettext("Window hours"),
        "hours_met": gettext("Hours met"), "share_met": gettext("Share of hours met"),
        "total": gettext("Total"), "notes": gettext("Notes"),
        "sheet_days": gettext("By day"), "sheet_screens": gettext("By screen and day"),
        "sheet_hours": gettext("Hour by hour"), "title": gettext("Mandate report"),
        "rule": gettext("Required by %(authority)s: %(rule)s, %(window)s, %(dates)s"),
        "period": reporting.terms()["period"], "zone": reporting.zone(),
        "rule_met": gettext("An hour is met when the mandate's content played at least "
                            "what the hour requires (1 second of slack); a day when every "
                            "hour of its window is."),
        "rule_offline": gettext("Time offline counts as screen on: what a screen did while "
                                "offline is known only from the proof of play it uploads "
                                "on reconnecting; time seen with the screen off is not "
                                "required."),
        "rule_dark": gettext("An hour the screen was seen off throughout requires nothing "
                             "and counts as met."),
    }


def parse(args) -> tuple[int | None, reports.Period, int | None]:
    """(mandate, period, terminal) of a request; the period defaults to this month so far."""
    p = mandate_report.period(parse_date(args.get("from"), "from"),
                              parse_date(args.get("to"), "to"))
    return (parse_int(args.get("mandate"), "mandate"), p,
            parse_int(args.get("terminal"), "terminal"))


@bp.route("/reports/mandates")
def index():
    a = actor()
    mandates = mandate_report.visible(db, a)
    error = None
    try:
        mandate_id, period, terminal_id = parse(request.args)
    except ServiceError as err:
        error, (mandate_id, period, terminal_id) = translate(err), (None, mandate_report.period(None, None), None)
    mandate_id = mandate_id or (mandates[0][0] if mandates else None)
    if mandate_id is None:
        return render_template("mandate_reports/index.html", mandates=mandates, report=None,
                               error=error, period=period)
    w = words()
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        m = mandate_report.mandate(db, a, mandate_id)
        w["share_text"] = share_words(m.share_kind, m.share)
        body, name = workpool.run_db(mandate_report.export, a, mandate_id, period, terminal_id,
                                     fmt, w)
        kind = ("text/csv; charset=utf-8" if fmt == "csv" else
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        title = f"{name}_{gettext('Mandate report')}_{period.first}_{period.last}.{fmt}"
        fallback = f"mandate_{mandate_id}_{period.first}_{period.last}.{fmt}"
        return Response(body, content_type=kind,
                        headers={"Content-Disposition": _attachment(title, fallback)})
    # Computed in a job worker: a month of a street is tens of thousands of hours.
    r = workpool.run_db(mandate_report.report, a, mandate_id, period, terminal_id)
    screens = sorted(r.screens, key=lambda x: x.met)[:TABLE_ROWS]  # stable: by day, name
    args = {"mandate": mandate_id, "from": period.first, "to": period.last}
    here = {**args, "terminal": terminal_id}
    return render_template(
        "mandate_reports/index.html", mandates=mandates, report=r, error=error,
        period=period, screens=screens, terminal_id=terminal_id, words=w,
        all_url=url_for("mandate_reports.index", **args),
        csv_url=url_for("mandate_reports.index", **here, format="csv"),
        xlsx_url=url_for("mandate_reports.index", **here, format="xlsx"),
        share=share_words(r.share_kind, r.share), reason_text=mandate_report.reason_text,
        day_reason_text=mandate_report.day_reason_text, hour=timedelta(hours=1),
        zone=reporting.zone(), as_of=reports.as_of_text(period, r.as_of),
        period_text=reporting.terms()["period"])

"""Mandates in words, for the mandate pages and the warnings on the schedule pages."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask_babel import gettext

from server import workpool
from server.services import mandates, schedules
from server.web.helpers import actor


def share_words(kind: str, share: float) -> str:
    """每小时 10 分钟 / 点亮时间的 15 %."""
    amount = f"{share:g}"
    if kind == "percent":
        return gettext("%(percent)s %% of the lit time", percent=amount)
    return gettext("%(minutes)s minutes in every hour", minutes=amount)


def _minutes(seconds: float) -> str:
    return f"{round(seconds / 60, 1):g}"


def shortfall_warnings(days: list[date], terminal_id: int | None = None) -> list[dict]:
    """One warning per mandate the plans of the screens the staff member sees (or of one
    screen) fall short of on `days`: 反诈宣传：今天 12 块屏有 5 个小时不足每小时 10 分钟
    （最少 4 分钟）. Each links to the mandate (its form, or its row in the list for those
    who may not change it)."""
    a = actor()
    out = []
    for x in workpool.run_db(mandates.shortages, a, days, terminal_id):
        share = share_words(x.share_kind, x.share)
        if terminal_id is None:
            hours = str(x.most_hours) if x.fewest_hours == x.most_hours \
                else f"{x.fewest_hours}–{x.most_hours}"
            text = gettext("today %(screens)d screens have %(hours)s hours short of %(share)s "
                           "(least %(least)s minutes)", screens=x.screens, hours=hours,
                           share=share, least=_minutes(x.least_s))
        else:
            text = gettext("this week on %(days)d days, %(hours)d hours in all are short of "
                           "%(share)s (least %(least)s minutes)", days=x.days, hours=x.hours,
                           share=share, least=_minutes(x.least_s))
        url = (url_for("mandates.edit", mandate_id=x.mandate_id)
               if schedules.may_change(a, x.community_id)
               else url_for("mandates.index", _anchor=f"mandate-{x.mandate_id}"))
        out.append({"mandate_id": x.mandate_id, "name": x.name, "text": text, "url": url})
    return out

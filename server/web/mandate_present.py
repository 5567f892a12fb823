"""Mandates in words, for the mandate pages and the warnings on the schedule pages."""

from __future__ import annotations

from flask_babel import gettext


def share_words(kind: str, share: float) -> str:
    """每小时 10 分钟 / 点亮时间的 15 %."""
    amount = f"{share:g}"
    if kind == "percent":
        return gettext("%(percent)s %% of the lit time", percent=amount)
    return gettext("%(minutes)s minutes in every hour", minutes=amount)

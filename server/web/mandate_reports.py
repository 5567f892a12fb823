"""Mandate reports: was the required share met, screen by screen and day by day."""

from __future__ import annotations

from flask import Blueprint, render_template

from server.web.helpers import require_login

bp = Blueprint("mandate_reports", __name__)
require_login(bp)


@bp.route("/reports/mandates")
def index():
    return render_template("mandates/index.html")

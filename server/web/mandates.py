"""Time-share mandates: a required share of screen time, checked, enforced and reported."""

from __future__ import annotations

from flask import Blueprint, render_template

from server.web.helpers import require_login

bp = Blueprint("mandates", __name__)
require_login(bp)


@bp.route("/mandates")
def index():
    return render_template("mandates/index.html")

"""Publish receipts: did a change reach the screens (docs/receipts.md)."""

from __future__ import annotations

from flask import Blueprint, render_template

from server.web.helpers import require_login

bp = Blueprint("receipts", __name__)
require_login(bp)


@bp.route("/receipts")
def index():
    return render_template("receipts/index.html")

"""Escalated-review periods: a calendar of dates during which every change needs street approval."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("escalation", __name__)

"""The logs' hash chains: their state, the last check and the exported heads."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("integrity", __name__)

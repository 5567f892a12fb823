"""Signing keys: rotation, emergency re-key and enforcement (street admins)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("signing", __name__)

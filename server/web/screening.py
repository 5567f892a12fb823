"""Screening words: what staff text is checked for before review."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("screening", __name__)

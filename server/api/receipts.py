"""/api/v1/receipts (filled in by issue #25's work)."""

from __future__ import annotations

from server.api.auth import blueprint

blp = blueprint("api_receipts", "/receipts", "Receipts")

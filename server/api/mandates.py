"""/api/v1/mandates (filled in by issue #25's work)."""

from __future__ import annotations

from server.api.auth import blueprint

blp = blueprint("api_mandates", "/mandates", "Mandates")

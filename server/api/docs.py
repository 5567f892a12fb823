"""The OpenAPI document says every status an operation answers, and no catch-all.

Each error answer is {"error": {"code", "message", ...}} (server/errors.py, ErrorSchema).
The statuses any operation of a kind gives are added here once; what only some
operations do (refuse a role, clash with a name, miss a referenced row) is declared on
the view with `@blp.refuses(...)`.
"""

from __future__ import annotations

from http import HTTPStatus

from apispec import BasePlugin
from flask_smorest import Blueprint

READ = frozenset({"get", "head", "options"})
URI_TOO_LONG = "URI_TOO_LONG"  # gunicorn's answer, not the app's: no error body


class SignageBlueprint(Blueprint):
    def refuses(self, *codes: int):
        """Document error answers this view gives besides the ones every view of its
        kind gives (ErrorResponses below)."""
        def decorator(func):
            for code in codes:
                func = self.alt_response(code, response=HTTPStatus(code).name)(func)
            return func
        return decorator


class ErrorResponses(BasePlugin):
    """401 everywhere (a bearer token is required); 404 for an id in the path; 400 for a
    JSON body that does not parse; 422 for any input that fails validation; 414 where a
    query string can outgrow gunicorn's request line (4094 bytes: 1,000 characters of
    Chinese, percent-encoded, already do), answered by gunicorn before the app."""

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        spec.components.response(URI_TOO_LONG, {
            "description": "The request line is longer than the server takes (4094 bytes); "
                           "nothing was done. Send long text in a body."})

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, op in (operations or {}).items():
            responses = op.setdefault("responses", {})
            codes = [401]
            if "{" in (path or ""):
                codes.append(404)
            params = op.get("parameters", [])
            body = op.get("requestBody", {}).get("content", {})
            query = any(isinstance(p, dict) and p.get("in") == "query" for p in params)
            if body or query:
                codes.append(422)
            if "application/json" in body:
                codes.append(400)
            if method not in READ:
                codes.append(403)
            given = {str(int(k)) if str(k).isdigit() else str(k) for k in responses}
            for code in codes:
                if str(code) not in given:
                    responses[str(code)] = HTTPStatus(code).name
            if query and "414" not in given:
                responses["414"] = URI_TOO_LONG

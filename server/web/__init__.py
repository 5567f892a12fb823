"""Staff web UI: server-rendered pages, one module per concern."""

from __future__ import annotations

from flask import Flask, redirect, request, session, url_for
from flask_babel import get_locale, refresh

LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}


def register(app: Flask) -> None:
    from server.web import (
        account,
        alerts,
        audit_log,
        auth,
        broadcasts,
        calendar,  # noqa: F401  (its pages are routes of schedules.bp)
        content,
        escalation,
        integrity,
        layouts,
        mandate_reports,
        mandates,
        receipts,
        reports,
        schedules,
        screening,
        security,
        signing,
        targets,
        terminals,
        tree,
        users,
        wall,
        warnings,
    )

    for module in (auth, tree, users, audit_log, account, content, schedules, layouts,
                   reports, terminals, broadcasts, wall, alerts, targets, warnings, signing,
                   integrity, escalation, screening, security, receipts, mandates,
                   mandate_reports):
        app.register_blueprint(module.bp)

    @app.route("/lang/<code>")
    def set_language(code: str):
        if code in LANGUAGES:
            session["lang"] = code
            refresh()  # the redirect answer itself is already in the new language
        target = request.referrer or url_for("tree.index")
        # Only follow same-site referrers.
        if not target.startswith(request.host_url):
            target = url_for("tree.index")
        return redirect(target)

    @app.context_processor
    def _layout_globals() -> dict:
        return {"LANGUAGES": LANGUAGES, "current_lang": str(get_locale())}

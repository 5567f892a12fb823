"""The early-warning jobs (fixed ids, imported from server/chores.py): feeds polled,
approval timeouts sent and expiry marked, receipts posted back to their sources.

Each opens its own session; broadcasts a job sends are pushed after its commit (the hub's
after-commit hook). The feeds and receipts services are imported when their job runs.
"""

from __future__ import annotations

import logging

from flask import current_app

from server.db import session_scope, utcnow
from server.scheduler import register_job
from server.storage import blob_store

log = logging.getLogger(__name__)

FEEDS_EVERY_S = 15
DEADLINES_EVERY_S = 5
RECEIPTS_EVERY_S = 15


def poll_feeds() -> None:
    from server.services.warnings import feeds

    with session_scope() as s:
        feeds.poll_due(s, utcnow())


def deadlines() -> None:
    """Approvals that ran out are sent (their cards rendered in a job worker first), and
    messages past their expiry marked expired."""
    from server.services.warnings import dispatch

    with session_scope() as s:
        done = dispatch.run_deadlines(s, utcnow(), store=blob_store(),
                                      font=current_app.config["SIGNAGE"].font)
    if done["sent"]:
        log.info("warnings sent when their approval time ran out: %s", done["sent"])


def post_receipts() -> None:
    from server.services.warnings import receipts

    with session_scope() as s:
        receipts.post_due(s, utcnow())


register_job("warning-feeds", poll_feeds, every_s=FEEDS_EVERY_S)
register_job("warning-deadlines", deadlines, every_s=DEADLINES_EVERY_S)
register_job("warning-receipts", post_receipts, every_s=RECEIPTS_EVERY_S)

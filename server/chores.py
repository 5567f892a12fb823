"""The scheduler's jobs (fixed ids): terminal health, planned time and retention.

Each runs in an app context in the one leading scheduler (server/scheduler.py), opens its
own session, and publishes what it decided only after the commit. Add a job with
`server.scheduler.register_job(id, fn, every_s)` here or in a module imported from here.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import format_datetime, gettext

from player import protocol
from server import hub, liveness, scheduler, warning_jobs, workpool
from server.db import session_scope, utcnow
from server.hub import staff
from server.scheduler import register_job
from server.services import health, layouts, planned, plays

ALERT_EVENT = "alert"


def describe(reason: str, detail: dict) -> str:
    """An alert's reason in the people's language (times in Asia/Shanghai)."""
    params = dict(detail)
    if params.get("since"):
        params["since"] = format_datetime(protocol.parse_instant(params["since"], "since"),
                                          "HH:mm:ss")
    if "after" in params:
        params["after"] = f"({gettext(health.EVENT_KINDS.get(params['after'], params['after']))})"
    template = health.REASONS.get(reason)
    if template is None:
        return reason
    try:
        return gettext(template, **params)
    except (KeyError, ValueError):
        return gettext(template)


def publish(events: list[health.AlertEvent]) -> None:
    """To staff browsers of the terminal's community and of the whole street (the wall):
    each alert, then the terminals' fresh tiles (a silent terminal marked offline here has
    no disconnect to publish it)."""
    for e in events:
        staff.publish(ALERT_EVENT, e.payload(describe(e.reason, e.detail)), e.community_id)
    if events:
        with session_scope() as s:
            staff.publish_terminals(s, sorted({e.terminal_id for e in events}))


def detect_down() -> None:
    """Judged from when the server listened: this process up or back from a stall, and
    this scheduler leading (a new leader cannot tell what happened before it led)."""
    missed = current_app.config["SIGNAGE"].missed_heartbeats
    since = max((t for t in (liveness.available_since(), scheduler.leads_since()) if t),
                default=None)
    with session_scope() as s:
        events = health.detect_down(s, utcnow(), missed, since)
    publish(events)


def detect_stuck() -> None:
    # In a job worker: it builds and walks the plan of every terminal whose picture has
    # not changed for a while, which with a fleet showing long items is most of them.
    grace = timedelta(seconds=current_app.config["SIGNAGE"].stuck_grace_s)
    publish(workpool.run_db(health.detect_stuck, utcnow(), grace, background=True))


def planned_time() -> None:
    """Write planned time ahead and after changes, and close the days that are over (in
    a job worker: a street's worth of plans is seconds of CPU after a change)."""
    workpool.run_db(planned.run, utcnow(), background=True)


def region_renditions() -> None:
    """Notices rendered for layouts' main regions of new sizes (a layout saved or a screen
    size added), in a job worker like every rendering."""
    settings = current_app.config["SIGNAGE"]
    changed = workpool.run_db(layouts.render_region_sizes, str(settings.blob_dir),
                              settings.font, background=True)
    if changed:  # committed in the job: its screens hear of it now
        hub.nudge(changed)


def purge_retention() -> None:
    """Raw proof of play (rollups stay), status history and closed alerts past retention."""
    keep = current_app.config["SIGNAGE"].play_retention_days
    with session_scope() as s:
        plays.purge(s, keep)
        health.purge(s, keep, utcnow())


register_job("offline-detection", detect_down, every_s=protocol.STATUS_INTERVAL_S)
register_job("stuck-detection", detect_stuck, every_s=2 * protocol.STATUS_INTERVAL_S)
register_job("planned-time", planned_time, every_s=10)
register_job("region-renditions", region_renditions, every_s=30)
register_job("retention-purge", purge_retention, every_s=24 * 3600)

JOB_MODULES = (warning_jobs,)  # their jobs register when imported

"""The scheduler's jobs (fixed ids): terminal health, planned time, retention and the
export of the log chains' heads.

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
from server.services import audit, chain_export, health, layouts, planned, plays, receipts

ALERT_EVENT = "alert"
CHAIN_EXPORT_CHECK_S = 60  # whether SIGNAGE_CHAIN_EXPORT_S has passed since the last one


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
    """Raw proof of play (whole batches; rollups stay), audit entries (their publish
    receipts go with them), status history and closed alerts past retention; the chains'
    removals recorded in the audit chain."""
    settings = current_app.config["SIGNAGE"]
    with session_scope() as s:
        plays.purge(s, settings.play_retention_days)
        audit.purge(s, settings.audit_retention_days)
        receipts.purge(s, settings.audit_retention_days)
        health.purge(s, settings.play_retention_days, utcnow())


def export_chain_heads() -> None:
    """The chains' heads to SIGNAGE_CHAIN_EXPORT_FILE and/or _URL (nothing when neither is
    set); a failure is logged and kept for the integrity page."""
    settings = current_app.config["SIGNAGE"]
    if not (settings.chain_export_file or settings.chain_export_url):
        return
    last = chain_export.last_status(settings.data_dir)
    # Checked every minute (the interval is a setting, read per app); a failed one is
    # tried again at the next check.
    if last and not last.get("error") and protocol.parse_instant(last["at"], "at") + timedelta(
            seconds=settings.chain_export_s) > utcnow() + timedelta(seconds=1):
        return
    with session_scope() as s:
        chain_export.export(s, to_file=settings.chain_export_file,
                            to_url=settings.chain_export_url,
                            secret=settings.chain_export_secret, status_dir=settings.data_dir)


def screening_ocr() -> None:
    """Text in new images and videos read by Tesseract (in a job worker) and screened;
    an approved item a blocked word took off screens is announced to its terminals."""
    from server.services import screening  # screening's own lines, apart from the others

    settings = current_app.config["SIGNAGE"]
    changed = workpool.run_db(screening.ocr_pending, str(settings.blob_dir),
                              timeout_s=max(settings.job_timeout_s, 300), background=True)
    if changed:
        hub.nudge(changed)


register_job("offline-detection", detect_down, every_s=protocol.STATUS_INTERVAL_S)
register_job("stuck-detection", detect_stuck, every_s=2 * protocol.STATUS_INTERVAL_S)
register_job("planned-time", planned_time, every_s=10)
register_job("region-renditions", region_renditions, every_s=30)
register_job("retention-purge", purge_retention, every_s=24 * 3600)
register_job("chain-head-export", export_chain_heads, every_s=CHAIN_EXPORT_CHECK_S)

JOB_MODULES = (warning_jobs,)  # their jobs register when imported
register_job("screening-ocr", screening_ocr, every_s=5)

"""The logs' hash chains: their state, the last check and the exported heads
(street admins; docs/security.md "Tamper-evident logs")."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from server import workpool
from server.db import db, utcnow
from server.errors import translate
from server.models import LogChain, Terminal
from server.services import chain_export, chains
from server.services.errors import ServiceError
from server.web.forms import DeleteForm
from server.web.helpers import require_login, street_admin

bp = Blueprint("integrity", __name__)
require_login(bp)

VERIFY_TIMEOUT_S = 900.0  # it reads every row; a big database takes minutes

# What a break means, in the people's language (chains.Break.kind).
PROBLEMS = {
    "no_head": _l("links whose chain has no head: the head row was removed"),
    "purge_mark": _l("a link that retention should have removed is still there: the purge "
                     "mark was moved"),
    "missing": _l("a link is missing: deleted"),
    "reordered": _l("a link does not follow the one before it: reordered or replaced"),
    "edited": _l("a link's content no longer matches its hash: edited"),
    "tail": _l("links at the end are missing: removed"),
    "head": _l("the last link is not the chain's recorded head: the head was rewritten"),
    "loose": _l("an entry was added outside the chain"),
    "orphans": _l("play records were added outside any batch"),
    "gone": _l("the chain is gone since the head was exported"),
    "rewritten": _l("the chain no longer holds the exported head: rewritten"),
}



def _with_time(status: dict | None) -> dict | None:
    """A kept status with its time as a datetime, for the page's date format."""
    return status and {**status, "at": datetime.fromisoformat(status["at"])}


def _chain_label(name: str, terminals: dict[int, str]) -> str:
    if name == chains.AUDIT:
        return _("Audit log")
    tid = int(name.removeprefix(chains.PLAYS))
    return _("Proof of play: %(terminal)s", terminal=terminals.get(tid, f"#{tid}"))


@bp.route("/integrity")
def status():
    street_admin()
    settings = current_app.config["SIGNAGE"]
    heads = db.scalars(select(LogChain).order_by(LogChain.name)).all()
    terminals = dict(db.execute(select(Terminal.id, Terminal.name)).all())
    rows = sorted(({"name": h.name, "label": _chain_label(h.name, terminals), "head": h}
                   for h in heads), key=lambda r: (r["name"] != chains.AUDIT, r["label"]))
    check = _with_time(chain_export.last_status(settings.data_dir, chain_export.VERIFY_FILE))
    breaks = [{**b, "label": _chain_label(b["chain"], terminals) if b["chain"] != "plays"
               else _("Proof of play"), "text": PROBLEMS.get(b["kind"], b["problem"])}
              for b in (check or {}).get("breaks", [])]
    return render_template(
        "integrity/status.html", rows=rows, check=check, breaks=breaks,
        export=_with_time(chain_export.last_status(settings.data_dir)),
        export_file=settings.chain_export_file, export_url=settings.chain_export_url,
        export_s=settings.chain_export_s, audit_days=settings.audit_retention_days,
        play_days=settings.play_retention_days, form=DeleteForm())


@bp.route("/integrity/verify", methods=["POST"])
def verify():
    """Walk every chain in a job worker (it reads every row: never on the event loop)."""
    street_admin()
    if not DeleteForm().validate_on_submit():
        abort(400)
    settings = current_app.config["SIGNAGE"]
    db.rollback()  # hold nothing while the worker reads (SQLite: no lock against it)
    try:
        report = workpool.run_db(chains.verify, timeout_s=VERIFY_TIMEOUT_S)
    except ServiceError as e:
        flash(translate(e), "error")
        return redirect(url_for(".status"))
    chain_export.keep_status(settings.data_dir, {
        "at": utcnow().isoformat(), "entries": report.entries, "records": report.records,
        "chains": report.chains,
        "breaks": [{"chain": b.chain, "seq": b.seq, "row_id": b.row_id, "kind": b.kind,
                    "problem": b.problem} for b in report.breaks]}, chain_export.VERIFY_FILE)
    if report.intact:
        flash(_("Every chain is intact."), "success")
    else:
        flash(_("A chain is broken: see below."), "error")
    return redirect(url_for(".status"))

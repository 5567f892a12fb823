"""安全 / Security: one page for the street admin that says where trust stands (signing
keys, the logs' chains, escalated review, screening) and leads to each part's page."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, render_template
from sqlalchemy import func, select

from server.db import db
from server.models import ContentItem, LogChain, ScreeningWord
from server.services import chain_export, escalation, signing
from server.web.helpers import require_login, street_admin

bp = Blueprint("security", __name__)
require_login(bp)


@bp.route("/security")
def index():
    who = street_admin()
    street = who.street_id
    keys = signing.keys(db, street)
    check = chain_export.last_status(current_app.config["SIGNAGE"].data_dir,
                                     chain_export.VERIFY_FILE)
    words = dict(db.execute(select(ScreeningWord.action, func.count())
                            .where(ScreeningWord.street_id == street)
                            .group_by(ScreeningWord.action)).all())
    return render_template(
        "security/index.html",
        key=next((k for k in keys if k.retired_at is None), None),
        holding=signing.holding(db, street), enforced=signing.enforced(db, street),
        refusing=len(signing.refusing(db, street)),
        chains=db.scalar(select(func.count()).select_from(LogChain)) or 0,
        audit_seq=db.scalar(select(LogChain.seq).where(LogChain.name == "audit")) or 0,
        check=check and {**check, "at": datetime.fromisoformat(check["at"])},
        period=escalation.shown_to(db, who), coming=escalation.list_periods(db, who),
        words=words,
        ocr_pending=db.scalar(select(func.count()).select_from(ContentItem).where(
            ContentItem.street_id == street, ContentItem.ocr_state == "pending")) or 0)

"""/api/v1/broadcasts: send, watch and cancel emergency broadcasts; alert templates."""

from __future__ import annotations

import base64

from flask.views import MethodView

from server.api.auth import actor, blueprint
from server.api.schemas import (
    AlertTemplateSchema,
    BroadcastOut,
    BroadcastPreviewOut,
    BroadcastSchema,
)
from server.db import db
from server.errors import translate
from server.services import broadcasts as svc
from server.services.schedules import TargetIn
from server.storage import blob_store, settings

blp = blueprint("api_broadcasts", "/broadcasts",
                "Emergency broadcasts: pushed at once, acknowledged by every screen. Sending, "
                "cancelling and alert templates need the broadcast right: street and community "
                "administrators, and reviewers or editors an administrator granted it "
                "(may_broadcast on /users); others get 403.")


def _broadcast_in(data: dict) -> tuple[svc.BroadcastIn, int | None]:
    expect = data.pop("expect_terminals", None)
    data["targets"] = [TargetIn(**t) for t in data["targets"]]
    return svc.BroadcastIn(**data), expect


@blp.route("")
class Broadcasts(MethodView):
    @blp.response(200, BroadcastOut(many=True))
    def get(self):
        a = actor()
        return [svc.progress(db, a, b.id) for b in svc.list_broadcasts(db, a)]

    @blp.arguments(BroadcastSchema)
    @blp.response(201, BroadcastOut)
    @blp.refuses(404)
    def post(self, data):
        """Send now. Needs the broadcast right and a reason; bypasses review; audited.
        During an escalated-review period covering its screens it is stored with state
        "pending" and reaches no screen until a second person approves it
        (POST /broadcasts/{id}/approve); official warnings are never held.

        Show your user POST /broadcasts/preview first and pass the number of screens they
        confirmed as expect_terminals."""
        a = actor()
        b, expect = _broadcast_in(data)
        bc = svc.send(db, a, blob_store(), b, settings().font, confirmed_terminals=expect)
        db.commit()
        return svc.progress(db, a, bc.id)


@blp.route("/preview")
class BroadcastPreview(MethodView):
    @blp.arguments(BroadcastSchema)
    @blp.response(200, BroadcastPreviewOut)
    @blp.refuses(404)
    def post(self, data):
        """What a send would do, without sending: the screens and communities it reaches and,
        per screen size and colour mode, the picture those screens show. Refused as a send
        would be (403 without the broadcast right, 422 for bad input)."""
        b, _expect = _broadcast_in(data)
        plan = svc.preview(db, actor(), b, settings().font)
        db.rollback()
        return {"terminals": len(plan.terminals), "communities": plan.communities,
                "sizes": [{"width": g.width, "height": g.height,
                           "colour_mode": g.colour_mode.value, "terminals": g.terminals,
                           "png_base64": base64.b64encode(g.png).decode() if g.png else None,
                           "pages": g.pages, "scroll": g.scroll, "blob_sha256": g.blob,
                           "error": translate(g.error) if g.error else None}
                          for g in plan.sizes]}


@blp.route("/<int:broadcast_id>")
class BroadcastItem(MethodView):
    @blp.response(200, BroadcastOut)
    def get(self, broadcast_id: int):
        """Progress: how many screens show it, and why the others do not."""
        return svc.progress(db, actor(), broadcast_id)

    @blp.response(200, BroadcastOut)
    @blp.refuses(422)
    def delete(self, broadcast_id: int):
        """Cancel: every screen returns to its schedule. Needs the broadcast right."""
        a = actor()
        svc.cancel(db, a, broadcast_id)
        db.commit()
        return svc.progress(db, a, broadcast_id)


@blp.route("/<int:broadcast_id>/approve")
class BroadcastApproval(MethodView):
    @blp.response(200, BroadcastOut)
    @blp.refuses(409, 422)
    def post(self, broadcast_id: int):
        """The second person's approval of a broadcast sent during an escalated-review period
        (state "pending"): delivered now, as a send. Needs the broadcast right at street
        level (a street administrator) and not to be its sender (403); 409 when it does not
        wait for an approval."""
        a = actor()
        svc.approve(db, a, broadcast_id)
        db.commit()
        return svc.progress(db, a, broadcast_id)


@blp.route("/<int:broadcast_id>/refuse")
class BroadcastRefusal(MethodView):
    @blp.response(200, BroadcastOut)
    def post(self, broadcast_id: int):
        """Refuse a waiting broadcast (an approver), or withdraw it (its sender): state
        "refused", it reaches no screen."""
        a = actor()
        svc.refuse(db, a, broadcast_id)
        db.commit()
        return svc.progress(db, a, broadcast_id)


@blp.route("/templates")
class Templates(MethodView):
    @blp.response(200, AlertTemplateSchema(many=True))
    def get(self):
        return svc.list_templates(db, actor())

    @blp.arguments(AlertTemplateSchema)
    @blp.response(201, AlertTemplateSchema)
    @blp.refuses(404)
    def post(self, data):
        tpl = svc.create_template(db, actor(), **data)
        db.commit()
        return tpl


@blp.route("/templates/<int:template_id>")
class TemplateItem(MethodView):
    @blp.response(204)
    def delete(self, template_id: int):
        svc.delete_template(db, actor(), template_id)
        db.commit()

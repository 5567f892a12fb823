"""/api/v1/broadcasts: send, watch and cancel emergency broadcasts; alert templates."""

from __future__ import annotations

from flask.views import MethodView

from server.api.auth import actor, blueprint
from server.api.schemas import AlertTemplateSchema, BroadcastOut, BroadcastSchema
from server.db import db
from server.services import broadcasts as svc
from server.services.schedules import TargetIn
from server.storage import blob_store, settings

blp = blueprint("api_broadcasts", "/broadcasts",
                "Emergency broadcasts: pushed at once, acknowledged by every screen")


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
        """Send now. Bypasses review; needs a reason; audited."""
        a = actor()
        data["targets"] = [TargetIn(**t) for t in data["targets"]]
        bc = svc.send(db, a, blob_store(), svc.BroadcastIn(**data), settings().font)
        db.commit()
        return svc.progress(db, a, bc.id)


@blp.route("/<int:broadcast_id>")
class BroadcastItem(MethodView):
    @blp.response(200, BroadcastOut)
    def get(self, broadcast_id: int):
        """Progress: how many screens show it, and why the others do not."""
        return svc.progress(db, actor(), broadcast_id)

    @blp.response(200, BroadcastOut)
    @blp.refuses(422)
    def delete(self, broadcast_id: int):
        """Cancel: every screen returns to its schedule."""
        a = actor()
        svc.cancel(db, a, broadcast_id)
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

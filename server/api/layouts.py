"""/api/v1/layouts: screens in regions (the main playlist, a ticker, a clock, an image)."""

from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext

from server.api.auth import actor, blueprint
from server.api.schemas import LayoutFitOut, LayoutOut, LayoutPatchSchema, LayoutSchema
from server.db import db
from server.services import layouts as svc

blp = blueprint("api_layouts", "", "Layouts: regions of a screen, scheduled like playlists")


def _dump(row) -> dict:
    return {"id": row.id, "name": row.name, "community_id": row.community_id,
            "overlay": row.overlay, "width": row.width, "height": row.height,
            "regions": row.regions, "updated_at": row.updated_at}


@blp.route("/layouts")
class Layouts(MethodView):
    @blp.response(200, LayoutOut(many=True))
    def get(self):
        return [_dump(x) for x in svc.list_layouts(db, actor())]

    @blp.arguments(LayoutSchema)
    @blp.response(201, LayoutOut)
    @blp.refuses(404)
    def post(self, data):
        row = svc.create_layout(db, actor(), name=data["name"], width=data["width"],
                                height=data["height"], regions=data["regions"],
                                overlay=data["overlay"], community_id=data["community_id"])
        db.commit()
        return _dump(row)


@blp.route("/layouts/<int:layout_id>")
class LayoutItem(MethodView):
    @blp.response(200, LayoutOut)
    def get(self, layout_id: int):
        return _dump(svc.get_layout(db, actor(), layout_id))

    @blp.arguments(LayoutPatchSchema)
    @blp.response(200, LayoutOut)
    @blp.refuses(409)
    def patch(self, data, layout_id: int):
        row = svc.update_layout(db, actor(), layout_id, **data)
        db.commit()
        return _dump(row)

    @blp.response(204)
    @blp.refuses(409)
    def delete(self, layout_id: int):
        svc.delete_layout(db, actor(), layout_id)
        db.commit()


def _region_out(r) -> dict:
    d = r.to_dict()
    if r.role == "ticker":
        d["content_ids"] = [x.content_id for x in r.lines]
        del d["lines"]
    elif r.role == "image":
        d["content_id"] = r.image.content_id if r.image else None
        del d["image"]
    return d


@blp.route("/layouts/<int:layout_id>/fit")
@blp.response(200, LayoutFitOut(many=True))
def fit(layout_id: int):
    """The layout on each panel size of its scope's screens, as they will show it, and
    where that differs from the drawing (a region grown to a legible height, a clock's
    shorter format, a region left out)."""
    row = svc.get_layout(db, actor(), layout_id)
    out = []
    for p in svc.previews(db, svc.model(db, row), svc.target_sizes(db, row)):
        warnings = []
        for w in p.warnings:
            template, params = svc.describe(w)
            params = {k: gettext(v) if k == "to" and isinstance(v, str) else v
                      for k, v in params.items()}
            warnings.append({"code": w.code, "region": w.region,
                             "message": gettext(template) % params})
        out.append({"width": p.width, "height": p.height, "colour_mode": p.colour_mode.value,
                    "regions": [_region_out(r) for r in p.layout.regions],
                    "warnings": warnings})
    return out

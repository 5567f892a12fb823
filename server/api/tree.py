"""/api/v1/communities and /api/v1/buildings."""

from __future__ import annotations

from flask.views import MethodView

from server.api.auth import actor, blueprint
from server.api.schemas import (
    BuildingPatchSchema,
    BuildingQuery,
    BuildingSchema,
    CommunitySchema,
)
from server.db import db
from server.services import tree

blp = blueprint("api_tree", "", "Communities and buildings of the street")


@blp.route("/communities")
class Communities(MethodView):
    @blp.response(200, CommunitySchema(many=True))
    def get(self):
        return tree.list_communities(db, actor())

    @blp.arguments(CommunitySchema)
    @blp.response(201, CommunitySchema)
    @blp.refuses(409)
    def post(self, data):
        c = tree.create_community(db, actor(), data["name"])
        db.commit()
        return c


@blp.route("/communities/<int:community_id>")
class CommunityItem(MethodView):
    @blp.response(200, CommunitySchema)
    def get(self, community_id: int):
        return tree.get_community(db, actor(), community_id)


@blp.route("/buildings")
class Buildings(MethodView):
    @blp.arguments(BuildingQuery, location="query")
    @blp.response(200, BuildingSchema(many=True))
    def get(self, args):
        return tree.list_buildings(db, actor(), args.get("community_id"))

    @blp.arguments(BuildingSchema)
    @blp.response(201, BuildingSchema)
    @blp.refuses(404, 409)
    def post(self, data):
        b = tree.create_building(db, actor(), data["community_id"], data["name"], data["address"])
        db.commit()
        return b


@blp.route("/buildings/<int:building_id>")
class BuildingItem(MethodView):
    @blp.response(200, BuildingSchema)
    def get(self, building_id: int):
        return tree.get_building(db, actor(), building_id)

    @blp.arguments(BuildingPatchSchema(partial=True))
    @blp.response(200, BuildingSchema)
    @blp.refuses(409)
    def patch(self, data, building_id: int):
        b = tree.update_building(db, actor(), building_id, **data)
        db.commit()
        return b

    @blp.response(204)
    @blp.refuses(409)
    def delete(self, building_id: int):
        tree.delete_building(db, actor(), building_id)
        db.commit()

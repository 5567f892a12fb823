"""/api/v1/users."""

from __future__ import annotations

from flask.views import MethodView

from server.api.auth import actor, blueprint
from server.api.schemas import UserPatchSchema, UserSchema
from server.db import db
from server.services import accounts

blp = blueprint("api_users", "/users", "Staff accounts")


@blp.route("")
class Users(MethodView):
    @blp.response(200, UserSchema(many=True))
    def get(self):
        return accounts.list_users(db, actor())

    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    @blp.refuses(404, 409)
    def post(self, data):
        data.pop("active", None)
        u = accounts.create_user(db, actor(), **data)
        db.commit()
        return u


@blp.route("/<int:user_id>")
class UserItem(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id: int):
        return accounts.get_user(db, actor(), user_id)

    @blp.arguments(UserPatchSchema)
    @blp.response(200, UserSchema)
    def patch(self, data, user_id: int):
        u = accounts.update_user(db, actor(), user_id, **data)
        db.commit()
        return u

"""/api/v1/terminals."""

from __future__ import annotations

from flask.views import MethodView

from server.api.auth import actor, blueprint
from server.api.schemas import TerminalPatchSchema, TerminalQuery, TerminalSchema
from server.db import db
from server.services import tree

blp = blueprint("api_terminals", "/terminals", "LED terminals in building lobbies")


@blp.route("")
class Terminals(MethodView):
    @blp.arguments(TerminalQuery, location="query")
    @blp.response(200, TerminalSchema(many=True))
    def get(self, args):
        return tree.list_terminals(db, actor(), **args)

    @blp.arguments(TerminalSchema)
    @blp.response(201, TerminalSchema)
    def post(self, data):
        t = tree.create_terminal(db, actor(), **data)
        db.commit()
        return t


@blp.route("/<int:terminal_id>")
class TerminalItem(MethodView):
    @blp.response(200, TerminalSchema)
    def get(self, terminal_id: int):
        return tree.get_terminal(db, actor(), terminal_id)

    @blp.arguments(TerminalPatchSchema(partial=True))
    @blp.response(200, TerminalSchema)
    def patch(self, data, terminal_id: int):
        t = tree.update_terminal(db, actor(), terminal_id, **data)
        db.commit()
        return t

    @blp.response(204)
    def delete(self, terminal_id: int):
        tree.delete_terminal(db, actor(), terminal_id)
        db.commit()

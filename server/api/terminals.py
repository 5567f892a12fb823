"""/api/v1/terminals."""

from __future__ import annotations

from flask.views import MethodView

from server import hub
from server.api.auth import actor, blueprint
from server.api.schemas import (
    CommandOut,
    CommandSchema,
    GroupCommandSchema,
    PairSchema,
    TerminalPatchSchema,
    TerminalQuery,
    TerminalSchema,
    TerminalStateSchema,
)
from server.db import db
from server.services import fleet, tree

blp = blueprint("api_terminals", "/terminals", "LED terminals in building lobbies")


@blp.route("")
class Terminals(MethodView):
    @blp.arguments(TerminalQuery, location="query")
    @blp.response(200, TerminalSchema(many=True))
    def get(self, args):
        return tree.list_terminals(db, actor(), **args)

    @blp.arguments(TerminalSchema)
    @blp.response(201, TerminalSchema)
    @blp.refuses(404, 409)
    def post(self, data):
        t = tree.create_terminal(db, actor(), **data)
        db.commit()
        return t


@blp.route("/commands", methods=["POST"])
@blp.arguments(GroupCommandSchema)
@blp.response(201, CommandOut(many=True))
@blp.refuses(404)
def group_command(data):
    """The same command to a group of terminals, stored with its answer per terminal."""
    cmds = fleet.create_commands(db, actor(), data["terminal_ids"], data["kind"], data["args"])
    db.commit()
    hub.send_commands(cmds)
    return cmds


@blp.route("/<int:terminal_id>")
class TerminalItem(MethodView):
    @blp.response(200, TerminalSchema)
    def get(self, terminal_id: int):
        return tree.get_terminal(db, actor(), terminal_id)

    @blp.arguments(TerminalPatchSchema(partial=True))
    @blp.response(200, TerminalSchema)
    @blp.refuses(409)
    def patch(self, data, terminal_id: int):
        t = tree.update_terminal(db, actor(), terminal_id, **data)
        db.commit()
        return t

    @blp.response(204)
    def delete(self, terminal_id: int):
        tree.delete_terminal(db, actor(), terminal_id)
        db.commit()


@blp.route("/<int:terminal_id>/pair", methods=["POST"])
@blp.arguments(PairSchema)
@blp.response(200, TerminalSchema)
def pair(data, terminal_id: int):
    """Claim the pairing code a new player shows on its screen for this terminal."""
    t = fleet.claim(db, actor(), data["code"], terminal_id)
    db.commit()
    return t


@blp.route("/<int:terminal_id>/revoke", methods=["POST"])
@blp.response(200, TerminalSchema)
def revoke(terminal_id: int):
    """Revoke the terminal's credential: refused at its next connect, dropped now."""
    t = fleet.revoke(db, actor(), terminal_id)
    db.commit()  # its sockets are dropped after the commit, on every node (server.hub)
    return t


@blp.route("/<int:terminal_id>/commands")
class Commands(MethodView):
    @blp.response(200, CommandOut(many=True))
    def get(self, terminal_id: int):
        return fleet.command_history(db, actor(), terminal_id)

    @blp.arguments(CommandSchema)
    @blp.response(201, CommandOut)
    def post(self, data, terminal_id: int):
        cmd = fleet.create_command(db, actor(), terminal_id, data["kind"], data["args"])
        db.commit()
        hub.send_command(terminal_id, cmd.id, cmd.kind, cmd.args)
        return cmd


@blp.route("/<int:terminal_id>/state")
@blp.response(200, TerminalStateSchema)
def state(terminal_id: int):
    tree.get_terminal(db, actor(), terminal_id)
    return fleet.state_of(db, terminal_id)

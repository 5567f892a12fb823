"""The fleet wall: every terminal as a live tile; commands to a chosen group."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from server import hub
from server.db import db, utcnow
from server.errors import translate
from server.hub import queue, staff
from server.services import fleet, nodes, tree, wall
from server.services.access import TREE_EDITORS
from server.services.errors import ServiceError
from server.web.helpers import actor, require_login

bp = Blueprint("wall", __name__, url_prefix="/wall")
require_login(bp)


@bp.route("/")
def index():
    a = actor()
    return render_template(
        "wall/index.html", tiles=wall.tiles(db, a), communities=tree.list_communities(db, a),
        can_command=a.role in TREE_EDITORS, queue_problems=queue.problems(),
        server_events=nodes.recent_events(db, utcnow()),
        config={"namespace": staff.NS, "event": staff.TERMINAL_EVENT,
                "tiles_url": url_for("wall.tiles"), "commands_url": url_for("wall.commands"),
                "terminal_url": url_for("terminals.show", terminal_id=0),
                "screenshot_url": url_for("wall.screenshot", terminal_id=0, command_id=0),
                "clock_warn_s": wall.CLOCK_WARN_S})


@bp.route("/tiles")
def tiles():
    """All tiles again: the page asks after a reconnect, for what it may have missed."""
    return jsonify(wall.tiles(db, actor()))


@bp.route("/screenshots/<int:terminal_id>/<int:command_id>.png")
def screenshot(terminal_id: int, command_id: int):
    png = wall.screenshot_png(db, actor(), terminal_id, command_id)
    resp = Response(png, mimetype="image/png")
    resp.cache_control.private = True
    resp.cache_control.max_age = 86400  # a command's answer never changes
    return resp


@bp.route("/commands", methods=["POST"])
def commands():
    """JSON {terminal_ids, kind, args} from the wall (CSRF token in X-CSRFToken)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        body = {}
    try:
        cmds = fleet.create_commands(db, actor(), body.get("terminal_ids"), body.get("kind"),
                                     body.get("args") if isinstance(body.get("args"), dict)
                                     else {})
        db.commit()
    except ServiceError as err:
        db.rollback()
        return jsonify({"error": {"code": err.code, "message": translate(err),
                                  "field": err.field}}), err.status
    hub.send_commands(cmds)
    return jsonify({"sent": len(cmds),
                    "commands": [{"id": c.id, "terminal_id": c.terminal_id} for c in cmds]}), 201

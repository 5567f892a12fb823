"""The target tree (street › community › building › terminal) that schedule, broadcast and
report forms pick screens from (templates/_targets.html, static/targets.js), and the
`by_name` filter that lists names in natural order in templates.

The tree holds only what the staff member may see: it is built from the scoped tree
services, so community staff get their own community alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import Blueprint

from server.db import db
from server.services import tree
from server.services.naming import by_name
from server.web.helpers import actor

bp = Blueprint("targets", __name__)


@dataclass(slots=True)
class Node:
    kind: str  # street, community, building, terminal
    id: int
    name: str
    detail: str = ""  # a terminal's size, e.g. 128×64
    children: list[Node] = field(default_factory=list)
    screens: int = 0  # terminals under it (1 for a terminal)


def build() -> Node:
    """The actor's street with the communities, buildings and terminals they may see, each
    level in natural name order."""
    a = actor()
    street = tree.get_street(db, a)
    buildings = tree.list_buildings(db, a)  # sorted, each one's terminals too
    root = Node("street", street.id, street.name)
    for c in tree.list_communities(db, a):
        cn = Node("community", c.id, c.name)
        for b in buildings:
            if b.community_id == c.id:
                cn.children.append(Node("building", b.id, b.name, children=[
                    Node("terminal", t.id, t.name, f"{t.width}×{t.height}", screens=1)
                    for t in b.terminals]))
        root.children.append(cn)
    _count(root)
    return root


def _count(node: Node) -> int:
    if node.children:
        node.screens = sum(_count(c) for c in node.children)
    return node.screens


@bp.app_template_global("target_tree_data")
def target_tree_data() -> Node:
    return build()


@bp.app_template_filter("by_name")
def by_name_filter(items: Iterable, attribute: str = "name") -> list:
    """{% for t in building.terminals|by_name %}: 1栋 before 10栋, Chinese by pinyin."""
    return by_name(items, lambda x: getattr(x, attribute))

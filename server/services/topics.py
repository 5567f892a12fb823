"""Topics (主题): the managed list per street that reports count by."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.models import Role, Topic
from server.services import audit
from server.services.access import Actor
from server.services.errors import N_, Conflict, Invalid, NotFound
from server.services.naming import by_name

DEFAULT_TOPICS = ("通知公告", "便民服务", "防台风", "垃圾分类", "社区活动", "党建宣传",
                  "安全宣传", "文明创建", "紧急广播")  # the last one: broadcasts' own topic


def ensure_defaults(s: Session, street_id: int) -> None:
    existing = set(s.scalars(select(Topic.name).where(Topic.street_id == street_id)))
    for name in DEFAULT_TOPICS:
        if name not in existing:
            s.add(Topic(street_id=street_id, name=name))
    s.flush()


def list_topics(s: Session, actor: Actor, *, active_only: bool = True) -> list[Topic]:
    q = select(Topic).where(Topic.street_id == actor.street_id)
    if active_only:
        q = q.where(Topic.active.is_(True))
    return by_name(s.scalars(q))


def get_topic(s: Session, actor: Actor, topic_id: int, *, active: bool = True) -> Topic:
    t = s.get(Topic, topic_id)
    if t is None or t.street_id != actor.street_id or (active and not t.active):
        raise NotFound(N_("No such %(what)s."), what="topic", field="topic_id")
    return t


def require_topic_admin(actor: Actor) -> None:
    """Topics are the street's report categories: only street admins add or retire them
    (asked by the saves and by the topics page before it offers the controls)."""
    actor.require_role(Role.street_admin)


def create_topic(s: Session, actor: Actor, name: str) -> Topic:
    require_topic_admin(actor)
    name = (name or "").strip()
    if not 1 <= len(name) <= 40:
        raise Invalid(N_("%(field)s must be 1 to %(max)d characters."), field="name", max=40)
    t = Topic(street_id=actor.street_id, name=name)
    s.add(t)
    try:
        s.flush()
    except IntegrityError as exc:
        s.rollback()
        raise Conflict(N_("A %(what)s named “%(name)s” already exists here."), field="name",
                       what="topic", name=name) from exc
    audit.record(s, actor, "create", "topic", t.id, label=name)
    return t


def set_active(s: Session, actor: Actor, topic_id: int, active: bool) -> Topic:
    require_topic_admin(actor)
    t = get_topic(s, actor, topic_id, active=False)
    before = {"active": t.active}
    t.active = active
    audit.record(s, actor, "update", "topic", t.id, label=t.name, before=before,
                 after={"active": active})
    return t

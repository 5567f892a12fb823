"""Small factories for tests: build exactly the state a test needs.

They commit, so requests made next (in their own sessions) see the rows.
"""

from __future__ import annotations

import re
from itertools import count

from server.db import db
from server.models import Building, Community, Role, Street, Terminal, User
from server.services import accounts

PASSWORD = "correct horse battery"
_n = count(1)


def street(name: str = "沙头角街道") -> Street:
    s = db.query(Street).filter_by(name=name).one_or_none()
    if s is None:
        s = Street(name=name)
        db.add(s)
        db.flush()
    return s


def community(name: str | None = None) -> Community:
    c = Community(street_id=street().id, name=name or f"社区{next(_n)}")
    db.add(c)
    db.commit()
    return c


def building(c: Community | None = None, name: str | None = None) -> Building:
    b = Building(community_id=(c or community()).id, name=name or f"{next(_n)}栋", address="东和路")
    db.add(b)
    db.commit()
    return b


def terminal(b: Building | None = None, width: int = 384, height: int = 192) -> Terminal:
    t = Terminal(building_id=(b or building()).id, name=f"LED-{next(_n)}", width=width,
                 height=height)
    db.add(t)
    db.commit()
    return t


def user(role: Role = Role.editor, c: Community | None = None, username: str | None = None) -> User:
    if role != Role.street_admin and c is None:
        c = community()
    u = User(username=username or f"user{next(_n)}", role=role, street_id=street().id,
             community_id=None if role == Role.street_admin else c.id,
             password_hash=accounts.hash_password(PASSWORD))
    db.add(u)
    db.commit()
    return u


def token(u: User) -> dict[str, str]:
    _tok, plaintext = accounts.create_token(db, u, "test")
    db.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m, "page has no CSRF token"
    return m.group(1)


def login(client, u: User, password: str = PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": u.username, "password": password,
                                       "csrf_token": csrf_token(page)})


def post_form(client, url: str, data: dict):
    """GET the page for its CSRF token, then POST the form as a browser would."""
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token(page)})


def approved_image(c: Community | None = None, title: str = "海报", topic_name: str = "便民服务",
                   seconds: float = 10.0):
    """An approved image item with a real blob row (no file needed for planning tests)."""
    import hashlib

    from server.models import Blob, ContentItem, ContentKind, ContentStatus, Topic

    st = street()
    topic = db.query(Topic).filter_by(street_id=st.id, name=topic_name).one_or_none()
    if topic is None:
        topic = Topic(street_id=st.id, name=topic_name)
        db.add(topic)
        db.flush()
    author = user(Role.editor, c) if c is not None else user(Role.street_admin)
    sha = hashlib.sha256(f"{title}{next(_n)}".encode()).hexdigest()
    db.add(Blob(sha256=sha, size=1234, mime="image/png"))
    item = ContentItem(street_id=st.id, community_id=c.id if c else None,
                       kind=ContentKind.image, status=ContentStatus.approved, title=title,
                       topic_id=topic.id, duration_s=seconds, blob_sha256=sha, mime="image/png",
                       width=384, height=192, created_by=author.id)
    db.add(item)
    db.commit()
    return item


def scheduled_all_day(c: Community, *items, name: str = "全天", by: User | None = None):
    """A playlist of these items scheduled every day, all day, to the whole community (what
    most report and content tests need as 'planned'); committed. Returns the schedule."""
    from server.services import schedules as sched
    from server.services.access import Actor

    editor = Actor.of(by or user(Role.editor, c))
    pl = sched.create_playlist(db, editor, name, [sched.EntryIn(i.id) for i in items])
    sc = sched.create_schedule(db, editor, name=name, playlist_id=pl.id, kind="normal",
                               recurrence=sched.Recurrence(),
                               targets=[sched.TargetIn("community", c.id)])
    db.commit()
    return sc

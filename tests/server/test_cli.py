from sqlalchemy import func, select

from server.db import db
from server.models import Building, Community, Mandate, Role, Terminal, User
from server.services import manifests


def test_init_creates_one_admin_with_the_given_password(runner, monkeypatch):
    monkeypatch.setenv("SIGNAGE_ADMIN_PASSWORD", "a-long-admin-password")
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "SIGNAGE_ADMIN_PASSWORD" in result.output
    admins = db.scalars(select(User).where(User.role == Role.street_admin)).all()
    assert [a.username for a in admins] == ["admin"]
    again = runner.invoke(args=["init"])
    assert again.exit_code == 0 and "Created" not in again.output
    assert db.scalar(select(func.count()).select_from(User)) == 1


def test_init_generates_and_prints_a_password_when_none_is_given(runner, monkeypatch, client):
    monkeypatch.delenv("SIGNAGE_ADMIN_PASSWORD", raising=False)
    result = runner.invoke(args=["init"])
    password = result.output.split("password: ")[1].split()[0]
    from tests.helpers import csrf_token

    page = client.get("/login").get_data(as_text=True)
    r = client.post("/login", data={"username": "admin", "password": password,
                                    "csrf_token": csrf_token(page)})
    assert r.status_code == 302


def test_seed_demo_builds_the_donghe_situation_and_is_idempotent(runner, monkeypatch):
    monkeypatch.setenv("SIGNAGE_DEMO_PASSWORD", "demo-password-123")
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    names = set(db.scalars(select(Community.name)))
    assert names == {"沙头角", "东和", "田心", "桥东"}
    donghe = db.scalar(select(Community).where(Community.name == "东和"))
    terminals = db.scalars(select(Terminal).join(Building)
                           .where(Building.community_id == donghe.id)).all()
    assert len(terminals) == 76
    assert len({t.building_id for t in terminals}) == 76  # one per building unit
    sizes = {(t.width, t.height) for t in terminals}
    assert {(1920, 320), (384, 192), (128, 64)} <= sizes
    assert any(t.colour_mode.value == "mono" for t in terminals)
    assert db.scalar(select(User).where(User.username == "donghe_editor")).role == Role.editor
    # Every 东和 screen is framed by the standard layout: a title bar, the main playlist, a
    # standing 滚动字幕 with two approved lines, and the date and time.
    lobby = next(t for t in terminals if (t.width, t.height) == (384, 192))
    plan = manifests.manifest(db, lobby)["plan"]
    [framed] = plan["layouts"]
    roles = {r["role"]: r for r in framed["layout"]["regions"]}
    assert set(roles) == {"image", "main", "ticker", "clock"}
    assert [x["approved"] for x in roles["ticker"]["lines"]] == [True, True]
    assert roles["image"]["image"]["approved"] and roles["image"]["image"]["sha256"] in {
        b["sha256"] for b in manifests.manifest(db, lobby)["blobs"]}
    assert (roles["main"]["w"], roles["main"]["h"]) == (384, 140)
    # One checked-only anti-fraud mandate on the whole street (the mandate pages' example).
    [m] = db.scalars(select(Mandate)).all()
    assert (m.name, m.share_kind, m.share, m.window_start, m.window_end, m.enforce) == (
        "反诈宣传", "minutes", 10, "08:00", "22:00", False)
    assert [t.kind.value for t in m.targets] == ["street"] and m.start_date.day == 1

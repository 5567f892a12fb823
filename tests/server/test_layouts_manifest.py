"""What a terminal is sent when a layout is scheduled to it (server/services/manifests.py):
the layout fitted to its panel (128x64 mono, 384x192, 1920x320), the main region's notice
pages, the blobs to fetch, and nothing of it for a version-1 player, through the hub too."""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import playlists as pm
from player import protocol
from playlists import layouts as pl
from server.db import db
from server.extensions import socketio
from server.models import ColourMode, NoticeRendition, Role, Terminal
from server.services import content as content_svc
from server.services import fleet, manifests, topics
from server.services import layouts as svc
from server.services import schedules as sched
from server.services.access import Actor
from server.storage import settings
from tests import helpers
from tests.server.test_layouts_services import band_layout, notice

NS = protocol.TERMINAL_NAMESPACE
NOW = datetime.now(UTC)
PANELS = ((128, 64, ColourMode.mono), (384, 192, ColourMode.full), (1920, 320, ColourMode.full))


@pytest.fixture
def w(app):
    donghe = helpers.community("东和")
    b = helpers.building(donghe, "1栋")
    terminals = []
    for width, height, mode in PANELS:
        t = helpers.terminal(b, width, height)
        t.colour_mode = mode
        terminals.append(t)
    topics.ensure_defaults(db, donghe.street_id)
    db.commit()
    editor = Actor.of(helpers.user(Role.editor, donghe))
    reviewer = Actor.of(helpers.user(Role.reviewer, donghe))
    logo = helpers.approved_image(donghe, "东和标志")
    # Rendered before the layout existed: no pages at its region sizes yet.
    before = notice(editor, donghe.id, "电梯维修，请走楼梯。", approve_by=reviewer)
    line = notice(editor, donghe.id, "明日停水", title="通知", approve_by=reviewer)
    layout = svc.create_layout(db, editor, **band_layout([line.id], logo.id))
    db.commit()
    after = notice(editor, donghe.id, "周末义诊，欢迎参加。", approve_by=reviewer)
    playlist = sched.create_playlist(db, editor, "日常", [
        sched.EntryIn(before.id), sched.EntryIn(after.id), sched.EntryIn(logo.id)])
    everyone = [sched.TargetIn("community", donghe.id)]
    sched.create_schedule(db, editor, name="日常", playlist_id=playlist.id,
                          recurrence=sched.Recurrence(), targets=everyone)
    framed = sched.create_schedule(db, editor, name="东和版式", layout_id=layout.id,
                                   recurrence=sched.Recurrence(priority=5), targets=everyone)
    db.commit()
    return {"terminals": terminals, "logo": logo, "before": before, "after": after,
            "line": line, "layout": layout, "framed": framed, "app": app, "editor": editor}


def pages(item, width: int, height: int, mode: ColourMode) -> list[str]:
    return list(db.scalars(select(NoticeRendition.blob_sha256).where(
        NoticeRendition.item_id == item.id, NoticeRendition.width == width,
        NoticeRendition.height == height, NoticeRendition.colour_mode == mode)
        .order_by(NoticeRendition.page)))


def test_each_panel_gets_the_layout_fitted_and_its_main_region_pages(w):
    built = manifests.manifests(db, w["terminals"], NOW)
    for t in w["terminals"]:
        m = built[t.id]
        plan = pm.TerminalPlan.from_dict(m["plan"])
        [ls] = plan.layouts
        assert ls.id == w["framed"].id and ls.priority == 5
        assert (ls.layout.width, ls.layout.height, ls.layout.mono) == (
            t.width, t.height, t.colour_mode == ColourMode.mono)
        assert ls.layout == pl.fit(svc.model(db, w["layout"]), t.width, t.height,
                                   mono=t.colour_mode == ColourMode.mono)[0]
        ticker = next(r for r in ls.layout.regions if r.role == "ticker")
        assert [(x.content_id, x.text, x.approved) for x in ticker.lines] == [
            (w["line"].id, "通知  明日停水", True)]
        assert ticker.h >= pl.text_floor_px(t.height)
        main = ls.layout.main()
        [variant] = plan.variants
        assert (variant.width, variant.height) == (main.w, main.h) != (t.width, t.height)
        [sized] = variant.playlists
        [full] = [s.playlist for s in plan.schedules]
        region = pages(w["after"], main.w, main.h, t.colour_mode)
        panel = pages(w["before"], t.width, t.height, t.colour_mode)
        assert region and panel
        by_item = {}
        for item in sized.items:
            by_item.setdefault(item.content_id, []).append(item.sha256)
        # Rendered for the region after the layout; the older notice plays its full-screen
        # pages (scaled by the player) until the background job renders it; a picture is
        # the same everywhere.
        assert by_item == {w["after"].id: region, w["before"].id: panel,
                           w["logo"].id: [w["logo"].blob_sha256]}
        assert [i.sha256 for i in full.items if i.content_id == w["after"].id] == pages(
            w["after"], t.width, t.height, t.colour_mode)
        listed = {b["sha256"] for b in m["blobs"]}
        assert w["logo"].blob_sha256 in listed  # the title bar's image and a playlist item
        assert set(region) <= listed and set(panel) <= listed
        # What the main region plays under the layout is the variant's.
        r = pm.resolve(plan, NOW)
        assert r.item is not None and r.item.sha256 in {i.sha256 for i in sized.items}


def test_a_version_1_player_gets_no_layouts_and_plays_full_frame(w):
    t = w["terminals"][1]
    v2 = manifests.manifests(db, [t], NOW)[t.id]
    v1 = manifests.manifests(db, [t], NOW, {t.id: 1})[t.id]
    assert "layouts" not in v1["plan"] and "variants" not in v1["plan"]
    assert v1["plan"]["schedules"] == v2["plan"]["schedules"]
    plan = pm.TerminalPlan.from_dict(v1["plan"])
    assert plan.layouts == () and plan.variants == ()
    region = {sha for page in pm.TerminalPlan.from_dict(v2["plan"]).variants
              for p in page.playlists for sha in (i.sha256 for i in p.items)}
    only_v2 = region - {i.sha256 for s in plan.schedules for i in s.playlist.items}
    assert only_v2  # the region pages
    assert only_v2.isdisjoint({b["sha256"] for b in v1["blobs"]})
    assert only_v2 <= {b["sha256"] for b in v2["blobs"]}


def test_the_background_job_gives_older_notices_their_region_pages(w):
    t = w["terminals"][1]
    before = manifests.build_plan(db, db.get(Terminal, t.id), NOW.date())
    assert svc.render_region_sizes(db, str(settings().blob_dir), settings().font) == {
        x.id for x in w["terminals"]}
    db.expire_all()
    t = db.get(Terminal, t.id)
    plan = manifests.build_plan(db, t, NOW.date())
    main = plan.layouts[0].layout.main()
    sized = plan.variants[0].playlists[0]
    assert [i.sha256 for i in sized.items if i.content_id == w["before"].id] == pages(
        w["before"], main.w, main.h, t.colour_mode)
    assert before.variants != plan.variants


class Client:
    def __init__(self, app, credential: str, version: int) -> None:
        self._c = contextvars.Context().run(
            socketio.test_client, app, namespace=NS,
            auth={"credential": credential, "protocol": version})
        self.version = version

    def hello(self) -> dict:
        payload = {"protocol": self.version, "manifest_version": 0, "cache": [],
                   "player_version": "test", "clock": protocol.iso(datetime.now(UTC))}
        return contextvars.Context().run(self._c.emit, protocol.HELLO, payload, namespace=NS,
                                         callback=True)

    def sync(self) -> dict:
        return contextvars.Context().run(self._c.emit, protocol.SYNC, {"manifest_version": 0},
                                         namespace=NS, callback=True)


def test_the_hub_answers_each_connection_in_its_own_protocol(w):
    t = w["terminals"][0]
    credential = fleet.issue_credential(db, t)
    db.commit()
    old, new = Client(w["app"], credential, 1), Client(w["app"], credential, 2)
    for answer in (old.hello(), old.sync()):
        assert answer["ok"] and "layouts" not in answer["manifest"]["plan"]
    for answer in (new.hello(), new.sync()):
        plan = answer["manifest"]["plan"]
        assert [x["layout"]["width"] for x in plan["layouts"]] == [128]
        assert plan["layouts"][0]["layout"]["mono"] is True
        assert len(plan["variants"]) == 1
    assert Client(w["app"], credential, 1).hello()["manifest"]["plan"] == \
        old.hello()["manifest"]["plan"]


def test_the_renditions_chore_nudges_the_screens_it_changed(w, monkeypatch):
    from sqlalchemy.orm import Session

    from server import chores, workpool

    def in_a_job_worker(fn, *args, background=False, **kwargs):
        # As a worker process runs it: a session of its own, which nudges nobody.
        with Session(db.get_bind(), expire_on_commit=False) as s:
            return workpool._in_session(s, fn, args, kwargs)

    monkeypatch.setattr(workpool, "run_db", in_a_job_worker)
    t = w["terminals"][0]
    credential = fleet.issue_credential(db, t)
    db.commit()
    c = Client(w["app"], credential, 2)
    c.hello()
    contextvars.Context().run(c._c.get_received, NS)
    chores.region_renditions()
    got = contextvars.Context().run(c._c.get_received, NS)
    assert [m["name"] for m in got] == [protocol.MANIFEST_CHANGED]
    chores.region_renditions()  # nothing left to render: no nudge
    assert contextvars.Context().run(c._c.get_received, NS) == []


def test_content_edits_of_a_ticker_line_reach_the_screens(w):
    t = w["terminals"][2]
    version = db.get(Terminal, t.id).manifest_version
    content_svc.archive(db, w["editor"], w["line"].id)
    db.commit()
    db.expire_all()
    assert db.get(Terminal, t.id).manifest_version == version + 1
    plan = manifests.build_plan(db, db.get(Terminal, t.id), NOW.date())
    ticker = next(r for r in plan.layouts[0].layout.regions if r.role == "ticker")
    assert [x.approved for x in ticker.lines] == [False]
    assert pl.live_lines(ticker, int(NOW.timestamp() * 1e6)) == ()


def test_planned_time_counts_the_main_region_with_its_own_pages(app):
    """A notice of 2 pages on the 128x64 panel has 3 in the layout's 128x40 main region:
    beside a 10 s picture it is planned 3/4 of the time under the layout, not 2/3."""
    from server.models import PlannedHour
    from server.services import planned

    donghe = helpers.community("东和")
    t = helpers.terminal(helpers.building(donghe, "1栋"), 128, 64)
    topics.ensure_defaults(db, donghe.street_id)
    db.commit()
    editor = Actor.of(helpers.user(Role.editor, donghe))
    svc.create_layout(db, editor, name="窄", width=128, height=64, regions=[
        {"key": "main", "role": "main", "x": 0, "y": 0, "w": 128, "h": 40},
        {"key": "ticker", "role": "ticker", "x": 0, "y": 40, "w": 128, "h": 24}])
    db.commit()
    text = notice(editor, donghe.id, "因管道检修，" * 6,
                  approve_by=Actor.of(helpers.user(Role.reviewer, donghe)))
    assert len(pages(text, 128, 64, ColourMode.full)) == 2
    assert len(pages(text, 128, 40, ColourMode.full)) == 3
    picture = helpers.approved_image(donghe)
    playlist = sched.create_playlist(db, editor, "日常", [sched.EntryIn(text.id),
                                                         sched.EntryIn(picture.id)])
    everyone = [sched.TargetIn("community", donghe.id)]
    sched.create_schedule(db, editor, name="日常", playlist_id=playlist.id,
                          recurrence=sched.Recurrence(), targets=everyone)
    layout = svc.list_layouts(db, editor)[0]
    sched.create_schedule(db, editor, name="版式", layout_id=layout.id,
                          recurrence=sched.Recurrence(), targets=everyone)
    db.commit()
    planned.refresh(db, datetime.now(UTC))
    seconds: dict[int, float] = {}
    for content_id, s in db.execute(select(PlannedHour.content_id, PlannedHour.seconds)
                                    .where(PlannedHour.terminal_id == t.id)):
        seconds[content_id] = seconds.get(content_id, 0.0) + s
    share = seconds[text.id] / (seconds[text.id] + seconds[picture.id])
    assert share == pytest.approx(3 / 4, abs=0.01)

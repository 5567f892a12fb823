"""Layouts as staff store them (server/services/layouts.py): scope, the messages a bad
drawing gets, the content regions may name, deleting one in use, scheduling one, the
audit log, and the notice renditions its main region needs."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from playlists import layouts as pl
from server.db import db
from server.errors import translate
from server.models import AuditEntry, ContentStatus, Layout, NoticeRendition, Role, Terminal
from server.services import changes, topics
from server.services import content as content_svc
from server.services import layouts as svc
from server.services import schedules as sched
from server.services.access import Actor
from server.services.errors import Conflict, Invalid, NotFound
from server.storage import blob_store, settings
from tests import helpers


def notice(actor: Actor, community_id: int | None, body: str, title: str = "",
           approve_by: Actor | None = None):
    topic = topics.list_topics(db, actor)[0]
    item = content_svc.create_notice(
        db, actor, blob_store(),
        content_svc.Meta(title=body[:20], topic_id=topic.id, community_id=community_id),
        content_svc.NoticeText(title=title, body=body), settings().font)
    if approve_by is not None:
        content_svc.submit(db, actor, item.id)
        content_svc.approve(db, approve_by, item.id)
    db.commit()
    return item


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    t_big = helpers.terminal(helpers.building(donghe, "1栋"), 384, 192)
    t_small = helpers.terminal(helpers.building(donghe, "2栋"), 128, 64)
    helpers.terminal(helpers.building(tianxin, "田心1栋"), 384, 192)
    topics.ensure_defaults(db, donghe.street_id)
    db.commit()
    editor = Actor.of(helpers.user(Role.editor, donghe))
    return {"donghe": donghe, "tianxin": tianxin, "t_big": t_big, "t_small": t_small,
            "editor": editor, "reviewer": Actor.of(helpers.user(Role.reviewer, donghe)),
            "other": Actor.of(helpers.user(Role.editor, tianxin)),
            "admin": Actor.of(helpers.user(Role.street_admin)),
            "logo": helpers.approved_image(donghe, "东和标志")}


def band_layout(ticker_ids=(), image_id=None) -> dict:
    """Title image and clock on top, main, ticker at the bottom (384x192)."""
    return {"name": "东和标准", "width": 384, "height": 192, "regions": [
        {"key": "title", "role": "image", "x": 0, "y": 0, "w": 288, "h": 32,
         "content_id": image_id},
        {"key": "clock", "role": "clock", "x": 288, "y": 0, "w": 96, "h": 32,
         "clock_format": "time"},
        {"key": "main", "role": "main", "x": 0, "y": 32, "w": 384, "h": 128},
        {"key": "ticker", "role": "ticker", "x": 0, "y": 160, "w": 384, "h": 32,
         "content_ids": list(ticker_ids), "speed_cps": 4.0, "direction": "left"}]}


def test_layouts_are_scoped_like_playlists(w):
    mine = svc.create_layout(db, w["editor"], **band_layout(image_id=w["logo"].id))
    street = svc.create_layout(db, w["admin"], name="全街道", width=384, height=192,
                               regions=[{"key": "main", "role": "main", "x": 0, "y": 0,
                                         "w": 384, "h": 192}])
    db.commit()
    assert mine.community_id == w["donghe"].id and street.community_id is None
    assert [x.id for x in svc.list_layouts(db, w["other"])] == [street.id]
    with pytest.raises(NotFound):
        svc.get_layout(db, w["other"], mine.id)
    with pytest.raises(NotFound):  # another community's: not even "forbidden"
        svc.update_layout(db, w["other"], mine.id, name="改")
    with pytest.raises(NotFound):  # street-wide: street admins change it
        svc.update_layout(db, w["editor"], street.id, name="改")
    with pytest.raises(NotFound):
        svc.create_layout(db, w["editor"], community_id=w["tianxin"].id,
                          **band_layout(image_id=w["logo"].id))
    viewer = Actor.of(helpers.user(Role.viewer, w["donghe"]))
    assert svc.get_layout(db, viewer, mine.id).id == mine.id
    with pytest.raises(Exception, match="role"):
        svc.update_layout(db, viewer, mine.id, name="改")


def test_a_bad_drawing_gets_every_problem_at_once_in_words_to_act_on(w):
    other_image = helpers.approved_image(w["tianxin"], "田心标志")
    bad = band_layout(ticker_ids=[w["logo"].id], image_id=other_image.id)
    bad["regions"] += [{"key": "main", "role": "main", "x": 300, "y": 100, "w": 200, "h": 50},
                       {"key": "Big Clock", "role": "clock", "x": 0, "y": 0, "w": 10, "h": 10,
                        "clock_format": "weekday"}]
    with pytest.raises(sched.Problems) as e:
        svc.create_layout(db, w["editor"], **bad)
    codes = [x.code for x in e.value.errors]
    assert set(codes) >= {"main_count", "key_duplicate", "outside_canvas", "key_invalid",
                          "clock_format_unknown"}
    assert {x.field for x in e.value.errors} == {"regions"}
    with force_locale("zh_Hans_CN"):
        said = [translate(x) for x in e.value.errors]
    assert any("“main”" in m and "384×192" in m for m in said)  # names region and canvas
    assert any(f"#{w['logo'].id}" in m and "“ticker”" in m for m in said)  # an image as a line
    assert any(f"#{other_image.id}" in m and "“title”" in m for m in said)  # another's image
    with force_locale("zh_Hans_CN"):
        assert all(m and "%(" not in m for m in said)
    assert db.scalar(select(Layout.id)) is None
    with pytest.raises(sched.Problems) as e:
        svc.create_layout(db, w["editor"], **band_layout())  # an image region needs its image
    assert [x.params["region"] for x in e.value.errors] == ["title"]
    with pytest.raises(Invalid, match="expected form"):
        svc.create_layout(db, w["editor"], name="x", width=384, height=192,
                          regions=[{"key": "main", "role": "main", "x": "0", "y": 0, "w": 1,
                                    "h": 1}])


def test_ticker_lines_are_notices_of_the_scope_and_only_approved_ones_show(w):
    shown = notice(w["editor"], w["donghe"].id, "明天上午停水。", title="停水通知",
                   approve_by=w["reviewer"])
    waiting = notice(w["editor"], w["donghe"].id, "周六义诊")
    theirs = notice(w["other"], w["tianxin"].id, "田心的通知")
    with pytest.raises(sched.Problems) as e:
        svc.create_layout(db, w["editor"], **band_layout([shown.id, theirs.id], w["logo"].id))
    assert [x.params.get("id") for x in e.value.errors] == [theirs.id]
    row = svc.create_layout(db, w["editor"], **band_layout([shown.id, waiting.id],
                                                            w["logo"].id))
    db.commit()
    model = svc.model(db, row)
    ticker = next(r for r in model.regions if r.role == "ticker")
    assert [(x.content_id, x.text, x.approved) for x in ticker.lines] == [
        (shown.id, "停水通知  明天上午停水。", True), (waiting.id, "周六义诊", False)]
    image = next(r for r in model.regions if r.role == "image").image
    assert (image.content_id, image.sha256, image.approved) == (
        w["logo"].id, w["logo"].blob_sha256, True)
    assert pl.live_lines(ticker, 0) == (ticker.lines[0],)


def test_a_layout_in_use_cannot_be_deleted_and_every_change_is_audited(w):
    row = svc.create_layout(db, w["editor"], **band_layout(image_id=w["logo"].id))
    sc = sched.create_schedule(db, w["editor"], name="东和屏幕", layout_id=row.id,
                               recurrence=sched.Recurrence(),
                               targets=[sched.TargetIn("community", w["donghe"].id)])
    db.commit()
    with pytest.raises(Conflict) as e:
        svc.delete_layout(db, w["editor"], row.id)
    assert e.value.params["name"] == "东和屏幕"
    with pytest.raises(Conflict):  # a scheduled layout does not turn into an overlay
        svc.update_layout(db, w["editor"], row.id, overlay=True,
                          regions=[r for r in row.regions if r["role"] != "main"])
    db.rollback()
    before = db.get(Terminal, w["t_big"].id).manifest_version
    svc.update_layout(db, w["editor"], row.id, name="东和标准版")
    db.commit()
    db.expire_all()
    assert db.get(Terminal, w["t_big"].id).manifest_version == before + 1  # a push follows
    sched.delete_schedule(db, w["editor"], sc.id)
    svc.delete_layout(db, w["editor"], row.id)
    db.commit()
    entries = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "layout")
                         .order_by(AuditEntry.id)).all()
    assert [(e.action, e.object_id, e.actor) for e in entries] == [
        ("create", row.id, w["editor"].name), ("update", row.id, w["editor"].name),
        ("delete", row.id, w["editor"].name)]
    assert entries[1].before["name"] == "东和标准" and entries[1].after["name"] == "东和标准版"
    assert entries[0].community_id == w["donghe"].id


def test_a_schedule_names_a_playlist_or_a_layout_never_both(w):
    row = svc.create_layout(db, w["editor"], **band_layout(image_id=w["logo"].id))
    foreign = svc.create_layout(db, w["other"], name="田心", width=384, height=192,
                                regions=[{"key": "main", "role": "main", "x": 0, "y": 0,
                                          "w": 384, "h": 192}])
    p = sched.create_playlist(db, w["editor"], "日常", [sched.EntryIn(w["logo"].id)])
    db.commit()
    common = dict(recurrence=sched.Recurrence(),
                  targets=[sched.TargetIn("community", w["donghe"].id)])
    with pytest.raises(Invalid, match="not both"):
        sched.create_schedule(db, w["editor"], name="x", playlist_id=p.id, layout_id=row.id,
                              **common)
    with pytest.raises(sched.Problems) as e:
        sched.create_schedule(db, w["editor"], name="x", **common)
    assert e.value.field == "playlist_id"
    with pytest.raises(NotFound):
        sched.create_schedule(db, w["editor"], name="x", layout_id=foreign.id, **common)
    sc = sched.create_schedule(db, w["editor"], name="版式", layout_id=row.id,
                               kind="interrupt", **common)  # kind does not apply
    db.commit()
    assert (sc.playlist_id, sc.layout_id, sc.kind.value) == (None, row.id, "normal")
    listed = {x.id: x for x in sched.list_schedules(db, w["editor"])}
    assert listed[sc.id].layout.name == "东和标准" and listed[sc.id].playlist is None
    sched.update_schedule(db, w["editor"], sc.id, playlist_id=p.id)
    db.commit()
    assert (sc.playlist_id, sc.layout_id) == (p.id, None)
    sched.update_schedule(db, w["editor"], sc.id, layout_id=row.id)
    db.commit()
    assert (sc.playlist_id, sc.layout_id) == (None, row.id)
    audit = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "schedule")
                       .order_by(AuditEntry.id.desc())).first()
    assert (audit.before["playlist_id"], audit.after["layout_id"]) == (p.id, row.id)


def test_previews_fit_the_scope_panels_and_presets_are_valid(w):
    row = svc.create_layout(db, w["editor"], **band_layout(image_id=w["logo"].id))
    db.commit()
    sizes = svc.target_sizes(db, row)
    assert [(x, y, m.value) for x, y, m in sizes] == [(384, 192, "full"), (128, 64, "full")]
    small = svc.previews(db, svc.model(db, row), sizes)[1]
    assert (small.layout.width, small.layout.height, small.key) == (128, 64, "128x64-full")
    clock = next(r for r in small.layout.regions if r.key == "clock")
    assert clock.h >= pl.text_floor_px(64)
    assert {x.code for x in small.warnings} == {"grown"}
    template, params = svc.describe(small.warnings[0])
    assert "%(from)s" in template and params["region"] in ("clock", "ticker", "title")
    for preset in svc.presets():
        drawing = {k: v for k, v in preset.items() if k != "name"}
        for r in drawing["regions"]:
            if r["role"] == "image":
                r["content_id"] = w["logo"].id
        model = svc.draft(db, w["editor"], name=preset["name"], **drawing)
        assert pl.check_layout(model) == []
        for width, height in ((128, 64), (384, 192), (1920, 320)):
            fitted, _warnings = pl.fit(model, width, height, mono=True)
            main = fitted.main()
            assert main.h >= height // 2 and main.w == width


def test_a_typed_ticker_line_is_a_notice_reviewed_like_any(w):
    row = svc.create_layout(db, w["editor"], **band_layout(image_id=w["logo"].id))
    db.commit()
    item = svc.add_typed_line(db, w["editor"], blob_store(), row.id, "ticker",
                              "  今晚８点 社区  议事会 ", topics.list_topics(db, w["editor"])[0].id,
                              settings().font)
    db.commit()
    assert item.status == ContentStatus.submitted and item.notice_body == "今晚８点 社区 议事会"
    ticker = next(r for r in svc.model(db, row).regions if r.role == "ticker")
    assert [(x.content_id, x.approved) for x in ticker.lines] == [(item.id, False)]
    content_svc.approve(db, w["reviewer"], item.id)
    db.commit()
    ticker = next(r for r in svc.model(db, row).regions if r.role == "ticker")
    assert ticker.lines[0].approved
    with pytest.raises(NotFound):
        svc.add_typed_line(db, w["editor"], blob_store(), row.id, "clock", "x", item.topic_id)


def test_notices_get_pages_for_the_main_region_now_and_in_the_background(w):
    old = notice(w["editor"], w["donghe"].id, "电梯维修，请走楼梯。", approve_by=w["reviewer"])
    sched.create_schedule(db, w["editor"], name="日常",
                          playlist_id=sched.create_playlist(
                              db, w["editor"], "日常", [sched.EntryIn(old.id)]).id,
                          recurrence=sched.Recurrence(),
                          targets=[sched.TargetIn("community", w["donghe"].id)])
    row = svc.create_layout(db, w["editor"], **band_layout(image_id=w["logo"].id))
    db.commit()
    mains = {(x, y) for x, y, _m in svc.main_sizes(db, w["donghe"].street_id, w["donghe"].id)}
    # On the 128x64 the main region is rows 11-53, less the row the ticker took to grow
    # to the legible 12 px and the row the clock took (grown to 12 px over the main's top
    # edge, so the main starts below it): 12-52; 384x192 is the drawing.
    assert mains == {(384, 128), (128, 40)}
    assert svc.main_sizes(db, w["donghe"].street_id, w["tianxin"].id) == []

    def sizes(item):
        return {(r.width, r.height) for r in db.scalars(
            select(NoticeRendition).where(NoticeRendition.item_id == item.id))}

    new = notice(w["editor"], w["donghe"].id, "新通知：周末义诊。")
    assert sizes(new) == {(384, 192), (128, 64)} | mains  # rendered for the regions at once
    assert sizes(old) == {(384, 192), (128, 64)}
    before = db.get(Terminal, w["t_big"].id).manifest_version
    # The job (inline here) tells which screens' manifests changed: those playing `old`.
    assert svc.render_region_sizes(db, str(settings().blob_dir), settings().font) == {
        w["t_big"].id, w["t_small"].id}
    db.expire_all()
    assert sizes(old) == {(384, 192), (128, 64)} | mains
    assert db.get(Terminal, w["t_big"].id).manifest_version > before
    assert sorted(db.get(Layout, row.id).rendered_sizes) == ["128x40-full", "384x128-full"]
    assert svc.render_region_sizes(db, str(settings().blob_dir), settings().font) == set()


def test_a_notice_that_fits_the_panel_but_not_the_region_is_not_refused(w):
    svc.create_layout(db, w["editor"], name="窄", width=128, height=64, regions=[
        {"key": "main", "role": "main", "x": 0, "y": 0, "w": 128, "h": 40},
        {"key": "ticker", "role": "ticker", "x": 0, "y": 40, "w": 128, "h": 24}])
    db.commit()
    long = "因管道检修，" * 40  # fits 384x192 and 128x64, too many pages at 128x40
    item = notice(w["editor"], w["donghe"].id, long)
    # The layout's main region on the 384x192 is 384x120: rendered; 128x40 is left out.
    assert {(r.width, r.height) for r in item.renditions} == {(384, 192), (128, 64),
                                                             (384, 120)}
    assert changes.content_changed(db, item.id) == set()  # in no playlist, no layout


def test_a_typed_broadcast_is_not_rendered_for_regions(w):
    """It shows full-screen over any layout: the emergency path renders the panels only."""
    from server.services import broadcasts, fleet

    svc.create_layout(db, w["editor"], **band_layout(image_id=w["logo"].id))
    for t in (w["t_big"], w["t_small"]):
        fleet.issue_credential(db, t)  # paired: a broadcast reaches it
    db.commit()
    bc = broadcasts.send(db, w["admin"], blob_store(), broadcasts.BroadcastIn(
        "full", [sched.TargetIn("community", w["donghe"].id)], "台风", text="台风来了，请回家。"),
        settings().font)
    db.commit()
    sizes = {(r.width, r.height) for r in db.scalars(
        select(NoticeRendition).where(NoticeRendition.item_id == bc.content_id))}
    assert sizes == {(384, 192), (128, 64)}

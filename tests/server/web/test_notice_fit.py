"""A notice that some screen size cannot show: refused for that size only, with the choice
to leave those screens out; the exclusion is kept on the item, shown on its page, and the
excluded screens' manifests never carry it."""

from __future__ import annotations

import re

import pytest

from server.db import db
from server.models import ColourMode, ContentItem, Role, Topic
from server.services import content as svc
from server.services import manifests, topics
from server.services.access import Actor
from server.services.errors import Invalid
from server.storage import blob_store
from tests import helpers

PARAGRAPH = ("因东和花园小区地下车库消防管道改造，定于本月18日（周六）上午9:00至下午5:00暂停地下车库"
             "供水，届时车库内洗车点及消防栓将暂停使用，请各位车主提前做好安排。")
TOO_LONG = "\n".join([PARAGRAPH] * 5)  # ~350 characters: over 10 pages on 128x64


@pytest.fixture
def world(app):
    donghe = helpers.community("东和")
    topics.ensure_defaults(db, donghe.street_id)
    db.commit()
    b = helpers.building(donghe)
    big = helpers.terminal(b, 384, 192)
    small = [helpers.terminal(b, 128, 64) for _ in range(3)]
    for t in small:
        t.colour_mode = ColourMode.mono
    db.commit()
    return {"community": donghe, "topic": db.query(Topic).filter_by(name="通知公告").one(),
            "editor": helpers.user(Role.editor, donghe), "big": big, "small": small[0]}


def _form(world, body: str, **extra) -> dict:
    return {"title": "车库停水通知", "topic_id": world["topic"].id,
            "community_id": world["community"].id, "notice_template": "notice",
            "notice_title": "车库停水通知", "notice_body": body, "duration_s": "10",
            "action": "save", **extra}


def test_leave_out_the_screens_that_cannot_show_it(client, world):
    helpers.login(client, world["editor"])
    r = helpers.post_form(client, "/content/notice/new", _form(world, TOO_LONG))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and db.query(ContentItem).count() == 0
    assert 'id="fit-choice"' in html and "排除 3 块屏幕（128×64 单色）" in html
    assert 'value="128x64-mono"' in html and "384×192" in html

    r = helpers.post_form(client, "/content/notice/new",
                          _form(world, TOO_LONG, exclude_sizes="128x64-mono"))
    assert r.status_code == 302, r.get_data(as_text=True)
    item = db.query(ContentItem).one()
    assert item.notice_excluded_sizes == ["128x64-mono"]
    assert {(x.width, x.height) for x in item.renditions} == {(384, 192)}
    page = client.get(f"/content/{item.id}").get_data(as_text=True)
    assert "128×64 单色: 编辑已排除" in page
    assert "384×192:" in page and "页 × 10.0 秒" in page

    # The small screens never get it; the big one does.
    assert manifests._items(item, world["small"], None, None, None) == []
    assert [i.media for i in manifests._items(item, world["big"], None, None, None)]

    # The edit form keeps the choice; taking it back refuses the small size again.
    edit = client.get(f"/content/{item.id}/edit").get_data(as_text=True)
    assert re.search(r'<input type="checkbox"[^>]*value="128x64-mono"[^>]*checked', edit)
    r = helpers.post_form(client, f"/content/{item.id}/edit", _form(world, TOO_LONG))
    assert r.status_code == 200 and "128×64" in r.get_data(as_text=True)
    db.expire_all()
    assert db.get(ContentItem, item.id).notice_excluded_sizes == ["128x64-mono"]


def test_an_edit_without_a_choice_keeps_the_exclusion_and_all_out_is_refused(world):
    editor = Actor.of(world["editor"])
    meta = svc.Meta(title="车库停水通知", topic_id=world["topic"].id,
                    community_id=world["community"].id)
    item = svc.create_notice(db, editor, blob_store(), meta,
                             svc.NoticeText(title="通知", body=TOO_LONG,
                                            exclude=["128x64-mono"]))
    db.commit()
    svc.update(db, editor, blob_store(), item.id,
               text=svc.NoticeText(title="通知", body=TOO_LONG + "谢谢。"))
    db.commit()
    assert item.notice_excluded_sizes == ["128x64-mono"]
    with pytest.raises(Invalid):
        svc.create_notice(db, editor, blob_store(), meta, svc.NoticeText(
            body="短通知", exclude=["128x64-mono", "384x192-full"]))
    with pytest.raises(Invalid):
        svc.create_notice(db, editor, blob_store(), meta, svc.NoticeText(
            body="短通知", exclude=["<script>"]))


def test_excluded_screens_plan_no_time_for_it(world):
    from sqlalchemy import func, select

    from server.db import utcnow
    from server.models import ContentStatus, PlannedHour
    from server.services import planned
    from server.services import schedules as sched

    editor = Actor.of(world["editor"])
    meta = svc.Meta(title="车库停水通知", topic_id=world["topic"].id,
                    community_id=world["community"].id)
    item = svc.create_notice(db, editor, blob_store(), meta,
                             svc.NoticeText(body=TOO_LONG, exclude=["128x64-mono"]))
    item.status = ContentStatus.approved
    db.commit()
    playlist = sched.create_playlist(db, editor, "日常", [sched.EntryIn(item.id)])
    sched.create_schedule(db, editor, name="全天", playlist_id=playlist.id, kind="normal",
                          recurrence=sched.Recurrence(windows=[("00:00", "00:00")]),
                          targets=[sched.TargetIn("community", world["community"].id)])
    db.commit()
    planned.refresh(db, utcnow())

    def seconds(t) -> float:
        return db.scalar(select(func.coalesce(func.sum(PlannedHour.seconds), 0.0)).where(
            PlannedHour.terminal_id == t.id, PlannedHour.content_id == item.id))

    assert seconds(world["big"]) > 0
    assert seconds(world["small"]) == 0

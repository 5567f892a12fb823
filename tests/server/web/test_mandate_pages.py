"""Mandate pages: list, form with its errors by their fields, delete after a confirmation,
who sees and changes which."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.config import PEOPLE_TZ
from server.db import db
from server.models import Mandate, Role, Topic
from server.services import mandates as svc
from server.services.access import Actor
from server.services.schedules import TargetIn
from tests import helpers


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    b = helpers.building(donghe, "海滨花园2栋")
    helpers.terminal(b)
    helpers.terminal(helpers.building(tianxin, "田心1栋"))
    fraud = helpers.approved_image(donghe, "谨防诈骗", topic_name="反诈宣传")
    return {"donghe": donghe, "tianxin": tianxin, "b": b, "fraud": fraud,
            "topic": db.scalar(select(Topic).where(Topic.name == "反诈宣传")),
            "admin": helpers.user(Role.street_admin),
            "cadmin": helpers.user(Role.community_admin, donghe),
            "other": helpers.user(Role.community_admin, tianxin)}


def _mandate(w, by, targets, **kw) -> Mandate:
    m = svc.create(db, Actor.of(by), svc.MandateIn(**{
        "name": "反诈宣传", "authority": "区委政法委", "topic_id": w["topic"].id,
        "share_kind": "minutes", "share": 10, "start_date": date(2026, 12, 1),
        "end_date": date(2026, 12, 31), "targets": targets, **kw}))
    db.commit()
    return m


FORM = {"name": "反诈宣传", "authority": "区委政法委", "share_kind": "minutes", "share": "10",
        "window_start": "08:00", "window_end": "22:00", "start_date": "2026-12-01",
        "end_date": "2026-12-31", "enforce": "check", "active": "y"}


def test_street_admin_creates_a_street_wide_mandate_and_sees_it_in_words(client, w):
    helpers.login(client, w["admin"])
    page = client.get("/mandates/new").get_data(as_text=True)
    assert 'class="target-tree' in page and 'name="street"' in page
    assert 'data-kind="terminal"' not in page  # the tree stops at buildings
    r = helpers.post_form(client, "/mandates/new", {**FORM, "community_id": 0,
                                                    "topic_id": w["topic"].id, "street": "y"})
    assert r.status_code == 302
    m = db.scalar(select(Mandate))
    assert (m.community_id, m.share, m.enforce, [t.kind.value for t in m.targets]) == (
        None, 10, False, ["street"])
    html = client.get("/mandates").get_data(as_text=True)
    assert "每小时 10 分钟" in html and "08:00–22:00" in html and "仅检查" in html
    assert "主题：反诈宣传" in html and "全街道" in html and "区委政法委" in html
    assert f'/reports/mandates?mandate={m.id}' in html


def test_mistakes_show_at_their_fields_and_nothing_is_saved(client, w):
    helpers.login(client, w["admin"])
    r = helpers.post_form(client, "/mandates/new", {
        **FORM, "community_id": 0, "topic_id": 0, "share": "75", "end_date": "2026-11-01"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and db.scalar(select(Mandate.id)) is None
    assert 'id="share-error">每小时分钟数须大于 0，最多 60。' in html
    assert 'id="end_date-error">' in html
    assert "请选择一个主题，或至少一条计入时长的内容。" in html
    assert "请至少选择一个目标" in html or 'id="targets-error"' in html


def test_community_admin_writes_for_its_community_and_cannot_reach_anothers(client, w):
    theirs = _mandate(w, w["other"], [TargetIn("community", w["tianxin"].id)], name="田心反诈")
    street = _mandate(w, w["admin"], [TargetIn("street")], name="全街反诈")
    helpers.login(client, w["cadmin"])
    page = client.get("/mandates/new").get_data(as_text=True)
    assert 'name="street"' not in page and "田心1栋" not in page
    r = helpers.post_form(client, "/mandates/new", {
        **FORM, "community_id": w["donghe"].id, "topic_id": w["topic"].id,
        "buildings": w["b"].id, "share_kind": "percent", "share": "15", "enforce": "enforce"})
    assert r.status_code == 302
    mine = db.scalar(select(Mandate).where(Mandate.community_id == w["donghe"].id))
    assert mine.enforce and mine.share_kind == "percent"
    html = client.get("/mandates").get_data(as_text=True)
    assert "点亮时间的 15 %" in html and "强制执行" in html and "全街反诈" in html
    assert "田心反诈" not in html
    assert f'href="/mandates/{street.id}"' not in html  # seen, not theirs to change
    assert client.get(f"/mandates/{theirs.id}").status_code == 404
    assert client.get(f"/mandates/{street.id}").status_code == 404
    assert helpers.post_form(client, f"/mandates/{mine.id}/delete", {}).status_code == 302
    reader = client.application.test_client()
    helpers.login(reader, helpers.user(Role.viewer, w["donghe"]))
    assert reader.get("/mandates/new").status_code == 403
    assert "全街反诈" in reader.get("/mandates").get_data(as_text=True)


def test_edit_keeps_the_targets_and_delete_asks_first(client, w):
    m = _mandate(w, w["admin"], [TargetIn("building", w["b"].id)], enforce=True,
                 content_ids=[w["fraud"].id])
    helpers.login(client, w["admin"])
    page = client.get(f"/mandates/{m.id}").get_data(as_text=True)
    assert f'id="target-tree-building-{w["b"].id}" name="buildings" value="{w["b"].id}" checked' \
        in page
    r = helpers.post_form(client, f"/mandates/{m.id}", {
        **FORM, "name": "反诈宣传（加强）", "topic_id": w["topic"].id, "buildings": w["b"].id,
        "share": "12"})
    assert r.status_code == 302, re.findall(r"<li>[^<]*</li>", r.get_data(as_text=True))
    db.expire_all()
    assert (m.name, m.share, m.enforce) == ("反诈宣传（加强）", 12, False)
    confirm = client.get(f"/mandates/{m.id}/delete").get_data(as_text=True)
    assert "删除这项时长要求？" in confirm and "反诈宣传（加强）" in confirm
    assert db.get(Mandate, m.id) is not None  # asking deletes nothing
    mandate_id = m.id
    r = helpers.post_form(client, f"/mandates/{mandate_id}/delete", {})
    assert r.status_code == 302
    db.expire_all()
    assert db.get(Mandate, mandate_id) is None


def test_schedule_and_calendar_pages_warn_where_a_plan_falls_short(client, w):
    # 东和 plays only the anti-fraud notice (met); 田心's screen has nothing planned (short).
    helpers.scheduled_all_day(w["donghe"], w["fraud"])
    today = datetime.now(ZoneInfo(PEOPLE_TZ)).date()
    monday = today - timedelta(days=today.weekday())
    m = _mandate(w, w["admin"], [TargetIn("street")], start_date=monday,
                 end_date=monday + timedelta(days=6))
    tianxin_screen = w["tianxin"].buildings[0].terminals[0]
    donghe_screen = w["b"].terminals[0]
    helpers.login(client, w["admin"])
    html = client.get("/schedules/").get_data(as_text=True)
    assert f'data-mandate-id="{m.id}"' in html
    assert "反诈宣传</strong></a>: 今天 1 块屏有 14 个小时不足每小时 10 分钟（最少 0 分钟）" in html
    assert f'href="/mandates/{m.id}"' in html
    week = client.get(f"/schedules/calendar?terminal_id={tianxin_screen.id}").get_data(
        as_text=True)
    assert "本周有 7 天共 98 个小时不足每小时 10 分钟（最少 0 分钟）" in week
    met = client.get(f"/schedules/calendar?terminal_id={donghe_screen.id}").get_data(
        as_text=True)
    assert "mandate-warning" not in met
    # 东和's administrator sees its own screens, where the plan meets the mandate.
    own = client.application.test_client()
    helpers.login(own, w["cadmin"])
    assert "mandate-warning" not in own.get("/schedules/").get_data(as_text=True)

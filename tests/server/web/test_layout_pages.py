"""Layout pages over HTTP: the editor's true-pixel previews and its errors, a schedule that
names a layout, and the calendar and "what plays" preview showing the layout's regions."""

from __future__ import annotations

import base64
import io
import re

import pytest
from flask_babel import gettext
from PIL import Image

from server.db import db
from server.models import Layout, Role, Schedule
from server.services import layouts as layouts_svc
from server.services import schedules as svc
from server.services.access import Actor
from tests import helpers

WEEK = "2026-12-07"  # a Monday


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    b = helpers.building(donghe, "海滨花园2栋")
    t = helpers.terminal(b, 384, 192)
    small = helpers.terminal(helpers.building(donghe, "鸿景楼1栋"), 128, 64)
    small.colour_mode = "mono"
    editor = helpers.user(Role.editor, donghe)
    db.commit()
    return {"donghe": donghe, "tianxin": tianxin, "b": b, "t": t, "small": small,
            "editor": editor, "actor": Actor.of(editor)}


def _form(name: str = "东和标准", **more) -> dict:
    """The editor's post: a main region and a ticker band below it on 384x192."""
    return {"name": name, "width": "384", "height": "192", "region": ["0", "1"],
            "r0-key": "main", "r0-role": "main", "r0-x": "0", "r0-y": "0", "r0-w": "384",
            "r0-h": "160", "r1-key": "ticker", "r1-role": "ticker", "r1-x": "0",
            "r1-y": "160", "r1-w": "384", "r1-h": "32", "r1-speed": "4",
            "r1-direction": "left", **more}


def _pictures(html: str) -> dict[str, Image.Image]:
    """Each preview's picture by its panel size, decoded from the page."""
    out = {}
    for size, data in re.findall(r'id="preview-(\d+x\d+)">\s*<img class="led" src="data:'
                                 r'image/png;base64,([^"]+)"', html):
        out[size] = Image.open(io.BytesIO(base64.b64decode(data)))
    return out


def _layout(w) -> Layout:
    row = layouts_svc.create_layout(
        db, w["actor"], name="东和标准", width=384, height=192, community_id=w["donghe"].id,
        regions=[{"key": "main", "role": "main", "x": 0, "y": 0, "w": 384, "h": 160},
                 {"key": "clock", "role": "clock", "x": 0, "y": 160, "w": 384, "h": 32,
                  "clock_format": "time"}])
    db.commit()
    return row


def test_preview_draws_every_panel_size_at_its_pixels_and_stores_nothing(client, w):
    logo = helpers.approved_image(w["donghe"], "社区标志")
    helpers.login(client, w["editor"])
    r = helpers.post_form(client, "/layouts/new", {
        **_form(), "community_id": w["donghe"].id, "action": "preview",
        "r1-new_line": "今晚八点停水检修，请提前储水。", "region": ["0", "1", "2"],
        "r2-key": "logo", "r2-role": "image", "r2-x": "0", "r2-y": "0", "r2-w": "96",
        "r2-h": "32", "r2-image": logo.id})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    pictures = _pictures(html)
    assert {k: v.size for k, v in pictures.items()} == {"384x192": (384, 192),
                                                        "128x64": (128, 64)}
    # The typed line is in the ticker band; the single-colour panel is lit or unlit only.
    band = pictures["384x192"].convert("RGB").crop((0, 160, 384, 192))
    assert sum(1 for p in band.get_flattened_data() if sum(p) > 60) > 384 * 32 * 0.05
    assert set(pictures["128x64"].convert("RGB").get_flattened_data()) <= {(0, 0, 0), (255, 255, 255)}
    assert "滚动字幕 在 128×64 上放大到 12 像素高" in html
    assert "图片 在 128×64 单色屏上不显示" in html
    assert db.query(Layout).count() == 0


def test_mistakes_are_shown_by_their_region_all_at_once(client, w):
    helpers.login(client, w["editor"])
    r = helpers.post_form(client, "/layouts/new", {
        **_form(name=""), "community_id": w["donghe"].id, "action": "save",
        "r1-role": "main", "r0-key": "Main!", "r0-w": "500"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    problems = re.findall(r"<li>(.*?)</li>", html.split('id="form-problems"')[1]
                          .split("</ul>")[0])
    assert len(problems) == 4, problems
    assert 'id="name-error"' in html and 'id="regions-error"' in html
    main = html.split('data-n="0"')[1].split("</tbody>")[0]
    assert main.count('class="field-error region-error"') == 2
    assert db.query(Layout).count() == 0

    # A value that is no number is marked on its field and nothing is sent on.
    r = helpers.post_form(client, "/layouts/new", {
        **_form(), "community_id": w["donghe"].id, "action": "save", "r1-h": "abc"})
    html = r.get_data(as_text=True)
    assert gettext("Write a whole number of pixels.") in html or "请填写整数像素值" in html
    assert 'name="r1-h" value="abc"' in html and db.query(Layout).count() == 0


def test_another_communitys_layout_is_not_found_and_a_used_one_stays(app, client, w):
    row = _layout(w)
    stranger = app.test_client()
    helpers.login(stranger, helpers.user(Role.editor, w["tianxin"]))
    assert stranger.get(f"/layouts/{row.id}").status_code == 404
    assert "东和标准" not in stranger.get("/layouts/").get_data(as_text=True)

    helpers.login(client, w["editor"])
    svc.create_schedule(db, w["actor"], name="版式全天", layout_id=row.id,
                        recurrence=svc.Recurrence(),
                        targets=[svc.TargetIn("building", w["b"].id)])
    db.commit()
    r = helpers.post_form(client, f"/layouts/{row.id}/delete", {})
    assert r.status_code == 302 and db.get(Layout, row.id) is not None
    listing = client.get("/layouts/").get_data(as_text=True)
    assert "1 个排期" in listing and "主画面；时钟" in listing


def test_a_schedule_names_a_layout_and_the_calendar_and_preview_show_it(client, w):
    row = _layout(w)
    helpers.login(client, w["editor"])
    page = client.get(f"/schedules/new?layout_id={row.id}").get_data(as_text=True)
    assert re.search(r'value="layout"[^>]*checked|checked[^>]*value="layout"', page)
    r = helpers.post_form(client, "/schedules/new", {
        "name": "版式全天", "community_id": w["donghe"].id, "plays": "layout",
        "layout_id": row.id, "playlist_id": "0", "kind": "interrupt", "priority": "5",
        "weekdays": list(range(7)), "windows": "00:00-00:00", "buildings": [w["b"].id, w["small"].building_id],
        "active": "y"})
    assert r.status_code == 302  # the hidden kind picker's value is not the editor's to choose
    sc = db.query(Schedule).one()
    assert (sc.layout_id, sc.playlist_id, sc.kind.value, sc.priority) == (row.id, None,
                                                                        "normal", 5)
    edit = client.get(f"/schedules/{sc.id}/edit").get_data(as_text=True)
    assert re.search(r'value="layout"[^>]*checked|checked[^>]*value="layout"', edit)

    cal = client.get(f"/schedules/calendar?terminal_id={w['t'].id}&week={WEEK}")
    html = cal.get_data(as_text=True)
    assert html.count(f'data-layout-id="{row.id}"') == 7 + 1  # the blocks, and the list
    assert "版式 东和标准：主画面；时钟（仅时间）" in html

    r = client.get(f"/terminals/{w['small'].id}/preview?at={WEEK}T09:30")
    html = r.get_data(as_text=True)
    assert 'id="layout"' in html and "<strong>时钟</strong>: 09:30" in html
    data = re.search(r'class="led composed" src="data:image/png;base64,([^"]+)"', html)[1]
    assert Image.open(io.BytesIO(base64.b64decode(data))).size == (128, 64)
    assert 'width="640" height="320"' in html  # enlarged 5 times, without smoothing

"""The schedule form shows every mistake at once (not one per save), starts with no weekday
ticked so that 每天 is a choice, and says what a screen plan is."""

from __future__ import annotations

from server.db import db
from server.models import Schedule
from server.services import schedules as svc
from tests import helpers
from tests.server.web.test_schedule_pages import _message, _playlist, _schedule_form, w  # noqa: F401


def test_four_mistakes_are_shown_together(app, client, w):  # noqa: F811
    empty = _playlist(w, name="空列表")
    helpers.login(client, w["editor"])
    data = _schedule_form(w, empty, name="", weekdays=None, buildings=None,
                          start_date="2026-12-31", end_date="2026-12-01")
    r = helpers.post_form(client, "/schedules/new", data)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and db.query(Schedule).count() == 0
    for field in ("name", "playlist_id", "weekdays", "end_date", "targets"):
        assert f'id="{field}-error"' in html, field
    for template in (svc.MESSAGES["playlist_empty"], svc.MESSAGES["weekdays_empty"],
                     svc.MESSAGES["date_range_inverted"]):
        assert _message(app, template) in html
    assert 'id="form-problems"' in html and "请修改以下 5 处" in html


def test_the_api_still_names_one_problem(app, client, w):  # noqa: F811
    """An error with several parts still reads as one message where one is expected."""
    p = _playlist(w, w["item"])
    try:
        svc.create_schedule(db, w["actor"], name="", playlist_id=p.id, kind="normal",
                            recurrence=svc.Recurrence(weekdays=[]), targets=[])
    except svc.Problems as err:
        assert [e.field for e in err.errors] == ["name", "weekdays", "targets"]
        assert err.field == "name"
    else:
        raise AssertionError("refused")


def test_no_weekday_is_ticked_at_first(client, w):  # noqa: F811
    helpers.login(client, w["editor"])
    html = client.get("/schedules/new").get_data(as_text=True)
    assert 'name="weekdays"' in html and "checked" not in html.split('id="weekdays"')[1].split(
        "</fieldset>")[0]
    assert "七天全选" in html


def test_screen_plans_say_they_switch_screens_and_set_brightness(client, w):  # noqa: F811
    helpers.login(client, w["editor"])
    html = client.get("/schedules/").get_data(as_text=True)
    assert "开关屏与亮度计划" in html and "屏幕计划<" not in html


def test_the_preview_warns_when_a_picture_is_not_the_panels_shape(client, w):  # noqa: F811
    """A 2:1 poster on a 1920×320 strip plays letterboxed (the player's rule): the preview
    says so with the size it really gets; on a 2:1 panel it says nothing."""
    from tests.server.web.test_schedule_pages import WEDNESDAY, _schedule

    strip = helpers.terminal(w["b"], 1920, 320)
    _schedule(w, _playlist(w, w["item"]))  # weekday 2 (Wednesday), 07:00-12:00, building b
    helpers.login(client, w["editor"])
    html = client.get(f"/terminals/{strip.id}/preview?at={WEDNESDAY}T08:00").get_data(
        as_text=True)
    assert 'id="fit-warning"' in html
    assert "384×192" in html and "640×320" in html and "左右留黑边" in html and "33%" in html
    assert 'data-width="1920" data-height="320"' in html
    html = client.get(f"/terminals/{w['t'].id}/preview?at={WEDNESDAY}T08:00").get_data(
        as_text=True)
    assert 'id="panel"' in html and 'id="fit-warning"' not in html


def test_the_content_page_lists_the_screens_a_picture_does_not_fill(client, w):  # noqa: F811
    helpers.terminal(w["b"], 1920, 320)
    helpers.login(client, w["editor"])
    html = client.get(f"/content/{w['item'].id}").get_data(as_text=True)  # 384×192, 2:1
    warnings = html.split('id="shape-warnings"')[1].split("</td>")[0]
    assert "1920×320：显示为 640×320，其余为黑边，占屏幕 33%" in warnings
    assert "384×192：" not in warnings  # the same shape as the picture: filled


def test_the_screen_plan_form_shows_every_mistake_too(client):
    from server.models import Role, ScreenPlan

    c = helpers.community("东和")
    helpers.terminal(helpers.building(c))
    helpers.login(client, helpers.user(Role.community_admin, c))
    r = helpers.post_form(client, "/screen-plans/new", {  # no weekday, no target, dates inverted
        "name": "夜间关屏", "community_id": str(c.id), "screen_on": "0", "brightness": "0",
        "priority": "0", "windows": "22:00-06:00",
        "start_date": "2026-12-31", "end_date": "2026-12-01"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and db.query(ScreenPlan).count() == 0
    for field in ("weekdays", "end_date", "targets"):
        assert f'id="{field}-error"' in html, field
    assert 'id="form-problems"' in html and "请修改以下 3 处" in html

"""Playlist and schedule pages: forms, errors next to their field, calendar and preview."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from flask_babel import gettext
from markupsafe import escape

from server.db import db
from server.models import Playlist, PlaylistEntry, Role, Schedule, ScheduleKind, ScreenPlan
from server.services import schedules as svc
from server.services.access import Actor
from tests import helpers

WEEK = "2026-12-07"  # a Monday
WEDNESDAY = "2026-12-09"


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    b = helpers.building(donghe, "海滨花园2栋")
    t = helpers.terminal(b, 384, 192)
    tx = helpers.terminal(helpers.building(tianxin, "田心1栋"), 128, 64)
    editor = helpers.user(Role.editor, donghe)
    return {"donghe": donghe, "tianxin": tianxin, "b": b, "t": t, "tx": tx, "editor": editor,
            "actor": Actor.of(editor), "item": helpers.approved_image(donghe, "垃圾分类"),
            "item2": helpers.approved_image(donghe, "防台风")}


def _message(app, template: str, **params) -> str:
    """A service message as the page shows it (in the page's language, escaped)."""
    with app.test_request_context():
        return str(escape(gettext(template) % {"field": None, **params}))


def _playlist(w, *items, name="日常") -> Playlist:
    p = svc.create_playlist(db, w["actor"], name, [svc.EntryIn(i.id) for i in items])
    db.commit()
    return p


def _schedule(w, playlist, *, kind="normal", windows=(("07:00", "12:00"),), weekdays=(2,),
              targets=None, name="日常播放", **kw) -> Schedule:
    sc = svc.create_schedule(
        db, w["actor"], name=name, playlist_id=playlist.id, kind=kind,
        recurrence=svc.Recurrence(weekdays=list(weekdays), windows=list(windows), **kw),
        targets=targets or [svc.TargetIn("building", w["b"].id)])
    db.commit()
    return sc


def _entries(playlist_id: int) -> list[tuple[int, float | None]]:
    db.expire_all()
    return [(e.content_id, e.duration_s) for e in db.get(Playlist, playlist_id).entries]


# --- playlists ------------------------------------------------------------------------


def test_nav_links_to_playlists_and_schedules(client, w):
    helpers.login(client, w["editor"])
    html = client.get("/").get_data(as_text=True)
    assert 'href="/playlists/"' in html and 'href="/schedules/"' in html


def test_create_a_playlist_then_reorder_it(client, w):
    helpers.login(client, w["editor"])
    page = client.get("/playlists/new").get_data(as_text=True)
    assert "playlist.js" in page and 'id="add-select"' in page
    assert f'/content/{w["item"].id}/blob/{w["item"].blob_sha256}' in page  # thumbnail
    r = helpers.post_form(client, "/playlists/new", {
        "name": "大堂日常", "community_id": w["donghe"].id,
        "content_id": [w["item"].id, w["item2"].id], "duration_s": ["", "12.5"]})
    assert r.status_code == 302
    p = db.query(Playlist).one()
    assert p.name == "大堂日常" and p.community_id == w["donghe"].id
    assert _entries(p.id) == [(w["item"].id, None), (w["item2"].id, 12.5)]

    page = client.get(f"/playlists/{p.id}").get_data(as_text=True)
    assert re.findall(r'name="content_id" value="(\d+)"', page) == [
        str(w["item"].id), str(w["item2"].id)]
    assert 'draggable="true"' in page and 'value="12.5"' in page

    # The page's script posts the rows in their new order.
    r = helpers.post_form(client, f"/playlists/{p.id}", {
        "name": "大堂日常", "content_id": [w["item2"].id, w["item"].id],
        "duration_s": ["12.5", "8"]})
    assert r.status_code == 302
    assert _entries(p.id) == [(w["item2"].id, 12.5), (w["item"].id, 8.0)]

    listing = client.get("/playlists/").get_data(as_text=True)
    assert "大堂日常" in listing and "20.5" in listing


@pytest.mark.parametrize("duration, code", [
    ("0", "duration_not_positive"),
    ("9999999999999", "duration_too_long"),
    ("-3", "duration_not_positive"),
])
def test_a_bad_duration_is_shown_and_nothing_is_stored(app, client, w, duration, code):
    helpers.login(client, w["editor"])
    r = helpers.post_form(client, "/playlists/new", {
        "name": "坏时长", "community_id": w["donghe"].id,
        "content_id": [w["item"].id], "duration_s": [duration]})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'id="entries-error"' in html
    assert _message(app, svc.MESSAGES[code]) in html
    assert f'value="{duration}"' in html  # the row is shown again as typed
    assert db.query(Playlist).count() == 0


@pytest.mark.parametrize("duration", ["abc", "nan", "inf"])
def test_a_duration_that_is_no_number_is_refused(client, w, duration):
    helpers.login(client, w["editor"])
    r = helpers.post_form(client, "/playlists/new", {
        "name": "坏时长", "community_id": w["donghe"].id,
        "content_id": [w["item"].id], "duration_s": [duration]})
    assert r.status_code == 200 and 'id="entries-error"' in r.get_data(as_text=True)
    assert db.query(Playlist).count() == 0


def test_a_failed_reorder_keeps_the_stored_order(client, w):
    p = _playlist(w, w["item"], w["item2"])
    helpers.login(client, w["editor"])
    r = helpers.post_form(client, f"/playlists/{p.id}", {
        "name": "日常", "content_id": [w["item2"].id, w["item"].id], "duration_s": ["0", ""]})
    assert r.status_code == 200 and 'id="entries-error"' in r.get_data(as_text=True)
    assert _entries(p.id) == [(w["item"].id, None), (w["item2"].id, None)]


def test_another_communitys_playlist_is_not_found(client, w):
    other = helpers.user(Role.editor, w["tianxin"])
    p = svc.create_playlist(db, Actor.of(other), "田心", [])
    db.commit()
    helpers.login(client, w["editor"])
    assert client.get(f"/playlists/{p.id}").status_code == 404


def test_a_viewer_may_look_but_not_plan(client, w):
    _playlist(w, w["item"])
    helpers.login(client, helpers.user(Role.viewer, w["donghe"]))
    html = client.get("/playlists/").get_data(as_text=True)
    assert "日常" in html and 'id="new-playlist"' not in html
    r = helpers.post_form(client, "/playlists/new", {
        "name": "x", "community_id": w["donghe"].id, "content_id": [w["item"].id]})
    assert r.status_code == 403


def test_delete_a_playlist_in_use_is_refused(client, w):
    p = _playlist(w, w["item"])
    _schedule(w, p)
    helpers.login(client, w["editor"])
    page = client.get(f"/playlists/{p.id}").get_data(as_text=True)
    r = client.post(f"/playlists/{p.id}/delete", data={"csrf_token": helpers.csrf_token(page)},
                    follow_redirects=True)
    assert "日常播放" in r.get_data(as_text=True)
    assert db.query(Playlist).count() == 1


# --- schedules --------------------------------------------------------------------------


def _schedule_form(w, playlist, **overrides) -> dict:
    data = {"name": "早间通知", "community_id": w["donghe"].id, "playlist_id": playlist.id,
            "kind": "normal", "priority": "0", "start_date": "2026-12-01",
            "end_date": "2026-12-31", "weekdays": ["0", "1", "2", "3", "4"],
            "windows": "07:00-12:00， 22:00 - 06:00", "buildings": [w["b"].id], "active": "y"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_create_a_schedule_through_the_form(client, w):
    p = _playlist(w, w["item"])
    helpers.login(client, w["editor"])
    page = client.get("/schedules/new").get_data(as_text=True)
    assert 'value="interrupt"' not in page  # editors may not interrupt
    r = helpers.post_form(client, "/schedules/new", _schedule_form(w, p))
    assert r.status_code == 302
    sc = db.query(Schedule).one()
    assert (sc.name, sc.kind, sc.playlist_id, sc.active) == ("早间通知", ScheduleKind.normal,
                                                             p.id, True)
    assert sc.weekdays == [0, 1, 2, 3, 4]
    assert sc.windows == [["07:00", "12:00"], ["22:00", "06:00"]]
    assert (sc.start_date, sc.end_date) == (date(2026, 12, 1), date(2026, 12, 31))
    assert [(t.kind.value, t.ref_id) for t in sc.targets] == [("building", w["b"].id)]

    listing = client.get("/schedules/").get_data(as_text=True)
    assert "早间通知" in listing and "07:00-12:00, 22:00-06:00" in listing
    assert f'/schedules/calendar?building_id={w["b"].id}' in listing


def test_edit_deactivate_and_delete_a_schedule(client, w):
    p = _playlist(w, w["item"])
    sc = _schedule(w, p, targets=[svc.TargetIn("terminal", w["t"].id),
                                  svc.TargetIn("tag", tag="大堂")])
    helpers.login(client, w["editor"])
    page = client.get(f"/schedules/{sc.id}/edit").get_data(as_text=True)
    assert 'value="07:00-12:00"' in page
    assert re.search(rf'<input type="checkbox" id="[^"]+" name="terminals" value="{w["t"].id}" checked>',
                     page)
    assert 'id="weekday-2" checked' in page and 'id="weekday-3" >' in page
    data = _schedule_form(w, p, name="改名了", windows="08:00-09:00", active=None,
                          buildings=None, terminals=[w["t"].id])
    r = helpers.post_form(client, f"/schedules/{sc.id}/edit", data)
    assert r.status_code == 302
    db.expire_all()
    sc = db.get(Schedule, sc.id)
    assert (sc.name, sc.active, sc.windows) == ("改名了", False, [["08:00", "09:00"]])
    page = client.get(f"/schedules/{sc.id}/edit").get_data(as_text=True)
    r = client.post(f"/schedules/{sc.id}/delete", data={"csrf_token": helpers.csrf_token(page)})
    assert r.status_code == 302 and db.query(Schedule).count() == 0


@pytest.mark.parametrize("case", ["end_before_start", "overlap", "empty_playlist",
                                  "other_community", "no_weekday", "bad_window", "no_target",
                                  "priority"])
def test_bad_schedule_input_is_shown_next_to_its_field(app, client, w, case):
    p = _playlist(w, w["item"])
    empty = _playlist(w, name="空列表")
    overrides, field, message = {
        "end_before_start": ({"start_date": "2026-12-31", "end_date": "2026-12-01"},
                             "end_date", svc.MESSAGES["date_range_inverted"]),
        "overlap": ({"windows": "07:00-12:00, 11:00-13:00"}, "windows",
                    svc.MESSAGES["windows_overlap"]),
        "empty_playlist": ({"playlist_id": empty.id}, "playlist_id",
                           svc.MESSAGES["playlist_empty"]),
        "other_community": ({"buildings": None, "terminals": [w["tx"].id]}, "targets", None),
        "no_weekday": ({"weekdays": None}, "weekdays", svc.MESSAGES["weekdays_empty"]),
        "bad_window": ({"windows": "7-12"}, "windows", None),
        "no_target": ({"buildings": None}, "targets", None),
        "priority": ({"priority": "5000"}, "priority", svc.MESSAGES["priority_out_of_range"]),
    }[case]
    helpers.login(client, w["editor"])
    r = helpers.post_form(client, "/schedules/new", _schedule_form(w, p, **overrides))
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f'id="{field}-error"' in html
    if message:
        assert _message(app, message) in html
    assert db.query(Schedule).count() == 0
    assert 'value="早间通知"' in html  # what was typed is kept


# --- calendar and preview -----------------------------------------------------------------


def _blocks(html: str) -> list[dict]:
    out = []
    for m in re.finditer(r'<a class="block ([^"]+)"[^>]*>', html):
        attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', m.group(0)))
        attrs["class"] = m.group(1)
        out.append(attrs)
    return out


def test_the_calendar_shows_the_block_on_its_day_and_hours(client, w):
    p = _playlist(w, w["item"])
    sc = _schedule(w, p)  # Wednesdays 07:00-12:00, on building b
    helpers.login(client, w["editor"])
    r = client.get(f"/schedules/calendar?building_id={w['b'].id}&week={WEDNESDAY}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and WEEK in html
    mine = [b for b in _blocks(html) if b.get("schedule-id") == str(sc.id)]
    assert len(mine) == 1
    block = mine[0]
    assert (block["day"], block["start"], block["end"], block["kind"]) == (
        "2", "07:00", "12:00", "normal")
    assert "d-2" in block["class"] and "gs-29" in block["class"] and "ge-49" in block["class"]
    assert "日常播放" in html
    # Everything else this week is a visible gap, and the warnings say so.
    gaps = [b for b in _blocks(html) if b["kind"] == "gap"]
    assert gaps and {b["day"] for b in gaps} == {str(d) for d in range(7)}
    assert "warning-gap_without_filler" in html
    # Each block links to the preview at its start.
    assert f'/terminals/{w["t"].id}/preview?at={WEDNESDAY}T07:00' in html
    # The next week (no occurrence that week? it repeats) and the previous week are linked.
    assert 'week=2026-11-30' in html and 'week=2026-12-14' in html


def test_the_calendar_merges_a_night_window_and_colours_the_filler(client, w):
    p = _playlist(w, w["item"], w["item2"])
    night = _schedule(w, p, windows=(("22:00", "06:00"),), weekdays=(4,), name="夜间")
    filler = _schedule(w, _playlist(w, w["item2"], name="垫片"), kind="filler",
                       windows=(("00:00", "00:00"),), weekdays=range(7), name="全天垫片")
    helpers.login(client, w["editor"])
    html = client.get(f"/schedules/calendar?terminal_id={w['t'].id}&week={WEEK}").get_data(
        as_text=True)
    blocks = _blocks(html)
    mine = [(b["day"], b["start"], b["end"]) for b in blocks
            if b.get("schedule-id") == str(night.id)]
    assert mine == [("4", "22:00", "24:00"), ("5", "00:00", "06:00")]
    assert all(b["kind"] == "filler" for b in blocks if b.get("schedule-id") == str(filler.id))
    assert not [b for b in blocks if b["kind"] == "gap"]
    assert "warning-gap_without_filler" not in html


def test_the_calendar_warns_of_content_expiring_before_the_schedule_ends(client, w):
    item = w["item"]
    item.valid_until = datetime(2026, 12, 10, 4, 0, tzinfo=UTC)
    db.commit()
    p = _playlist(w, item)
    sc = _schedule(w, p, end_date=date(2026, 12, 31))
    helpers.login(client, w["editor"])
    html = client.get(f"/schedules/calendar?terminal_id={w['t'].id}&week={WEEK}").get_data(
        as_text=True)
    m = re.search(r'<li class="warning warning-content_expires_early" data-schedule-id="(\d+)">'
                  r"(.*?)</li>", html, re.S)
    assert m and m.group(1) == str(sc.id)
    assert "日常播放" in m.group(2) and "垃圾分类" in m.group(2) and "2026-12-10 12:00" in m.group(2)


def test_the_calendar_without_a_place_offers_the_buildings(client, w):
    helpers.login(client, w["editor"])
    html = client.get("/schedules/calendar").get_data(as_text=True)
    assert "海滨花园2栋" in html and "田心1栋" not in html


def test_preview_inside_the_window_shows_the_image_at_true_size(client, w):
    p = _playlist(w, w["item"])
    _schedule(w, p)
    helpers.login(client, w["editor"])
    html = client.get(f"/terminals/{w['t'].id}/preview?at={WEDNESDAY}T08:00").get_data(
        as_text=True)
    src = f'/content/{w["item"].id}/blob/{w["item"].blob_sha256}'
    assert re.search(rf'<img class="led" src="{src}" width="384" height="192"', html)
    assert "日常播放" in html and "垃圾分类" in html and "384×192" in html
    assert 'id="offset"' in html and "2026-12-09 08:00" in html
    assert 'id="screen-state"' in html


def test_preview_outside_the_window_shows_nothing_or_the_filler(client, w):
    p = _playlist(w, w["item"])
    _schedule(w, p)
    helpers.login(client, w["editor"])
    url = f"/terminals/{w['t'].id}/preview?at={WEDNESDAY}T13:00"
    html = client.get(url).get_data(as_text=True)
    assert 'id="nothing"' in html and 'class="led"' not in html

    _schedule(w, _playlist(w, w["item2"], name="垫片"), kind="filler", weekdays=range(7),
              windows=(("00:00", "00:00"),), name="全天垫片")
    html = client.get(url).get_data(as_text=True)
    assert f'/content/{w["item2"].id}/blob/{w["item2"].blob_sha256}' in html
    assert "全天垫片" in html and "kind-filler" in html


def test_preview_with_a_bad_time_falls_back_to_now(client, w):
    helpers.login(client, w["editor"])
    r = client.get(f"/terminals/{w['t'].id}/preview?at=tomorrow")
    assert r.status_code == 200 and 'class="flash error"' in r.get_data(as_text=True)


def test_another_communitys_terminal_is_not_found(client, w):
    helpers.login(client, w["editor"])
    assert client.get(f"/terminals/{w['tx'].id}/preview").status_code == 404
    assert client.get(f"/schedules/calendar?terminal_id={w['tx'].id}").status_code == 404
    assert client.get(f"/schedules/calendar?building_id={w['tx'].building_id}").status_code == 404


def test_playlist_entries_are_stored_in_order_of_position(w):
    p = _playlist(w, w["item2"], w["item"])
    rows = db.query(PlaylistEntry).filter_by(playlist_id=p.id).order_by(PlaylistEntry.position)
    assert [e.content_id for e in rows] == [w["item2"].id, w["item"].id]


def test_a_street_admin_schedules_an_interrupt_on_the_whole_street(client, w):
    p = _playlist(w, w["item"])
    admin = helpers.user(Role.street_admin)
    helpers.login(client, admin)
    page = client.get("/schedules/new").get_data(as_text=True)
    assert 'value="interrupt"' in page and 'id="street"' in page
    data = _schedule_form(w, p, name="台风紧急通知", kind="interrupt", community_id="0",
                          buildings=None, street="y", priority="10")
    r = helpers.post_form(client, "/schedules/new", data)
    assert r.status_code == 302
    sc = db.query(Schedule).one()
    assert (sc.kind, sc.community_id, sc.priority) == (ScheduleKind.interrupt, None, 10)
    assert [t.kind.value for t in sc.targets] == ["street"]
    # Every terminal of the street hears of it, the other community's too.
    html = client.get(f"/terminals/{w['tx'].id}/preview?at={WEDNESDAY}T08:00").get_data(
        as_text=True)
    assert "台风紧急通知" in html and "kind-interrupt" in html
    assert 'width="128" height="64"' in html


def test_a_community_schedule_cannot_target_the_whole_street(client, w):
    p = _playlist(w, w["item"])
    helpers.login(client, w["editor"])
    page = client.get("/schedules/new").get_data(as_text=True)
    assert 'id="street"' not in page
    r = helpers.post_form(client, "/schedules/new",
                          _schedule_form(w, p, buildings=None, street="y"))
    assert 'id="targets-error"' in r.get_data(as_text=True)
    assert db.query(Schedule).count() == 0


def test_a_viewer_lists_playlists_but_gets_no_form(client, w):
    # The playlist page is its form: refused (403) to those its save refuses
    # (schedules.editable_playlist); the list names the playlist without a link to it.
    p = _playlist(w, w["item"])
    helpers.login(client, helpers.user(Role.viewer, w["donghe"]))
    assert client.get(f"/playlists/{p.id}").status_code == 403
    assert client.get("/playlists/new").status_code == 403
    html = client.get("/playlists/").get_data(as_text=True)
    assert p.name in html and f"/playlists/{p.id}\"" not in html
    assert 'id="new-playlist"' not in html


def test_screen_plans_page_creates_lists_and_deletes(client):
    c = helpers.community("东和")
    b = helpers.building(c)
    helpers.terminal(b)
    helpers.login(client, helpers.user(Role.community_admin, c))
    r = helpers.post_form(client, "/screen-plans/new", {
        "name": "夜间关屏", "community_id": str(c.id), "screen_on": "0", "brightness": "0",
        "priority": "0", "weekdays": [str(d) for d in range(7)], "windows": "22:00-06:00",
        "buildings": str(b.id)})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    page = client.get("/screen-plans/").get_data(as_text=True)
    assert "夜间关屏" in page and "22:00-06:00" in page
    sp = db.query(ScreenPlan).one()
    assert (sp.screen_on, sp.windows) == (False, [["22:00", "06:00"]])
    r = helpers.post_form(client, "/screen-plans/new", {  # no target: shown again, nothing saved
        "name": "错的", "community_id": str(c.id), "screen_on": "0", "brightness": "0",
        "weekdays": ["5", "6"], "windows": "22:00-06:00"})
    assert r.status_code == 200 and "targets-error" in r.get_data(as_text=True)
    r = client.post(f"/screen-plans/{sp.id}/delete", data={"csrf_token": helpers.csrf_token(page)})
    assert r.status_code == 302 and db.query(ScreenPlan).count() == 0

"""Pages at their edges (issue 20): a role is checked before a form is read, a form post
that leaves fields out gets its errors on the page, and a standard multipart upload is
accepted like the page script's raw one."""

from __future__ import annotations

import io

import pytest

from server.db import db
from server.models import ContentItem, Role, Schedule, Topic
from server.services import schedules as svc
from server.services import topics
from server.services.access import Actor
from tests import helpers, media


@pytest.fixture
def w(app):
    donghe = helpers.community("东和")
    topics.ensure_defaults(db, donghe.street_id)
    db.commit()
    b = helpers.building(donghe, "1栋")
    helpers.terminal(b)
    editor = helpers.user(Role.editor, donghe)
    item = helpers.approved_image(donghe)
    p = svc.create_playlist(db, Actor.of(editor), "日常", [svc.EntryIn(item.id)])
    sc = svc.create_schedule(db, Actor.of(editor), name="日常播放", playlist_id=p.id,
                             kind="normal", recurrence=svc.Recurrence(windows=[("07:00", "12:00")]),
                             targets=[svc.TargetIn("building", b.id)])
    db.commit()
    return {"donghe": donghe, "editor": editor, "schedule": sc,
            "topic": db.query(Topic).filter_by(name="便民服务").one()}


def _schedule_name(schedule_id: int) -> str:
    db.expire_all()
    return db.get(Schedule, schedule_id).name


def test_a_viewer_posting_to_a_schedule_is_refused_before_its_form_is_read(client, w):
    helpers.login(client, helpers.user(Role.viewer, w["donghe"]))
    sc = w["schedule"]
    r = helpers.post_form(client, f"/schedules/{sc.id}/edit", {"name": "改名"})
    assert r.status_code == 403
    assert _schedule_name(sc.id) == "日常播放"


def test_a_schedule_form_with_only_a_name_shows_what_is_missing(client, w):
    helpers.login(client, w["editor"])
    sc = w["schedule"]
    r = helpers.post_form(client, f"/schedules/{sc.id}/edit", {"name": "改名"})
    assert r.status_code == 200
    assert 'aria-invalid="true"' in r.get_data(as_text=True)
    assert _schedule_name(sc.id) == "日常播放"


def _upload_form(client, w, files, accept: str = "*/*"):
    page = client.get("/content/upload").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="file"' in page
    data = {"csrf_token": helpers.csrf_token(page), "topic_id": str(w["topic"].id),
            "file": [(io.BytesIO(body), name) for name, body in files]}
    return client.post("/content/upload", data=data, content_type="multipart/form-data",
                       headers={"Accept": accept})


def test_a_jpeg_posted_as_a_multipart_form_is_uploaded(client, w):
    helpers.login(client, w["editor"])
    r = _upload_form(client, w, [("社区海报.jpg", media.image_bytes("JPEG", 320, 160))])
    assert r.status_code == 201, r.get_data(as_text=True)
    item = db.get(ContentItem, r.json["id"])
    assert (item.title, item.original_name, item.mime) == ("社区海报", "社区海报.jpg",
                                                           "image/jpeg")


def test_a_browser_without_javascript_is_sent_to_what_it_uploaded(client, w):
    helpers.login(client, w["editor"])
    r = _upload_form(client, w, [("a.jpg", media.image_bytes("JPEG", 64, 32)),
                                 ("b.png", media.image_bytes("PNG", 64, 32))],
                     accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert r.status_code == 302 and "/content/" in r.headers["Location"]
    assert {"a", "b"} <= {i.title for i in db.query(ContentItem)}


def test_a_multipart_form_without_a_file_says_which_field_to_send(client, w):
    helpers.login(client, w["editor"])
    r = _upload_form(client, w, [])
    assert r.status_code == 422
    assert r.json["error"]["field"] == "file" and "file" in r.json["error"]["message"]


def test_a_nul_in_a_form_is_refused_with_a_page_that_says_so(client, w):
    helpers.login(client, helpers.user(Role.street_admin))
    r = helpers.post_form(client, "/buildings/new", {"community_id": str(w["donghe"].id),
                                                     "name": "东和花园", "address": "东和\x00路"})
    assert r.status_code == 422
    assert "无法保存的字符" in r.get_data(as_text=True)


@pytest.mark.parametrize("when", ["9999-12-31", "0001-01-01"])
def test_a_calendar_week_or_preview_far_from_now_shows_now(client, w, when):
    helpers.login(client, w["editor"])
    t = helpers.terminal(helpers.building(w["donghe"]))
    r = client.get("/schedules/calendar", query_string={"terminal_id": t.id, "week": when})
    assert r.status_code == 200
    r = client.get(f"/terminals/{t.id}/preview", query_string={"at": when + "T12:00"})
    assert r.status_code == 200

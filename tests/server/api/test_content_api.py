"""The content library through the API, with real files: uploads, notices, review."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from server.db import db
from server.models import AuditEntry, Blob, ColourMode, ContentItem, Role, Terminal, Topic
from server.services import topics
from tests import helpers, media


@pytest.fixture
def ctx(app, tmp_path):
    donghe = helpers.community("东和")
    street_id = donghe.street_id
    topics.ensure_defaults(db, street_id)
    db.commit()
    b = helpers.building(donghe)
    helpers.terminal(b, 384, 192)
    helpers.terminal(b, 128, 64)
    editor = helpers.user(Role.editor, donghe)
    reviewer = helpers.user(Role.reviewer, donghe)
    topic = db.query(Topic).filter_by(name="防台风").one()
    return {
        "community": donghe, "topic": topic, "tmp": tmp_path,
        "editor": helpers.token(editor), "reviewer": helpers.token(reviewer),
        "editor_user": editor, "blob_dir": Path(app.config["SIGNAGE"].blob_dir),
    }


def upload(client, ctx, data: bytes, filename: str = "x.jpg", **meta):
    params = {"title": "台风预警", "topic_id": ctx["topic"].id, "filename": filename, **meta}
    return client.post(f"/api/v1/content/upload?{urlencode(params)}", data=data,
                       headers={**ctx["editor"], "Content-Type": "application/octet-stream"})


def fetch(client, url: str, headers: dict) -> tuple[int, bytes]:
    """GET a file and close the response (send_file keeps the file open until then)."""
    r = client.get(url, headers=headers)
    try:
        return r.status_code, r.data
    finally:
        r.close()


def stored(ctx) -> list[Path]:
    return sorted(p for p in ctx["blob_dir"].rglob("*") if p.is_file())


def test_upload_an_image_stores_it_once_with_a_thumbnail(client, ctx):
    data = media.image_bytes("JPEG", 640, 360)
    r = upload(client, ctx, data, "海报.jpg")
    assert r.status_code == 201, r.json
    item = r.json
    assert (item["kind"], item["status"], item["width"], item["height"]) == (
        "image", "draft", 640, 360)
    assert item["thumbnail_sha256"] and item["sha256"]
    again = upload(client, ctx, data, "copy.jpg")
    assert again.json["sha256"] == item["sha256"]
    assert db.query(Blob).count() == 2  # the image and its thumbnail, once each
    url = f"/api/v1/content/{item['id']}/blobs/{item['sha256']}"
    assert fetch(client, url, ctx["editor"]) == (200, data)
    assert fetch(client, url, {**ctx["editor"], "Range": "bytes=10-19"}) == (206, data[10:20])


def test_upload_a_clip_probes_it(client, ctx):
    path = media.make_video(ctx["tmp"] / "clip.mp4", "libx264", "mp4", frames=24, rate=12)
    r = upload(client, ctx, path.read_bytes(), "宣传片.mp4")
    assert r.status_code == 201, r.json
    assert r.json["kind"] == "video" and r.json["codec"] == "h264"
    assert r.json["media_duration_s"] == pytest.approx(2.0, abs=0.2)
    assert r.json["play_seconds"] == pytest.approx(2.0, abs=0.2)


BAD_FILES = {
    "zero_bytes": (lambda tmp: b"", "empty_file"),
    "truncated_jpeg": (lambda tmp: media.image_bytes("JPEG")[:2000], "corrupt_image"),
    "png_50000x50000": (lambda tmp: media.png_declaring(50_000, 50_000), "image_too_many_pixels"),
    "exe_named_jpg": (lambda tmp: b"\x7fELF\x02\x01\x01" + bytes(500), "unsupported_type"),
    "audio_only_mp4": (lambda tmp: media.audio_only_mp4(tmp / "a.mp4").read_bytes(),
                       "no_video_stream"),
    "corrupt_mp4_header": (lambda tmp: b"\x00\x00\x00\x18ftypmp42" + bytes(64) + b"garbage" * 50,
                           "corrupt_video"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_are_refused_clearly_and_nothing_is_kept(client, ctx, case):
    make, code = BAD_FILES[case]
    r = upload(client, ctx, make(ctx["tmp"]), "photo.jpg")
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == code
    assert r.json["error"]["field"] == "file"
    assert r.json["error"]["message"] and "%" not in r.json["error"]["message"]
    assert db.query(ContentItem).count() == 0 and db.query(Blob).count() == 0
    assert stored(ctx) == []
    assert client.get("/api/v1/content", headers=ctx["editor"]).status_code == 200  # still serving


def test_a_file_over_the_limit_is_refused_while_streaming(app, client, ctx):
    app.config["SIGNAGE"].max_upload_bytes = 100_000
    r = upload(client, ctx, media.image_bytes("PNG", 1200, 1200), "big.png")
    assert r.status_code == 413
    assert r.json["error"]["code"] == "too_large"
    assert "0.0953674" in r.json["error"]["message"] or "MB" in r.json["error"]["message"]
    assert stored(ctx) == []


@pytest.mark.parametrize("filename", ["../../etc/passwd.jpg", "a\x00b.jpg", "通" * 300 + ".jpg"])
def test_hostile_filenames_are_only_shortened_display_names(client, ctx, filename):
    r = upload(client, ctx, media.image_bytes("PNG", 64, 32), filename)
    assert r.status_code == 201, r.json
    name = r.json["original_name"]
    assert "/" not in name and "\x00" not in name and ".." not in name and len(name) <= 200
    assert all(p.parent.parent.parent == ctx["blob_dir"] for p in stored(ctx))


def test_notice_is_rendered_for_every_fleet_size(client, ctx):
    r = client.post("/api/v1/content/notices", json={
        "title": "停水通知", "topic_id": ctx["topic"].id, "notice_title": "停水通知",
        "notice_body": "因管道维修，海滨花园1至12栋将于6月3日9:00至17:00停水，请提前储水。",
        "notice_footer": "便民热线 0755-12345678", "notice_template": "notice"},
        headers=ctx["editor"])
    assert r.status_code == 201, r.json
    sizes = {(x["width"], x["height"]) for x in r.json["renditions"]}
    assert sizes == {(384, 192), (128, 64)}
    for rend in r.json["renditions"]:
        status, png = fetch(client, f"/api/v1/content/{r.json['id']}/blobs/{rend['sha256']}",
                            ctx["editor"])
        assert status == 200 and png[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("body", "code"), [
    ("", "notice_empty_body"),
    ("台风来了😀请注意", "notice_missing_glyphs"),
    ("防台风" * 2000, "invalid"),  # over the 2000-character field limit
])
def test_bad_notices_are_refused(client, ctx, body, code):
    r = client.post("/api/v1/content/notices", json={
        "title": "x", "topic_id": ctx["topic"].id, "notice_body": body}, headers=ctx["editor"])
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == code
    assert db.query(ContentItem).count() == 0


def test_missing_glyphs_are_named(client, ctx):
    r = client.post("/api/v1/content/notices", json={
        "title": "x", "topic_id": ctx["topic"].id, "notice_body": "台风😀来了"},
        headers=ctx["editor"])
    assert "😀" in r.json["error"]["message"]


def test_a_notice_too_long_for_any_size(client, ctx):
    body = "台风预警：请居民关好门窗，收好阳台物品，非必要不外出。" * 60
    r = client.post("/api/v1/content/notices", json={
        "title": "x", "topic_id": ctx["topic"].id, "notice_body": body[:2000]},
        headers=ctx["editor"])
    assert r.status_code == 422 and r.json["error"]["code"] == "notice_does_not_fit"
    assert "128×64" in r.json["error"]["message"] or "384×192" in r.json["error"]["message"]


FIVE_PARAGRAPHS = "\n".join(["因东和花园小区地下车库消防管道改造，定于本月18日（周六）上午9:00至下午"
                             "5:00暂停地下车库供水，届时车库内洗车点及消防栓将暂停使用，请各位"
                             "车主提前做好安排。"] * 5)  # fits 384x192, over 10 pages on 128x64


def test_a_client_leaves_out_the_sizes_the_422_names(client, ctx):
    for t in db.query(Terminal).filter_by(width=128):
        t.colour_mode = ColourMode.mono
    db.commit()
    notice = {"title": "车库停水", "topic_id": ctx["topic"].id, "notice_body": FIVE_PARAGRAPHS}
    r = client.post("/api/v1/content/notices", json=notice, headers=ctx["editor"])
    assert r.status_code == 422 and r.json["error"]["code"] == "notice_does_not_fit", r.json
    sizes = r.json["error"]["sizes"]
    assert sizes == ["128x64-mono"]
    r = client.post("/api/v1/content/notices", json={**notice, "notice_excluded_sizes": sizes},
                    headers=ctx["editor"])
    assert r.status_code == 201, r.json
    assert r.json["notice_excluded_sizes"] == sizes
    assert {(x["width"], x["height"]) for x in r.json["renditions"]} == {(384, 192)}
    # Taking the size back in is refused the same way, and changes nothing.
    iid = r.json["id"]
    r = client.patch(f"/api/v1/content/{iid}", json={"notice_excluded_sizes": []},
                     headers=ctx["editor"])
    assert r.status_code == 422 and r.json["error"]["sizes"] == sizes, r.json
    assert db.get(ContentItem, iid).notice_excluded_sizes == sizes


@pytest.mark.parametrize(("sizes", "field"), [
    (["128x64"], "notice_excluded_sizes"),  # no colour mode
    (["128x64-colour"], "notice_excluded_sizes"),
    (["640x320-full"], "exclude_sizes"),  # well formed, but no screen of the notice has it
])
def test_a_malformed_or_unknown_size_is_refused(client, ctx, sizes, field):
    r = client.post("/api/v1/content/notices", json={
        "title": "x", "topic_id": ctx["topic"].id, "notice_body": "明日停水。",
        "notice_excluded_sizes": sizes}, headers=ctx["editor"])
    assert r.status_code == 422, r.json
    error = r.json["error"]
    assert field in (error.get("fields") or {error.get("field"): 1})
    assert sizes[0] in error["message"] or "128x64-mono" in error["message"]
    assert db.query(ContentItem).count() == 0


def test_review_flow_and_audit(client, ctx):
    item = upload(client, ctx, media.image_bytes("PNG", 320, 160)).json
    iid = item["id"]
    assert client.post(f"/api/v1/content/{iid}/approve", headers=ctx["reviewer"]).status_code == 409
    assert client.post(f"/api/v1/content/{iid}/submit", headers=ctx["editor"]).json[
        "status"] == "submitted"
    # The author cannot approve: an editor lacks the role, and self-review is refused.
    assert client.post(f"/api/v1/content/{iid}/approve", headers=ctx["editor"]).status_code == 403
    r = client.post(f"/api/v1/content/{iid}/reject", json={"reason": ""},
                    headers=ctx["reviewer"])
    assert r.status_code == 422
    r = client.post(f"/api/v1/content/{iid}/reject", json={"reason": "图片模糊"},
                    headers=ctx["reviewer"])
    assert r.json["status"] == "rejected" and r.json["reject_reason"] == "图片模糊"
    client.post(f"/api/v1/content/{iid}/submit", headers=ctx["editor"])
    r = client.post(f"/api/v1/content/{iid}/approve", headers=ctx["reviewer"])
    assert r.json["status"] == "approved"
    # A change to what is on screen waits for review as a pending edit; the approved
    # version stays on air until then.
    r = client.patch(f"/api/v1/content/{iid}", json={"duration_s": 20}, headers=ctx["editor"])
    assert (r.json["status"], r.json["revision"], r.json["play_seconds"]) == ("approved", 1, 10)
    assert r.json["pending"] == {"status": "submitted", "revision": 2, "reject_reason": ""}
    r = client.post(f"/api/v1/content/{iid}/approve", headers=ctx["reviewer"])
    assert (r.json["status"], r.json["revision"], r.json["play_seconds"]) == ("approved", 2, 20)
    assert r.json["pending"] is None and r.json["id"] == iid
    # A title change does not wait.
    r = client.patch(f"/api/v1/content/{iid}", json={"title": "新标题"}, headers=ctx["editor"])
    assert r.json["status"] == "approved" and r.json["pending"] is None
    actions = [e.action for e in db.query(AuditEntry).filter_by(object_type="content")
               .order_by(AuditEntry.id)]
    assert actions == ["create", "submit", "rejected", "submit", "approved", "update",
                       "approved", "update"]


def test_reviewer_cannot_approve_own_item(client, ctx, app):
    admin = helpers.user(Role.community_admin, ctx["community"])
    h = helpers.token(admin)
    params = {"title": "x", "topic_id": ctx["topic"].id, "filename": "a.png"}
    item = client.post(f"/api/v1/content/upload?{urlencode(params)}",
                       data=media.image_bytes("PNG", 64, 32), headers=h).json
    client.post(f"/api/v1/content/{item['id']}/submit", headers=h)
    r = client.post(f"/api/v1/content/{item['id']}/approve", headers=h)
    assert r.status_code == 403
    assert "another reviewer" in r.json["error"]["message"] or "其他" in r.json["error"]["message"]


def test_other_communities_cannot_see_content(client, ctx):
    item = upload(client, ctx, media.image_bytes("PNG", 64, 32)).json
    other = helpers.token(helpers.user(Role.community_admin, helpers.community("田心")))
    assert client.get(f"/api/v1/content/{item['id']}", headers=other).status_code == 404
    assert fetch(client, f"/api/v1/content/{item['id']}/blobs/{item['sha256']}",
                 other)[0] == 404
    assert client.get("/api/v1/content", headers=other).json == []


@pytest.mark.parametrize(("meta", "field"), [
    ({"valid_from": "2026-12-02T00:00:00+08:00", "valid_until": "2026-12-01T00:00:00+08:00"},
     "valid_until"),
    ({"duration_s": 0}, "duration_s"),
    ({"duration_s": 9999999999999}, "duration_s"),
    ({"topic_id": 999999}, "topic_id"),
])
def test_bad_metadata_is_refused_before_the_file_is_read(client, ctx, meta, field):
    r = upload(client, ctx, media.image_bytes("PNG", 64, 32), **meta)
    assert r.status_code in (404, 422), r.json
    err = r.json["error"]
    assert err.get("field") == field or field in err.get("fields", {})
    assert stored(ctx) == []


def test_patching_a_notice_on_air_changes_its_waiting_edit(client, ctx):
    """A partial text change applies to the edit waiting for review, not the approved text."""
    r = client.post("/api/v1/content/notices", headers=ctx["editor"], json={
        "title": "停水", "topic_id": ctx["topic"].id, "notice_title": "停水通知",
        "notice_body": "明日9点停水。"})
    iid = r.json["id"]
    client.post(f"/api/v1/content/{iid}/submit", headers=ctx["editor"])
    client.post(f"/api/v1/content/{iid}/approve", headers=ctx["reviewer"])
    client.patch(f"/api/v1/content/{iid}", json={"notice_body": "明日9点至17点停水。"},
                 headers=ctx["editor"])
    r = client.patch(f"/api/v1/content/{iid}", json={"notice_title": "停水提示"},
                     headers=ctx["editor"])
    assert (r.json["notice_body"], r.json["pending"]["status"]) == ("明日9点停水。", "submitted")
    r = client.post(f"/api/v1/content/{iid}/approve", headers=ctx["reviewer"])
    assert (r.json["notice_title"], r.json["notice_body"], r.json["revision"]) == (
        "停水提示", "明日9点至17点停水。", 2)

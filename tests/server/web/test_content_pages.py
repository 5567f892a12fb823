"""Content pages: raw uploads with CSRF, notice previews, the review queue, topics."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from server.db import db
from server.models import ContentItem, ContentStatus, Role, Topic
from server.services import topics
from tests import helpers, media


@pytest.fixture
def world(app):
    donghe = helpers.community("东和")
    topics.ensure_defaults(db, donghe.street_id)
    db.commit()
    b = helpers.building(donghe)
    helpers.terminal(b, 384, 192)
    helpers.terminal(b, 1920, 320)
    return {"community": donghe, "topic": db.query(Topic).filter_by(name="便民服务").one(),
            "editor": helpers.user(Role.editor, donghe),
            "reviewer": helpers.user(Role.reviewer, donghe)}


def _upload(client, world, data: bytes, token: str | None):
    params = urlencode({"title": "社区活动海报", "topic_id": world["topic"].id})
    headers = {"X-Filename": "%E6%B5%B7%E6%8A%A5.png", "Content-Type": "application/octet-stream"}
    if token:
        headers["X-CSRFToken"] = token
    return client.post(f"/content/upload?{params}", data=data, headers=headers)


def test_upload_page_sends_raw_files_with_the_csrf_header(client, world):
    helpers.login(client, world["editor"])
    page = client.get("/content/upload").get_data(as_text=True)
    assert 'id="dropzone"' in page and "upload.js" in page
    token = helpers.csrf_token(page.replace('data-csrf="', 'name="csrf_token" value="'))
    r = _upload(client, world, media.image_bytes("PNG", 320, 160), token)
    assert r.status_code == 201, r.json
    item = db.get(ContentItem, r.json["id"])
    assert item.original_name == "海报.png" and item.status == ContentStatus.draft


def test_upload_without_csrf_token_is_refused(client, world):
    helpers.login(client, world["editor"])
    r = _upload(client, world, media.image_bytes("PNG", 32, 16), None)
    assert r.status_code == 400
    assert db.query(ContentItem).count() == 0


def test_a_bad_upload_answers_in_chinese(client, world):
    helpers.login(client, world["editor"])
    page = client.get("/content/upload").get_data(as_text=True)
    token = page.split('data-csrf="')[1].split('"')[0]
    r = _upload(client, world, b"MZ\x90\x00" + bytes(300), token)
    assert r.status_code == 422
    assert "不是支持的图片或视频格式" in r.json["error"]["message"]
    assert "Windows 程序" in r.json["error"]["message"]
    r = _upload(client, world, b"\x13\x37" + bytes(300), token)  # nothing sniff knows
    assert r.status_code == 422 and r.json["error"]["code"] == "unsupported_type"
    assert "无法识别的文件类型" in r.json["error"]["message"]
    assert "unknown" not in r.json["error"]["message"]


def test_an_animation_over_the_decode_budget_answers_in_chinese(client, world):
    helpers.login(client, world["editor"])
    page = client.get("/content/upload").get_data(as_text=True)
    token = page.split('data-csrf="')[1].split('"')[0]
    r = _upload(client, world, media.gif_on_canvas(2000, 2000, 300), token)
    assert r.status_code == 422
    assert r.json["error"]["code"] == "image_over_decode_budget"
    message = r.json["error"]["message"]
    assert "300 帧" in message and "2000×2000" in message and "上限为 500 百万像素" in message
    assert db.query(ContentItem).count() == 0


def _notice_form(client, world, action: str, body: str):
    page = client.get("/content/notice/new").get_data(as_text=True)
    return client.post("/content/notice/new", data={
        "csrf_token": helpers.csrf_token(page), "title": "垃圾分类提示",
        "topic_id": world["topic"].id, "community_id": world["community"].id,
        "notice_template": "convenience", "notice_title": "垃圾分类",
        "notice_body": body, "notice_footer": "便民热线 0755-12345678",
        "duration_s": "15", "action": action})


def test_notice_preview_shows_every_fleet_size_at_true_pixels(client, world):
    helpers.login(client, world["editor"])
    r = _notice_form(client, world, "preview", "厨余垃圾请于每晚7点至9点投放到指定地点。")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "384×192" in html and "1920×320" in html
    assert html.count('src="data:image/png;base64,') >= 2
    assert db.query(ContentItem).count() == 0  # a preview stores nothing


def test_notice_preview_names_the_characters_the_font_lacks(client, world):
    helpers.login(client, world["editor"])
    html = _notice_form(client, world, "preview", "请勿乱扔垃圾🚯").get_data(as_text=True)
    assert "屏幕字体无法显示这些字符" in html and "🚯" in html


def test_save_notice_then_submit_and_review_in_the_queue(client, world):
    helpers.login(client, world["editor"])
    r = _notice_form(client, world, "save", "厨余垃圾请于每晚7点至9点投放。")
    assert r.status_code == 302
    item = db.query(ContentItem).one()
    assert {(x.width, x.height) for x in item.renditions} == {(384, 192), (1920, 320)}
    page = client.get(f"/content/{item.id}").get_data(as_text=True)
    client.post(f"/content/{item.id}/submit", data={"csrf_token": helpers.csrf_token(page)})

    reviewer = client.application.test_client()
    helpers.login(reviewer, world["reviewer"])
    queue = reviewer.get("/review").get_data(as_text=True)
    assert f'id="review-{item.id}"' in queue and "垃圾分类提示" in queue
    r = reviewer.post(f"/content/{item.id}/reject",
                      data={"csrf_token": helpers.csrf_token(queue), "reason": "热线号码有误"})
    assert r.status_code == 302
    db.expire_all()
    assert db.get(ContentItem, item.id).status == ContentStatus.rejected
    assert "热线号码有误" in client.get(f"/content/{item.id}").get_data(as_text=True)


def test_item_blobs_are_served_to_staff_of_the_community_only(client, world):
    helpers.login(client, world["editor"])
    page = client.get("/content/upload").get_data(as_text=True)
    token = page.split('data-csrf="')[1].split('"')[0]
    data = media.image_bytes("PNG", 64, 32)
    item = db.get(ContentItem, _upload(client, world, data, token).json["id"])
    r = client.get(f"/content/{item.id}/blob/{item.blob_sha256}")
    assert r.data == data
    r.close()
    other = client.application.test_client()
    helpers.login(other, helpers.user(Role.editor, helpers.community("田心")))
    r = other.get(f"/content/{item.id}/blob/{item.blob_sha256}")
    assert r.status_code == 404
    assert other.get(f"/content/{item.id}/blob/{'0' * 64}").status_code == 404


def test_topics_are_managed_by_street_admins(client, world):
    helpers.login(client, world["editor"])
    assert client.get("/topics").status_code == 200  # reading is fine
    page = client.get("/topics").get_data(as_text=True)
    r = client.post("/topics", data={"csrf_token": helpers.csrf_token(page), "name": "新主题"})
    assert r.status_code == 403
    admin = client.application.test_client()
    helpers.login(admin, helpers.user(Role.street_admin))
    page = admin.get("/topics").get_data(as_text=True)
    assert admin.post("/topics", data={"csrf_token": helpers.csrf_token(page),
                                       "name": "疫苗接种"}).status_code == 302
    assert db.query(Topic).filter_by(name="疫苗接种").count() == 1
    # Only those the save accepts are offered 添加主题 and 停用 (topics.require_topic_admin).
    assert 'name="name"' in page and "/toggle" in page
    editor_page = client.get("/topics").get_data(as_text=True)
    assert 'name="name"' not in editor_page and "/toggle" not in editor_page
    assert "疫苗接种" in editor_page


def test_a_reviewer_is_offered_no_content_form(client, world):
    # Refused (403) before filling a form the save would refuse (content.require_writer,
    # content.editable_item), and not offered the buttons that lead there.
    item = helpers.approved_image(world["community"])
    helpers.login(client, world["reviewer"])
    for url in ("/content/notice/new", "/content/upload", f"/content/{item.id}/edit"):
        assert client.get(url).status_code == 403, url
    assert 'id="upload"' not in client.get("/content/").get_data(as_text=True)
    assert 'id="edit"' not in client.get(f"/content/{item.id}").get_data(as_text=True)
    editor = client.application.test_client()
    helpers.login(editor, world["editor"])
    assert 'id="upload"' in editor.get("/content/").get_data(as_text=True)
    assert 'id="edit"' in editor.get(f"/content/{item.id}").get_data(as_text=True)

"""The pages of content versions and review: what the buttons say, the confirmation after
submitting, both states on the item page and the library list, the review queue's facts."""

from __future__ import annotations

import re

from server.db import db
from server.models import ContentItem, ContentStatus, Role
from tests import helpers
from tests.server.web.test_content_pages import _notice_form, world  # noqa: F401

BODY = "厨余垃圾请于每晚7点至9点投放。"


def _text(html: str) -> str:
    """What a reader sees: tags out, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def _post(client, url: str, page_url: str, **data):
    page = client.get(page_url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": helpers.csrf_token(page), **data},
                       follow_redirects=True)


def test_submit_confirms_and_an_edit_on_air_shows_both_states(client, world):  # noqa: F811
    helpers.login(client, world["editor"])
    new = client.get("/content/notice/new").get_data(as_text=True)
    assert "保存为草稿" in new and "保存并提交审核" in new
    r = _notice_form(client, world, "submit", BODY)
    item = db.query(ContentItem).one()
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert item.status == ContentStatus.submitted and item.submitted_at is not None
    assert "已提交审核" in page  # the confirmation after 提交审核

    reviewer = client.application.test_client()
    helpers.login(reviewer, world["reviewer"])
    queue = reviewer.get("/review").get_data(as_text=True)
    card = queue.split(f'id="review-{item.id}"')[1]
    assert "新内容" in card and world["editor"].username in card
    assert "长期有效" in card and "尚未加入任何播放列表" in card
    assert re.search(r'class="submitted-at">\d{4}-\d\d-\d\d \d\d:\d\d<', card)
    r = _post(reviewer, f"/content/{item.id}/approve", "/review")
    assert "屏幕现在播放第 1 版" in r.get_data(as_text=True)

    edit = client.get(f"/content/{item.id}/edit").get_data(as_text=True)
    assert "保存修改（待审核，原版本继续播放）" in edit and "保存为草稿" not in edit
    r = _post(client, f"/content/{item.id}/edit", f"/content/{item.id}/edit",
              title="垃圾分类提示", topic_id=world["topic"].id,
              community_id=world["community"].id, notice_template="convenience",
              notice_title="垃圾分类", notice_body=BODY + "谢谢配合", duration_s="15",
              action="save")
    page = r.get_data(as_text=True)
    assert "屏幕继续播放第 1 版" in page
    assert "播放中：第 1 版 · 待审核：第 2 版" in _text(page)
    assert "<ins>谢谢配合</ins>" in page
    assert "播放中：第 1 版 · 待审核：第 2 版" in _text(client.get("/content/").get_data(as_text=True))
    # The edit form continues the waiting version, not the one on air.
    assert BODY + "谢谢配合" in client.get(f"/content/{item.id}/edit").get_data(as_text=True)
    # Its files are shown to staff through the item.
    pending = db.query(ContentItem).filter(ContentItem.draft_of_id == item.id).one()
    r = client.get(f"/content/{item.id}/blob/{pending.renditions[0].blob_sha256}")
    assert r.status_code == 200
    r.close()
    assert client.get(f"/content/{pending.id}").status_code == 404

    queue = reviewer.get("/review").get_data(as_text=True)
    assert "修改播放中的内容（第 1 版 → 第 2 版）" in queue
    r = _post(reviewer, f"/content/{item.id}/reject", "/review", reason="不必加这句")
    assert "屏幕继续播放已通过的版本" in r.get_data(as_text=True)
    page = client.get(f"/content/{item.id}").get_data(as_text=True)
    assert "已驳回：第 2 版" in _text(page) and "不必加这句" in page
    r = _post(client, f"/content/{item.id}/discard-edit", f"/content/{item.id}")
    assert "已放弃修改" in r.get_data(as_text=True)
    db.expire_all()
    assert db.query(ContentItem).count() == 1

    # Every step is in the audit log, in words.
    admin = client.application.test_client()
    helpers.login(admin, helpers.user(Role.community_admin, world["community"]))
    log = _text(admin.get("/audit/").get_data(as_text=True))
    assert "放弃了待审核的修改" in log and "针对待审核的修改稿" in log
    assert "pending_edit" not in log and "discard" not in log

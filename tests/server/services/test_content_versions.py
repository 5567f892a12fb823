"""Editing approved content: the approved version plays on while the edit waits for review,
approval swaps them in one change for the terminals, rejection keeps the edit to fix."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from server.db import db
from server.models import AuditEntry, ContentItem, ContentStatus, Role, Terminal
from server.services import content as svc
from server.services import manifests
from server.services import schedules as sched
from server.services.access import Actor
from server.services.errors import Conflict, Forbidden, NotFound
from server.storage import blob_store, settings, upload_limits
from tests import helpers, media

BODY = "台风“海葵”预计今晚登陆，请关好门窗。"
EDITED = BODY + "注意安全"  # four characters more, as in the issue


@pytest.fixture
def w(app):
    donghe = helpers.community("东和")
    t = helpers.terminal(helpers.building(donghe, "1栋"), 384, 192)
    editor = Actor.of(helpers.user(Role.editor, donghe))
    reviewer = Actor.of(helpers.user(Role.reviewer, donghe))
    from server.services import topics

    topics.ensure_defaults(db, donghe.street_id)
    topic = topics.list_topics(db, editor)[0]
    item = svc.create_notice(db, editor, blob_store(),
                             svc.Meta(title="台风预警", topic_id=topic.id,
                                      community_id=donghe.id),
                             svc.NoticeText(title="台风预警", body=BODY), settings().font)
    svc.submit(db, editor, item.id)
    svc.approve(db, reviewer, item.id)
    p = sched.create_playlist(db, editor, "日常", [sched.EntryIn(item.id)], donghe.id)
    sched.create_schedule(db, editor, name="全天播放", playlist_id=p.id, kind="normal",
                          recurrence=sched.Recurrence(),
                          targets=[sched.TargetIn("community", donghe.id)])
    db.commit()
    return {"t": t, "editor": editor, "reviewer": reviewer, "item": item, "donghe": donghe}


def _on_screen(t: Terminal) -> tuple[int, set[str]]:
    """The terminal's manifest version and every blob its manifest lets it fetch."""
    db.expire_all()
    t = db.get(Terminal, t.id)
    m = manifests.manifest(db, t)
    return m["version"], {b["sha256"] for b in m["blobs"]}


def _shas(item: ContentItem) -> set[str]:
    return {r.blob_sha256 for r in item.renditions}


def _edit(w, body: str) -> ContentItem:
    item = svc.update(db, w["editor"], blob_store(), w["item"].id,
                      text=svc.NoticeText(title="台风预警", body=body), font=settings().font)
    db.commit()
    return item


def test_an_edit_waits_while_the_approved_version_plays_and_approval_swaps_once(w):
    item, t = w["item"], w["t"]
    old = _shas(item)
    version, blobs = _on_screen(t)
    assert old <= blobs

    _edit(w, EDITED)
    db.expire_all()
    item = svc.get_item(db, w["editor"], item.id)
    edit = item.pending
    assert (item.status, item.revision, item.notice_body) == (ContentStatus.approved, 1, BODY)
    assert (edit.status, edit.revision, edit.notice_body) == (ContentStatus.submitted, 2, EDITED)
    new = _shas(edit)
    assert new and not new & old
    # Nothing changed for the terminal: same manifest version, same blobs, none pending.
    assert _on_screen(t) == (version, blobs)
    # The pending row is reachable only through its item: no playlist can name it, no
    # library list shows it as an item of its own, its files only on the staff pages.
    with pytest.raises(NotFound):
        svc.get_item(db, w["editor"], edit.id)
    with pytest.raises(NotFound):
        sched.create_playlist(db, w["editor"], "偷渡", [sched.EntryIn(edit.id)])
    db.rollback()
    assert [i.id for i in svc.list_items(db, w["editor"])] == [item.id]
    assert [i.id for i in svc.list_items(db, w["editor"], status="submitted")] == [item.id]
    assert [i.id for i in svc.list_items(db, w["editor"], status="approved")] == [item.id]
    assert svc.blob_for(db, w["editor"], item.id, next(iter(new))).sha256 in new

    # The reviewer sees an edit of content on air, what it changes and where it plays.
    [r] = svc.review_queue(db, w["reviewer"])
    assert r.is_edit and r.item.id == item.id and r.version.id == edit.id
    assert r.submitter.id == w["editor"].id and r.version.submitted_at is not None
    assert [(c.field, c.before, c.after) for c in r.changes] == [("Text", BODY, EDITED)]
    [pl] = r.placements
    assert (pl.playlist.name, [sc.name for sc in pl.schedules], pl.terminals) == (
        "日常", ["全天播放"], 1)

    # Rejected: the approved version plays on, the edit is kept to fix.
    svc.reject(db, w["reviewer"], item.id, "措辞再斟酌")
    db.commit()
    db.expire_all()
    item = svc.get_item(db, w["editor"], item.id)
    assert item.status == ContentStatus.approved and item.notice_body == BODY
    assert (item.pending.status, item.pending.reject_reason) == (ContentStatus.rejected,
                                                                 "措辞再斟酌")
    assert svc.review_queue(db, w["reviewer"]) == []
    assert _on_screen(t) == (version, blobs)
    with pytest.raises(Conflict):
        svc.approve(db, w["reviewer"], item.id)

    # Fixed and saved: back in review; approved: one manifest change, to the new version.
    _edit(w, EDITED + "！")
    svc.approve(db, w["reviewer"], item.id)
    db.commit()
    db.expire_all()
    item = svc.get_item(db, w["editor"], item.id)
    assert (item.id, item.status, item.revision, item.notice_body) == (
        w["item"].id, ContentStatus.approved, 2, EDITED + "！")
    assert item.pending is None
    assert db.scalar(select(func.count()).select_from(ContentItem)) == 1
    after_version, after_blobs = _on_screen(t)
    assert after_version == version + 1
    assert _shas(item) <= after_blobs and not old & after_blobs

    actions = [(e.action, (e.after or {}).get("pending_edit", False)) for e in db.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "content",
                                 AuditEntry.object_id == item.id).order_by(AuditEntry.id))]
    assert actions == [("create", False), ("submit", False), ("approved", False),
                       ("update", True), ("rejected", True), ("update", True),
                       ("approved", True)]


def test_discarding_or_archiving_drops_the_edit_and_files_go_through_review_too(w):
    item, t = w["item"], w["t"]
    version, blobs = _on_screen(t)
    _edit(w, EDITED)
    svc.discard_edit(db, w["editor"], item.id)
    db.commit()
    db.expire_all()
    assert svc.get_item(db, w["editor"], item.id).pending is None
    assert db.scalar(select(func.count()).select_from(ContentItem)) == 1
    assert _on_screen(t) == (version, blobs)
    with pytest.raises(Conflict):
        svc.discard_edit(db, w["editor"], item.id)

    # Whoever made the edit cannot approve it, even an administrator.
    admin = Actor.of(helpers.user(Role.community_admin, w["donghe"]))
    svc.update(db, admin, blob_store(), item.id, meta={"duration_s": 12})
    db.commit()
    with pytest.raises(Forbidden):
        svc.approve(db, admin, item.id)
    db.rollback()
    svc.archive(db, w["editor"], item.id)
    db.commit()
    assert db.scalar(select(func.count()).select_from(ContentItem)) == 1

    # A new file for an approved image waits for review the same way.
    png = media.image_bytes("PNG", 384, 192)
    image = svc.upload(db, w["editor"], blob_store(), io.BytesIO(png), "a.png", svc.Meta(title="海报", topic_id=item.topic_id,
                                         community_id=w["donghe"].id), upload_limits())
    svc.submit(db, w["editor"], image.id)
    svc.approve(db, w["reviewer"], image.id)
    db.commit()
    first = image.blob_sha256
    svc.replace_file(db, w["editor"], blob_store(), image.id,
                     io.BytesIO(media.image_bytes("PNG", 384, 190)), "b.png", upload_limits())
    db.commit()
    db.expire_all()
    image = svc.get_item(db, w["editor"], image.id)
    assert (image.status, image.blob_sha256, image.original_name) == (
        ContentStatus.approved, first, "a.png")
    assert image.pending.original_name == "b.png" and image.pending.blob_sha256 != first
    [r] = svc.review_queue(db, w["reviewer"])
    assert ("File", "a.png", "b.png") in [(c.field, c.before, c.after) for c in r.changes]
    assert r.placements == []
    svc.approve(db, w["reviewer"], image.id)
    db.commit()
    db.expire_all()
    assert svc.get_item(db, w["editor"], image.id).original_name == "b.png"

"""Screening in the services: word lists (who, audited), typed text refused or flagged
where it enters, and the OCR job's decision (one real Tesseract run for the whole file)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

import content as lib
from server.db import db
from server.models import AuditEntry, ContentItem, ContentStatus, Role, ScreeningWord
from server.screening import ocr
from server.services import broadcasts, fleet, manifests, screening, topics
from server.services import content as svc
from server.services.access import Actor
from server.services.errors import Conflict, Forbidden, Invalid
from server.services.schedules import TargetIn
from server.storage import blob_store, settings, upload_limits
from tests import helpers as h
from tests import media

BLOCKED_BODY = "请勿相信电话诈骗，陌生来电要求转账的一律是骗子。"


@pytest.fixture
def w(app):
    donghe = h.community("东和")
    t = h.terminal(h.building(donghe, "1栋"), 384, 192)
    fleet.issue_credential(db, t)
    admin = Actor.of(h.user(Role.street_admin))
    editor = Actor.of(h.user(Role.editor, donghe))
    reviewer = Actor.of(h.user(Role.reviewer, donghe))
    topics.ensure_defaults(db, donghe.street_id)
    screening.import_words(db, admin, "诈骗 block\n代开发票 flag\n转账 flag")
    db.commit()
    return {"c": donghe, "t": t, "admin": admin, "editor": editor, "reviewer": reviewer,
            "topic": topics.list_topics(db, editor)[0].id}


def _meta(w, title="防诈提醒") -> svc.Meta:
    return svc.Meta(title=title, topic_id=w["topic"], community_id=w["c"].id)


def _notice(w, body: str, title: str = "防诈提醒") -> ContentItem:
    item = svc.create_notice(db, w["editor"], blob_store(), _meta(w, title),
                             svc.NoticeText(title="提醒", body=body), settings().font)
    db.commit()
    return item


def _upload(w, data: bytes, name: str = "poster.png", title: str = "海报") -> ContentItem:
    item = svc.upload(db, w["editor"], blob_store(), io.BytesIO(data), name, _meta(w, title),
                      upload_limits())
    db.commit()
    return item


# --- the lists ------------------------------------------------------------------------


def test_street_admins_keep_the_list_community_admins_read_it_all_audited(w):
    admin = w["admin"]
    row = screening.add_word(db, admin, "  传销 ", "block", "公安通报")
    assert (row.word, row.action) == ("传销", "block")
    with pytest.raises(Conflict):
        screening.add_word(db, admin, "传销", "flag")
    with pytest.raises(Invalid):
        screening.add_word(db, admin, "★★", "block")  # nothing left to match
    assert screening.import_words(db, admin, "# 注释\n传销, flag\n邪教\t block\n\n") == (1, 1)
    screening.delete_word(db, admin, row.id)
    db.commit()
    words = {x.word: x.action for x in screening.list_words(db, Actor.of(
        h.user(Role.community_admin, w["c"])))}
    assert words == {"诈骗": "block", "代开发票": "flag", "转账": "flag", "邪教": "block"}
    with pytest.raises(Forbidden):
        screening.add_word(db, w["editor"], "赌博", "block")
    with pytest.raises(Forbidden):
        screening.list_words(db, w["editor"])
    actions = list(db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "screening_word").order_by(AuditEntry.id)))
    assert actions == ["import", "create", "import", "delete"]


def test_an_import_names_the_bad_line():
    with pytest.raises(Invalid) as err:
        screening.parse_import("诈骗\n" + "长" * 61 + " block")
    assert err.value.params["line"] == 2


# --- typed text -----------------------------------------------------------------------


def test_a_notice_with_a_blocked_word_is_refused_with_the_words_and_field(w):
    with pytest.raises(Invalid) as err:
        _notice(w, "谨防电话詐 騙，保护好钱包")
    assert err.value.field == "notice_body"
    assert err.value.params["words"] == "诈骗"
    assert "诈骗" in str(err.value)
    db.rollback()
    assert db.scalar(select(ContentItem.id)) is None


def test_flagged_words_are_stored_on_the_item_where_they_are(w):
    body = "有人代開发票或要求转账请报警"
    item = _notice(w, body)
    hits = {(x["field"], x["word"], body[x["start"]:x["end"]])
            for x in item.screening["hits"]}
    assert hits == {("notice_body", "代开发票", "代開发票"), ("notice_body", "转账", "转账")}
    assert item.ocr_state == ""


def test_an_edit_is_screened_and_its_flags_replace_the_old_ones(w):
    item = _notice(w, "要求转账请报警")
    with pytest.raises(Invalid) as err:
        svc.update(db, w["editor"], blob_store(), item.id, meta={"title": "诈 骗提醒"})
    assert err.value.field == "title"
    db.rollback()
    svc.update(db, w["editor"], blob_store(), item.id,
               text=svc.NoticeText(title="提醒", body="请按时缴纳水费"), font=settings().font)
    db.commit()
    assert db.get(ContentItem, item.id).screening == {"hits": []}


def test_an_upload_is_refused_by_its_title_or_file_name_before_the_file_is_read(w):
    png = media.image_bytes("PNG", 64, 32)
    with pytest.raises(Invalid) as err:
        _upload(w, png, title="诈骗海报")
    assert (err.value.field, err.value.params["words"]) == ("title", "诈骗")
    db.rollback()
    with pytest.raises(Invalid) as err:
        _upload(w, png, name="zha-诈_骗.png")
    assert err.value.field == "file"
    db.rollback()
    item = _upload(w, png)
    assert item.ocr_state == "pending"  # its picture is read in the background
    with pytest.raises(Invalid):
        svc.replace_file(db, w["editor"], blob_store(), item.id, io.BytesIO(png), "诈骗.png",
                         upload_limits())


def test_a_typed_broadcast_is_refused_and_a_warning_card_is_not_screened(w):
    b = broadcasts.BroadcastIn(mode="full", targets=[TargetIn("street")], reason="演练",
                               text="警惕电信詐騙")
    with pytest.raises(Invalid) as err:
        broadcasts.check(db, w["admin"], b)
    assert (err.value.field, err.value.params["words"]) == ("text", "诈骗")
    db.rollback()
    # The system's own text (an official warning's card) is official: not screened.
    card = svc.create_notice(db, Actor.system(w["c"].street_id, "early-warning"), blob_store(),
                             svc.Meta(title="防范电信诈骗", topic_id=w["topic"]),
                             svc.NoticeText(title="预警", body="防范电信诈骗"), settings().font)
    assert card.screening == {"hits": []}  # made, nothing found


# --- OCR ------------------------------------------------------------------------------


_read: dict[str, str] = {}


@pytest.fixture
def tesseract_once(monkeypatch):
    """Tesseract runs once for the whole file (both databases): the same rendered image
    has the same text."""
    real = ocr.read_file

    def read_file(path: Path, kind: str) -> str:
        key = path.read_bytes()
        if key not in _read:
            _read[key] = real(path, kind)
        return _read[key]

    monkeypatch.setattr(ocr, "read_file", read_file)


def _rendered(width: int, height: int) -> bytes:
    notice = lib.Notice(title="防诈提醒", body=BLOCKED_BODY)
    return lib.render_notice(notice, lib.Target(width, height, "full")).png_pages()[0]


def test_a_blocked_word_in_a_rendered_notice_image_rejects_it_through_ocr(w, tesseract_once):
    item = _upload(w, _rendered(1920, 320), name="notice.png", title="通知")
    assert item.ocr_state == "pending"
    assert screening.ocr_pending(db, str(settings().blob_dir)) == set()
    db.expire_all()
    item = db.get(ContentItem, item.id)
    assert item.ocr_state == "done"
    assert "诈骗" in item.ocr_text
    assert item.status == ContentStatus.rejected and "诈骗" in item.reject_reason
    words = {x["word"] for x in item.screening["hits"] if x["field"] == "ocr"}
    assert words >= {"诈骗", "转账"}
    entry = db.scalars(select(AuditEntry).where(AuditEntry.object_id == item.id)
                       .order_by(AuditEntry.id.desc())).first()
    assert (entry.actor, entry.action, entry.after["blocked_words"]) == (
        "screening", "rejected", ["诈骗"])


def test_an_approved_picture_found_blocked_leaves_the_screens(w):
    item = _upload(w, media.image_bytes("PNG", 64, 32))
    svc.submit(db, w["editor"], item.id)
    item.status = ContentStatus.approved  # as a reviewer approved it before the OCR ran
    h.scheduled_all_day(w["c"], item)
    on_air = {b["sha256"] for b in manifests.manifest(db, w["t"])["blobs"]}
    assert item.blob_sha256 in on_air
    touched = screening.apply_ocr(db, item.id, item.blob_sha256, "谨防电信诈骗")
    db.commit()
    assert touched == {w["t"].id}
    db.expire_all()
    assert db.get(ContentItem, item.id).status == ContentStatus.rejected
    assert item.blob_sha256 not in {b["sha256"] for b in
                                    manifests.manifest(db, w["t"])["blobs"]}
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.after["taken_off_screens"] is True


def test_a_failed_or_stale_reading_is_never_passed(w):
    item = _upload(w, media.image_bytes("PNG", 64, 32))
    assert screening.apply_ocr(db, item.id, "0" * 64, "诈骗") == set()  # file replaced since
    assert item.ocr_state == "pending"
    screening.apply_ocr(db, item.id, item.blob_sha256, "", "TesseractNotFoundError")
    db.commit()
    assert (item.ocr_state, item.status) == ("failed", ContentStatus.draft)


def test_the_marked_runs_highlight_each_hit():
    hits = [{"start": 2, "end": 4, "action": "flag"}, {"start": 3, "end": 6, "action": "block"}]
    assert screening.marked("要求转账诈骗了", hits) == [
        (None, "要求"), ("flag", "转账"), ("block", "诈骗"), (None, "了")]


def test_no_list_no_hits(app):
    assert db.scalar(select(ScreeningWord.id)) is None
    assert screening.screen_texts(db, h.street().id, {"title": "诈骗"}) == []

"""Receipts of warning messages: per screen, acknowledged or why not, as JSON data and CSV,
and posted back (signed) to a real local HTTP endpoint when due."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from server.db import db, utcnow
from server.models import Role, WarningMessage
from server.services import broadcasts
from server.services.access import Actor
from server.services.errors import NotFound
from server.services.warnings import receipts
from tests import helpers as h
from tests import warning_helpers as w

endpoint = w.endpoint_fixture


@pytest.fixture
def sent(app, endpoint):
    """Three screens in 东和 (one online, one with its screen off, one never seen) and one
    in 沙头角, all targeted by a sent message received 10 s before now."""
    endpoint.clear()
    donghe, shatoujiao = h.community("东和"), h.community("沙头角")
    b1, b2 = h.building(donghe, "1栋"), h.building(shatoujiao, "2栋")
    ts = [w.paired(b1), w.paired(b1), w.paired(b1), w.paired(b2)]
    w.state(ts[0], online=True)
    w.state(ts[1], online=True, screen_on=False)
    w.state(ts[3], online=True)
    src = w.source(receipt_url=endpoint.url + "/receipts")
    received = utcnow() - timedelta(seconds=10)
    m = w.message(src, ts, received_at=received)
    return m, ts, donghe, received


def test_receipt_says_who_showed_it_when_and_why_the_others_did_not(sent):
    m, ts, donghe, received = sent
    w.ack(m, ts[0], received + timedelta(seconds=2.5))
    r = receipts.receipt(db, w.street_admin(), m.id)
    assert (r["targeted"], r["acknowledged"], r["not_acknowledged"]) == (4, 1, 3)
    assert r["counts"] == {"offline": 1, "screen_off": 1, "waiting": 1}
    by_id = {t["terminal_id"]: t for t in r["terminals"]}
    shown = by_id[ts[0].id]
    assert shown["seconds_to_show"] == 2.5 and shown["acked_at"] is not None
    assert shown["problem"] is None and shown["building"] == "1栋" and shown["community"] == "东和"
    assert by_id[ts[1].id]["problem"] == "screen_off"
    assert by_id[ts[2].id]["problem"] == "offline"  # never connected: no state at all
    assert by_id[ts[3].id]["problem"] == "waiting"
    assert r["seconds_to_show_p50"] == 2.5 and not r["complete"]
    assert r["message"]["identifier"] == "msg-1" and r["broadcast"]["state"] == "active"
    # The same data, serialisable: instants as ISO 8601 UTC
    as_json = receipts.to_json(r)
    json.dumps(as_json)
    assert as_json["terminals"][0]["shown_at"].endswith("Z")


def test_community_staff_see_their_communitys_screens_only(sent):
    m, ts, donghe, _received = sent
    editor = Actor.of(h.user(Role.editor, donghe))
    r = receipts.receipt(db, editor, m.id)
    assert sorted(t["terminal_id"] for t in r["terminals"]) == sorted(t.id for t in ts[:3])
    assert r["targeted"] == 3 and r["matched"] == 3
    stranger = Actor.of(h.user(Role.editor, h.community("田心")))
    with pytest.raises(NotFound):
        receipts.receipt(db, stranger, m.id)


def test_csv_has_chinese_headers_a_bom_and_one_row_per_screen(sent):
    m, ts, _donghe, received = sent
    w.ack(m, ts[0], received + timedelta(seconds=3))
    text = receipts.receipt_csv(db, w.street_admin(), m.id)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:4] == ["屏幕编号", "屏幕", "楼栋", "社区"] and len(rows) == 5
    first = next(r for r in rows[1:] if r[0] == str(ts[0].id))
    assert first[6] == "3.0" and first[7] == "" and first[4]  # shown, Beijing time
    reasons = sorted(r[7] for r in rows[1:] if r[0] != str(ts[0].id))
    assert reasons == sorted(["屏幕关闭", "离线", "在线，等待确认"])


def _verified(endpoint, secret: str = "s3cret") -> dict:
    post = endpoint.posts[-1]
    assert post.headers["X-Signature-256"] == w.signature(secret, post.body)
    return json.loads(post.body)


def test_posted_once_all_acknowledged_then_again_when_it_ends(sent, endpoint):
    m, ts, _donghe, received = sent
    now = utcnow()
    assert receipts.post_due(db, now) == 0 and not endpoint.posts  # 3 screens still owe it
    for t in ts:
        w.ack(m, t, received + timedelta(seconds=1))
    assert receipts.post_due(db, utcnow()) == 1
    body = _verified(endpoint)
    assert body["complete"] and not body["final"] and body["acknowledged"] == 4
    assert receipts.post_due(db, utcnow()) == 0 and len(endpoint.posts) == 1  # once
    broadcasts.cancel(db, w.street_admin(), m.broadcast_id)  # a Cancel or an update ends it
    db.commit()
    assert receipts.post_due(db, utcnow()) == 1
    body = _verified(endpoint)
    assert body["final"] and body["broadcast"]["state"] == "ended"
    assert receipts.post_due(db, utcnow()) == 0 and len(endpoint.posts) == 2


def test_posted_after_five_minutes_even_if_screens_never_acknowledge(sent, endpoint):
    m, ts, _donghe, received = sent
    w.ack(m, ts[0], received + timedelta(seconds=1))
    starts = db.get(WarningMessage, m.id).broadcast.starts_at
    assert receipts.post_due(db, starts + timedelta(minutes=4)) == 0
    assert receipts.post_due(db, starts + timedelta(minutes=5, seconds=1)) == 1
    body = _verified(endpoint)
    assert (body["acknowledged"], body["not_acknowledged"]) == (1, 3) and not body["final"]


def test_a_failed_post_is_kept_and_retried(sent, endpoint):
    m, ts, _donghe, received = sent
    for t in ts:
        w.ack(m, t, received + timedelta(seconds=1))
    endpoint.status = 503
    assert receipts.post_due(db, utcnow()) == 0
    db.expire_all()
    m = db.get(WarningMessage, m.id)
    assert m.receipt_posted_at is None and "503" in m.receipt_error
    endpoint.status = 200
    assert receipts.post_due(db, utcnow()) == 1
    db.expire_all()
    m = db.get(WarningMessage, m.id)
    assert m.receipt_posted_at is not None and m.receipt_error is None
    _verified(endpoint)
    assert len(endpoint.posts) == 2


def test_an_unreachable_endpoint_is_an_error_not_a_crash(sent):
    m, ts, _donghe, received = sent
    m.source.receipt_url = "http://127.0.0.1:9/nothing-listens-here"
    db.commit()
    for t in ts:
        w.ack(m, t, received + timedelta(seconds=1))
    assert receipts.post_due(db, utcnow()) == 0
    db.expire_all()
    assert "ConnectionError" in db.get(WarningMessage, m.id).receipt_error

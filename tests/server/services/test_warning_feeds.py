"""Polling warning feeds against a real local HTTP server: an Atom index whose entries are
fetched once, conditional requests answered 304, a plain CAP URL, and what goes wrong
(unreachable, not a feed, a hostile link, too large, a server error) kept as the source's
last error."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.db import db, utcnow
from server.models import WarningIntake, WarningMessage, WarningSource
from server.services.warnings import feeds
from tests import helpers as h
from tests import warning_helpers as w
from tests.cap.samples import DEFAULT_IDS, HUGE, SHENZHEN, sample

ATOM = {"Content-Type": "application/atom+xml"}
CAP = {"Content-Type": "application/cap+xml"}


endpoint = w.endpoint_fixture


@pytest.fixture
def street(app, endpoint):
    endpoint.clear()
    st = h.street()
    st.area_code = "440308003000"
    w.paired(h.building(h.community("东和")))
    return st


def feed_source(endpoint, path: str) -> WarningSource:
    return w.source(kind="feed", name=f"feed {path}", url=endpoint.url + path)


def paths(endpoint) -> list[str]:
    return [g.path for g in endpoint.gets]


def intake() -> list[WarningIntake]:
    db.expire_all()
    return db.query(WarningIntake).order_by(WarningIntake.id).all()


def source(src_id: int) -> WarningSource:
    db.expire_all()
    return db.get(WarningSource, src_id)


def entry(entry_id: str, href: str) -> bytes:
    return (f'<entry><id>{entry_id}</id><title>x</title><updated>2026-12-06T12:00:00Z</updated>'
            f'<link rel="alternate" type="application/cap+xml" href="{href}"/></entry>'
            ).encode()


def test_an_index_is_fetched_conditionally_and_each_entry_received_once(street, endpoint):
    t0 = datetime.now(SHENZHEN).replace(microsecond=0) - timedelta(hours=2)
    index = sample("feed", base=endpoint.url)
    endpoint.files.update({
        "/feed.xml": (index, {**ATOM, "ETag": '"v1"'}),
        "/cap/orange.xml": (sample("typhoon_orange_yantian", sent=t0), CAP),
        "/cap/red.xml": (sample("typhoon_red_yantian_update", sent=t0 + timedelta(hours=1)),
                         CAP),
        "/cap/rain.xml": (sample("rainstorm_futian", sent=t0), CAP),
        "/cap/gale.xml": (sample("gale_bilingual", sent=t0), CAP)})
    src = feed_source(endpoint, "/feed.xml")
    now = utcnow()
    assert feeds.poll_due(db, now) == 4
    assert paths(endpoint)[0] == "/feed.xml" and sorted(paths(endpoint)[1:]) == [
        "/cap/gale.xml", "/cap/orange.xml", "/cap/rain.xml", "/cap/red.xml"]  # relative too;
    # never the file:/// link nor the entry that links only to a web page
    assert [(i.outcome, i.via) for i in intake()] == [("accepted", "feed")] * 4
    s = source(src.id)
    assert s.etag == '"v1"' and s.last_polled_at == now and s.last_error is None
    red = db.query(WarningMessage).filter_by(identifier=DEFAULT_IDS[
        "typhoon_red_yantian_update"]).one()
    assert red.state == "sent" and red.received_via == "feed", red.state_reason

    endpoint.gets.clear()
    assert feeds.poll_due(db, now + timedelta(seconds=30)) == 0 and paths(endpoint) == []
    assert feeds.poll_due(db, now + timedelta(seconds=61)) == 0  # poll_seconds passed
    assert paths(endpoint) == ["/feed.xml"]  # 304: no entry fetched again
    assert endpoint.gets[0].headers["If-None-Match"] == '"v1"'
    assert source(src.id).last_error is None and len(intake()) == 4

    # The index changes: a cancel is added, its entry id being the CAP identifier.
    cancel_id = DEFAULT_IDS["typhoon_cancel_yantian"]
    endpoint.files["/cap/cancel.xml"] = (
        sample("typhoon_cancel_yantian", sent=t0 + timedelta(hours=2)), CAP)
    index2 = index.replace(b"</feed>", entry(cancel_id, "/cap/cancel.xml") + b"</feed>")
    endpoint.files["/feed.xml"] = (index2, {**ATOM, "ETag": '"v2"'})
    endpoint.gets.clear()
    assert feeds.poll_due(db, now + timedelta(seconds=122)) == 1
    assert "/cap/cancel.xml" in paths(endpoint)
    assert len(intake()) == 5  # entries fetched again are known by their bytes: not logged
    assert db.query(WarningMessage).filter_by(identifier=cancel_id).one().state == "cancelled"
    db.expire_all()
    assert db.get(WarningMessage, red.id).state == "cancelled"

    # Changed again: an entry named by its message's identifier is not even fetched.
    endpoint.files["/feed.xml"] = (index2, {**ATOM, "ETag": '"v3"'})
    endpoint.gets.clear()
    feeds.poll_due(db, now + timedelta(seconds=183))
    assert "/cap/cancel.xml" not in paths(endpoint) and len(intake()) == 5


def test_a_plain_cap_url_with_last_modified(street, endpoint):
    modified = "Sun, 06 Dec 2026 12:00:00 GMT"
    endpoint.files["/one.xml"] = (sample("typhoon_orange_yantian", identifier="one"),
                                  {**CAP, "Last-Modified": modified})
    src = feed_source(endpoint, "/one.xml")
    now = utcnow()
    assert feeds.poll_due(db, now) == 1
    assert source(src.id).last_modified == modified
    assert feeds.poll_due(db, now + timedelta(minutes=2)) == 0
    assert endpoint.gets[-1].headers["If-Modified-Since"] == modified
    assert [i.outcome for i in intake()] == ["accepted"]


def test_errors_are_kept_on_the_source(street, endpoint):
    endpoint.files["/page.html"] = (b"<html><body>not a feed</body></html>", {})
    missing = feed_source(endpoint, "/missing.xml")
    page = feed_source(endpoint, "/page.html")
    w.source(kind="feed", name="off", url=endpoint.url + "/missing.xml").enabled = False
    db.commit()
    unreachable = w.source(kind="feed", name="unreachable", url="http://127.0.0.1:9/x")
    feeds.poll_due(db, utcnow())
    assert source(missing.id).last_error == "HTTP 404 Not Found"
    assert source(page.id).last_error  # the parser's reason: not a CAP message or a feed
    assert "ConnectionError" in source(unreachable.id).last_error
    assert paths(endpoint).count("/missing.xml") == 1  # the disabled one is not polled
    assert intake() == []


def test_a_huge_entry_is_refused_and_a_failing_one_fetched_again(street, endpoint):
    index = (b'<feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>t</title>'
             b'<updated>2026-12-06T12:00:00Z</updated>'
             + entry("huge", "/cap/huge.xml") + entry("flaky", "/cap/flaky.xml") + b"</feed>")
    endpoint.files.update({"/feed.xml": (index, {**ATOM, "ETag": '"a"'}),
                           "/cap/huge.xml": (sample(HUGE), CAP),
                           "/cap/flaky.xml": (sample("typhoon_orange_yantian"), CAP)})
    endpoint.failing["/cap/flaky.xml"] = 503
    src = feed_source(endpoint, "/feed.xml")
    now = utcnow()
    assert feeds.poll_due(db, now) == 0
    [refused] = intake()
    assert refused.outcome == "refused" and refused.size == feeds.MAX_BYTES + 1
    s = source(src.id)
    assert "503" in s.last_error and s.etag is None  # fetched whole at the next poll
    del endpoint.failing["/cap/flaky.xml"]
    assert feeds.poll_due(db, now + timedelta(seconds=61)) == 1
    assert [i.outcome for i in intake()] == ["refused", "accepted"]  # huge: same bytes
    assert source(src.id).etag == '"a"' and source(src.id).last_error is None

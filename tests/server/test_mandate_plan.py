"""Time-share mandates against the screens' plans (server/services/mandate_plan.py): an
enforced mandate's insertion in the manifests of the screens it reaches (and only theirs),
met on the player's own resolver; the shortfalls the schedule pages show; proof of play
of an inserted item counted like any other."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import playlists as pm
from player import protocol
from playlists.mandates import ID_BASE
from server.db import db
from server.models import Mandate, MandateTarget, PlayHour, Role, TargetKind, Terminal
from server.services import changes, mandate_plan, manifests, plays
from server.services import schedules as sched
from server.services.access import Actor
from tests import helpers

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 2)
NOW = datetime(2026, 12, 2, 1, tzinfo=UTC)  # 09:00 local


def local(d: date, hour: int = 0) -> datetime:
    return datetime.combine(d, time(hour), SH).astimezone(UTC)


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    b1, b2, b3 = (helpers.building(donghe, "1栋"), helpers.building(donghe, "2栋"),
                  helpers.building(tianxin, "田心1栋"))
    t1, t2, t3 = helpers.terminal(b1), helpers.terminal(b2), helpers.terminal(b3)
    fraud = helpers.approved_image(None, "反诈海报", "反诈宣传", seconds=30)
    other = helpers.approved_image(None, "便民海报", "便民服务", seconds=600)
    street_wide = [sched.TargetIn("street", None)]
    admin = Actor.of(helpers.user(Role.street_admin))
    # 08:00-12:00 plays the 反诈 poster twice (2 x 30 s) and a 600 s poster: an 11-minute
    # turn from 08:00, so 08:00 has 5 turns and 300 s of a sixth (360 s of 反诈), 09:00
    # starts 300 s into a turn (300 s), 10:00 600 s in (360 s), 11:00 240 s in (300 s).
    # 12:00-22:00: none.
    morning = sched.create_playlist(db, admin, "上午", [
        sched.EntryIn(fraud.id), sched.EntryIn(fraud.id), sched.EntryIn(other.id)])
    afternoon = sched.create_playlist(db, admin, "下午", [sched.EntryIn(other.id)])
    for name, playlist, a, b in (("上午", morning, "08:00", "12:00"),
                                 ("下午", afternoon, "12:00", "22:00")):
        sched.create_schedule(db, admin, name=name, playlist_id=playlist.id, kind="normal",
                              recurrence=sched.Recurrence(windows=[(a, b)]),
                              targets=street_wide)
    db.commit()
    return {"t1": t1, "t2": t2, "t3": t3, "b1": b1, "donghe": donghe, "tianxin": tianxin,
            "fraud": fraud, "other": other, "app": app}


def mandate(w, *, enforce: bool, targets: list[tuple[TargetKind, int | None]],
            share: float = 10) -> Mandate:
    m = Mandate(street_id=w["donghe"].street_id, name="反诈宣传", authority="区反诈中心",
                topic_id=w["fraud"].topic_id, content_ids=[], share_kind="minutes",
                share=share, window_start="08:00", window_end="22:00",
                start_date=DAY - timedelta(days=1), end_date=DAY + timedelta(days=30),
                enforce=enforce,
                targets=[MandateTarget(kind=k, ref_id=ref) for k, ref in targets])
    db.add(m)
    db.commit()
    return m


def terminals(w, *names: str) -> list[Terminal]:
    return [db.get(Terminal, w[n].id) for n in names]


def inserted(manifest: dict) -> list[dict]:
    return [s for s in manifest["plan"]["schedules"] if s["id"] >= ID_BASE]


def test_an_enforced_mandate_reaches_its_buildings_screens_and_is_met_there(w):
    m = mandate(w, enforce=True, targets=[(TargetKind.building, w["b1"].id)])
    built = manifests.manifests(db, terminals(w, "t1", "t2", "t3"), NOW)
    mine, others = built[w["t1"].id], [built[w["t2"].id], built[w["t3"].id]]
    assert inserted(mine) and not any(inserted(x) for x in others)
    assert all(s["kind"] == "interrupt" and s["priority"] == pm.MANDATE_PRIORITY
               and {i["content_id"] for i in s["playlist"]["items"]} == {w["fraud"].id}
               for s in inserted(mine))
    assert w["fraud"].blob_sha256 in {b["sha256"] for b in mine["blobs"]}
    # Pages name an inserted schedule by its mandate (it has no row of its own).
    sids = [s["id"] for s in inserted(mine)]
    assert mandate_plan.inserted_names(db, [*sids, 1, None]) == {sid: "反诈宣传" for sid in sids}

    # What the player resolves from that manifest meets the share in every window hour,
    # today and a week on (there from the schedule after the horizon).
    plan = pm.TerminalPlan.from_dict(mine["plan"])
    spec = mandate_plan.spec_of(m)
    for day in (DAY, DAY + timedelta(days=8), DAY + timedelta(days=20)):
        got = pm.planned_share(plan, [spec], local(day), local(day + timedelta(days=1)))
        assert len(got) == 14 and all(share.met for share in got.values()), day
    # And the same plan is what planned time and the pages read: nothing is short.
    assert mandate_plan.shortfalls(db, w["donghe"].street_id, None, [DAY]) == []


def test_a_checked_mandate_lists_short_hours_only(w):
    m = mandate(w, enforce=False, targets=[(TargetKind.street, None)])
    built = manifests.manifests(db, terminals(w, "t1", "t2", "t3"), NOW)
    assert not any(inserted(x) for x in built.values())  # checked only: nothing inserted

    short = mandate_plan.shortfalls(db, w["donghe"].street_id, None, [DAY, DAY + timedelta(1)])
    assert {(x.terminal_id, x.day) for x in short} == {
        (w[t].id, d) for t in ("t1", "t2", "t3") for d in (DAY, DAY + timedelta(1))}
    for x in short:
        assert x.mandate.id == m.id
        # The morning's 300-360 s are under 600 s and the afternoon has none: 14 short
        # hours, the worst (furthest below; the earliest of equals) at 12:00.
        assert x.hours_short == 14
        assert x.worst_hour == local(x.day, 12)
        assert (x.planned_s, x.required_s) == (0, 600)

    # 5 min/h: the morning meets it, the afternoon's 10 hours do not; a community's
    # view has its own screens only.
    m.share = 5
    db.commit()
    short = mandate_plan.shortfalls(db, w["donghe"].street_id, w["tianxin"].id, [DAY])
    assert [(x.terminal_id, x.hours_short, x.required_s) for x in short] == [
        (w["t3"].id, 10, 300)]


def test_an_inserted_plays_record_counts_like_any_play(w):
    m = mandate(w, enforce=True, targets=[(TargetKind.building, w["b1"].id)])
    t1 = db.get(Terminal, w["t1"].id)
    sid = inserted(manifests.manifest(db, t1, NOW))[0]["id"]
    assert ID_BASE + m.id * 1000 <= sid < 2**31  # no schedule row: a 32-bit id all the same
    start = local(DAY, 8) + timedelta(minutes=15)
    rec = protocol.play_record(content_id=w["fraud"].id, schedule_id=sid,
                               sha256=w["fraud"].blob_sha256, start=start,
                               end=start + timedelta(seconds=30))
    accepted, rejected = plays.ingest(db, t1, [rec], now=NOW)
    db.commit()
    assert (len(accepted), rejected) == (1, [])
    assert db.scalar(select(PlayHour.seconds).where(PlayHour.terminal_id == t1.id)) == 30


def test_the_week_calendar_keeps_the_staff_block_and_names_the_insertion(w):
    mandate(w, enforce=True, targets=[(TargetKind.building, w["b1"].id)])
    client = w["app"].test_client()
    helpers.login(client, helpers.user(Role.street_admin))
    page = client.get(f"/schedules/calendar?terminal_id={w['t1'].id}&week=2026-11-30")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # 14 slots a day are not 14 blocks a day: the day's 下午 block is whole, and says so.
    assert "含插播：时长要求：反诈宣传" in html
    assert html.count('data-start="12:00" data-end="22:00"') == 7
    assert f'data-schedule-id="{ID_BASE}' not in html


def test_a_change_to_inserted_content_renews_the_screens_of_enforced_mandates_only(w):
    mandate(w, enforce=True, targets=[(TargetKind.building, w["b1"].id)])
    mandate(w, enforce=False, targets=[(TargetKind.street, None)])

    def versions() -> dict[str, int]:
        db.expire_all()
        return {n: db.get(Terminal, w[n].id).manifest_version for n in ("t1", "t2", "t3")}

    before = versions()
    changes.content_changed(db, w["fraud"].id)  # e.g. archived: t1 must drop it
    db.commit()
    after = versions()
    # The poster is in the street-wide 上午 playlist too: every screen is renewed once for
    # that, and t1 once more for the mandate inserting it.
    assert {n: after[n] - before[n] for n in after} == {"t1": 2, "t2": 1, "t3": 1}

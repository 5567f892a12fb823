"""Every page a staff member can reach, opened in Chromium as each role that can reach it,
in Chinese: no console error, no uncaught script error, no failed request, no answer of
400 or more (the page's own or any file or fetch it makes), and no raw value (a Python
repr, an enum name, an English sentence) in what a Chinese reader sees.

The page list is the Flask app's url_map: a GET route of the staff UI that is neither
crawled here nor allow-listed below as "not a page" fails the test, so a new page is
visited as soon as it exists. Which roles may open each page is written down (DENIED)
and checked both ways: an allowed role is crawled in the browser, a denied role must get
a 403 (plain HTTP: the refusal page itself is not what this test is about).
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Browser, ConsoleMessage, Page, Request, async_playwright
from sqlalchemy import select

from player import protocol
from server import create_app
from server.db import db
from server.models import (
    Alert,
    Building,
    ColourMode,
    Command,
    Community,
    ContentKind,
    ContentStatus,
    EscalationPeriod,
    Receipt,
    Role,
    ScheduleKind,
    ScreeningWord,
    TargetKind,
    Terminal,
    TerminalState,
    Topic,
    User,
    WarningMessage,
    WarningSource,
)
from server.services import (
    accounts,
    broadcasts,
    demo,
    fleet,
    layouts,
    mandates,
    plays,
    schedules,
    tree,
)
from server.services import content as content_svc
from server.services.access import Actor
from tests.browser.conftest import CHROMIUM
from tests.live import ADMIN_PASSWORD, DEMO_PASSWORD

SH = ZoneInfo("Asia/Shanghai")

# --- the raw-value check ---------------------------------------------------------------

# Values of the model's enums and the audit log's actions and object types: a Chinese
# reader must see their labels, never these.
ENUM_NAMES = frozenset(
    {m.value for e in (Role, ContentStatus, ContentKind, ScheduleKind, TargetKind, ColourMode)
     for m in e}
    | set(protocol.COMMAND_KINDS)
    | {"create", "update", "delete", "login", "revoke", "submit", "approve", "reject",
       "archive", "cancel", "broadcast", "command", "provision", "pair", "alert_template",
       "screen_plan", "playlist", "schedule", "terminal", "building", "community", "content",
       "topic", "user", "token", "down", "stuck", "recovered", "online", "offline",
       "unknown", "silent", "frozen", "dark", "healthy", "disconnected", "ticker"})
PY_WORDS = frozenset({"None", "True", "False", "nan", "NaN", "null", "undefined"})
# Where English is a name, not a sentence: file names, addresses, MIME types, hashes.
_NOT_TEXT = re.compile(
    r"https?://\S+|(?<!\S)/\S*|\S+\.(?:png|jpe?g|gif|webp|mp4|webm|mov|csv|xlsx)\b"
    r"|\b(?:image|video|audio|text|application)/[a-z0-9.+-]+\b|\b[0-9a-f]{12,}\b",
    re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SENTENCE = re.compile(r"[A-Za-z][a-z']*(?:[ ,]+[A-Za-z][a-z']*){2,}")
_REPR = re.compile(r"\[\[|\[\(|\{'|\['|\('|<[A-Za-z_.]+ object at")


def raw_values(text: str) -> list[str]:
    """What in `text` (a page as a Chinese reader sees it) is a raw value: a Python repr,
    an enum name, a JavaScript null, or an English sentence. Empty if none."""
    found = [m.group(0) for m in _REPR.finditer(text)]
    text = _NOT_TEXT.sub(" ", text)
    found += [w for w in _WORD.findall(text) if w in ENUM_NAMES or w in PY_WORDS]
    found += [m.group(0) for m in _SENTENCE.finditer(text)]
    return found


def test_raw_values_finds_reprs_enum_names_and_english() -> None:
    assert raw_values("目标：[['terminal', 69, None]]") == ["[[", "terminal", "None"]
    assert raw_values("{'since': '2026-11-20'}") == ["{'"]
    assert raw_values("状态：draft") == ["draft"]
    assert raw_values("草稿/draft · 类型/image") == ["draft", "image"]
    assert raw_values("角色 street_admin · 操作 provision · screenshot") == [
        "street_admin", "provision", "screenshot"]
    assert raw_values("有效期至 None") == ["None"]
    assert raw_values("可播放：True") == ["True"]
    assert raw_values("Please log in to access this page.") == [
        "Please log in to access this page"]
    assert raw_values("播放时长 undefined 秒") == ["undefined"]


def test_raw_values_passes_chinese_with_names_and_units() -> None:
    page = ("东和社区 · 海滨花园1栋-LED 384×192 全彩 · 用户 donghe_editor · 宣传片.mp4 "
            "image/png · 5.2 MB · 10 秒 · LED · CSV · XLSX · English · 简体中文 · "
            "sha256 3f9a0c1b2d4e5f60 · /content/12 · 2026-11-20 09:00")
    assert raw_values(page) == []


# --- which GET routes are pages, and who may open them ----------------------------------

# GET routes of the staff UI that are not pages, and why the crawl does not open them.
NOT_PAGES = {
    "set_language": "switches the language and redirects back (the crawl stays in Chinese)",
    "health.healthz": "the load balancer's liveness probe, not for people",
    "content.blob": "a content file: loaded by the content pages, checked as their request",
    "broadcasts.progress": "JSON polled by the broadcast page, checked as its fetch",
    "broadcasts.thumbnail": "a PNG shown on the broadcast page, checked as its request",
    "wall.tiles": "JSON fetched by the wall, checked as its fetch",
    "wall.screenshot": "a PNG shown on the terminal page, checked as its request",
    "warnings.receipt": "JSON polled by the warning page, checked as its fetch",
    "warnings.receipt_csv": "a CSV download linked from the warning page",
    "warnings.level_css": "the level chips' colours, loaded by the warning pages",
    "receipts.live": "JSON polled by the receipt page, checked as its fetch",
}
# Routes that are not the staff UI at all.
NOT_UI_PREFIXES = ("/api/", "/terminal-api/", "/static/", "/socket.io")

EDITORS = {Role.street_admin, Role.community_admin, Role.editor}

# Pages a role may not open (a 403), with the rule that says so.
DENIED: dict[str, tuple[set[Role], str]] = {
    "users.index": ({Role.reviewer, Role.editor, Role.viewer},
                    "only admins manage accounts (access.require_account_admin)"),
    "users.new": ({Role.reviewer, Role.editor, Role.viewer}, "as users.index"),
    "users.edit": ({Role.reviewer, Role.editor, Role.viewer}, "as users.index"),
    "audit.index": ({Role.reviewer, Role.editor, Role.viewer},
                    "the audit log is for admins (access.TREE_EDITORS)"),
    "tree.new_building": ({Role.reviewer, Role.editor, Role.viewer},
                          "only admins change the tree (access.TREE_EDITORS)"),
    "tree.edit_building": ({Role.reviewer, Role.editor, Role.viewer}, "as tree.new_building"),
    "tree.new_terminal": ({Role.reviewer, Role.editor, Role.viewer}, "as tree.new_building"),
    "tree.edit_terminal": ({Role.reviewer, Role.editor, Role.viewer}, "as tree.new_building"),
    "content.review": ({Role.editor, Role.viewer},
                       "the review queue is for reviewers (services/content.REVIEWERS)"),
    "content.new_notice": ({Role.reviewer, Role.viewer},
                           "only editors and admins add content (content.require_writer)"),
    "content.upload_page": ({Role.reviewer, Role.viewer}, "as content.new_notice"),
    "content.edit": ({Role.reviewer, Role.viewer},
                     "the save's own check (content.editable_item: EDITORS)"),
    "schedules.new_playlist": ({Role.reviewer, Role.viewer},
                               "only planners write playlists and schedules "
                               "(schedules.require_planner)"),
    "schedules.edit_playlist": ({Role.reviewer, Role.viewer},
                                "the save's own check (schedules.editable_playlist)"),
    "schedules.new_schedule": ({Role.reviewer, Role.viewer}, "as schedules.new_playlist"),
    "schedules.edit_schedule": ({Role.reviewer, Role.viewer},
                                "the save's own check (schedules.editable_schedule)"),
    "layouts.new": ({Role.reviewer, Role.viewer}, "as schedules.new_playlist"),
    "mandates.new": ({Role.reviewer, Role.viewer}, "mandates are planned like schedules "
                                                     "(mandates.require_writer)"),
    "mandates.edit": ({Role.reviewer, Role.viewer}, "the save's own check (mandates.editable)"),
    "mandates.delete": ({Role.reviewer, Role.viewer}, "as mandates.edit"),
    "layouts.edit": ({Role.reviewer, Role.viewer},
                     "the save's own check (layouts.editable_layout)"),
    "schedules.new_screen_plan": ({Role.reviewer, Role.editor, Role.viewer},
                                  "screen plans are for admins "
                                  "(schedules.require_screen_planner)"),
    "broadcasts.confirm_cancel": ({Role.reviewer, Role.editor, Role.viewer},
                                  "access.may_broadcast: admins, and those granted it (the "
                                  "demo grants nobody; broadcasts.require_cancel)"),
    "warnings.sources": (set(Role) - {Role.street_admin},
                         "only street admins manage warning sources (warnings.sources)"),
    "warnings.upload": (set(Role) - {Role.street_admin}, "as warnings.sources"),
    "security.index": (set(Role) - {Role.street_admin}, "the 安全 page is the street admin's"),
    "signing.keys": (set(Role) - {Role.street_admin},
                     "signing keys and enforcement bind the whole street"),
    "signing.confirm_rekey": (set(Role) - {Role.street_admin}, "as signing.keys"),
    "integrity.status": (set(Role) - {Role.street_admin}, "the chains hold every community's"),
    "escalation.edit": (set(Role) - {Role.street_admin},
                        "only street admins declare periods (escalation.require_manager)"),
    "screening.words": ({Role.reviewer, Role.editor, Role.viewer},
                        "word lists are read by admins (screening.READERS)"),
}

def ui_routes(app) -> dict[str, str]:
    """endpoint -> rule of every GET route of the staff UI."""
    return {r.endpoint: r.rule for r in app.url_map.iter_rules()
            if "GET" in r.methods and not r.rule.startswith(NOT_UI_PREFIXES)}


def page_urls(world: dict, community: str) -> dict[str, list[str]]:
    """endpoint -> the URLs the crawl opens, parameters filled from that community's
    seeded objects (several where the page differs by kind or state)."""
    w = world[community]
    return {
        "auth.login": ["/login"],
        "tree.index": ["/"],
        "tree.building": [f"/buildings/{w['building']}"],
        "tree.edit_building": [f"/buildings/{w['building']}/edit"],
        "tree.new_building": ["/buildings/new"],
        "tree.new_terminal": ["/terminals/new"],
        "tree.edit_terminal": [f"/terminals/{w['terminal']}/edit"],
        "terminals.show": [f"/terminals/{w['terminal']}"],
        "schedules.preview": [f"/terminals/{w['terminal']}/preview"],
        "account.index": ["/account/"],
        "alerts.index": ["/alerts/"],
        "audit.index": ["/audit/"],
        "broadcasts.index": ["/broadcasts/"],
        "broadcasts.show": [f"/broadcasts/{b}" for b in w["broadcasts"]],
        "broadcasts.confirm_cancel": [f"/broadcasts/{w['broadcasts'][0]}/cancel"],
        "content.index": ["/content/"],
        "content.item": [f"/content/{i}" for i in w["items"]],
        "content.edit": [f"/content/{i}/edit" for i in w["editable"]],
        "content.new_notice": ["/content/notice/new"],
        "content.upload_page": ["/content/upload"],
        "content.review": ["/review"],
        "content.topic_list": ["/topics"],
        "schedules.playlists": ["/playlists/"],
        "schedules.new_playlist": ["/playlists/new"],
        "schedules.edit_playlist": [f"/playlists/{w['playlist']}"],
        "schedules.index": ["/schedules/"],
        "schedules.new_schedule": ["/schedules/new"],
        "schedules.edit_schedule": [f"/schedules/{w['schedule']}/edit"],
        "schedules.calendar": ["/schedules/calendar",
                               f"/schedules/calendar?terminal_id={w['terminal']}"],
        "schedules.screen_plans": ["/screen-plans/"],
        "layouts.index": ["/layouts/"],
        "layouts.new": ["/layouts/new", "/layouts/new?preset=2"],
        "layouts.edit": [f"/layouts/{w['layout']}"],
        "schedules.new_screen_plan": ["/screen-plans/new"],
        "reports.index": ["/reports/?from=2026-11-20&to=2026-11-20"],
        "mandate_reports.index": ["/reports/mandates",
                                  f"/reports/mandates?mandate={w['mandate']}"],
        "mandates.index": ["/mandates"],
        "mandates.new": ["/mandates/new"],
        "mandates.edit": [f"/mandates/{w['mandate']}"],
        "mandates.delete": [f"/mandates/{w['mandate']}/delete"],
        "users.index": ["/users/"],
        "users.new": ["/users/new"],
        "users.edit": [f"/users/{w['user']}/edit"],
        "wall.index": ["/wall/"],
        "warnings.index": ["/warnings/"],
        "warnings.show": [f"/warnings/{m}" for m in w["warnings"]],
        "warnings.sources": ["/warnings/sources"],
        "warnings.upload": ["/warnings/upload"],
        "security.index": ["/security"],
        "signing.keys": ["/signing"],
        "signing.confirm_rekey": ["/signing/rekey"],
        "integrity.status": ["/integrity"],
        "escalation.periods": ["/escalation"],
        "escalation.edit": [f"/escalation/{w['period']}"],
        "screening.words": ["/screening"],
        "receipts.index": ["/receipts"],
        "receipts.show": [f"/receipts/{r}" for r in w["receipts"]],
    }


def test_every_ui_route_is_crawled_or_allow_listed(tmp_path) -> None:
    app = create_app({"SIGNAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
                      "SIGNAGE_DATA_DIR": str(tmp_path), "SIGNAGE_SECRET_KEY": "x"})
    routes = set(ui_routes(app))
    crawled = set(page_urls(_FAKE_WORLD, "东和"))
    assert routes - crawled - set(NOT_PAGES) == set(), "GET pages nobody opens in this test"
    assert (crawled | set(NOT_PAGES) | set(DENIED)) - routes == set(), "no such routes"
    assert not crawled & set(NOT_PAGES)
    app.extensions["signage_engine"].dispose()


_FAKE_WORLD = {"东和": {"building": 1, "terminal": 1, "broadcasts": [1], "items": [1],
                       "editable": [1], "playlist": 1, "schedule": 1, "layout": 1,
                       "user": 1, "warnings": [1], "period": 1, "receipts": [1],
                       "mandate": 1}}


# --- the seeded street -------------------------------------------------------------------


def _png(text_seed: int, w: int = 384, h: int = 192) -> bytes:
    im = Image.new("RGB", (w, h), (30, 90 + text_seed * 20, 160))
    ImageDraw.Draw(im).ellipse([40, 30, 150, 140], fill=(250, 210, 0))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def world(server, database_url) -> dict:
    """The demo street and staff (the `server` fixture's seed), and everything a page can
    show: content of each kind in every state, a playlist, a schedule, a screen plan,
    broadcasts (one cancelled), an alert template, an open and a closed alert, a
    screenshot, plays for the report, and 田心 with its own admin, building, terminal,
    notice, playlist, schedule and broadcast. Written in-process (the full demo content
    renders dozens of notices: too slow for one test module)."""
    app = create_app({"SIGNAGE_DATABASE_URL": database_url,
                      "SIGNAGE_DATA_DIR": server.env["SIGNAGE_DATA_DIR"],
                      "SIGNAGE_SECRET_KEY": "x"})
    from server.storage import blob_store, settings, upload_limits

    out: dict = {}
    with app.app_context():
        by_name = {u.username: Actor.of(u) for u in db.scalars(select(User))}
        admin, editor, reviewer = by_name["admin"], by_name["donghe_editor"], \
            by_name["donghe_reviewer"]
        donghe = db.scalar(select(Community).where(Community.name == "东和"))
        tianxin = db.scalar(select(Community).where(Community.name == "田心"))
        accounts.create_user(db, admin, username="donghe_viewer", password=DEMO_PASSWORD,
                             role="viewer", community_id=donghe.id)
        tx_admin_user = accounts.create_user(db, admin, username="tianxin_admin",
                                             password=DEMO_PASSWORD, role="community_admin",
                                             community_id=tianxin.id)
        db.flush()
        tx_admin = Actor.of(tx_admin_user)
        tx_editor = by_name["tianxin_editor"]
        store, font = blob_store(), settings().font
        topic = {t.name: t.id for t in db.scalars(select(Topic))}

        # 田心: a building, a terminal, a notice, a playlist and a schedule of its own.
        tb = tree.create_building(db, tx_admin, tianxin.id, "田心村1栋", "深圳市盐田区田心路")
        tt = tree.create_terminal(db, tx_admin, tb.id, "田心村1栋-LED", 384, 192, "full",
                                  "一楼大堂", ["大堂"])
        db.flush()
        tx_notice = content_svc.create_notice(
            db, tx_editor, store,
            content_svc.Meta(title="田心义诊", topic_id=topic["便民服务"],
                             community_id=tianxin.id),
            content_svc.NoticeText(title="义诊", body="周日上午社区医生在广场义诊。"), font)
        content_svc.submit(db, tx_editor, tx_notice.id)
        content_svc.approve(db, tx_admin, tx_notice.id)
        tx_list = schedules.create_playlist(db, tx_admin, "田心日常",
                                            [schedules.EntryIn(tx_notice.id)], tianxin.id)
        tx_sched = schedules.create_schedule(
            db, tx_admin, name="田心全天", playlist_id=tx_list.id, kind="normal",
            recurrence=schedules.Recurrence(),
            targets=[schedules.TargetIn("community", tianxin.id)])

        # 东和: content of each kind in every state.
        def notice(title: str, body: str, by: Actor = editor, community: int | None = donghe.id):
            return content_svc.create_notice(
                db, by, store, content_svc.Meta(title=title, topic_id=topic["便民服务"],
                                                community_id=community),
                content_svc.NoticeText(title=title, body=body, footer="便民热线 0755-25550000"),
                font)

        approved = notice("台风预警", "台风“海葵”预计今晚登陆，请关好门窗，非必要不外出。")
        with tempfile.TemporaryDirectory() as tmp:
            clip = Path(tmp) / "宣传片.mp4"
            demo._demo_clip(clip)
            with clip.open("rb") as f:
                video = content_svc.upload(
                    db, editor, store, f, clip.name,
                    content_svc.Meta(title="社区宣传片", topic_id=topic["党建宣传"],
                                     community_id=donghe.id), upload_limits())
        for item in (approved, video):
            content_svc.submit(db, editor, item.id)
            content_svc.approve(db, reviewer, item.id)
        draft = notice("电梯检修", "3号电梯周三检修，请走楼梯。")
        waiting = notice("消防演练", "周五下午三点消防演练，请勿惊慌。")
        content_svc.submit(db, editor, waiting.id)
        rejected = notice("停车通知", "地下车库周末清洗。")
        content_svc.submit(db, editor, rejected.id)
        content_svc.reject(db, reviewer, rejected.id, "日期没写清楚，请补上具体日期。")
        archived = notice("旧通知", "上月的旧通知。")
        content_svc.archive(db, editor, archived.id)
        image = content_svc.upload(
            db, editor, store, io.BytesIO(_png(1)), "社区海报.png",
            content_svc.Meta(title="社区海报", topic_id=topic["社区活动"],
                             community_id=donghe.id), upload_limits())
        street_wide = notice("街道通知", "街道办事处本周六照常办公。", admin, None)
        playlist = schedules.create_playlist(
            db, editor, "东和社区日常播放",
            [schedules.EntryIn(approved.id), schedules.EntryIn(video.id)], donghe.id)
        schedule = schedules.create_schedule(
            db, editor, name="全天播放", playlist_id=playlist.id, kind="normal",
            recurrence=schedules.Recurrence(),
            targets=[schedules.TargetIn("community", donghe.id)])
        # A mandate of each community's (its list, form, report and the schedule page's
        # warning: the plan holds none of its item).
        today = datetime.now(SH).date()
        mandate, tx_mandate = (mandates.create(db, by, mandates.MandateIn(
            name="反诈宣传", share_kind="minutes", share=10, start_date=today - timedelta(days=1),
            end_date=today + timedelta(days=30), content_ids=[item.id], community_id=cid,
            targets=[schedules.TargetIn("community", cid)]))
            for by, item, cid in ((editor, approved, donghe.id), (tx_admin, tx_notice, tianxin.id)))
        # A layout framing the community's screens: the calendar and the preview show its
        # regions, the preview the whole panel composed.
        layout = layouts.create_layout(
            db, editor, name="东和标准", width=384, height=192, community_id=donghe.id,
            regions=[{"key": "main", "role": "main", "x": 0, "y": 0, "w": 384, "h": 160},
                     {"key": "ticker", "role": "ticker", "x": 0, "y": 160, "w": 384, "h": 32,
                      "content_ids": [approved.id]},
                     {"key": "clock", "role": "clock", "x": 288, "y": 0, "w": 96, "h": 24,
                      "clock_format": "time"}])
        schedules.create_schedule(
            db, editor, name="东和标准版式", layout_id=layout.id,
            recurrence=schedules.Recurrence(),
            targets=[schedules.TargetIn("community", donghe.id)])

        terms = list(db.scalars(select(Terminal).join(Building)
                                .where(Building.community_id == donghe.id)
                                .order_by(Terminal.id).limit(3)))
        t = terms[0]
        fleet.provision(db, admin, [x.id for x in terms] + [tt.id])  # broadcasts need pairs
        # A screen plan, broadcasts (one cancelled) and a template.
        schedules.create_screen_plan(db, admin, name="夜间关屏", screen_on=False,
                                     brightness=0,
                                     recurrence=schedules.Recurrence(windows=[("23:00",
                                                                               "06:00")]),
                                     targets=[schedules.TargetIn("community", donghe.id)],
                                     community_id=donghe.id)
        broadcasts.create_template(db, admin, "台风红色预警", approved.id, donghe.id)
        live_bc = broadcasts.send(db, admin, store, broadcasts.BroadcastIn(
            mode="ticker", targets=[schedules.TargetIn("terminal", terms[1].id)],
            reason="台风临近", text="台风红色预警，请勿外出。", community_id=donghe.id), font)
        gone_bc = broadcasts.send(db, admin, store, broadcasts.BroadcastIn(
            mode="full", targets=[schedules.TargetIn("terminal", terms[2].id)],
            reason="演练", text="这是一次演练。", community_id=donghe.id), font)
        tx_bc = broadcasts.send(db, tx_admin, store, broadcasts.BroadcastIn(
            mode="ticker", targets=[schedules.TargetIn("terminal", tt.id)],
            reason="义诊提醒", text="今天上午广场义诊。", community_id=tianxin.id), font)
        db.flush()
        broadcasts.cancel(db, admin, gone_bc.id)
        warnings = _warnings(donghe, terms[1], live_bc)

        # The terminal heard from, with a screenshot, an open and a closed alert.
        now = datetime.now(UTC)
        db.add(TerminalState(terminal_id=t.id, online=False, last_seen_at=now - timedelta(
            hours=1), playing_content_id=approved.id, playing_since=now - timedelta(hours=2),
            screen_on=True, brightness=80, cache_ready=True, clock_offset_s=0.2,
            manifest_version=t.manifest_version, player_version="1.0", health="down",
            health_since=now - timedelta(minutes=50)))
        db.add(Alert(terminal_id=t.id, kind="down", reason="silent",
                     detail={"since": protocol.iso(now - timedelta(hours=1))},
                     opened_at=now - timedelta(minutes=50)))
        db.add(Alert(terminal_id=terms[1].id, kind="recovered", reason="healthy",
                     detail={"after": "down", "minutes": 12},
                     opened_at=now - timedelta(hours=3), closed_at=now - timedelta(hours=3)))
        db.add(Command(terminal_id=t.id, kind="screenshot", args={}, ok=True,
                       answered_at=now, result={"png_base64": base64.b64encode(
                           _png(2, 96, 48)).decode(), "width": 96, "height": 48},
                       created_by=admin.id))
        # Plays for the report's day, through the real ingest.
        for term, item, seconds in ((t, approved, 5400), (terms[1], video, 1800)):
            start = datetime(2026, 11, 20, 9, tzinfo=SH)
            recs = [protocol.play_record(content_id=item.id, schedule_id=None,
                                         sha256=item.blob_sha256, start=x, end=y)
                    for x, y in protocol.split_at_hours(start, start + timedelta(
                        seconds=seconds))]
            plays.ingest(db, term, recs, now=datetime(2026, 11, 29, tzinfo=UTC))
        # An escalated-review period in force (its banner on the review and broadcast
        # pages) and screening words (made last: the period would hold the broadcasts).
        today = datetime.now(SH).date()
        period = EscalationPeriod(street_id=donghe.street_id, starts_on=today,
                                  ends_on=today + timedelta(days=6), reason="重大活动保障期")
        db.add_all([period, ScreeningWord(street_id=donghe.street_id, word="诈骗",
                                          action="block"),
                    ScreeningWord(street_id=donghe.street_id, word="返利", action="flag")])
        db.commit()
        # A receipt whose "played" does not apply (a screen plan's), beside the world's own.
        schedules.create_screen_plan(db, admin, name="节能亮度", screen_on=True, brightness=60,
                                     recurrence=schedules.Recurrence(),
                                     targets=[schedules.TargetIn("community", donghe.id)],
                                     community_id=donghe.id)
        db.commit()
        receipts = list(db.scalars(select(Receipt.id).where(Receipt.community_id == donghe.id)
                                   .order_by(Receipt.id.desc())))

        out["东和"] = {
            "building": t.building_id, "terminal": t.id,
            "broadcasts": [live_bc.id, gone_bc.id],
            "items": [approved.id, video.id, image.id, draft.id, waiting.id, rejected.id,
                      archived.id, street_wide.id],
            "editable": [draft.id, image.id], "playlist": playlist.id,
            "schedule": schedule.id, "layout": layout.id, "user": db.scalar(select(User.id).where(
                User.username == "donghe_editor")), "warnings": warnings,
            "period": period.id, "receipts": receipts, "mandate": mandate.id}
        out["田心"] = {
            "building": tb.id, "terminal": tt.id, "broadcasts": [tx_bc.id],
            "items": [tx_notice.id], "editable": [tx_notice.id], "playlist": tx_list.id,
            "schedule": tx_sched.id, "layout": None, "user": db.scalar(select(User.id).where(
                User.username == "tianxin_editor")), "warnings": [],
            "period": period.id, "receipts": [], "mandate": tx_mandate.id}
        db.remove()
    app.extensions["signage_engine"].dispose()
    return out


def _warnings(donghe: Community, t: Terminal, bc) -> list[int]:
    """A warning sent as `bc` to `t` and one awaiting approval (the demo's source)."""
    src = db.scalar(select(WarningSource).where(WarningSource.kind == "webhook"))
    now = datetime.now(UTC)
    why = {"by": "geocode", "code": "440308", "unit": "community", "name": donghe.name,
           "area": "盐田区"}
    out = []
    for i, (state, level, b) in enumerate((("sent", "orange", bc.id), ("pending", "yellow", None))):
        m = WarningMessage(
            street_id=donghe.street_id, source_id=src.id, received_via="webhook",
            raw_xml="<alert/>", identifier=f"crawl-{i}", sender="深圳市气象台", sent=now,
            status="Actual", msg_type="Alert", event="typhoon", event_text="台风", level=level,
            severity="Severe", urgency="Immediate", certainty="Likely",
            headline="台风预警信号", area_desc="盐田区", state=state, broadcast_id=b,
            instruction="关好门窗。", approve_deadline=now + timedelta(minutes=10) if b is None else None,
            matched=[{"terminal_id": t.id, "building_id": t.building_id,
                      "community_id": donghe.id, "why": why}])
        db.add(m)
        db.flush()
        out.append(m.id)
    return out


# --- the crawl ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    role: Role
    username: str
    password: str
    community: str  # whose objects fill the routes' parameters


CRAWLERS = {
    "street_admin": Account(Role.street_admin, "admin", ADMIN_PASSWORD, "东和"),
    "community_admin": Account(Role.community_admin, "donghe_admin", DEMO_PASSWORD, "东和"),
    "reviewer": Account(Role.reviewer, "donghe_reviewer", DEMO_PASSWORD, "东和"),
    "editor": Account(Role.editor, "donghe_editor", DEMO_PASSWORD, "东和"),
    "viewer": Account(Role.viewer, "donghe_viewer", DEMO_PASSWORD, "东和"),
}

# What a person reads on the page: its text, the title, and the words in attributes a
# browser shows (tooltips, placeholders, accessible names, button captions, options).
SEEN_TEXT_JS = """() => {
  const parts = [document.title, document.body.innerText];
  for (const el of document.querySelectorAll('[placeholder],[title],[aria-label],[alt]'))
    for (const a of ['placeholder', 'title', 'aria-label', 'alt'])
      if (el.getAttribute(a)) parts.push(el.getAttribute(a));
  for (const el of document.querySelectorAll('input[type=submit],input[type=button],option'))
    parts.push(el.value && el.tagName === 'INPUT' ? el.value : el.textContent);
  return parts.join('\\n');
}"""
# As the session's browser (conftest.py).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# socket.io long-polls stay open by design; the crawl does not wait for them.
_LONG_LIVED = "/socket.io/"
ICON = "/favicon.ico"
ICON_FILE = "/static/icon.svg"  # what base.html declares
SETTLE_S = 3.0  # how long fetches started by the page's scripts may take to answer


class Tab:
    """One tab of a signed-in context that opens page after page and says, for each, what
    went wrong: console errors, uncaught errors, failed requests, answers of 400 or more,
    raw values. One tab, not one per page: a new tab costs a renderer process."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url
        self.problems: list[str] = []
        self.pending: set = set()
        self.url = ""  # the page being checked
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"uncaught error: {e}"))
        page.on("request", self._request)
        page.on("requestfinished", lambda r: self.pending.discard(r))
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: self.problems.append(
            f"HTTP {r.status}: {r.request.method} {r.url}") if r.status >= 400 else None)

    def _console(self, m: ConsoleMessage) -> None:
        # The browser asks for /favicon.ico on its own, once, whenever it gets round to
        # it: checked once and deterministically instead (test_every_page_as[signed_out]).
        if m.type == "error" and not m.location.get("url", "").endswith(ICON):
            self.problems.append(f"console error: {m.text} (at {m.location.get('url')})")

    def _request(self, r: Request) -> None:
        if _LONG_LIVED not in r.url:
            self.pending.add(r)

    def _failed(self, r: Request) -> None:
        self.pending.discard(r)
        # Leaving a page aborts what it still had open (a poll, socket.io): not a failure
        # of either page. Its Referer says which page asked.
        referer = r.headers.get("referer")
        if referer and referer != self.url and "ERR_ABORTED" in (r.failure or ""):
            return
        # The icon is fetched whenever the browser gets round to it, so the next
        # navigation may abort it; that it loads is checked once (_signed_out).
        if r.url.endswith(ICON_FILE) and "ERR_ABORTED" in (r.failure or ""):
            return
        self.problems.append(f"request failed: {r.method} {r.url} ({r.failure})")

    async def visit(self, path: str, ends_at: str | None = None) -> list[str]:
        """Open `path`; what is wrong with it, each line naming the page. `ends_at`: the
        path the visit must end at (where a redirect goes), if not `path`."""
        self.problems, self.pending = [], set()
        page = self.page
        self.url = self.base_url + path
        await page.goto(path, wait_until="load")
        # Fetches a script started right after load (a first poll, a chart's data) count
        # as the page's own; wait for them briefly, not for the network to fall silent.
        deadline = time.monotonic() + SETTLE_S
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not page.url.split("?")[0].endswith((ends_at or path).split("?")[0]):
            self.problems.append(f"ended at {page.url}")
        raw = raw_values(await page.evaluate(SEEN_TEXT_JS))
        if raw:
            self.problems.append(f"raw values shown: {sorted(set(raw))}")
        return [f"{path}: {p}" for p in self.problems]


def urls_for(world: dict, account: Account) -> tuple[list[str], list[str]]:
    """(pages the account may open, pages it must be refused). The street admin, who sees
    everything, opens every variant (each kind and state of content, a cancelled
    broadcast...); the other roles one of each page, to keep the module quick."""
    allowed, denied = [], []
    for endpoint, urls in page_urls(world, account.community).items():
        if endpoint == "auth.login":
            continue
        if account.role != Role.street_admin:
            urls = urls[:1]
        refused = account.role in DENIED.get(endpoint, (set(), ""))[0]
        (denied if refused else allowed).extend(urls)
    return allowed, denied


async def _as(browser: Browser, base_url: str, account: Account, urls: list[str],
              denied: list[str]) -> list[str]:
    """Sign in as `account` in a fresh context, open `urls` one after another, and ask for
    the `denied` ones over plain HTTP with the same session: each must answer 403."""
    context = await browser.new_context(base_url=base_url, locale="zh-CN",
                                        viewport={"width": 1440, "height": 900})
    try:
        page = await context.new_page()
        await page.goto("/login")
        await page.fill("#username", account.username)
        await page.fill("#password", account.password)
        await page.click("#login-submit")
        await page.wait_for_url("**/")
        wrong = [f"{u}: HTTP {status} where the role should get 403" for u in denied
                 if (status := (await context.request.get(u, max_redirects=0)).status) != 403]
        tab = Tab(page, base_url)
        for url in urls:
            wrong += await tab.visit(url)
        return wrong
    finally:
        await context.close()


async def _signed_out(browser: Browser, base_url: str) -> list[str]:
    """The login page, straight and as where a signed-out visitor is sent."""
    context = await browser.new_context(base_url=base_url, locale="zh-CN",
                                        viewport={"width": 1440, "height": 900})
    try:
        tab = Tab(await context.new_page(), base_url)
        wrong = await tab.visit("/login") + await tab.visit("/content/", ends_at="/login")
        # A page that declares no icon makes every browser ask for /favicon.ico and log a
        # 404 in the console when there is none; a declared icon must load.
        href = await tab.page.evaluate(
            "document.querySelector('link[rel~=icon]')?.getAttribute('href') ?? null")
        status = (await tab.page.request.get(href or ICON)).status
        if status >= 400:
            wrong.append(f"/login: its icon {href or ICON} answers {status}")
        return wrong
    finally:
        await context.close()


def crawl_all(base_url: str, jobs: dict[str, tuple[Account, list[str], list[str]]]
              ) -> dict[str, list]:
    """Every account's crawl at the same time (one browser, a context each): the browser
    renders one page while the server builds another, so the module takes about half as
    long as one crawl after another. Its own thread: the session's sync Playwright owns
    this one's event loop."""
    async def main() -> dict[str, list]:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                               args=CHROMIUM_ARGS)
            try:
                names = [*jobs, "signed_out"]
                found = await asyncio.gather(
                    *(_as(browser, base_url, *job) for job in jobs.values()),
                    _signed_out(browser, base_url), return_exceptions=True)
                return dict(zip(names, found, strict=True))
            finally:
                await browser.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.fixture(scope="module")
def crawled(server, world) -> dict[str, list]:
    """Each account's problems, or the exception its crawl raised."""
    return crawl_all(server.url, {who: (account, *urls_for(world, account))
                                  for who, account in CRAWLERS.items()})


@pytest.mark.parametrize("who", [*CRAWLERS, "signed_out"])
def test_every_page_as(who, crawled, server) -> None:
    wrong = crawled[who]
    if isinstance(wrong, BaseException):
        raise wrong
    assert not wrong, f"{who}:\n" + "\n".join(wrong) + server_errors(server)


def server_errors(server) -> str:
    """The server's last tracebacks, so a 500 in the report says where it came from."""
    log = server.log.read_text(errors="replace")
    tracebacks = log.split("Traceback (most recent call last):")[1:]
    return "".join("\n--- server traceback ---" + t[-1500:] for t in tracebacks[-3:])

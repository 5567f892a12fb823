"""The report page as staff get it: GET /reports/?from=…&to=…&by=<grouping> through the
real server (gunicorn, one gevent-websocket worker, `server/gunicorn_conf.py`, as `make run`
starts it), signed in through the real login form, on SQLite and on PostgreSQL.

What is timed: the whole request as a browser makes it, from the client's send to the last
byte of the HTML: the session cookie, `reporting.parse`, `reports.page` (the grouped rows,
the headline, planned against played by content and by terminal with uptime and the
shortfall's reasons, the filter lists; wherever the view runs it) and the template with
its chart data. Every grouping of `reports.GROUPS`, in rounds (one request of each
grouping per round, so a drift of the shared machine's load falls on all of them alike):
2 warm-up rounds, then 20 timed ones; p50 and p95 per grouping. Timed rounds stop early
once BUDGET_S went into them and MIN_TIMED were done (`n` in each figure says how many):
a page of seconds has missed the goal whatever its p95 of 20 would be, and 20 rounds of
it would take `make bench` far past a quarter of an hour. `--budget 0`: never stop early.

Baseline: GET /healthz on the same server, one after every timed page request (the fixed
cost of an HTTP round trip through gunicorn and Flask, with one `SELECT 1`); its p50 and
p95 over all of them. Goal: p95 ≤ 300 ms.

Data, generated set-based in the database before the server starts on it (SQLite and
PostgreSQL at once: nothing is timed meanwhile):
- 365d_76: a year, the 365 local days (Asia/Shanghai) ending today, 76 terminals in 东和;
- 30d_1000: 30 days ending today, 1,000 terminals in four communities.
One street, one building ("1栋", …) per terminal, 36 topics with one approved item each,
a street admin with a real password hash. Terminals were created at the period's first
local midnight and are planned to the end of tomorrow (the scheduler's horizon), so the
server's planned-time job has nothing to do. Played: each terminal plays 8 of the 36
items in every hour (450 s each: one hour of play per terminal-hour) up to and including
the current hour, as `play_hour`, with `play_day`, `play_month`, `play_hour_community`
and the per-terminal and per-item slices derived from it by INSERT … SELECT … GROUP BY.
Planned: the same 8 items × 480 s in every hour through the end of tomorrow
(`planned_hour`); `planned_day`, `planned_month` and their slices for the closed hours
(all but the last one or two, as planned.close_hours leaves them) and the `closed_hours`
mark. Uptime: every terminal-hour played (3,500 s online, 3,450 s lit, 20 s with a file
missing) in `uptime_hour`, `uptime_day` and `uptime_month` for the closed hours. Secondary indexes are
dropped during the load and built afterwards, then ANALYZE.

Correctness, once per database and data set: the page's headline hours (`#head-hours`,
grouped by topic) equal what was generated (terminal-hours played, read back from
play_hour), and every response must be a 200 with `#report-table`, no error message and
a non-empty table.

`--quick` (a smoke run, 5 timed rounds): 30 days × 76 terminals and 3 days × 200.
`--explain` adds, per data set and database, one in-process `reports.page` per grouping
with each of its SQL statements timed again on its own (where the time goes).
PostgreSQL: the database `signage_bench_page` is dropped and created
(SIGNAGE_BENCH_PAGE_PG_URL to change it); skipped with a message if unreachable.

Run alone: `.venv/bin/python -m bench.bench_report_page [--quick] [--explain]
[--only sqlite|postgresql] [--sets 365d_76,30d_1000] [--rounds N] [--budget S]`
(JSON on stdout, progress on stderr).
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from bench.bench_hub import _gunicorn
from server.services import planned

PG_URL = os.environ.get("SIGNAGE_BENCH_PAGE_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/signage_bench_page")
TZ = ZoneInfo("Asia/Shanghai")  # UTC+8 all year: the SQL below adds 8 hours
HOUR = timedelta(hours=1)
USERNAME, PASSWORD = "bench-admin", "bench-page-password-1"
TOPICS = 36  # one approved item per topic
PER_HOUR = 8  # items each terminal plays (and is planned) in an hour
PLAYED_S, PLANNED_S = 450.0, 480.0  # per item-hour: 8 x 450 s = one hour a terminal-hour
UPTIME = (3500.0, 3450.0, 20.0)  # online, screen on, file missing, per terminal-hour
WARMUP, TIMED = 2, 20  # rounds (one request of every grouping each)
BUDGET_S, MIN_TIMED = 120.0, 5  # see the module docstring
QUICK_TIMED = 5  # --quick is a smoke run
GOAL_MS = 300.0
COMMUNITIES = ("东和", "中英街", "沙头角", "田心")


@dataclass(frozen=True)
class DataSet:
    name: str
    days: int
    terminals: int
    communities: int


FULL = (DataSet("365d_76", 365, 76, 1), DataSet("30d_1000", 30, 1000, 4))
QUICK = (DataSet("30d_76", 30, 76, 1), DataSet("3d_200", 3, 200, 4))


def _log(msg: str) -> None:
    print(f"   {msg}", file=sys.stderr, flush=True)


def local_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=TZ).astimezone(UTC)


@dataclass(frozen=True)
class Clock:
    """The period and the hours to fill, fixed once per data set."""

    first: date  # the period's first local day
    today: date  # its last
    start: datetime  # local midnight of `first`, UTC
    played_until: datetime  # exclusive: the current hour is played
    planned_until: datetime  # exclusive: the end of tomorrow, local
    closed_until: datetime  # the first hour not closed (planned.close_hours's mark)

    @classmethod
    def of(cls, ds: DataSet, now: datetime) -> Clock:
        today = now.astimezone(TZ).date()
        first = today - timedelta(days=ds.days - 1)
        return cls(first, today, local_midnight(first),
                   now.replace(minute=0, second=0, microsecond=0) + HOUR,
                   local_midnight(today + timedelta(days=2)),
                   (now - planned.CLOSE_AFTER).replace(minute=0, second=0, microsecond=0))

    def hours(self, until: datetime) -> int:
        return round((until - self.start) / HOUR)


# --- the tree --------------------------------------------------------------------------


def _seed(engine, ds: DataSet, clock: Clock) -> None:
    """Street, communities, one building and terminal each, topics, approved items and
    the street admin who logs in."""
    import hashlib

    from server.models import (
        Blob,
        Building,
        Community,
        ContentItem,
        ContentKind,
        ContentStatus,
        Role,
        Street,
        Terminal,
        Topic,
        User,
    )
    from server.services.accounts import hash_password

    with Session(engine) as s:
        street = Street(name="沙头角街道")
        s.add(street)
        s.flush()
        communities = [Community(street_id=street.id, name=n)
                       for n in COMMUNITIES[:ds.communities]]
        s.add_all(communities)
        s.flush()
        user = User(username=USERNAME, password_hash=hash_password(PASSWORD),
                    role=Role.street_admin, street_id=street.id)
        s.add(user)
        per = -(-ds.terminals // ds.communities)
        buildings = [Building(community_id=communities[i // per].id, name=f"{i % per + 1}栋")
                     for i in range(ds.terminals)]
        s.add_all(buildings)
        s.flush()
        s.add_all(Terminal(building_id=b.id, name=f"{b.name}-LED", location="一楼大堂",
                           width=384, height=192, created_at=clock.start,
                           planned_until=clock.planned_until, replan_from=None)
                  for b in buildings)
        topics = [Topic(street_id=street.id, name=f"主题{i + 1}") for i in range(TOPICS)]
        s.add_all(topics)
        s.flush()
        for i, topic in enumerate(topics):
            sha = hashlib.sha256(f"bench-page-{i}".encode()).hexdigest()
            s.add(Blob(sha256=sha, size=1, mime="image/png"))
            s.add(ContentItem(street_id=street.id, community_id=None, kind=ContentKind.image,
                              status=ContentStatus.approved, title=f"通知{i + 1}",
                              topic_id=topic.id, blob_sha256=sha, created_by=user.id))
        s.commit()


# --- generation: set-based, in the database --------------------------------------------

# Terminal number i plays (and is planned) items (5i + 11h + k) mod 36, k < 8, in hour h:
# rotating, so every item plays on every terminal every day.
_PICK = f"bc.idx = (bt.idx * 5 + h.n * 11 + k.n) % {TOPICS}"


def _hours_from(dialect: str, items: bool) -> str:
    """FROM clause: every terminal × hour n < :hours from :start (× 8 items when
    `items`); the hour's instant is `h.hour`."""
    if dialect == "postgresql":
        sql = ("(SELECT n, CAST(:start AS timestamptz) + n * interval '1 hour' AS hour "
               "FROM generate_series(0, :hours - 1) AS g(n)) AS h CROSS JOIN bt")
        return sql + (f" CROSS JOIN generate_series(0, {PER_HOUR - 1}) AS k(n) JOIN bc ON "
                      f"{_PICK}" if items else "")
    # SQLite: CROSS JOIN keeps this order (terminal by terminal: primary-key order)
    sql = "bt CROSS JOIN h"
    return sql + (f" CROSS JOIN k JOIN bc ON {_PICK}" if items else "")


def _with(dialect: str) -> str:
    if dialect == "postgresql":
        return ""
    return ("WITH RECURSIVE h(n, hour) AS (SELECT 0, :start UNION ALL "
            "SELECT n + 1, strftime('%Y-%m-%d %H:00:00.000000', :start, '+' || (n + 1) || "
            "' hours') FROM h WHERE n + 1 < :hours), "
            f"k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < {PER_HOUR}) ")


def _hour_statements(dialect: str) -> list[tuple[str, str, str]]:
    """(name, SQL, which hours: played or planned)."""
    w = _with(dialect)
    return [
        ("play_hour", w + "INSERT INTO play_hour (terminal_id, content_id, hour, topic_id, "
         "building_id, community_id, seconds, plays) SELECT bt.terminal_id, bc.content_id, "
         f"h.hour, bc.topic_id, bt.building_id, bt.community_id, {PLAYED_S}, 45 "
         f"FROM {_hours_from(dialect, True)}", "played"),
        ("planned_hour", w + "INSERT INTO planned_hour (terminal_id, hour, content_id, "
         "building_id, topic_id, community_id, seconds) SELECT bt.terminal_id, h.hour, "
         f"bc.content_id, bt.building_id, bc.topic_id, bt.community_id, {PLANNED_S} "
         f"FROM {_hours_from(dialect, True)}", "planned"),
        ("uptime_hour", w + "INSERT INTO uptime_hour (terminal_id, hour, online_seconds, "
         "screen_on_seconds, cache_missing_seconds) SELECT bt.terminal_id, h.hour, "
         f"{UPTIME[0]}, {UPTIME[1]}, {UPTIME[2]} FROM {_hours_from(dialect, False)}",
         "played"),
    ]


def _rollup_statements(dialect: str) -> list[tuple[str, str]]:
    """The coarser rollups from the hours, as ingest and the day closing fill them:
    played for every day, planned and uptime for the closed hours (before :closed)."""
    if dialect == "postgresql":
        day = "(hour AT TIME ZONE 'Asia/Shanghai')::date"
        month = "date_trunc('month', day)::date"
    else:
        day, month = "date(hour, '+8 hours')", "strftime('%Y-%m-01', day)"
    key = "terminal_id, content_id, building_id"
    ride = "max(topic_id), max(community_id)"
    up = "online_seconds, screen_on_seconds, cache_missing_seconds"
    up_sums = ("sum(online_seconds), sum(screen_on_seconds), "
               "sum(cache_missing_seconds)")
    return [
        ("play_day", f"INSERT INTO play_day (day, {key}, topic_id, community_id, seconds, "
         f"plays) SELECT {day}, {key}, {ride}, sum(seconds), sum(plays) FROM play_hour "
         f"GROUP BY {day}, {key}"),
        ("play_month", f"INSERT INTO play_month (month, {key}, topic_id, community_id, "
         f"seconds, plays) SELECT month, {key}, {ride}, sum(seconds), sum(plays) FROM "
         f"(SELECT {month} AS month, * FROM play_day) AS d GROUP BY month, {key}"),
        ("play_hour_community", "INSERT INTO play_hour_community (hour, community_id, "
         "seconds, plays) SELECT hour, community_id, sum(seconds), sum(plays) FROM play_hour "
         "GROUP BY hour, community_id"),
        ("planned_day", f"INSERT INTO planned_day (day, {key}, topic_id, community_id, "
         f"seconds) SELECT {day}, {key}, {ride}, sum(seconds) FROM planned_hour "
         f"WHERE hour < :closed GROUP BY {day}, {key}"),
        ("planned_month", f"INSERT INTO planned_month (month, {key}, topic_id, community_id, "
         f"seconds) SELECT month, {key}, {ride}, sum(seconds) FROM "
         f"(SELECT {month} AS month, * FROM planned_day) AS d GROUP BY month, {key}"),
        ("uptime_day", f"INSERT INTO uptime_day (day, terminal_id, {up}) SELECT {day}, "
         f"terminal_id, {up_sums} FROM uptime_hour WHERE hour < :closed "
         f"GROUP BY {day}, terminal_id"),
        ("uptime_month", f"INSERT INTO uptime_month (month, terminal_id, {up}) SELECT month, "
         f"terminal_id, {up_sums} FROM (SELECT {month} AS month, * FROM uptime_day) AS d "
         "GROUP BY month, terminal_id"),
        ("closed_hours", "INSERT INTO closed_hours (name, before) VALUES ('rollups', :closed)"),
    ] + [(f"{kind}_{side}_{grain}", _slice(kind, side, grain))
         for kind in ("play", "planned") for side in ("terminal", "content")
         for grain in ("day", "month")]


def _slice(kind: str, side: str, grain: str) -> str:
    """The per-terminal and per-item slices from terminal x item, as ingest (played) and
    the day closing (planned) keep them."""
    played = kind == "play"
    sums = "sum(seconds)" + (", sum(plays)" if played else "")
    cols = "seconds" + (", plays" if played else "")
    if side == "terminal":
        keys, ride = "terminal_id, building_id", "max(community_id)"
        cols = f"{keys}, community_id, {cols}" + (", broadcast_seconds" if played else "")
        sums = f"{keys}, {ride}, {sums}" + (", 0" if played else "")
    else:
        keys, ride = "community_id, content_id", "max(topic_id)"
        cols, sums = f"{keys}, topic_id, {cols}", f"{keys}, {ride}, {sums}"
    return (f"INSERT INTO {kind}_{side}_{grain} ({grain}, {cols}) SELECT {grain}, {sums} "
            f"FROM {kind}_{grain} GROUP BY {grain}, {keys}")


TABLES = ("play_hour", "play_day", "play_month", "play_hour_community", "planned_hour",
          "planned_day", "planned_month", "uptime_hour", "uptime_day", "uptime_month",
          "play_terminal_day", "play_content_day", "planned_terminal_day",
          "planned_content_day")


def _generate(engine, clock: Clock) -> dict[str, int]:
    from server.models import (
        PlannedDay,
        PlannedHour,
        PlannedMonth,
        PlayDay,
        PlayHour,
        PlayMonth,
    )

    dialect = engine.dialect.name
    pg = dialect == "postgresql"

    def instant(t: datetime):
        return t if pg else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.000000")

    with engine.begin() as conn:
        if pg:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text("SET LOCAL work_mem = '256MB'"))
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        else:  # terminal by terminal, the primary keys' pages stay in a big enough cache
            conn.execute(text("PRAGMA cache_size = -524288"))
        conn.execute(text("CREATE TEMP TABLE bt (idx integer PRIMARY KEY, terminal_id integer,"
                          " building_id integer, community_id integer)"))
        conn.execute(text("CREATE TEMP TABLE bc (idx integer PRIMARY KEY, content_id integer, "
                          "topic_id integer)"))
        conn.execute(text(
            "INSERT INTO bt SELECT row_number() OVER (ORDER BY t.id) - 1, t.id, b.id, "
            "b.community_id FROM terminal t JOIN building b ON b.id = t.building_id"))
        conn.execute(text("INSERT INTO bc SELECT row_number() OVER (ORDER BY id) - 1, id, "
                          "topic_id FROM content_item"))
        # Bulk load: secondary indexes are built once afterwards, not row by row.
        indexes = [i for m in (PlayHour, PlayDay, PlayMonth, PlannedHour, PlannedDay,
                               PlannedMonth) for i in m.__table__.indexes]
        for index in indexes:
            index.drop(conn)
        hours = {"played": clock.hours(clock.played_until),
                 "planned": clock.hours(clock.planned_until)}
        steps = [(name, stmt, {"start": instant(clock.start), "hours": hours[which]})
                 for name, stmt, which in _hour_statements(dialect)]
        steps += [(name, stmt, {"closed": instant(clock.closed_until)})
                  for name, stmt in _rollup_statements(dialect)]
        for name, stmt, params in steps:
            t0 = time.perf_counter()
            used = {k: v for k, v in params.items() if f":{k}" in stmt}
            conn.execute(text(stmt), used)
            _log(f"{dialect} {name}: {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        for index in indexes:
            index.create(conn)
        _log(f"{dialect} indexes: {time.perf_counter() - t0:.1f} s")
        conn.execute(text("DROP TABLE bt"))
        conn.execute(text("DROP TABLE bc"))
    t0 = time.perf_counter()
    with engine.connect() as conn:
        if pg:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("PRAGMA analysis_limit = 1000"))  # sampled, as bench_reports
            conn.execute(text("ANALYZE"))
            conn.commit()
        _log(f"{dialect} analyze: {time.perf_counter() - t0:.1f} s")
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _played_seconds(engine, clock: Clock) -> float:
    """What was generated for the period, read back: the headline must say this."""
    start = (clock.start if engine.dialect.name == "postgresql"
             else clock.start.strftime("%Y-%m-%d %H:%M:%S.000000"))
    with engine.connect() as conn:
        return float(conn.execute(text("SELECT sum(seconds) FROM play_hour WHERE hour >= :s"),
                                  {"s": start}).scalar_one())


# --- the server and the client ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _login(url: str) -> requests.Session:
    """Signed in through the real login form (CSRF token, session cookie)."""
    s = requests.Session()
    page = s.get(url + "/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if not token:
        raise RuntimeError("the login page has no CSRF token")
    r = s.post(url + "/login", data={"username": USERNAME, "password": PASSWORD,
                                     "csrf_token": token.group(1)},
               timeout=30, allow_redirects=False)
    if r.status_code != 302 or r.headers.get("Location", "").endswith("/login"):
        raise RuntimeError(f"login refused: {r.status_code} {r.text[:300]}")
    return s


HEAD_HOURS = re.compile(r'<h3 id="head-hours">([^<]*)</h3>')


def _check(r: requests.Response, by: str) -> None:
    """A page that answers is a report: 200, its table, no error, not empty."""
    body = r.text
    if r.status_code != 200:
        raise RuntimeError(f"by={by}: HTTP {r.status_code}: {body[:300]}")
    if 'id="report-table"' not in body:
        raise RuntimeError(f"by={by}: no #report-table in the page: {body[:300]}")
    if 'class="flash error"' in body:
        shown = body.split('class="flash error"')[1][:300]
        raise RuntimeError(f"by={by}: the page shows an error: {shown}")
    if '<td colspan="3">' in body:
        raise RuntimeError(f"by={by}: the report table is empty")


def _pct(xs: list[float], p: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


@dataclass
class Timings:
    pages: dict[str, list[float]]  # ms per grouping
    healthz: list[float]  # ms, one after every timed page
    head_hours: str  # as the page showed it (topic grouping)


def _drive(url: str, clock: Clock, expected_hours: str, timed: int, budget_s: float
           ) -> Timings:
    from server.services.reports import GROUPS

    client = _login(url)
    pages: dict[str, list[float]] = defaultdict(list)
    healthz: list[float] = []
    shown = ""
    began = None
    for round_ in range(WARMUP + timed):
        done = round_ - WARMUP
        if (budget_s and began is not None and done >= MIN_TIMED
                and time.monotonic() - began > budget_s):
            _log(f"budget of {budget_s:.0f} s spent: {done} timed rounds")
            break
        if round_ == WARMUP:
            began = time.monotonic()
        for by in GROUPS:
            query = f"/reports/?from={clock.first}&to={clock.today}&by={by}"
            t0 = time.perf_counter()
            r = client.get(url + query, timeout=120, allow_redirects=False)
            ms = (time.perf_counter() - t0) * 1000
            _check(r, by)
            if round_ == 0 and by == "topic":
                shown = HEAD_HOURS.search(r.text).group(1)
                if shown != expected_hours:
                    raise RuntimeError(f"headline hours {shown!r}, generated {expected_hours!r}")
            if round_ < WARMUP:
                continue
            pages[by].append(ms)
            t0 = time.perf_counter()
            h = client.get(url + "/healthz", timeout=30)
            healthz.append((time.perf_counter() - t0) * 1000)
            if h.status_code != 200:
                raise RuntimeError(f"/healthz: {h.status_code} {h.text[:200]}")
        if round_ >= WARMUP and done % 5 == 4:
            _log(f"round {done + 1}/{timed}: " + ", ".join(
                f"{by} {statistics.median(pages[by]):.0f}" for by in GROUPS) + " ms (median)")
    return Timings(dict(pages), healthz, shown)


# --- where the time goes (--explain) ----------------------------------------------------


def _explain(url: str, data_dir: Path, clock: Clock) -> None:
    """Per grouping, one in-process reports.page (after a warm one), timed; then each SQL
    statement it sent run again on its own, execute and fetch (SQLite computes much of a
    GROUP BY while rows are fetched, so timing the execute alone would hide it): SQL against
    the rest (Python). The plan of the slowest statement is printed too."""
    os.environ.setdefault("SIGNAGE_ASYNC_MODE", "threading")
    from sqlalchemy import select

    from server import create_app
    from server.db import db
    from server.models import User
    from server.services import reports
    from server.services.access import Actor

    app = create_app({"SIGNAGE_DATABASE_URL": url, "SIGNAGE_DATA_DIR": str(data_dir),
                      "SIGNAGE_SECRET_KEY": "bench", "SIGNAGE_SCHEDULER": "off"})
    engine = app.extensions["signage_engine"]
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, params, context, many):
        seen.append((statement, params))

    pg = engine.dialect.name == "postgresql"
    p = reports.Period(clock.first, clock.today)
    with app.app_context():
        actor = Actor.of(db.scalar(select(User).where(User.username == USERNAME)))
        for by in reports.GROUPS:
            reports.page(db, actor, p, by, reports.Filters())
            db.remove()
            seen.clear()
            event.listen(engine, "before_cursor_execute", record)
            t0 = time.perf_counter()
            reports.page(db, actor, p, by, reports.Filters())
            total = (time.perf_counter() - t0) * 1000
            event.remove(engine, "before_cursor_execute", record)
            db.remove()
            timed = []
            with engine.connect() as conn:
                for statement, params in seen:
                    t0 = time.perf_counter()
                    rows = conn.exec_driver_sql(statement, params).fetchall()
                    timed.append(((time.perf_counter() - t0) * 1000, len(rows), statement,
                                  params))
                timed.sort(key=lambda t: t[0], reverse=True)
                sql = sum(t[0] for t in timed)
                _log(f"explain by={by}: reports.page {total:.0f} ms; its {len(timed)} "
                     f"statements alone {sql:.0f} ms (execute + fetch), the rest (Python) "
                     f"{max(0.0, total - sql):.0f} ms; slowest:")
                for ms, n, statement, _ in timed[:5]:
                    _log(f"  {ms:7.1f} ms {n:6d} rows  {' '.join(statement.split())[:200]}")
                _, _, statement, params = timed[0]
                prefix = "EXPLAIN ANALYZE " if pg else "EXPLAIN QUERY PLAN "
                plan = conn.exec_driver_sql(prefix + statement, params).all()
                _log("  plan of the slowest: " + " | ".join(str(r[-1]).strip() for r in plan))
    engine.dispose()


# --- one database, one data set ---------------------------------------------------------


def _reset_pg(url: str) -> bool:
    from sqlalchemy.engine import make_url

    target = make_url(url)
    try:
        admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
        admin.dispose()
        return True
    except Exception as exc:  # no server: say so, measure SQLite only
        _log(f"PostgreSQL not reachable, skipped: {exc}")
        return False


@dataclass
class Generated:
    label: str
    url: str
    tmp: Path
    seconds: float
    counts: dict[str, int]
    expected_hours: str  # what #head-hours must say


def _generate_one(label: str, url: str, tmp: Path, ds: DataSet, clock: Clock) -> Generated:
    """Tree and rollups in an empty, migrated database; the played total read back."""
    t0 = time.perf_counter()
    engine = create_engine(url)
    _seed(engine, ds, clock)
    counts = _generate(engine, clock)
    seconds = time.perf_counter() - t0
    played = _played_seconds(engine, clock)
    engine.dispose()
    terminal_hours = ds.terminals * clock.hours(clock.played_until)
    if played != terminal_hours * PER_HOUR * PLAYED_S:
        raise RuntimeError(f"{label}: generated {played} s, expected {terminal_hours} "
                           "terminal-hours")
    _log(f"{label} {ds.name}: {clock.first} – {clock.today}, generated in {seconds:.1f} s: "
         + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    return Generated(label, url, tmp, seconds, counts, f"{played / 3600:.1f}")


def _measure(g: Generated, ds: DataSet, clock: Clock, timed: int, budget_s: float,
             explain: bool) -> list[dict]:
    env = {**os.environ, "SIGNAGE_DATABASE_URL": g.url, "SIGNAGE_DATA_DIR": str(g.tmp),
           "SIGNAGE_SECRET_KEY": "bench-report-page", "SIGNAGE_ASYNC_MODE": "gevent"}
    env.pop("SIGNAGE_MESSAGE_QUEUE", None)
    log = g.tmp / f"server-{g.label}.log"
    node = _gunicorn("server.wsgi:app", env, _free_port(), log)
    try:
        timings = _drive(node.url, clock, g.expected_hours, timed, budget_s)
    except Exception:
        _log(f"server log ({log}), last lines:\n" + log.read_text()[-3000:])
        raise
    finally:
        node.stop()
    if Clock.of(ds, datetime.now(UTC)).today != clock.today:
        _log("note: the local day changed during the run (the server closed a day)")
    if explain:
        _explain(g.url, g.tmp, clock)

    base50, base95 = _pct(timings.healthz, 50), _pct(timings.healthz, 95)
    goal = f"p95 ≤ {GOAL_MS:.0f} ms"
    figures = []
    for by, ms in timings.pages.items():
        p50, p95 = _pct(ms, 50), _pct(ms, 95)
        name = f"report_page_{g.label}_{ds.name}_{by}"
        figures.append({"name": name + "_p95", "value": round(p95, 1), "unit": "ms",
                        "baseline": round(base95, 1), "ratio": round(p95 / base95, 1),
                        "goal": goal, "met": p95 <= GOAL_MS, "n": len(ms)})
        figures.append({"name": name + "_p50", "value": round(p50, 1), "unit": "ms",
                        "baseline": round(base50, 1), "ratio": round(p50 / base50, 1),
                        "goal": "informational (the goal is on p95)", "n": len(ms)})
    figures.append({"name": f"report_page_{g.label}_{ds.name}_healthz_p95",
                    "value": round(base95, 1), "unit": "ms", "baseline": round(base95, 1),
                    "ratio": 1.0, "goal": "baseline of the p95 figures",
                    "n": len(timings.healthz)})
    figures.append({"name": f"report_page_{g.label}_{ds.name}_generate", "unit": "s",
                    "value": round(g.seconds, 1), "baseline": round(g.seconds, 1),
                    "ratio": 1.0, "goal": "informational", "rows": g.counts,
                    "head_hours": timings.head_hours})
    return figures


def run(quick: bool = False, explain: bool = False, only: str | None = None,
        sets: list[str] | None = None, timed: int | None = None, budget_s: float = BUDGET_S
        ) -> list[dict]:
    from server import migrate

    timed = timed or (QUICK_TIMED if quick else TIMED)
    figures: list[dict] = []
    for ds in QUICK if quick else FULL:
        if sets and ds.name not in sets:
            continue
        clock = Clock.of(ds, datetime.now(UTC))
        with tempfile.TemporaryDirectory(prefix="bench-page-") as tmp:
            targets = []
            if only in (None, "sqlite"):
                (Path(tmp) / "sqlite").mkdir()
                targets.append(("sqlite", f"sqlite:///{tmp}/sqlite/signage.db",
                                Path(tmp) / "sqlite"))
            if only in (None, "postgresql") and _reset_pg(PG_URL):
                (Path(tmp) / "postgresql").mkdir()
                targets.append(("postgresql", PG_URL, Path(tmp) / "postgresql"))
            for _label, url, _ in targets:
                migrate.upgrade(url)  # one at a time: Alembic's context is global
            # Both databases are filled at once (SQLite here, PostgreSQL in its server);
            # nothing is timed meanwhile.
            with ThreadPoolExecutor(len(targets) or 1) as pool:
                jobs = [pool.submit(_generate_one, label, url, path, ds, clock)
                        for label, url, path in targets]
                generated = [j.result() for j in jobs]
            for g in generated:
                figures += _measure(g, ds, clock, timed, budget_s, explain)
    return figures


if __name__ == "__main__":
    args = sys.argv[1:]

    def opt(name: str, default=None):
        return args[args.index(name) + 1] if name in args else default

    print(json.dumps(run(quick="--quick" in args, explain="--explain" in args,
                         only=opt("--only"), sets=opt("--sets", "").split(",") if
                         "--sets" in args else None, timed=int(opt("--rounds", 0)),
                         budget_s=float(opt("--budget", BUDGET_S))),
                     ensure_ascii=False, indent=2))

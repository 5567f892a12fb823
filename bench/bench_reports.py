"""A year of playback for 76 terminals: report queries and ingest rate, on SQLite and
(when reachable) PostgreSQL.

Data: every terminal plays 8 of the 36 items in every hour of the year, so a year is
76 x 8 x 8,760 = 5,326,080 hourly rows, plus the matching rollups (play_day about 1M
rows, play_month about 33k, play_hour_community 8,760). They are generated set-based in
the database (a recursive CTE on SQLite, generate_series on PostgreSQL; the coarser
rollups by INSERT ... SELECT ... GROUP BY from the hours), so generation stays a small
part of `make bench`.

Figures:
- report_<db>_<group>: one report over the whole generated year grouped by topic,
  content, terminal, building, community, day or hour, as a street admin, median of 5
  runs. `_unaligned`: the same over a period that starts and ends mid-month (edge days
  from play_day). `_filtered`: day and hour grouping for one topic (the fine-filter
  paths through play_day and play_hour). Baseline: a bare `SELECT count(*)` over
  play_hour in the same database (what touching every hourly row once costs).
  Goal ≤ 300 ms.
- ingest_<db>: proof-of-play records/s through the real path (protocol.check_plays,
  plays.ingest with validation, de-duplication and same-transaction rollups into four
  tables, one commit per 500-record batch as the hub does) against a raw DBAPI
  executemany of the same rows into play_record, also committed per 500, in the same
  database. `ingest_<db>_vs_core`: the same real figure against SQLAlchemy Core's
  executemany of the same rows (the baseline of the earlier figures). Median of 3
  alternating rounds. Goal ≥ 0.5x, and ≥ 20,000 records/s on SQLite. All of them run
  with the WAL checkpointer a worker runs (server/checkpointer.py).
- ingest_sqlite_commit_p99: the 99th percentile of the real path's commits (ms), against
  a fourth round per round with SQLite checkpointing inside the commit as it does by
  default (every 1,000 pages of log); ingest_sqlite_checkpointer: that round's records/s
  as the baseline of the real path's. Informational: what the checkpointer buys.

The query plans of every statement the reports ran are printed and written to
bench/plans_<db>.txt (EXPLAIN QUERY PLAN / EXPLAIN).

Run alone: `.venv/bin/python -m bench.bench_reports [--quick] [--scale 0.1]`
(scale is the fraction of the year generated; --quick is 0.1).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import create_engine, event, insert, text

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("SIGNAGE_BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/signage_bench")
TERMINALS = 76
CONTENTS = 36  # "36 topics": one item per topic keeps the arithmetic plain
PER_HOUR = 8  # items each terminal plays in an hour
YEAR_START = datetime(2025, 12, 1, tzinfo=UTC) - timedelta(hours=8)  # local midnight
BATCH = 500  # protocol.MAX_BATCH


def _median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _app(url: str, data_dir: Path):
    os.environ.setdefault("SIGNAGE_ASYNC_MODE", "threading")
    from server import create_app, migrate

    migrate.upgrade(url)
    return create_app({"SIGNAGE_DATABASE_URL": url, "SIGNAGE_DATA_DIR": str(data_dir),
                       "SIGNAGE_SECRET_KEY": "bench"})


def _seed_tree(db) -> tuple[list, list]:
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

    street = Street(name="沙头角街道")
    db.add(street)
    db.flush()
    donghe = Community(street_id=street.id, name="东和")
    db.add(donghe)
    db.flush()
    user = User(username="bench", password_hash="x", role=Role.street_admin,
                street_id=street.id)
    db.add(user)
    db.flush()
    terminals = []
    for i in range(TERMINALS):
        b = Building(community_id=donghe.id, name=f"{i + 1}栋")
        db.add(b)
        db.flush()
        t = Terminal(building_id=b.id, name=f"LED-{i + 1}", width=384, height=192)
        db.add(t)
        terminals.append(t)
    contents = []
    for i in range(CONTENTS):
        topic = Topic(street_id=street.id, name=f"主题{i + 1}")
        db.add(topic)
        db.flush()
        sha = hashlib.sha256(str(i).encode()).hexdigest()
        db.add(Blob(sha256=sha, size=1, mime="image/png"))
        c = ContentItem(street_id=street.id, community_id=donghe.id, kind=ContentKind.image,
                        status=ContentStatus.approved, title=f"内容{i + 1}", topic_id=topic.id,
                        blob_sha256=sha, created_by=user.id)
        db.add(c)
        contents.append(c)
    db.commit()
    return terminals, contents


# --- generation: set-based, in the database --------------------------------------------

# Rows go in terminal by terminal (primary key order, roughly). Terminal number i plays items (5i + 11h + k) mod 36, k < 8, in hour h: 8 per hour,
# rotating, so every item plays on every terminal every day.
_PICK = f"bc.idx = (bt.idx * 5 + h.n * 11 + k.n) % {CONTENTS}"
_HOUR_COLS = ("play_hour (terminal_id, content_id, hour, topic_id, building_id, "
              "community_id, seconds, plays)")
_SELECT = ("bt.terminal_id, bc.content_id, {hour}, bc.topic_id, bt.building_id, "
           "bt.community_id, 450.0, 45")
_SQLITE_HOURS = f"""
WITH RECURSIVE h(n, hour) AS (
  SELECT 0, :start UNION ALL
  SELECT n + 1, strftime('%Y-%m-%d %H:00:00.000000', :start, '+' || (n + 1) || ' hours')
  FROM h WHERE n + 1 < :hours),
k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < {PER_HOUR})
INSERT INTO {_HOUR_COLS}
SELECT {_SELECT.format(hour="h.hour")}
FROM bt CROSS JOIN h CROSS JOIN k JOIN bc ON {_PICK}
"""
_PG_HOURS = f"""
INSERT INTO {_HOUR_COLS}
SELECT {_SELECT.format(hour="CAST(:start AS timestamptz) + h.n * interval '1 hour'")}
FROM generate_series(0, :hours - 1) AS h(n) CROSS JOIN bt
CROSS JOIN generate_series(0, {PER_HOUR - 1}) AS k(n) JOIN bc ON {_PICK}
"""


def _roll_up_sql(dialect: str) -> list[str]:
    """The coarser rollups from the hours, as the migration fills them (Asia/Shanghai is
    UTC+8 all year)."""
    if dialect == "postgresql":
        day = "(hour AT TIME ZONE 'Asia/Shanghai')::date"
        month = "date_trunc('month', day)::date"
    else:
        day, month = "date(hour, '+8 hours')", "strftime('%Y-%m-01', day)"
    cols = "terminal_id, content_id, topic_id, building_id, community_id, seconds, plays"
    sums = ("terminal_id, content_id, max(topic_id), max(building_id), max(community_id), "
            "sum(seconds), sum(plays)")
    return [f"INSERT INTO play_day (day, {cols}) SELECT {day}, {sums} FROM play_hour "
            f"GROUP BY {day}, terminal_id, content_id",
            f"INSERT INTO play_month (month, {cols}) SELECT month, terminal_id, content_id, "
            "max(topic_id), max(building_id), max(community_id), sum(seconds), sum(plays) "
            f"FROM (SELECT {month} AS month, * FROM play_day) AS d "
            "GROUP BY month, terminal_id, content_id",
            "INSERT INTO play_hour_community (hour, community_id, seconds, plays) "
            "SELECT hour, community_id, sum(seconds), sum(plays) FROM play_hour "
            "GROUP BY hour, community_id"]


def _generate(engine, terminals, contents, hours: int) -> dict[str, int]:
    from server.models import PlayDay, PlayHour

    dialect = engine.dialect.name
    start = YEAR_START.replace(tzinfo=None) if dialect == "sqlite" else YEAR_START
    with engine.begin() as conn:
        if dialect == "postgresql":
            conn.execute(text("SET LOCAL synchronous_commit = off"))
        else:  # terminal by terminal, the primary key's pages stay in a big enough cache
            conn.execute(text("PRAGMA cache_size = -262144"))
        conn.execute(text("CREATE TEMP TABLE bt (idx integer PRIMARY KEY, terminal_id integer,"
                          " building_id integer, community_id integer)"))
        conn.execute(text("CREATE TEMP TABLE bc (idx integer PRIMARY KEY, content_id integer, "
                          "topic_id integer)"))
        conn.execute(text("INSERT INTO bt VALUES (:i, :t, :b, :c)"),
                     [{"i": i, "t": t.id, "b": t.building_id, "c": t.building.community_id}
                      for i, t in enumerate(terminals)])
        conn.execute(text("INSERT INTO bc VALUES (:i, :c, :t)"),
                     [{"i": i, "c": c.id, "t": c.topic_id} for i, c in enumerate(contents)])
        sql = _PG_HOURS if dialect == "postgresql" else _SQLITE_HOURS
        if dialect == "sqlite":
            start = start.strftime("%Y-%m-%d %H:%M:%S.000000")
        # Bulk load: secondary indexes are built once afterwards, not row by row.
        indexes = [i for m in (PlayHour, PlayDay) for i in m.__table__.indexes]
        for index in indexes:
            index.drop(conn)
        steps = [("hours", text(sql), {"start": start, "hours": hours})]
        steps += [(f"rollup {i}", text(stmt), {}) for i, stmt in enumerate(_roll_up_sql(dialect))]
        for name, stmt, params in steps:
            t0 = time.perf_counter()
            conn.execute(stmt, params)
            print(f"   {dialect} {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        for index in indexes:
            index.create(conn)
        conn.execute(text("DROP TABLE bt"))
        conn.execute(text("DROP TABLE bc"))
    with engine.connect() as conn:
        if dialect == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("PRAGMA analysis_limit = 1000"))  # sampled: a full one takes ~30 s here
            conn.execute(text("ANALYZE"))
            conn.commit()
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("play_hour", "play_day", "play_month", "play_hour_community")}


# --- query plans -------------------------------------------------------------------------


class _Statements:
    """Every SELECT the reports send, with its parameters, to explain afterwards."""

    def __init__(self, engine) -> None:
        self.engine, self.seen = engine, []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM play_" in statement:
            self.seen.append((statement, parameters))

    def stop(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def explain(self) -> str:
        prefix = "EXPLAIN QUERY PLAN " if self.engine.dialect.name == "sqlite" else "EXPLAIN "
        out, done = [], set()
        with self.engine.connect() as conn:
            for statement, params in self.seen:
                if statement in done:
                    continue
                done.add(statement)
                rows = conn.exec_driver_sql(prefix + statement, params).all()
                plan = "\n".join(str(r[-1]) for r in rows)
                out.append(f"{' '.join(statement.split())}\n{plan}\n")
        return "\n".join(out)


# --- ingest ------------------------------------------------------------------------------


def _records(contents, n: int, start: datetime) -> list[dict]:
    from player import protocol

    out, t = [], start
    for i in range(n):
        c = contents[i % len(contents)]
        end = t + timedelta(seconds=10)
        if end.replace(minute=0, second=0, microsecond=0) != t.replace(minute=0, second=0,
                                                                      microsecond=0):
            t = end.replace(minute=0, second=0, microsecond=0)
            end = t + timedelta(seconds=10)
        out.append(protocol.play_record(content_id=c.id, schedule_id=None, sha256=c.blob_sha256,
                                        start=t, end=end))
        t = end
    return out


def _ingest_real(db, terminal, recs: list[dict], now: datetime,
                 commits: list[float] | None = None) -> float:
    """Records/s through the real path; each commit's milliseconds go to `commits`."""
    from player import protocol
    from server.services import plays

    t0 = time.perf_counter()
    for i in range(0, len(recs), BATCH):
        batch = protocol.check_plays({"records": recs[i:i + BATCH]})
        accepted, rejected = plays.ingest(db, terminal, batch, now=now)
        c0 = time.perf_counter()
        db.commit()
        if commits is not None:
            commits.append((time.perf_counter() - c0) * 1000)
        assert not rejected, rejected[:1]
    return len(recs) / (time.perf_counter() - t0)


def _raw_rows(terminal, contents, recs: list[dict]) -> list[dict]:
    from player import protocol

    topic = {c.id: c.topic_id for c in contents}
    received = datetime.now(UTC)
    return [{"id": protocol.new_play_id(), "terminal_id": terminal.id,
             "content_id": r["content_id"], "schedule_id": None,
             "topic_id": topic[r["content_id"]], "sha256": r["sha256"],
             "start": datetime.fromisoformat(r["start"]), "end": datetime.fromisoformat(r["end"]),
             "seconds": 10.0, "reason": "completed", "received_at": received} for r in recs]


def _ingest_raw(engine, rows: list[dict]) -> float:
    """The same rows, already in the DBAPI's own types, straight into play_record."""
    sqlite = engine.dialect.name == "sqlite"

    def db(v):
        if isinstance(v, datetime) and sqlite:
            return v.replace(tzinfo=None).isoformat(" ", "microseconds")
        return v

    values = [tuple(db(v) for v in r.values()) for r in rows]
    mark = "?" if sqlite else "%s"
    columns = ", ".join(f'"{k}"' for k in rows[0])
    sql = f"INSERT INTO play_record ({columns}) VALUES ({', '.join([mark] * len(rows[0]))})"
    raw = engine.raw_connection()
    try:
        t0 = time.perf_counter()
        for i in range(0, len(values), BATCH):
            cur = raw.cursor()
            cur.executemany(sql, values[i:i + BATCH])
            cur.close()
            raw.commit()
        return len(values) / (time.perf_counter() - t0)
    finally:
        raw.close()


def _ingest_core(engine, rows: list[dict]) -> float:
    """The same rows through SQLAlchemy Core's executemany (the earlier baseline)."""
    from server.models import PlayRecord

    t0 = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        with engine.begin() as conn:
            conn.execute(insert(PlayRecord), rows[i:i + BATCH])
    return len(rows) / (time.perf_counter() - t0)


def _own_checkpoints(dbapi_conn, _record) -> None:
    dbapi_conn.execute("PRAGMA wal_autocheckpoint = 1000")  # SQLite's default


class Ingest(NamedTuple):
    real: float  # records/s, median of the rounds
    raw: float
    core: float
    commit_p99: float  # ms, the real path's commits, all rounds
    own_checkpoints_p99: float  # ms, the same without the checkpointer (SQLite only)
    own_checkpoints_real: float  # records/s, the same rounds


def _ingest(db, engine, terminals, contents, n: int, hours: int) -> Ingest:
    from server import checkpointer

    # Plays in the last month of the generated data: rollup rows exist and are added to.
    start = YEAR_START + timedelta(hours=max(0, hours - 24 * 30))
    now = start + timedelta(days=31)
    real, raw, core, own = [], [], [], []
    commits: list[float] = []
    own_commits: list[float] = []
    for round_ in range(3):
        day = start + timedelta(days=round_)
        # As a gunicorn worker runs (server/gunicorn_conf.py): WAL checkpoints in a thread
        # of their own, not in the commit that grows the log (the baselines' too).
        running = checkpointer.start_for(engine)
        real.append(_ingest_real(db, terminals[round_], _records(contents, n, day), now,
                                 commits))
        rows = _raw_rows(terminals[10 + round_], contents, _records(contents, n, day))
        raw.append(_ingest_raw(engine, rows))
        rows = _raw_rows(terminals[20 + round_], contents, _records(contents, n, day))
        core.append(_ingest_core(engine, rows))
        if running:
            running.stop()
            # The comparison: SQLite checkpointing in the commit, at its default 1,000
            # pages, on every connection (the pool is emptied: the pragma is set at connect).
            db.commit()
            engine.dispose()
            event.listen(engine, "connect", _own_checkpoints)
            own.append(_ingest_real(db, terminals[30 + round_], _records(contents, n, day),
                                    now, own_commits))
            event.remove(engine, "connect", _own_checkpoints)
            db.commit()
            engine.dispose()
    return Ingest(statistics.median(real), statistics.median(raw), statistics.median(core),
                  _p99(commits), _p99(own_commits), statistics.median(own) if own else 0.0)


def _p99(ms: list[float]) -> float:
    return statistics.quantiles(ms, n=100)[98] if len(ms) > 1 else 0.0


# --- one database ------------------------------------------------------------------------


def _one_database(label: str, url: str, scale: float) -> list[dict]:
    from server.db import db
    from server.services import reports
    from server.services.access import Actor

    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(url, Path(tmp))
        with app.app_context():
            terminals, contents = _seed_tree(db)
            engine = app.extensions["signage_engine"]
            days = max(62, round(365 * scale))
            hours = 24 * days
            t0 = time.perf_counter()
            counts = _generate(engine, terminals, contents, hours)
            generated = time.perf_counter() - t0
            print(f"   {label}: generated {counts} in {generated:.1f} s", file=sys.stderr)
            actor = Actor.system(terminals[0].building.community.street_id)
            first = (YEAR_START + timedelta(hours=8)).date()
            year = reports.Period(first, first + timedelta(days=days - 1))
            unaligned = reports.Period(year.first + timedelta(days=15),
                                       year.last - timedelta(days=15))

            def count_rows() -> None:
                with engine.connect() as conn:
                    conn.execute(text("SELECT count(*) FROM play_hour")).scalar()

            baseline = _median_ms(count_rows)
            goal = f"≤ 300 ms ({counts['play_hour']:,} hourly rows)"
            cases = [(by, year, None, "") for by in reports.GROUPS]
            cases += [(by, unaligned, None, "_unaligned") for by in reports.GROUPS]
            one_topic = reports.Filters(topic_id=contents[0].topic_id)
            cases += [(by, year, one_topic, "_filtered") for by in ("day", "hour")]
            plans = _Statements(engine)
            for by, p, f, suffix in cases:
                db.remove()
                ms = _median_ms(lambda by=by, p=p, f=f: reports.playback(db, actor, p, by, f))
                figures.append({"name": f"report_{label}_{by}{suffix}", "value": round(ms, 1),
                                "unit": "ms", "baseline": round(baseline, 1),
                                "ratio": round(ms / baseline, 2), "goal": goal})
            plans.stop()
            explained = plans.explain()
            (HERE / f"plans_{label}.txt").write_text(explained)
            print(explained, file=sys.stderr)
            db.remove()

            n = 4_000 if scale < 0.5 else 20_000
            real, raw, core, commit_p99, own_p99, own_real = _ingest(
                db, engine, terminals, contents, n, hours)
            goal = "≥ 0.5x raw insert; ≥ 20,000 records/s on SQLite"
            figures.append({"name": f"ingest_{label}", "value": round(real),
                            "unit": "records/s", "baseline": round(raw),
                            "ratio": round(real / raw, 2), "goal": goal})
            figures.append({"name": f"ingest_{label}_vs_core", "value": round(real),
                            "unit": "records/s", "baseline": round(core),
                            "ratio": round(real / core, 2), "goal": goal})
            if label == "sqlite":
                figures.append({"name": "ingest_sqlite_commit_p99", "value": round(commit_p99, 1),
                                "unit": "ms", "baseline": round(own_p99, 1),
                                "ratio": round(commit_p99 / own_p99, 2),
                                "goal": "informational: checkpoints off the commit "
                                        "(baseline: SQLite's own, in the commit)"})
                figures.append({"name": "ingest_sqlite_checkpointer", "value": round(real),
                                "unit": "records/s", "baseline": round(own_real),
                                "ratio": round(real / own_real, 2),
                                "goal": "informational: real path, checkpointer vs SQLite's own"})
            figures.append({"name": f"generate_{label}", "value": round(generated, 1),
                            "unit": "s", "baseline": round(generated, 1), "ratio": 1.0,
                            "goal": "informational: a small part of make bench"})
            db.remove()
        engine.dispose()
    return figures


def _pg_ready() -> str | None:
    try:
        admin = create_engine(PG_URL.rsplit("/", 1)[0] + "/postgres",
                              isolation_level="AUTOCOMMIT")
        name = PG_URL.rsplit("/", 1)[1]
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return PG_URL
    except Exception as exc:  # no server: say so in the output, measure SQLite only
        print(f"PostgreSQL not reachable, skipped: {exc}", file=sys.stderr)
        return None


def run(quick: bool = False, scale: float | None = None) -> list[dict]:
    scale = scale if scale is not None else (0.1 if quick else 1.0)
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        figures += _one_database("sqlite", f"sqlite:///{tmp}/bench.db", scale)
    pg = _pg_ready()
    if pg:
        figures += _one_database("postgresql", pg, scale)
    return figures


if __name__ == "__main__":
    args = sys.argv[1:]
    scale = float(args[args.index("--scale") + 1]) if "--scale" in args else None
    print(json.dumps(run(quick="--quick" in args, scale=scale), ensure_ascii=False, indent=2))

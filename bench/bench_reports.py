"""A year of playback for 76 terminals: report queries and ingest rate, on SQLite and
(when reachable) PostgreSQL.

Figures:
- report_<db>_<group>: one full-year report grouped by topic, content, terminal,
  building, community, day or hour, median of 5 runs; baseline: a bare
  `SELECT count(*)` over the same rollup table in the same database (the cost of
  touching every row once). Goal ≤ 300 ms.
- ingest_<db>: proof-of-play records/s through plays.ingest (validation, dedup,
  same-transaction rollups) against a raw executemany of the same rows into
  play_record. Goal ≥ 0.5x.

Run alone: `.venv/bin/python -m bench.bench_reports [--quick]`.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text

PG_URL = os.environ.get("SIGNAGE_BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/signage_bench")
TERMINALS = 76
CONTENTS = 36  # "36 topics": one item per topic keeps the arithmetic plain
YEAR_START = datetime(2025, 12, 1, tzinfo=UTC)


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
                        blob_sha256=sha, created_by=1)
        db.add(c)
        contents.append(c)
    db.commit()
    return terminals, contents


def _fill_rollups(engine, terminals, contents, hours: int) -> int:
    """Each terminal plays ~8 of the 36 items in every hour of the year."""
    from server.models import PlayHour

    rng = random.Random(7)
    rows, total = [], 0
    with engine.begin() as conn:
        for h in range(hours):
            hour = YEAR_START + timedelta(hours=h)
            for t in terminals:
                for c in rng.sample(contents, 8):
                    rows.append({"terminal_id": t.id, "content_id": c.id, "hour": hour,
                                 "topic_id": c.topic_id, "seconds": 450.0, "plays": 45})
            if len(rows) >= 50_000:
                conn.execute(insert(PlayHour), rows)
                total += len(rows)
                rows = []
        if rows:
            conn.execute(insert(PlayHour), rows)
            total += len(rows)
    return total


def _records(terminal, contents, n: int, start: datetime) -> list[dict]:
    from player import protocol

    out = []
    t = start
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


def _one_database(label: str, url: str, quick: bool) -> list[dict]:
    from server.db import db
    from server.models import PlayRecord
    from server.services import plays, reports
    from server.services.access import Actor

    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(url, Path(tmp))
        with app.app_context():
            terminals, contents = _seed_tree(db)
            engine = app.extensions["signage_engine"]
            hours = 24 * (14 if quick else 365)
            n_rows = _fill_rollups(engine, terminals, contents, hours)
            with engine.begin() as conn:
                conn.execute(text("ANALYZE") if label == "sqlite" else text("ANALYZE play_hour"))
            actor = Actor.system(terminals[0].building.community.street_id)
            last = (YEAR_START + timedelta(hours=hours - 1)).date()
            period = reports.Period(YEAR_START.date(), last)

            def count_rows() -> None:
                with engine.connect() as conn:
                    conn.execute(text("SELECT count(*) FROM play_hour")).scalar()

            baseline = _median_ms(count_rows)
            for by in reports.GROUPS:
                ms = _median_ms(lambda by=by: reports.playback(db, actor, period, by))
                figures.append({"name": f"report_{label}_{by}", "value": round(ms, 1),
                                "unit": "ms", "baseline": round(baseline, 1),
                                "ratio": round(ms / baseline, 2),
                                "goal": f"≤ 300 ms over a year ({n_rows} rollup rows)"})
            # Ingest: the real path against a raw executemany of the same rows.
            n = 2_000 if quick else 20_000
            recs = _records(terminals[0], contents, n, datetime(2026, 11, 1, tzinfo=UTC))
            now = datetime(2026, 11, 30, tzinfo=UTC)
            t0 = time.perf_counter()
            for i in range(0, n, 500):
                plays.ingest(db, terminals[0], recs[i:i + 500], now=now)
                db.commit()
            real = n / (time.perf_counter() - t0)
            raw_recs = _records(terminals[1], contents, n, datetime(2026, 11, 1, tzinfo=UTC))
            rows = [{"id": r["id"], "terminal_id": terminals[1].id,
                     "content_id": r["content_id"], "schedule_id": None, "topic_id": 1,
                     "sha256": r["sha256"], "start": datetime.fromisoformat(r["start"]),
                     "end": datetime.fromisoformat(r["end"]), "seconds": 10.0,
                     "reason": "completed", "received_at": now} for r in raw_recs]
            t0 = time.perf_counter()
            for i in range(0, n, 500):
                with engine.begin() as conn:
                    conn.execute(insert(PlayRecord), rows[i:i + 500])
            raw = n / (time.perf_counter() - t0)
            figures.append({"name": f"ingest_{label}", "value": round(real),
                            "unit": "records/s", "baseline": round(raw),
                            "ratio": round(real / raw, 2),
                            "goal": "≥ 0.5x raw insert; ≥ 20,000 records/s on SQLite"})
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


def run(quick: bool = False) -> list[dict]:
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        figures += _one_database("sqlite", f"sqlite:///{tmp}/bench.db", quick)
    pg = _pg_ready()
    if pg:
        figures += _one_database("postgresql", pg, quick)
    return figures


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), ensure_ascii=False, indent=2))


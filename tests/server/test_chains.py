"""The hash chains over the audit log and proof of play (server/services/chains.py): an
edited, removed or reordered audit entry, play record or play batch is found by
`flask audit verify` at the right link; purges keep chains verifiable and are recorded; an
exported head catches a chain cut short and rewritten; concurrent writers never fork."""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update

from player import protocol
from server import chores
from server.config import Settings
from server.db import SessionFactory, db, utcnow
from server.models import AuditEntry, LogChain, PlayBatch, PlayRecord, Role
from server.services import audit, chains, plays, tree
from server.services.access import Actor
from tests import helpers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def w(app):
    donghe = helpers.community("东和")
    t1 = helpers.terminal(helpers.building(donghe, "1栋"))
    item = helpers.approved_image(donghe, "台风海报", "防台风")
    admin = Actor.of(helpers.user(Role.street_admin))
    seqs = []
    for n in range(3):
        seqs.append(audit.record(db, admin, "update", "topic", n, label=f"话题{n}",
                                 before={"name": "旧"}, after={"name": f"新{n}"}).chain_seq)
    db.commit()
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    for n in range(3):  # three uploads: three batches of two records
        recs = [protocol.play_record(content_id=item.id, schedule_id=None,
                                     sha256=item.blob_sha256, start=a, end=a + timedelta(seconds=30))
                for a in (start + timedelta(minutes=10 * n), start + timedelta(minutes=10 * n + 1))]
        accepted, rejected = plays.ingest(db, t1, recs)
        assert rejected == [] and len(accepted) == 2
    db.commit()
    return {"t1": t1, "item": item, "admin": admin, "seqs": seqs,
            "chain": chains.plays_chain(t1.id)}


def verify(runner, *extra: str) -> tuple[int, str]:
    out = runner.invoke(args=["audit", "verify", *extra])
    return out.exit_code, out.output


def batch(w, seq: int) -> PlayBatch:
    return db.scalars(select(PlayBatch).where(PlayBatch.terminal_id == w["t1"].id,
                                              PlayBatch.seq == seq)).one()


def test_an_intact_database_verifies(w, runner):
    code, out = verify(runner)
    assert code == 0, out
    n_audit = db.scalar(select(func.count()).select_from(AuditEntry))
    assert f"{n_audit + 3} entries in 2 chains intact (6 play records" in out
    assert [b.count for b in db.scalars(select(PlayBatch).order_by(PlayBatch.seq))] == [2, 2, 2]
    assert db.scalar(select(func.count()).where(PlayRecord.batch_id.is_(None))) == 0


def test_a_retried_upload_adds_no_link(w):
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    recs = [protocol.play_record(content_id=w["item"].id, schedule_id=None,
                                 sha256=w["item"].blob_sha256, start=hour,
                                 end=hour + timedelta(seconds=30))]
    plays.ingest(db, w["t1"], recs)
    plays.ingest(db, w["t1"], recs)  # the retry: its record is stored already
    db.commit()
    assert db.get(LogChain, w["chain"]).seq == 4
    assert chains.verify(db).intact


def _swap_audit(a: int, b: int) -> None:
    db.execute(update(AuditEntry).where(AuditEntry.chain_seq == a).values(chain_seq=-1))
    db.execute(update(AuditEntry).where(AuditEntry.chain_seq == b).values(chain_seq=a))
    db.execute(update(AuditEntry).where(AuditEntry.chain_seq == -1).values(chain_seq=b))


def _swap_batches(w, a: int, b: int) -> None:
    tid = w["t1"].id
    for old, new in ((a, -1), (b, a), (-1, b)):
        db.execute(update(PlayBatch).where(PlayBatch.terminal_id == tid, PlayBatch.seq == old)
                   .values(seq=new))


def _records_of(w, seq: int) -> list[PlayRecord]:
    return db.scalars(select(PlayRecord).where(PlayRecord.batch_id == batch(w, seq).id)
                      .order_by(PlayRecord.id)).all()


TAMPERING = {
    "audit edited": (lambda w: db.execute(update(AuditEntry).where(
        AuditEntry.chain_seq == w["seqs"][1]).values(object_label="改过")), "audit", 1, "edited"),
    "audit deleted": (lambda w: db.execute(delete(AuditEntry).where(
        AuditEntry.chain_seq == w["seqs"][1])), "audit", 1, "missing"),
    "audit reordered": (lambda w: _swap_audit(w["seqs"][1], w["seqs"][2]), "audit", 1,
                        "reordered"),
    "play record edited": (lambda w: db.execute(update(PlayRecord).where(
        PlayRecord.id == _records_of(w, 2)[0].id).values(seconds=3000.0)), "plays", 2, "edited"),
    "play record deleted": (lambda w: db.execute(delete(PlayRecord).where(
        PlayRecord.id == _records_of(w, 2)[0].id)), "plays", 2, "1 of its 2 records missing"),
    "play record moved": (lambda w: db.execute(update(PlayRecord).where(
        PlayRecord.id == _records_of(w, 2)[0].id).values(batch_id=batch(w, 3).id)),
        "plays", 2, "records missing"),
    "play batch edited": (lambda w: db.execute(update(PlayBatch).where(
        PlayBatch.id == batch(w, 2).id).values(received_at=utcnow())), "plays", 2, "edited"),
    "play batch deleted": (lambda w: (
        db.execute(delete(PlayRecord).where(PlayRecord.batch_id == batch(w, 2).id)),
        db.execute(delete(PlayBatch).where(PlayBatch.id == batch(w, 2).id))),
        "plays", 2, "missing"),
    "play batches reordered": (lambda w: _swap_batches(w, 2, 3), "plays", 2, "reordered"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_found_at_its_link(w, runner, case):
    tamper, chain, at, words = TAMPERING[case]
    tamper(w)
    db.commit()
    code, out = verify(runner)
    assert code == 1, out
    name = "audit" if chain == "audit" else w["chain"]
    seq = w["seqs"][at] if chain == "audit" else at
    first = out.splitlines()[0]
    assert first.startswith(f"BROKEN chain {name}, seq {seq}"), out
    assert words in first, out


def test_purges_keep_the_chains_verifiable_and_are_recorded(w, runner):
    later = utcnow() + timedelta(days=200)
    assert plays.purge(db, 180, now=later) == 6
    assert audit.purge(db, 180, now=later) > 0
    db.commit()
    assert db.scalar(select(func.count()).select_from(PlayRecord)) == 0
    head = db.get(LogChain, w["chain"])
    assert (head.purged_through, head.seq) == (3, 3)
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "purge")
                         .order_by(AuditEntry.chain_seq)).all()
    # The plays purge's entry was purged by the audit purge after it, which names it.
    assert [e.after["label"] for e in entries] == ["audit"]
    removed = entries[0].after
    assert removed["through_seq"] == entries[0].chain_seq - 1
    assert db.get(LogChain, "audit").purged_hash == removed["last_hash"]
    code, out = verify(runner)
    assert code == 0, out
    # New links continue from the purged boundary; moving the purge mark is found.
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    plays.ingest(db, w["t1"], [protocol.play_record(
        content_id=w["item"].id, schedule_id=None, sha256=w["item"].blob_sha256,
        start=start, end=start + timedelta(seconds=30))])
    db.commit()
    assert verify(runner)[0] == 0
    db.execute(update(LogChain).where(LogChain.name == w["chain"]).values(purged_through=2))
    db.commit()
    code, out = verify(runner)
    assert code == 1 and f"chain {w['chain']}, seq 3" in out and "missing" in out, out


def test_an_exported_head_catches_a_tail_cut_and_covered_up(w, runner, tmp_path):
    export = tmp_path / "heads.jsonl"
    out = runner.invoke(args=["audit", "export-head", "--to", str(export)])
    assert out.exit_code == 0, out.output
    assert verify(runner, "--head", str(export))[0] == 0
    # Remove the last audit entry and set the head back to the one before: the chain
    # alone is consistent again.
    last = db.scalars(select(AuditEntry).order_by(AuditEntry.chain_seq.desc())).first()
    db.execute(update(LogChain).where(LogChain.name == "audit").values(
        seq=last.chain_seq - 1, head_hash=last.prev_hash))
    db.execute(delete(AuditEntry).where(AuditEntry.id == last.id))
    db.commit()
    assert verify(runner)[0] == 0
    code, out = verify(runner, "--head", str(export))
    assert code == 1 and f"chain audit, seq {last.chain_seq}" in out, out
    assert "removed from the end" in out


def test_a_deleted_terminal_takes_its_chain_and_the_audit_keeps_its_head(w, runner, tmp_path):
    export = tmp_path / "heads.jsonl"
    assert runner.invoke(args=["audit", "export-head", "--to", str(export)]).exit_code == 0
    head = db.get(LogChain, w["chain"]).head_hash
    tree.delete_terminal(db, w["admin"], w["t1"].id)
    db.commit()
    assert db.get(LogChain, w["chain"]) is None
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "delete",
                                                AuditEntry.object_type == "terminal")).one()
    assert entry.after["play_chain"] == {"chain": w["chain"], "seq": 3, "head": head}
    assert verify(runner, "--head", str(export))[0] == 0


def test_concurrent_appends_never_fork_the_chain(w):
    """Two sessions appending at once (PostgreSQL: two connections, each waiting for the
    other's row lock; SQLite: the write lock)."""
    start = db.get(LogChain, "audit").seq
    db.commit()
    go = threading.Barrier(2)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            go.wait(timeout=30)
            for i in range(15):
                with SessionFactory() as s:
                    audit.record(s, w["admin"], "update", "topic", n, label=f"{n}-{i}")
                    s.commit()
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    db.expire_all()
    seqs = db.scalars(select(AuditEntry.chain_seq).where(AuditEntry.chain_seq > start)
                      .order_by(AuditEntry.chain_seq)).all()
    assert seqs == list(range(start + 1, start + 31))
    assert chains.verify(db).intact


def _migration():
    path = ROOT / "migrations" / "versions" / "0021_trust.py"
    spec = importlib.util.spec_from_file_location("migration_0021", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_upgrade_chains_existing_rows(w, runner):
    """0021's data step on rows written before the chains (their links wiped here)."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    n_audit = db.scalar(select(func.count()).select_from(AuditEntry))
    db.execute(update(AuditEntry).values(chain_seq=None, prev_hash=None, entry_hash=None))
    db.execute(update(PlayRecord).values(batch_id=None))
    db.execute(delete(PlayBatch))
    db.execute(delete(LogChain))
    db.commit()
    conn = db.connection()
    with Operations.context(MigrationContext.configure(conn)):
        _migration()._chain_existing_rows()
    db.commit()
    assert db.get(LogChain, "audit").seq == n_audit
    assert db.get(LogChain, w["chain"]).seq == 3  # one batch per upload, as ingested
    code, out = verify(runner)
    assert code == 0, out


def test_the_export_job_appends_heads_and_keeps_its_failure(w, app, tmp_path):
    settings = app.config["SIGNAGE"]
    settings.chain_export_file = tmp_path / "out" / "heads.jsonl"
    chores.export_chain_heads()
    chores.export_chain_heads()  # within SIGNAGE_CHAIN_EXPORT_S: nothing more
    lines = settings.chain_export_file.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["chains"][w["chain"]]["seq"] == 3
    settings.chain_export_url = "http://127.0.0.1:9/heads"  # nothing listens there
    settings.chain_export_s = 1.0
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from server.services import chain_export

    status = chain_export.last_status(settings.data_dir)
    status["at"] = (utcnow() - timedelta(seconds=5)).isoformat()
    chain_export.keep_status(settings.data_dir, status)
    chores.export_chain_heads()
    status = chain_export.last_status(settings.data_dir)
    assert status["error"] and "127.0.0.1:9" in status["error"]
    assert len(settings.chain_export_file.read_text().splitlines()) == 2


def test_retention_defaults_to_six_months_and_warns_below(caplog):
    base = {"SIGNAGE_SECRET_KEY": "x", "SIGNAGE_DATA_DIR": "/tmp/unused-chains"}
    s = Settings.from_env(base)
    assert (s.play_retention_days, s.audit_retention_days) == (180, 180)
    with caplog.at_level(logging.WARNING, logger="server.config"):
        s = Settings.from_env({**base, "SIGNAGE_AUDIT_RETENTION_DAYS": "30"})
    assert s.audit_retention_days == 30
    assert "SIGNAGE_AUDIT_RETENTION_DAYS=30" in caplog.text


def test_hashes_cover_instants_as_stored():
    naive_text = "2026-12-07 01:02:03.000004"
    aware = datetime(2026, 12, 7, 1, 2, 3, 4, tzinfo=UTC)
    shanghai = aware.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (chains.instant(naive_text) == chains.instant(aware) == chains.instant(shanghai)
            == chains.instant("2026-12-07T01:02:03.000004+00:00") == naive_text)


def test_the_page_checks_in_a_worker_and_shows_the_first_break(w, app, client):
    """Street admins only; the check's result in Chinese, with the chain and seq."""
    editor_client = app.test_client()
    helpers.login(editor_client, helpers.user(Role.editor, helpers.community()))
    assert editor_client.get("/integrity").status_code == 403
    admin = helpers.user(Role.street_admin)
    helpers.login(client, admin)
    page = client.get("/integrity").get_data(as_text=True)
    assert "日志完整性" in page and "尚未在本页检查过" in page and w["t1"].name in page
    token = helpers.csrf_token(page)
    assert client.post("/integrity/verify", data={"csrf_token": token}).status_code == 302
    assert "条链中的" in client.get("/integrity").get_data(as_text=True)
    db.execute(update(PlayRecord).where(PlayRecord.id == _records_of(w, 2)[0].id)
               .values(seconds=1.0))
    db.commit()
    client.post("/integrity/verify", data={"csrf_token": token})
    page = client.get("/integrity").get_data(as_text=True)
    assert "1 条链断裂" in page and "链节内容与其哈希不符" in page
    assert f"播放记录：{w['t1'].name}" in page

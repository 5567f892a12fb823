"""Hash chains over the audit log and each terminal's proof-of-play batches.

A chain is a LogChain row (its head) and its links: audit entries ("audit") or play
batches ("plays:<terminal id>"). Each link stores the previous link's hash and its own,
SHA-256 over the previous hash and the canonical JSON (player.signatures.canonical) of
every stored field, so an edited link no longer matches its hash, a removed one leaves a
gap in the seqs, a moved one breaks its successor's prev_hash, and a removed tail no longer
reaches the head. Datetimes are hashed as UTC ISO text with microseconds (`instant`): what
both databases give back, so a recomputation matches what was hashed when written.

Appending takes the chain's row lock first (`UPDATE log_chain SET seq = seq + 1`), which
orders concurrent writers on SQLite and PostgreSQL alike; the lock is held to the commit.

What this cannot prove: someone with write access to the database can recompute a whole
chain. The heads exported elsewhere (`export_heads`) defeat that: a chain rewritten or cut
short after an export no longer holds the exported head (`check_heads`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import groupby
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from player.signatures import canonical
from server.models import AuditEntry, LogChain, PlayBatch, PlayRecord
from server.models.trust import GENESIS

AUDIT = "audit"
PLAYS = "plays:"
# The stored fields an audit entry's hash covers (besides its seq), in this order.
AUDIT_FIELDS = ("at", "user_id", "actor", "action", "object_type", "object_id",
                "object_label", "community_id", "before", "after")
# A play record's stored fields, as hashed (batch_id is the link itself, not hashed).
RECORD_FIELDS = ("id", "terminal_id", "content_id", "schedule_id", "topic_id", "sha256",
                 "start", "end", "seconds", "reason", "received_at", "region")


def plays_chain(terminal_id: int) -> str:
    return f"{PLAYS}{terminal_id}"


# --- pure functions: what a link's hash covers -------------------------------------------

def instant(value: datetime | str | None) -> str | None:
    """A stored instant as hashed: naive UTC text with microseconds, "2026-12-07
    01:02:03.000004", the very text SQLite stores (server.db.to_driver), so the ingest
    hashes the values it already converted for SQLite and raw SQL reads match too."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":
            return value
        value = datetime.fromisoformat(value)
    return _text(value)


@lru_cache(maxsize=4096)
def _text(value: datetime) -> str:
    # Cached: an upload's records share their arrival, and one record's end is often the
    # next one's start; formatting was most of the hashing time on PostgreSQL.
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def stored_json(value: Any) -> Any:
    """A JSON column's value as it comes back (keys are strings, tuples lists); raw SQL
    on SQLite gives the text."""
    if isinstance(value, str):
        return json.loads(value)
    return None if value is None else json.loads(json.dumps(value))


def link_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(body)).hexdigest()


def audit_hash(seq: int, prev_hash: str, row: Mapping[str, Any]) -> str:
    body: dict[str, Any] = {"chain": AUDIT, "seq": seq}
    for name in AUDIT_FIELDS:
        value = row[name]
        body[name] = (instant(value) if name == "at"
                      else stored_json(value) if name in ("before", "after") else value)
    return link_hash(prev_hash, body)


def record_fact(v: Sequence[Any]) -> list[Any]:
    """A play record, its values in RECORD_FIELDS order, as hashed (start, end and
    received_at as instants)."""
    return [v[0], v[1], v[2], v[3], v[4], v[5], instant(v[6]), instant(v[7]), v[8], v[9],
            instant(v[10]), v[11]]


def batch_hash(seq: int, prev_hash: str, terminal_id: int, received_at: datetime | str,
               facts: Iterable[list[Any]]) -> tuple[str, int]:
    """(hash, count) of a play batch whose records are `facts` (record_fact)."""
    records = sorted(facts, key=lambda f: f[0])
    body = {"chain": plays_chain(terminal_id), "seq": seq, "terminal_id": terminal_id,
            "received_at": instant(received_at), "count": len(records), "records": records}
    return link_hash(prev_hash, body), len(records)


# --- appending -------------------------------------------------------------------------

@dataclass(frozen=True)
class Link:
    """A link being appended: its chain, seq and the previous link's hash."""

    chain: str
    seq: int
    prev_hash: str


def begin(s: Session, chain: str) -> Link:
    """Take the chain's lock (held to the commit) and the next seq: the UPDATE orders
    concurrent writers on both databases; a missing head is inserted first, race-free."""
    t = LogChain.__table__
    bump = (update(t).where(t.c.name == chain).values(seq=t.c.seq + 1)
            .returning(t.c.seq, t.c.head_hash))
    row = s.execute(bump).first()
    if row is None:
        conn = s.connection()
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        s.execute(insert(t).values(name=chain, seq=0, head_hash=GENESIS, purged_through=0,
                                   purged_hash=GENESIS, updated_at=datetime.now(UTC))
                  .on_conflict_do_nothing(index_elements=["name"]))
        row = s.execute(bump).one()
    return Link(chain, row[0], row[1])


def finish(s: Session, link: Link, entry_hash: str) -> None:
    t = LogChain.__table__
    s.execute(update(t).where(t.c.name == link.chain)
              .values(head_hash=entry_hash, updated_at=datetime.now(UTC)))


def undo(s: Session, link: Link) -> None:
    """Give the seq back (nothing was appended); the lock is still ours."""
    t = LogChain.__table__
    s.execute(update(t).where(t.c.name == link.chain).values(seq=link.seq - 1))


def drop(s: Session, chain: str) -> dict | None:
    """Remove a chain's head (its terminal is deleted, its batches with it); returns
    {chain, seq, head} for the audit entry of the deletion, which so commits to it."""
    head = s.get(LogChain, chain)
    if head is None:
        return None
    out = {"chain": chain, "seq": head.seq, "head": head.head_hash}
    s.delete(head)
    return out


# --- heads ------------------------------------------------------------------------------

def heads(s: Session) -> dict[str, dict]:
    """{chain: {seq, head}} for export."""
    return {name: {"seq": seq, "head": head} for name, seq, head in s.execute(
        select(LogChain.name, LogChain.seq, LogChain.head_hash).order_by(LogChain.name))}


def export_line(s: Session, now: datetime | None = None) -> dict:
    return {"at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(), "chains": heads(s)}


# --- verifying --------------------------------------------------------------------------

@dataclass(frozen=True)
class Break:
    chain: str
    seq: int
    row_id: int | None
    problem: str  # in words, English (the CLI's)
    kind: str  # no_head, purge_mark, missing, reordered, edited, tail, head, loose,
    # orphans, gone, rewritten: what the page says in the people's language

    def __str__(self) -> str:
        row = f" (row id {self.row_id})" if self.row_id is not None else ""
        return f"chain {self.chain}, seq {self.seq}{row}: {self.problem}"


@dataclass
class Report:
    entries: int = 0  # links walked: audit entries and play batches
    records: int = 0  # play records inside the batches
    chains: int = 0
    breaks: list[Break] = field(default_factory=list)  # the first break of each chain

    @property
    def intact(self) -> bool:
        return not self.breaks


class _Walk:
    """One chain walked by seq from where retention left it."""

    def __init__(self, head: LogChain | None, name: str) -> None:
        self.name = name
        self.head = head
        self.expect = (head.purged_through if head else 0) + 1
        self.prev = head.purged_hash if head else GENESIS
        self.broken: Break | None = None if head else Break(
            name, 0, None, "links without a head: the chain's head row was removed", "no_head")

    def step(self, seq: int, row_id: int, prev_hash: str, entry_hash: str,
             computed: str, detail: str = "") -> None:
        if self.broken:
            return
        if seq < self.expect:  # only at the start: ordered by seq, seqs unique
            self.broken = Break(self.name, seq, row_id, "a link the head says retention "
                                f"removed (through seq {self.expect - 1}) is still there: "
                                "the head's purge mark was moved", "purge_mark")
        elif seq > self.expect:
            gap = (f"seq {self.expect} missing" if seq == self.expect + 1
                   else f"seqs {self.expect} to {seq - 1} missing")
            self.broken = Break(self.name, self.expect, row_id,
                                f"{gap}: deleted (the next link present is seq {seq})",
                                "missing")
        elif prev_hash != self.prev:
            self.broken = Break(self.name, seq, row_id, "its previous hash is not the hash of "
                                "the link before it: links reordered or one replaced", "reordered")
        elif computed != entry_hash:
            self.broken = Break(self.name, seq, row_id, "its content does not match its hash: "
                                "edited" + (f" ({detail})" if detail else ""), "edited")
        self.expect = seq + 1
        self.prev = entry_hash

    def end(self) -> Break | None:
        if self.broken or self.head is None:
            return self.broken
        if self.expect - 1 < self.head.seq:
            return Break(self.name, self.expect, None,
                         f"links {self.expect} to {self.head.seq} missing: removed from the "
                         "end", "tail")
        if self.expect - 1 > self.head.seq or self.prev != self.head.head_hash:
            return Break(self.name, self.expect - 1, None,
                         "the last link is not the chain's head: the head was rewritten", "head")
        return None


def verify(s: Session) -> Report:
    """Walk every chain by seq; the first break of each. Reads every row: run it in a job
    worker (server/workpool.run_db), not on the event loop."""
    report = Report()
    heads_by_name = {h.name: h for h in s.scalars(select(LogChain))}
    seen: set[str] = set()

    walk = _Walk(heads_by_name.get(AUDIT), AUDIT)
    seen.add(AUDIT)
    loose = s.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.chain_seq.is_(None)))
    cols = [getattr(AuditEntry, n) for n in AUDIT_FIELDS]
    q = (select(AuditEntry.id, AuditEntry.chain_seq, AuditEntry.prev_hash,
                AuditEntry.entry_hash, *cols)
         .where(AuditEntry.chain_seq.is_not(None)).order_by(AuditEntry.chain_seq)
         .execution_options(yield_per=2000))
    for row in s.execute(q):
        m = row._mapping
        report.entries += 1
        walk.step(row.chain_seq, row.id, row.prev_hash or "", row.entry_hash or "",
                  audit_hash(row.chain_seq, row.prev_hash or "", m))
    if loose is not None and walk.broken is None:
        walk.broken = Break(AUDIT, 0, loose, "an entry outside the chain (no seq): added "
                            "around the log", "loose")
    if AUDIT in heads_by_name or report.entries:
        report.chains += 1
        if b := walk.end():
            report.breaks.append(b)

    # Play batches with their records, by terminal and seq (one ordered read).
    rec_cols = [getattr(PlayRecord, n) for n in RECORD_FIELDS]
    q = (select(PlayBatch.id, PlayBatch.terminal_id, PlayBatch.seq, PlayBatch.prev_hash,
                PlayBatch.entry_hash, PlayBatch.count, PlayBatch.received_at, *rec_cols)
         .outerjoin(PlayRecord, PlayRecord.batch_id == PlayBatch.id)
         .order_by(PlayBatch.terminal_id, PlayBatch.seq, PlayBatch.id, PlayRecord.id)
         .execution_options(yield_per=5000))
    rows = s.execute(q)
    for tid, batches in groupby(rows, key=lambda r: r[1]):
        name = plays_chain(tid)
        seen.add(name)
        walk = _Walk(heads_by_name.get(name), name)
        for _, rows_of_batch in groupby(batches, key=lambda r: r[0]):
            group = list(rows_of_batch)
            bid, _, seq, prev, stored, count, received = group[0][:7]
            facts = [record_fact(r[7:]) for r in group if r[7] is not None]
            report.entries += 1
            report.records += len(facts)
            computed, n = batch_hash(seq, prev, tid, received, facts)
            detail = (f"{count - n} of its {count} records missing" if n < count
                      else f"{n - count} records more than its {count}" if n > count else "")
            walk.step(seq, bid, prev, stored, computed, detail)
        report.chains += 1
        if br := walk.end():
            report.breaks.append(br)
    for name, head in heads_by_name.items():
        if name not in seen:  # a head whose links are all gone (or purged)
            report.chains += 1
            if br := _Walk(head, name).end():
                report.breaks.append(br)
    orphan = s.scalar(select(func.count()).select_from(PlayRecord).where(
        PlayRecord.batch_id.is_(None) | PlayRecord.batch_id.not_in(select(PlayBatch.id))))
    if orphan:
        report.breaks.append(Break("plays", 0, None, f"{orphan} play records outside any "
                                   "batch: added around the chain", "orphans"))
    return report


def check_heads(s: Session, exported: Mapping[str, Any]) -> list[Break]:
    """An exported {chains: {name: {seq, head}}} still a prefix of today's chains: each
    exported head is still the link at its seq (or the purged boundary). A chain rewritten
    or cut short since the export fails here even when it verifies on its own."""
    out: list[Break] = []
    current = {h.name: h for h in s.scalars(select(LogChain))}
    for name, old in sorted(exported.get("chains", {}).items()):
        seq, head = int(old["seq"]), str(old["head"])
        now = current.get(name)
        if now is None:
            dropped = _dropped_head(s, name)
            if dropped is None or dropped["seq"] < seq:
                out.append(Break(name, seq, None, "the chain is gone since the export", "gone"))
            continue
        if now.seq < seq:
            out.append(Break(name, seq, None, f"the chain ends at seq {now.seq} but reached "
                             f"{seq} when exported: links removed from the end", "tail"))
            continue
        if seq == 0 or seq < now.purged_through:
            continue  # nothing exported yet, or that part is past retention
        stored = now.purged_hash if seq == now.purged_through else _hash_at(s, name, seq)
        if stored != head:
            out.append(Break(name, seq, None, "the link at the exported head's seq is not "
                             "the exported head: the chain was rewritten", "rewritten"))
    return out


def _hash_at(s: Session, chain: str, seq: int) -> str | None:
    if chain == AUDIT:
        return s.scalar(select(AuditEntry.entry_hash).where(AuditEntry.chain_seq == seq))
    tid = int(chain.removeprefix(PLAYS))
    return s.scalar(select(PlayBatch.entry_hash)
                    .where(PlayBatch.terminal_id == tid, PlayBatch.seq == seq))


def _dropped_head(s: Session, chain: str) -> dict | None:
    """The head recorded by the audit entry of a terminal's deletion."""
    if not chain.startswith(PLAYS):
        return None
    after = s.scalar(select(AuditEntry.after).where(
        AuditEntry.object_type == "terminal", AuditEntry.action == "delete",
        AuditEntry.object_id == int(chain.removeprefix(PLAYS)))
        .order_by(AuditEntry.id.desc()).limit(1))
    return (after or {}).get("play_chain")


# --- retention --------------------------------------------------------------------------

def _mark_purged(s: Session, chain: str, through: int, last_hash: str) -> None:
    t = LogChain.__table__
    s.execute(update(t).where(t.c.name == chain)
              .values(purged_through=through, purged_hash=last_hash))


def purge_audit(s: Session, keep_days: int, now: datetime | None = None) -> dict | None:
    """Remove audit entries older than `keep_days`, as a prefix of the chain. Returns
    what was removed ({chain, from_seq, through_seq, last_hash, rows}) for the purge's
    own audit entry, or None."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    head = s.get(LogChain, AUDIT)
    if head is None:
        return None
    first_kept = s.scalar(select(func.min(AuditEntry.chain_seq))
                          .where(AuditEntry.chain_seq.is_not(None), AuditEntry.at >= cutoff))
    through = (first_kept - 1) if first_kept is not None else head.seq
    if through <= head.purged_through:
        return None
    last_hash = s.scalar(select(AuditEntry.entry_hash).where(AuditEntry.chain_seq == through))
    if last_hash is None:
        return None  # that link is missing: verification reports it; purging would hide it
    rows = s.execute(delete(AuditEntry).where(AuditEntry.chain_seq <= through)).rowcount
    out = {"chain": AUDIT, "from_seq": head.purged_through + 1, "through_seq": through,
           "last_hash": last_hash, "rows": rows}
    _mark_purged(s, AUDIT, through, last_hash)
    s.expire(head)
    return out


def purge_plays(s: Session, keep_days: int, now: datetime | None = None) -> list[dict]:
    """Remove whole play batches received more than `keep_days` ago, with their records,
    as a prefix of each terminal's chain; raw records outside any batch (none once 0021
    chained them) by their start. Returns what each chain lost."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    ends = s.execute(select(PlayBatch.terminal_id, func.max(PlayBatch.seq))
                     .where(PlayBatch.received_at < cutoff)
                     .group_by(PlayBatch.terminal_id).order_by(PlayBatch.terminal_id)).all()
    out = []
    for tid, through in ends:
        name = plays_chain(tid)
        head = s.get(LogChain, name)
        if head is None or through <= head.purged_through:
            continue
        last_hash = s.scalar(select(PlayBatch.entry_hash)
                             .where(PlayBatch.terminal_id == tid, PlayBatch.seq == through))
        gone = select(PlayBatch.id).where(PlayBatch.terminal_id == tid,
                                          PlayBatch.seq <= through)
        records = s.execute(delete(PlayRecord).where(PlayRecord.batch_id.in_(gone))).rowcount
        s.execute(delete(PlayBatch).where(PlayBatch.terminal_id == tid,
                                          PlayBatch.seq <= through))
        out.append({"chain": name, "from_seq": head.purged_through + 1,
                    "through_seq": through, "last_hash": last_hash, "records": records})
        _mark_purged(s, name, through, last_hash or GENESIS)
        s.expire(head)
    loose = s.execute(delete(PlayRecord).where(PlayRecord.batch_id.is_(None),
                                               PlayRecord.start < cutoff)).rowcount
    if loose:
        out.append({"chain": None, "records": loose})
    return out

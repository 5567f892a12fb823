"""Trust: signing keys, hash-chained logs, escalated-review periods and screening words.

Signing keys (docs/security.md): each street signs what its screens get with Ed25519; the
public half is here, the private half is a file outside the database (or a signer process).

Log chains: the audit log and each terminal's proof-of-play batches are hash chains. A
LogChain row is the chain's head ("audit", "plays:<terminal id>"); appending takes that
row's lock (UPDATE ... seq = seq + 1), which orders writers on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow

GENESIS = "0" * 64  # the previous hash of a chain's first entry


class SigningKey(Base):
    """A street's Ed25519 public key. `key_id` is player.signatures.key_id(public key).
    A planned rotation's new key carries an endorsement: the old key's signature over
    player.signatures.key_statement(...), so players move to it without re-pairing; an
    emergency key has none and players learn it only by being paired again."""

    __tablename__ = "signing_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the 32 raw bytes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # began signing
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # stopped signing
    endorsed_by: Mapped[str | None] = mapped_column(String(16))  # key_id of the old key
    endorsement: Mapped[str | None] = mapped_column(String(100))  # base64 signature
    emergency: Mapped[bool] = mapped_column(default=False)


class LogChain(Base):
    """The head of one hash chain. Entries with seq <= purged_through were removed by
    retention; purged_hash is the last removed entry's hash (the first kept one's prev)."""

    __tablename__ = "log_chain"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    purged_through: Mapped[int] = mapped_column(default=0)
    purged_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlayBatch(Base):
    """One accepted upload of a terminal's play records, a link of its chain
    ("plays:<terminal id>"): entry_hash commits to prev_hash and to every record in it."""

    __tablename__ = "play_batch"
    __table_args__ = (UniqueConstraint("terminal_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id", ondelete="CASCADE"))
    seq: Mapped[int]
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class EscalationPeriod(Base):
    """Dates (inclusive, the street's local days) during which all new or changed content
    and every broadcast needs a street-level approval, and a broadcast a second person.
    `community_ids` empty: the whole street."""

    __tablename__ = "escalation_period"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    community_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScreeningWord(Base):
    """A word staff text is screened for: `block` refuses the text with the word shown,
    `flag` marks it for the reviewer. Stored as typed; matched after normalisation."""

    __tablename__ = "screening_word"
    __table_args__ = (UniqueConstraint("street_id", "word"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    word: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(8))  # block | flag
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

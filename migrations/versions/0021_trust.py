"""trust: signing keys, hash chains, escalated review, screening (issue #24)

signing_key: each street's Ed25519 public keys (the private halves are files or a signer
process, never rows); street.signatures_enforced refuses screens without a key;
terminal_state.trust_key_id / trust_refusal: what the player trusts and last refused.
log_chain: the heads of the hash chains; audit_entry.chain_seq / prev_hash / entry_hash and
play_batch (play_record.batch_id) are their links. escalation_period and
content_item.street_review / review_stage / community_approved_*: two-level review;
broadcast.approval / approved_*: two people during escalated review. screening_word and
content_item.screening / ocr_state / ocr_text: screening before review.

Tables whose ids must never come back are rebuilt by SQLite's batch mode (Boolean and FK
columns) with AUTOINCREMENT said again (0014); play_record only gains a column and an
index, in place, with no foreign key (no rebuild of the largest table).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 01:27:15.287637
"""
import sqlalchemy as sa
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table('log_chain',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('purged_through', sa.Integer(), nullable=False),
    sa.Column('purged_hash', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_log_chain'))
    )
    op.create_table('signing_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('endorsed_by', sa.String(length=16), nullable=True),
    sa.Column('endorsement', sa.String(length=100), nullable=True),
    sa.Column('emergency', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['street_id'], ['street.id'], name=op.f('fk_signing_key_street_id_street')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_key')),
    sa.UniqueConstraint('key_id', name=op.f('uq_signing_key_key_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_key_street_id'), ['street_id'], unique=False)

    op.create_table('escalation_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('community_ids', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_escalation_period_created_by_user_account')),
    sa.ForeignKeyConstraint(['street_id'], ['street.id'], name=op.f('fk_escalation_period_street_id_street')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_period')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('escalation_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_period_street_id'), ['street_id'], unique=False)

    op.create_table('screening_word',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('word', sa.String(length=60), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_screening_word_created_by_user_account')),
    sa.ForeignKeyConstraint(['street_id'], ['street.id'], name=op.f('fk_screening_word_street_id_street')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_word')),
    sa.UniqueConstraint('street_id', 'word', name=op.f('uq_screening_word_street_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('screening_word', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_word_street_id'), ['street_id'], unique=False)

    op.create_table('play_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_play_batch_terminal_id_terminal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_play_batch')),
    sa.UniqueConstraint('terminal_id', 'seq', name=op.f('uq_play_batch_terminal_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('play_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_play_batch_received_at'), ['received_at'], unique=False)

    with op.batch_alter_table('audit_entry', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column('chain_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('entry_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_entry_chain_seq'), ['chain_seq'], unique=True)

    with op.batch_alter_table('broadcast', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column('approval', sa.String(length=10), server_default='', nullable=False))
        batch_op.add_column(sa.Column('approved_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_broadcast_approved_by_user_account'), 'user_account', ['approved_by'], ['id'])

    with op.batch_alter_table('content_item', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column('street_review', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('review_stage', sa.String(length=10), server_default='', nullable=False))
        batch_op.add_column(sa.Column('community_approved_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('community_approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('screening', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('ocr_state', sa.String(length=8), server_default='', nullable=False))
        batch_op.add_column(sa.Column('ocr_text', sa.Text(), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_content_item_ocr_state'), ['ocr_state'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_content_item_community_approved_by_user_account'), 'user_account', ['community_approved_by'], ['id'])

    with op.batch_alter_table('play_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_play_record_batch_id'), ['batch_id'], unique=False)

    with op.batch_alter_table('street', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column('signatures_enforced', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('terminal_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trust_key_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('trust_refusal', sa.JSON(), nullable=True))

    _chain_existing_rows()


_PAGE = 2000


def _chain_existing_rows() -> None:
    """Existing audit entries (by id) and play records (one batch per terminal and
    arrival: an upload stored its records with one received_at) become the first links of
    their chains, hashed by server.services.chains' pure functions from the values as read
    back, so `audit verify` holds right after the upgrade."""
    from datetime import UTC, datetime

    from server.services import chains

    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    now = datetime.now(UTC)
    now = now.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else now

    def head(name: str, seq: int, head_hash: str) -> None:
        conn.execute(sa.text(
            "INSERT INTO log_chain (name, seq, head_hash, purged_through, purged_hash, "
            "updated_at) VALUES (:n, :s, :h, 0, :g, :u)"),
            {"n": name, "s": seq, "h": head_hash, "g": chains.GENESIS, "u": now})

    fields = ", ".join(f'"{f}"' for f in chains.AUDIT_FIELDS)
    seq, prev, last_id = 0, chains.GENESIS, 0
    while True:
        rows = conn.execute(sa.text(
            f"SELECT id, {fields} FROM audit_entry WHERE id > :last ORDER BY id LIMIT {_PAGE}"),
            {"last": last_id}).mappings().all()
        if not rows:
            break
        links = []
        for row in rows:
            seq += 1
            entry_hash = chains.audit_hash(seq, prev, row)
            links.append({"id": row["id"], "s": seq, "p": prev, "h": entry_hash})
            prev = entry_hash
        conn.execute(sa.text("UPDATE audit_entry SET chain_seq = :s, prev_hash = :p, "
                             "entry_hash = :h WHERE id = :id"), links)
        last_id = rows[-1]["id"]
    if seq:
        head(chains.AUDIT, seq, prev)

    record_fields = ", ".join(f'"{f}"' for f in chains.RECORD_FIELDS)
    terminals = conn.execute(sa.text("SELECT DISTINCT terminal_id FROM play_record "
                                     "ORDER BY terminal_id")).scalars().all()
    for tid in terminals:
        rows = conn.execute(sa.text(
            f"SELECT {record_fields} FROM play_record WHERE terminal_id = :t "
            "ORDER BY received_at, id"), {"t": tid}).all()
        seq, prev = 0, chains.GENESIS
        start = 0
        while start < len(rows):
            received = rows[start][10]
            end = start
            while end < len(rows) and rows[end][10] == received:
                end += 1
            seq += 1
            entry_hash, count = chains.batch_hash(
                seq, prev, tid, received, [chains.record_fact(r) for r in rows[start:end]])
            batch_id = conn.execute(sa.text(
                "INSERT INTO play_batch (terminal_id, seq, prev_hash, entry_hash, count, "
                "received_at) VALUES (:t, :s, :p, :h, :c, :r) RETURNING id"),
                {"t": tid, "s": seq, "p": prev, "h": entry_hash, "c": count,
                 "r": received}).scalar_one()
            conn.execute(sa.text("UPDATE play_record SET batch_id = :b WHERE terminal_id = :t "
                                 "AND received_at = :r"), {"b": batch_id, "t": tid, "r": received})
            prev, start = entry_hash, end
        head(chains.plays_chain(tid), seq, prev)


def downgrade() -> None:
    with op.batch_alter_table('terminal_state', schema=None) as batch_op:
        batch_op.drop_column('trust_refusal')
        batch_op.drop_column('trust_key_id')

    with op.batch_alter_table('street', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_column('signatures_enforced')

    with op.batch_alter_table('play_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_play_record_batch_id'))
        batch_op.drop_column('batch_id')

    with op.batch_alter_table('content_item', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_content_item_community_approved_by_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_content_item_ocr_state'))
        batch_op.drop_column('ocr_text')
        batch_op.drop_column('ocr_state')
        batch_op.drop_column('screening')
        batch_op.drop_column('community_approved_at')
        batch_op.drop_column('community_approved_by')
        batch_op.drop_column('review_stage')
        batch_op.drop_column('street_review')

    with op.batch_alter_table('broadcast', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_broadcast_approved_by_user_account'), type_='foreignkey')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approved_by')
        batch_op.drop_column('approval')

    with op.batch_alter_table('audit_entry', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_chain_seq'))
        batch_op.drop_column('entry_hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('chain_seq')

    with op.batch_alter_table('play_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_play_batch_received_at'))

    op.drop_table('play_batch')
    with op.batch_alter_table('screening_word', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_word_street_id'))

    op.drop_table('screening_word')
    with op.batch_alter_table('escalation_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_period_street_id'))

    op.drop_table('escalation_period')
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_key_street_id'))

    op.drop_table('signing_key')
    op.drop_table('log_chain')

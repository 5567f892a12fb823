"""early warnings: official CAP 1.2 / GB/T 35965.1 messages, their sources and policy

warning_source: a feed polled, a webhook pushed to (HMAC secret) or the street's uploads,
with warning_rule its policy (first match decides: auto, approve with an optional timeout,
ignore). warning_message: each valid message as received, what it means, the screens its
area matched (and why) and the broadcast that showed it; unique per street, sender and
identifier, so a message received twice changes nothing. warning_intake: every arrival,
refusals with their reason. Areas are matched by division codes on the street and its
communities (street.area_code, community.area_code) and by building positions
(building.latitude/longitude).

content_item.created_by may be empty: a warning sent by policy (nobody signed in) shows a
card that the system made. SQLite rebuilds content_item for it (batch mode, its ids never
coming back as in 0014).

The tree tables only gain nullable columns, which both databases add in place (no SQLite
rebuild of tables that so much references).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 22:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'warning_source',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('poll_seconds', sa.Integer(), nullable=False),
        sa.Column('etag', sa.String(length=200), nullable=True),
        sa.Column('last_modified', sa.String(length=100), nullable=True),
        _at('last_polled_at'),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('secret', sa.String(length=100), nullable=True),
        sa.Column('receipt_url', sa.String(length=500), nullable=False),
        _at('created_at', nullable=False),
        sa.ForeignKeyConstraint(['street_id'], ['street.id'],
                                name=op.f('fk_warning_source_street_id_street')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_source')),
        sa.UniqueConstraint('street_id', 'name', name=op.f('uq_warning_source_street_id')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('warning_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_warning_source_street_id'), ['street_id'],
                              unique=False)

    op.create_table(
        'warning_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=20), nullable=False),
        sa.Column('min_level', sa.String(length=8), nullable=False),
        sa.Column('action', sa.String(length=8), nullable=False),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('timeout_s', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['source_id'], ['warning_source.id'],
                                name=op.f('fk_warning_rule_source_id_warning_source'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_rule')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('warning_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_warning_rule_source_id'), ['source_id'],
                              unique=False)

    op.create_table(
        'warning_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        _at('received_at', nullable=False),
        sa.Column('received_via', sa.String(length=8), nullable=False),
        sa.Column('raw_xml', sa.Text(), nullable=False),
        sa.Column('identifier', sa.String(length=200), nullable=False),
        sa.Column('sender', sa.String(length=200), nullable=False),
        _at('sent', nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('msg_type', sa.String(length=8), nullable=False),
        sa.Column('references', sa.JSON(), nullable=False),
        sa.Column('profile', sa.String(length=8), nullable=False),
        sa.Column('event', sa.String(length=20), nullable=False),
        sa.Column('event_text', sa.String(length=100), nullable=False),
        sa.Column('level', sa.String(length=8), nullable=True),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('urgency', sa.String(length=10), nullable=False),
        sa.Column('certainty', sa.String(length=10), nullable=False),
        sa.Column('sender_name', sa.String(length=200), nullable=False),
        sa.Column('headline', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('instruction', sa.Text(), nullable=False),
        sa.Column('area_desc', sa.String(length=500), nullable=False),
        _at('effective'),
        _at('onset'),
        _at('expires'),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('state_reason', sa.String(length=300), nullable=False),
        sa.Column('decision', sa.String(length=8), nullable=True),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        _at('decided_at'),
        _at('approve_deadline'),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('matched', sa.JSON(), nullable=False),
        sa.Column('broadcast_id', sa.Integer(), nullable=True),
        _at('receipt_posted_at'),
        sa.Column('receipt_error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['broadcast_id'], ['broadcast.id'],
                                name=op.f('fk_warning_message_broadcast_id_broadcast')),
        sa.ForeignKeyConstraint(['decided_by'], ['user_account.id'],
                                name=op.f('fk_warning_message_decided_by_user_account')),
        sa.ForeignKeyConstraint(['source_id'], ['warning_source.id'],
                                name=op.f('fk_warning_message_source_id_warning_source')),
        sa.ForeignKeyConstraint(['street_id'], ['street.id'],
                                name=op.f('fk_warning_message_street_id_street')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_message')),
        sa.UniqueConstraint('street_id', 'sender', 'identifier',
                            name=op.f('uq_warning_message_street_id')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('warning_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_warning_message_broadcast_id'), ['broadcast_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_warning_message_source_id'), ['source_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_warning_message_street_id'), ['street_id'],
                              unique=False)
        # the deadlines job: pending messages by approval deadline
        batch_op.create_index('ix_warning_message_state', ['state', 'approve_deadline'],
                              unique=False)

    op.create_table(
        'warning_intake',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=True),
        _at('at', nullable=False),
        sa.Column('via', sa.String(length=8), nullable=False),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['warning_message.id'],
                                name=op.f('fk_warning_intake_message_id_warning_message'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['source_id'], ['warning_source.id'],
                                name=op.f('fk_warning_intake_source_id_warning_source'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['street_id'], ['street.id'],
                                name=op.f('fk_warning_intake_street_id_street')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_intake')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('warning_intake', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_warning_intake_source_id'), ['source_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_warning_intake_street_id'), ['street_id'],
                              unique=False)

    op.add_column('street', sa.Column('area_code', sa.String(length=12), nullable=True))
    op.add_column('community', sa.Column('area_code', sa.String(length=12), nullable=True))
    op.add_column('building', sa.Column('latitude', sa.Double(), nullable=True))
    op.add_column('building', sa.Column('longitude', sa.Double(), nullable=True))
    with op.batch_alter_table('content_item', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.alter_column('created_by', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # A card the system made gets the street's first administrator as its author.
    op.execute(sa.text(
        "UPDATE content_item SET created_by = (SELECT min(u.id) FROM user_account u "
        "WHERE u.street_id = content_item.street_id AND u.role = 'street_admin') "
        "WHERE created_by IS NULL"))
    with op.batch_alter_table('content_item', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.alter_column('created_by', existing_type=sa.Integer(), nullable=False)
    for table, columns in (('building', ('longitude', 'latitude')),
                           ('community', ('area_code',)), ('street', ('area_code',))):
        with op.batch_alter_table(table, schema=None,
                                  table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
            for column in columns:
                batch_op.drop_column(column)
    with op.batch_alter_table('warning_intake', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warning_intake_street_id'))
        batch_op.drop_index(batch_op.f('ix_warning_intake_source_id'))
    op.drop_table('warning_intake')
    with op.batch_alter_table('warning_message', schema=None) as batch_op:
        batch_op.drop_index('ix_warning_message_state')
        batch_op.drop_index(batch_op.f('ix_warning_message_street_id'))
        batch_op.drop_index(batch_op.f('ix_warning_message_source_id'))
        batch_op.drop_index(batch_op.f('ix_warning_message_broadcast_id'))
    op.drop_table('warning_message')
    with op.batch_alter_table('warning_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warning_rule_source_id'))
    op.drop_table('warning_rule')
    with op.batch_alter_table('warning_source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warning_source_street_id'))
    op.drop_table('warning_source')

"""publish receipts and time-share mandates (issue #25)

receipt / receipt_screen: per change that alters what screens play, the screens it reaches
and when each acknowledged, was ready and first played it; the partial index holds the open
rows the hub looks at. terminal_state.held_version / download_percent: what STATUS says of
the accepted manifest and the download. mandate / mandate_target: a required share of
screen time for a topic or items, in a daily window, over dates and a scope.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 04:55:15.235596
"""
import sqlalchemy as sa
from alembic import op


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mandate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('authority', sa.String(length=200), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=True),
    sa.Column('content_ids', sa.JSON(), nullable=False),
    sa.Column('share_kind', sa.String(length=8), nullable=False),
    sa.Column('share', sa.Double(), nullable=False),
    sa.Column('window_start', sa.String(length=5), nullable=False),
    sa.Column('window_end', sa.String(length=5), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('enforce', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_mandate_community_id_community')),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_mandate_created_by_user_account')),
    sa.ForeignKeyConstraint(['street_id'], ['street.id'], name=op.f('fk_mandate_street_id_street')),
    sa.ForeignKeyConstraint(['topic_id'], ['topic.id'], name=op.f('fk_mandate_topic_id_topic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandate')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mandate_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mandate_street_id'), ['street_id'], unique=False)

    op.create_table('mandate_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('street', 'community', 'building', 'terminal', 'tag', name='targetkind', native_enum=False, length=10), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=True),
    sa.Column('tag', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_mandate_target_mandate_id_mandate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandate_target')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('mandate_target', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mandate_target_mandate_id'), ['mandate_id'], unique=False)

    op.create_table('receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('audit_entry_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('content_ids', sa.JSON(), nullable=False),
    sa.Column('screens', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['audit_entry_id'], ['audit_entry.id'], name=op.f('fk_receipt_audit_entry_id_audit_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_receipt_community_id_community')),
    sa.ForeignKeyConstraint(['street_id'], ['street.id'], name=op.f('fk_receipt_street_id_street')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_audit_entry_id'), ['audit_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_receipt_object', ['object_type', 'object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_street_id'), ['street_id'], unique=False)

    op.create_table('receipt_screen',
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('manifest_version', sa.Integer(), nullable=False),
    sa.Column('acked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('played_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipt.id'], name=op.f('fk_receipt_screen_receipt_id_receipt'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_receipt_screen_terminal_id_terminal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('receipt_id', 'terminal_id', name=op.f('pk_receipt_screen'))
    )
    with op.batch_alter_table('receipt_screen', schema=None) as batch_op:
        batch_op.create_index('ix_receipt_screen_open', ['terminal_id'], unique=False, postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))

    with op.batch_alter_table('terminal_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('download_percent', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('terminal_state', schema=None) as batch_op:
        batch_op.drop_column('download_percent')
        batch_op.drop_column('held_version')

    with op.batch_alter_table('receipt_screen', schema=None) as batch_op:
        batch_op.drop_index('ix_receipt_screen_open', postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))

    op.drop_table('receipt_screen')
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipt_street_id'))
        batch_op.drop_index('ix_receipt_object')
        batch_op.drop_index(batch_op.f('ix_receipt_created_at'))
        batch_op.drop_index(batch_op.f('ix_receipt_community_id'))
        batch_op.drop_index(batch_op.f('ix_receipt_audit_entry_id'))

    op.drop_table('receipt')
    with op.batch_alter_table('mandate_target', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mandate_target_mandate_id'))

    op.drop_table('mandate_target')
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mandate_street_id'))
        batch_op.drop_index(batch_op.f('ix_mandate_community_id'))

    op.drop_table('mandate')

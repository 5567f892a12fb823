"""layouts: a screen in regions; a schedule names a playlist or a layout

A layout (community-owned, or street-wide like playlists) holds named regions on a
reference canvas: the main playlist, a 滚动字幕 ticker, a clock, a title image
(server/models/layout.py; their meaning is playlists/layouts.py). rendered_sizes lists the
main-region sizes the scope's notices have been rendered for. A schedule now frames the
screen with a layout instead of playing a playlist: schedule.playlist_id becomes nullable,
schedule.layout_id is added, and a CHECK says exactly one of them is set.

SQLite rebuilds the schedule table (batch mode): its ids never come back (0014) and its
priority CHECK is carried over by name.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        'layout',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('overlay', sa.Boolean(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('regions', sa.JSON(), nullable=False),
        sa.Column('rendered_sizes', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['community.id'],
                                name=op.f('fk_layout_community_id_community')),
        sa.ForeignKeyConstraint(['created_by'], ['user_account.id'],
                                name=op.f('fk_layout_created_by_user_account')),
        sa.ForeignKeyConstraint(['street_id'], ['street.id'],
                                name=op.f('fk_layout_street_id_street')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_layout')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('layout', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_layout_community_id'), ['community_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_layout_street_id'), ['street_id'], unique=False)

    with op.batch_alter_table('schedule', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column('layout_id', sa.Integer(), nullable=True))
        batch_op.alter_column('playlist_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_schedule_layout_id'), ['layout_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_schedule_layout_id_layout'), 'layout',
                                    ['layout_id'], ['id'])
        batch_op.create_check_constraint(
            'playlist_or_layout', '(playlist_id IS NULL) <> (layout_id IS NULL)')


def downgrade() -> None:
    # Layout schedules have no playlist to fall back to: they go with their layouts.
    op.execute("DELETE FROM schedule WHERE layout_id IS NOT NULL")
    with op.batch_alter_table('schedule', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_schedule_playlist_or_layout'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_schedule_layout_id_layout'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_schedule_layout_id'))
        batch_op.alter_column('playlist_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('layout_id')
    with op.batch_alter_table('layout', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_layout_street_id'))
        batch_op.drop_index(batch_op.f('ix_layout_community_id'))
    op.drop_table('layout')

"""notice_excluded_sizes: screen sizes a notice leaves out

A notice whose text cannot be shown legibly on some screen size (ten 128x64 lift-lobby
panels in 东和) was refused for every screen. The editor can now leave those sizes out:
content_item.notice_excluded_sizes lists them ("128x64-mono"); they get no renditions and
those screens never get the notice in their manifest.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 16:20:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('content_item', schema=None,
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column('notice_excluded_sizes', sa.JSON(), server_default='[]',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('content_item', schema=None,
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column('notice_excluded_sizes')

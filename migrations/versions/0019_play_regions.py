"""play regions: proof of play per layout region

A play record names the layout region that showed it (main | ticker | image), and the
region is in the key of every play rollup, so each region's time is exact and reports
count the main region's unless asked for another. Every record and rollup row there is
was played full-frame, so it becomes the main region's (the column's default).

SQLite rebuilds each rollup (batch mode: its primary key changes); play_record only gains
a column, which SQLite adds in place however many records there are.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 19:10:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# Each rollup's key before this revision (the region is added at its end).
KEYS = {
    'play_hour': ['terminal_id', 'content_id', 'hour', 'building_id'],
    'play_day': ['day', 'terminal_id', 'content_id', 'building_id'],
    'play_month': ['month', 'terminal_id', 'content_id', 'building_id'],
    'play_hour_community': ['hour', 'community_id'],
    'play_terminal_day': ['day', 'terminal_id', 'building_id'],
    'play_terminal_month': ['month', 'terminal_id', 'building_id'],
    'play_content_day': ['day', 'community_id', 'content_id'],
    'play_content_month': ['month', 'community_id', 'content_id'],
}
HOUR_INDEX = 'ix_play_hour_topic_hour'


def _region() -> sa.Column:
    return sa.Column('region', sa.String(length=8), server_default='main', nullable=False)


def upgrade() -> None:
    op.add_column('play_record', _region())
    for table, key in KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(_region())
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', [*key, 'region'])
            if table == 'play_hour':  # the covering index carries the region too
                batch_op.drop_index(HOUR_INDEX)
                batch_op.create_index(HOUR_INDEX, ['topic_id', 'hour', 'community_id',
                                                   'region', 'seconds', 'plays'])


def downgrade() -> None:
    # Time of other regions has no place without the column: it goes.
    for table, key in KEYS.items():
        op.execute(f"DELETE FROM {table} WHERE region <> 'main'")
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == 'play_hour':
                batch_op.drop_index(HOUR_INDEX)
                batch_op.create_index(HOUR_INDEX, ['topic_id', 'hour', 'community_id',
                                                   'seconds', 'plays'])
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', key)
            batch_op.drop_column('region')
    op.execute("DELETE FROM play_record WHERE region <> 'main'")
    with op.batch_alter_table('play_record', schema=None) as batch_op:
        batch_op.drop_column('region')

"""broadcast right and broadcast texts: user_account.may_broadcast, content_item.broadcast_text

Sending an emergency broadcast becomes its own right: administrators always have it, and an
administrator can grant it to a reviewer or an editor (user_account.may_broadcast). The text
typed for a broadcast is a content item (so proof of play and reports treat it like any
other), but it belongs to the broadcasts list, not the library: content_item.broadcast_text
keeps it out of library lists, the review queue and playlist pickers.

Existing typed broadcasts are recognised as the notices a broadcast shows that their sender
approved themselves (normal review never lets an author approve their own item) and that
no alert template points at.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 15:50:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# A Boolean column brings a CHECK constraint, so SQLite's batch mode rebuilds the table:
# say again that its ids never come back (0014), or the rebuild drops AUTOINCREMENT.
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade():
    with op.batch_alter_table('user_account', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column('may_broadcast', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('content_item', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column('broadcast_text', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.execute(sa.text(
        "UPDATE content_item SET broadcast_text = :yes WHERE kind = 'notice'"
        " AND reviewed_by = created_by"
        " AND id IN (SELECT content_id FROM broadcast WHERE created_by = content_item.created_by)"
        " AND id NOT IN (SELECT content_id FROM alert_template)").bindparams(yes=True))


def downgrade():
    with op.batch_alter_table('content_item', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_column('broadcast_text')
    with op.batch_alter_table('user_account', schema=None,
                              table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_column('may_broadcast')

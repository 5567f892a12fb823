"""pending edits of approved content, and who submitted what when

An edit of approved content becomes a row of its own (content_item.draft_of_id names the
approved item) that waits for review while the approved version keeps playing; approval
copies it onto the approved row. submitted_by / submitted_at: the review queue shows who
asked for review and when.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 15:55:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('content_item', schema=None,
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column('submitted_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('submitted_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('draft_of_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_content_item_draft_of_id'),
                                          ['draft_of_id'])
        batch_op.create_foreign_key(batch_op.f('fk_content_item_submitted_by_user_account'),
                                    'user_account', ['submitted_by'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_content_item_draft_of_id_content_item'),
                                    'content_item', ['draft_of_id'], ['id'],
                                    ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('content_item', schema=None,
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_content_item_draft_of_id_content_item'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_content_item_submitted_by_user_account'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_content_item_draft_of_id'), type_='unique')
        batch_op.drop_column('draft_of_id')
        batch_op.drop_column('submitted_at')
        batch_op.drop_column('submitted_by')

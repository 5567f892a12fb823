"""byte counts as bigint: free disk and file sizes pass 2 GiB

PostgreSQL's INTEGER stops at 2 GiB, so every STATUS from a terminal with a real disk
failed there. SQLite's INTEGER already holds 64 bits (server.db.ByteCount keeps it
INTEGER), so nothing changes on SQLite: no table rebuild under foreign keys.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 13:42:22.346751
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

COLUMNS = [("blob", "size", False), ("terminal_state", "free_disk_bytes", True)]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, nullable in COLUMNS:
        op.alter_column(table, column, existing_type=sa.Integer(), type_=sa.BigInteger(),
                        existing_nullable=nullable)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, nullable in COLUMNS:
        op.alter_column(table, column, existing_type=sa.BigInteger(), type_=sa.Integer(),
                        existing_nullable=nullable)

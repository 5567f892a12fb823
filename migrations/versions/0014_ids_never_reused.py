"""ids never reused: AUTOINCREMENT on SQLite for every table with an integer id

Without it SQLite gives the highest deleted id to the next row: a deleted terminal's id
went to the next terminal made, in another community, and what still named the old one (a
live socket, a credential, a cached blob list, the play rollups, an audit entry, a bookmark)
came to name the new one. Every table whose key is one integer id gets it, not a chosen few:
audit entries name objects of every kind by id, and a rule without exceptions cannot be
forgotten for the next table (server/models/__init__.py sets it on the models).

SQLite can only add AUTOINCREMENT by rebuilding a table (batch mode); rows keep their ids
and the sequence starts after the highest one kept. migrations/env.py turns foreign keys
off around the migrations, as SQLite's procedure for schema changes requires: dropping the
old table with them on would cascade-delete the rows that reference it. PostgreSQL's
sequences never go back: nothing to do there.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 12:40:00.000000
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

TABLES = (
    "alert_template", "api_token", "audit_entry", "broadcast", "broadcast_target", "building",
    "community", "content_item", "login_session", "notice_rendition", "pairing_request",
    "playlist", "playlist_entry", "schedule", "schedule_target", "screen_plan",
    "screen_plan_target", "server_event", "street", "terminal", "terminal_alert",
    "terminal_command", "terminal_event", "topic", "user_account",
)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TABLES:
        with op.batch_alter_table(name, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)

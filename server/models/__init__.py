"""All tables. Import from here so Alembic sees every model."""

from server.models.accounts import ApiToken, Role, User
from server.models.audit import AuditEntry
from server.models.content import (
    Blob,
    ContentItem,
    ContentKind,
    ContentStatus,
    NoticeRendition,
    Topic,
)
from server.models.tree import Building, ColourMode, Community, Street, Terminal, TerminalTag

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Blob",
    "ContentItem",
    "ContentKind",
    "ContentStatus",
    "NoticeRendition",
    "Topic",
    "Building",
    "ColourMode",
    "Community",
    "Role",
    "Street",
    "Terminal",
    "TerminalTag",
    "User",
]

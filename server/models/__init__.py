"""All tables. Import from here so Alembic sees every model."""

from server.models.accounts import ApiToken, LoginSession, Role, User
from server.models.audit import AuditEntry
from server.models.broadcast import AlertTemplate, Broadcast, BroadcastDelivery, BroadcastTarget
from server.models.content import (
    Blob,
    ContentItem,
    ContentKind,
    ContentStatus,
    NoticeRendition,
    Topic,
)
from server.models.fleet import (
    Command,
    PairingRequest,
    PlayContentDay,
    PlayContentMonth,
    PlayDay,
    PlayHour,
    PlayHourCommunity,
    PlayMonth,
    PlayRecord,
    PlayTerminalDay,
    PlayTerminalMonth,
    TerminalState,
    UptimeDay,
    UptimeHour,
    UptimeMonth,
)
from server.models.health import Alert, TerminalEvent
from server.models.layout import Layout
from server.models.nodes import ServerEvent, ServerNode
from server.models.planned import (
    ClosedHours,
    PlannedContentDay,
    PlannedContentMonth,
    PlannedDay,
    PlannedHour,
    PlannedMonth,
    PlannedTerminalDay,
    PlannedTerminalMonth,
)
from server.models.publish import Mandate, MandateTarget, Receipt, ReceiptScreen
from server.models.schedule import (
    Playlist,
    PlaylistEntry,
    Schedule,
    ScheduleKind,
    ScheduleTarget,
    ScreenPlan,
    ScreenPlanTarget,
    TargetKind,
)
from server.models.scheduler import JobRun, SchedulerLease
from server.models.tree import (
    SCREEN,
    Building,
    ColourMode,
    Community,
    Screen,
    Street,
    Terminal,
    TerminalTag,
)
from server.models.trust import (
    GENESIS,
    EscalationPeriod,
    LogChain,
    PlayBatch,
    ScreeningWord,
    SigningKey,
)
from server.models.warning import WarningIntake, WarningMessage, WarningRule, WarningSource

__all__ = [
    "Mandate",
    "MandateTarget",
    "Receipt",
    "ReceiptScreen",
    "GENESIS",
    "EscalationPeriod",
    "LogChain",
    "PlayBatch",
    "ScreeningWord",
    "SigningKey",
    "WarningIntake",
    "WarningMessage",
    "WarningRule",
    "WarningSource",
    "SCREEN",
    "Screen",
    "AlertTemplate",
    "Broadcast",
    "BroadcastDelivery",
    "BroadcastTarget",
    "Alert",
    "JobRun",
    "SchedulerLease",
    "ServerEvent",
    "ServerNode",
    "TerminalEvent",
    "ApiToken",
    "LoginSession",
    "AuditEntry",
    "Blob",
    "ContentItem",
    "ContentKind",
    "ContentStatus",
    "NoticeRendition",
    "PairingRequest",
    "PlayDay",
    "PlayHour",
    "PlayHourCommunity",
    "PlayMonth",
    "PlayRecord",
    "Topic",
    "Building",
    "ColourMode",
    "Command",
    "Community",
    "Layout",
    "Playlist",
    "PlaylistEntry",
    "Role",
    "Schedule",
    "ScheduleKind",
    "ScheduleTarget",
    "ScreenPlan",
    "ScreenPlanTarget",
    "TargetKind",
    "Street",
    "Terminal",
    "TerminalState",
    "TerminalTag",
    "UptimeDay",
    "UptimeHour",
    "UptimeMonth",
    "ClosedHours",
    "PlannedDay",
    "PlannedHour",
    "PlannedMonth",
    "PlannedContentDay",
    "PlannedContentMonth",
    "PlannedTerminalDay",
    "PlannedTerminalMonth",
    "PlayContentDay",
    "PlayContentMonth",
    "PlayTerminalDay",
    "PlayTerminalMonth",
    "User",
]


def _ids_never_reused() -> None:
    """Every table whose key is one integer id never hands an id out twice: SQLite would
    give the highest deleted id to the next row (AUTOINCREMENT prevents it; PostgreSQL's
    sequences never go back), and a credential, a URL, an audit entry or a report row that
    named a deleted terminal, item or account would come to name another. All of them, so
    that no table can be forgotten; migration 0014 rebuilt the existing ones."""
    from sqlalchemy import Integer

    from server.db import Base

    for table in Base.metadata.tables.values():
        key = list(table.primary_key.columns)
        if len(key) == 1 and key[0].name == "id" and isinstance(key[0].type, Integer):
            table.dialect_kwargs["sqlite_autoincrement"] = True


_ids_never_reused()

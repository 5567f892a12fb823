"""All tables. Import from here so Alembic sees every model."""

from server.models.accounts import ApiToken, Role, User
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
    PlayDay,
    PlayHour,
    PlayHourCommunity,
    PlayMonth,
    PlayRecord,
    TerminalState,
    UptimeHour,
)
from server.models.health import Alert, TerminalEvent
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

__all__ = [
    "SCREEN",
    "Screen",
    "AlertTemplate",
    "Broadcast",
    "BroadcastDelivery",
    "BroadcastTarget",
    "Alert",
    "JobRun",
    "SchedulerLease",
    "TerminalEvent",
    "ApiToken",
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
    "UptimeHour",
    "User",
]

"""Schedule model and the resolver: what plays on terminal T at instant t.

Pure Python (stdlib + zoneinfo/tzdata); imported by both the server and the terminal player.
"""

from playlists.checks import PlanWarning, expiring_content, plan_warnings
from playlists.mandates import (
    MANDATE_PRIORITY,
    HourShare,
    MandateSpec,
    enforce,
    mandate_of,
    planned_share,
    required_s,
)
from playlists.model import (
    ALL_DAY,
    KINDS,
    MAX_DURATION_S,
    Item,
    ModelFormatError,
    Playlist,
    Schedule,
    ScreenPlan,
    TerminalPlan,
    Window,
)
from playlists.resolver import (
    CompileCache,
    CompiledPlan,
    Resolution,
    ScreenState,
    Segment,
    blobs_needed,
    compile_plan,
    planned_by_hour,
    resolve,
    screen_state,
    timeline,
)
from playlists.validation import FieldError, validate_plan, validate_schedule

__all__ = [
    "ALL_DAY",
    "KINDS",
    "MANDATE_PRIORITY",
    "MAX_DURATION_S",
    "CompileCache",
    "CompiledPlan",
    "FieldError",
    "HourShare",
    "Item",
    "MandateSpec",
    "ModelFormatError",
    "PlanWarning",
    "Playlist",
    "Resolution",
    "Schedule",
    "ScreenPlan",
    "ScreenState",
    "Segment",
    "TerminalPlan",
    "Window",
    "blobs_needed",
    "compile_plan",
    "enforce",
    "mandate_of",
    "expiring_content",
    "plan_warnings",
    "planned_by_hour",
    "planned_share",
    "required_s",
    "resolve",
    "screen_state",
    "timeline",
    "validate_plan",
    "validate_schedule",
]

"""Two-level review: which levels an item needs and who may approve the level that waits.

Pure functions, no database: the content service gathers the facts (scope, mark, whether an
escalated-review period covers the item now) and asks here; the pages ask the same
functions to decide what to offer. docs/content.md describes the rule for people.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.models import Role

COMMUNITY, STREET = "community", "street"
LEVELS = (COMMUNITY, STREET)

# Why an actor may not approve the level that waits (None: they may). Codes, so the
# service picks the translated message and the tests read the reason.
OWN = "own"  # created or submitted it
BOTH = "both"  # approved its community level already
LEVEL = "level"  # not a reviewer of the level that waits


@dataclass(frozen=True)
class Scope:
    """What decides the levels, as things stand when it is asked (an escalation period that
    begins while an item waits applies to it)."""

    street_wide: bool  # the item belongs to no community
    reaches_others: bool  # the schedules playing it reach another community's screens
    marked: bool  # the community asked for a street-level approval (street_review)
    escalated: bool  # an escalated-review period covers it now


@dataclass(frozen=True)
class Reviewer:
    id: int | None
    role: Role
    community_id: int | None  # None: street-level staff


def levels(scope: Scope) -> list[str]:
    """The levels in order: a street-wide item has only the street's; a community's item
    needs the street's after its own when it reaches beyond the community, is marked, or
    an escalation period covers it."""
    if scope.street_wide:
        return [STREET]
    if scope.reaches_others or scope.marked or scope.escalated:
        return [COMMUNITY, STREET]
    return [COMMUNITY]


def is_street_level(role: Role, community_id: int | None) -> bool:
    """Street-level reviewers: street admins, and a reviewer who belongs to no community."""
    return role == Role.street_admin or (role == Role.reviewer and community_id is None)


def may_review_level(level: str, who: Reviewer, item_community_id: int | None) -> bool:
    """Street level: street-level people only. Community level: the community's reviewers
    and admins, and street-level people."""
    if is_street_level(who.role, who.community_id):
        return True
    return (level == COMMUNITY and item_community_id is not None
            and who.community_id == item_community_id
            and who.role in (Role.reviewer, Role.community_admin))


def waiting(needed: list[str], stage: str) -> str:
    """The level waiting now. A street stage already reached stays (the community approved
    it; a period that ended since does not take that back); otherwise the first level
    needed now, so a community stage turns into the street's when the item became
    street-wide."""
    return STREET if stage == STREET else needed[0]


def next_stage(needed: list[str], stage: str) -> str | None:
    """After approving the waiting level: the next level, or None when that was the last."""
    now = waiting(needed, stage)
    return STREET if now == COMMUNITY and STREET in needed else None


def refusal(needed: list[str], stage: str, who: Reviewer, item_community_id: int | None,
            authors: set[int | None], community_approver: int | None,
            approving: bool = True) -> str | None:
    """Why `who` may not approve (`approving`) or reject the level that waits, or None.
    Rejecting at the street level after approving the community's is allowed: it lets
    nothing through."""
    if who.id is not None and who.id in authors:
        return OWN
    level = waiting(needed, stage)
    if not may_review_level(level, who, item_community_id):
        return LEVEL
    if approving and level == STREET and who.id is not None and who.id == community_approver:
        return BOTH
    return None

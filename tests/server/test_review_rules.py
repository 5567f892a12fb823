"""The two-level review rule as a table: scope × escalation × mark × role × stage → the
levels needed and whether this person may approve the level waiting (pure, no database)."""

from __future__ import annotations

import pytest

from server.models import Role
from server.services import review_rules as r
from server.services.review_rules import COMMUNITY, STREET, Reviewer, Scope

C1, C2 = 1, 2
AUTHOR, FIRST = 10, 11  # the item's author; who approved its community level
STREET_ADMIN = Reviewer(20, Role.street_admin, None)
STREET_REVIEWER = Reviewer(21, Role.reviewer, None)  # a reviewer of no community
C1_REVIEWER = Reviewer(22, Role.reviewer, C1)
C1_ADMIN = Reviewer(23, Role.community_admin, C1)
C2_REVIEWER = Reviewer(24, Role.reviewer, C2)
C1_EDITOR = Reviewer(25, Role.editor, C1)

# street_wide, reaches_others, marked, escalated -> levels
LEVELS = [
    (False, False, False, False, [COMMUNITY]),
    (False, False, True, False, [COMMUNITY, STREET]),
    (False, False, False, True, [COMMUNITY, STREET]),
    (False, True, False, False, [COMMUNITY, STREET]),
    (False, True, True, True, [COMMUNITY, STREET]),
    (True, False, False, False, [STREET]),
    (True, True, True, True, [STREET]),
]


@pytest.mark.parametrize("street_wide,others,marked,escalated,expected", LEVELS)
def test_levels(street_wide, others, marked, escalated, expected):
    assert r.levels(Scope(street_wide, others, marked, escalated)) == expected


ONE, TWO, STREET_ONLY = [COMMUNITY], [COMMUNITY, STREET], [STREET]
# needed, stored stage, reviewer, item community, community approver -> refusal, next stage
TABLE = [
    # one level: the community's own reviewers and admins, and street-level people
    (ONE, COMMUNITY, C1_REVIEWER, C1, None, None, None),
    (ONE, COMMUNITY, C1_ADMIN, C1, None, None, None),
    (ONE, COMMUNITY, STREET_ADMIN, C1, None, None, None),
    (ONE, COMMUNITY, STREET_REVIEWER, C1, None, None, None),
    (ONE, COMMUNITY, C2_REVIEWER, C1, None, r.LEVEL, None),
    (ONE, COMMUNITY, C1_EDITOR, C1, None, r.LEVEL, None),
    (ONE, "", C1_REVIEWER, C1, None, None, None),  # submitted before two levels existed
    # two levels, community waiting: approving hands it to the street
    (TWO, COMMUNITY, C1_REVIEWER, C1, None, None, STREET),
    (TWO, COMMUNITY, STREET_ADMIN, C1, None, None, STREET),
    (TWO, COMMUNITY, C2_REVIEWER, C1, None, r.LEVEL, STREET),
    # two levels, street waiting: street-level people only, not the community's approver
    (TWO, STREET, C1_REVIEWER, C1, FIRST, r.LEVEL, None),
    (TWO, STREET, C1_ADMIN, C1, FIRST, r.LEVEL, None),
    (TWO, STREET, STREET_ADMIN, C1, FIRST, None, None),
    (TWO, STREET, STREET_REVIEWER, C1, FIRST, None, None),
    (TWO, STREET, Reviewer(FIRST, Role.street_admin, None), C1, FIRST, r.BOTH, None),
    # escalation began while it waited: the community stage now leads to the street
    (TWO, COMMUNITY, C1_REVIEWER, C1, None, None, STREET),
    # a period ended after the community approved: the street stage stays
    (ONE, STREET, C1_REVIEWER, C1, FIRST, r.LEVEL, None),
    (ONE, STREET, STREET_ADMIN, C1, FIRST, None, None),
    # street-wide: the street's level only, whatever stage was stored
    (STREET_ONLY, COMMUNITY, C1_ADMIN, None, None, r.LEVEL, None),
    (STREET_ONLY, COMMUNITY, STREET_ADMIN, None, None, None, None),
    (STREET_ONLY, "", STREET_REVIEWER, None, None, None, None),
    # the author never approves, at any level
    (ONE, COMMUNITY, Reviewer(AUTHOR, Role.reviewer, C1), C1, None, r.OWN, None),
    (TWO, STREET, Reviewer(AUTHOR, Role.street_admin, None), C1, FIRST, r.OWN, None),
]


@pytest.mark.parametrize("needed,stage,who,community,first,refusal,after", TABLE)
def test_who_may_approve_the_level_waiting(needed, stage, who, community, first, refusal,
                                           after):
    assert r.refusal(needed, stage, who, community, {AUTHOR}, first) == refusal
    assert r.next_stage(needed, stage) == after


def test_rejecting_after_approving_the_community_level_is_allowed():
    who = Reviewer(FIRST, Role.street_admin, None)
    assert r.refusal(TWO, STREET, who, C1, {AUTHOR}, FIRST) == r.BOTH
    assert r.refusal(TWO, STREET, who, C1, {AUTHOR}, FIRST, approving=False) is None


def test_street_level_people():
    assert r.is_street_level(Role.street_admin, None)
    assert r.is_street_level(Role.reviewer, None)
    assert not r.is_street_level(Role.reviewer, C1)
    assert not r.is_street_level(Role.community_admin, C1)
    assert not r.is_street_level(Role.editor, None)

"""Who may see and change what. The one place community scoping is decided."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true

from server.models import Role, User
from server.services.errors import N_, Forbidden, NotFound, ServiceError

# Roles allowed to change the community tree and accounts.
TREE_EDITORS = (Role.street_admin, Role.community_admin)
ADMIN_ROLES = frozenset(TREE_EDITORS)
# Emergency broadcasts skip review, so sending one is a right of its own: administrators
# always have it; an administrator may grant it to a reviewer or an editor
# (User.may_broadcast); viewers never have it.
BROADCAST_GRANTABLE = (Role.reviewer, Role.editor)


def may_broadcast(role: Role, granted: bool) -> bool:
    """The one rule for who may send and cancel emergency broadcasts."""
    return role in ADMIN_ROLES or (granted and role in BROADCAST_GRANTABLE)


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str
    role: Role
    street_id: int
    community_id: int | None
    broadcast_granted: bool = False  # User.may_broadcast; see may_broadcast

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.username, user.role, user.street_id, user.community_id,
                   bool(user.may_broadcast))

    @classmethod
    def system(cls, street_id: int, name: str = "cli") -> Actor:
        return cls(None, name, Role.street_admin, street_id, None)

    @property
    def is_street_admin(self) -> bool:
        return self.role == Role.street_admin

    def sees(self, community_id: int | None) -> bool:
        """Street-wide objects (community None) are visible to everyone in the street."""
        return self.is_street_admin or community_id is None or community_id == self.community_id

    def community_clause(self, column) -> ColumnElement[bool]:
        """SQL filter matching `sees` for a community_id column."""
        if self.is_street_admin:
            return true()
        return (column == self.community_id) | column.is_(None)

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(N_("Your role does not allow this action."))

    @property
    def may_broadcast(self) -> bool:
        return may_broadcast(self.role, self.broadcast_granted)

    def require_broadcast(self, community_id: int | None = None,
                          what: str = "broadcast") -> None:
        """Send or cancel a broadcast owned by `community_id` (None: street-wide, which only
        street admins send)."""
        self.require_community(community_id, what)
        if not self.may_broadcast:
            raise Forbidden(N_("You may not send emergency broadcasts; a street or community "
                               "administrator can grant you this right."))
        if community_id is None and not self.is_street_admin:
            raise Forbidden(N_("Only street administrators can change street-wide objects."))

    def require_community(self, community_id: int | None, what: str = "object") -> None:
        """Out-of-scope objects are reported as missing, never as forbidden."""
        if not self.sees(community_id):
            raise NotFound(N_("No such %(what)s."), what=what)

    def require_edit(self, community_id: int | None, what: str = "object") -> None:
        """Change rights: street admin anywhere, community admin in its own community.

        Visibility is checked first, so another community's object is "not found"
        rather than "forbidden" and its existence is not revealed.
        """
        self.require_community(community_id, what)
        self.require_role(*TREE_EDITORS)
        if community_id is None and not self.is_street_admin:
            raise Forbidden(N_("Only street administrators can change street-wide objects."))


# --- Staff accounts: the one rule (docs/security.md) ------------------------------------


def account_roles(actor: Actor) -> tuple[Role, ...]:
    """The roles `actor` may give to the accounts it manages: every role for a street
    admin, the non-admin ones for a community admin, none for anyone else."""
    if actor.is_street_admin:
        return tuple(Role)
    if actor.role == Role.community_admin:
        return tuple(r for r in Role if r not in ADMIN_ROLES)
    return ()


def account_refusal(actor: Actor, role: Role, community_id: int | None) -> ServiceError | None:
    """Why `actor` may not manage an account with `role` in `community_id`, or None.

    Checked for the account as it is and as a change would leave it, so a community admin
    can neither touch a peer admin nor make one. Street admins manage every account of
    their street (callers check the street); community admins the non-admin accounts of
    their own community; nobody else manages accounts."""
    if actor.role not in ADMIN_ROLES:
        return _not_an_admin()
    if actor.is_street_admin:
        return None
    if role in ADMIN_ROLES:
        return Forbidden(N_("Only street administrators can create or change administrator "
                            "accounts; ask a street administrator."))
    if community_id is not None and community_id != actor.community_id:
        return NotFound(N_("No such %(what)s."), what="community")
    return None


def _not_an_admin() -> Forbidden:
    return Forbidden(N_("Only administrators can manage accounts; "
                        "ask your community administrator."))


def require_account_admin(actor: Actor) -> None:
    """For the accounts pages as a whole: only admins manage any account."""
    if actor.role not in ADMIN_ROLES:
        raise _not_an_admin()


def may_manage_account(actor: Actor, role: Role, community_id: int | None) -> bool:
    """For pages: whether to offer the change at all."""
    return account_refusal(actor, role, community_id) is None


def require_account_manager(actor: Actor, role: Role, community_id: int | None) -> None:
    refusal = account_refusal(actor, role, community_id)
    if refusal is not None:
        raise refusal

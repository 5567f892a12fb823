"""Who may see and change what. The one place community scoping is decided."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true

from server.models import Role, User
from server.services.errors import N_, Forbidden, NotFound

# Roles allowed to change the community tree and accounts.
TREE_EDITORS = (Role.street_admin, Role.community_admin)


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str
    role: Role
    street_id: int
    community_id: int | None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.username, user.role, user.street_id, user.community_id)

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

"""Staff accounts and their personal API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow
from server.models.tree import Community, Street


class Role(enum.StrEnum):
    street_admin = "street_admin"  # everything, every community of the street
    community_admin = "community_admin"  # its community's tree and users
    reviewer = "reviewer"  # approves or rejects content
    editor = "editor"  # writes content, playlists, schedules
    viewer = "viewer"  # reads and reports


class User(Base):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    # None only for street admins; everyone else belongs to one community.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Granted to a reviewer or editor: may send emergency broadcasts (admins always may;
    # the rule is server.services.access.may_broadcast).
    may_broadcast: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    street: Mapped[Street] = relationship()
    community: Mapped[Community | None] = relationship()

    # The key of the sign-in (LoginSession) this instance was loaded for or made by; not
    # a column. It is Flask-Login's "alternative token": the session cookie names the
    # sign-in, not the user, so ending the sign-in's row ends every copy of the cookie.
    login_key = None

    # Flask-Login protocol, kept here so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        if self.login_key is None:  # a user id in the cookie could never be revoked
            raise RuntimeError("sign in through server.services.accounts.start_session")
        return self.login_key


class ApiToken(Base):
    """A personal token for the REST API. Only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in the UI to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()


class LoginSession(Base):
    """One sign-in of a staff browser. Its cookie holds a random key; only the key's SHA-256
    is stored. Deleting the row signs the browser out for good, whatever copies of the
    cookie exist (Flask's session cookie is client-side and cannot be taken back)."""

    __tablename__ = "login_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Staff accounts, passwords and personal API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from server import workpool
from server.db import utcnow
from server.models import ApiToken, Community, LoginSession, Role, User
from server.services import audit
from server.services.access import BROADCAST_GRANTABLE, Actor, require_account_manager
from server.services.errors import N_, Conflict, Invalid, NotFound

USER_FIELDS = ("username", "display_name", "role", "community_id", "active", "may_broadcast")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "sgn_"

# Verified against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


# scrypt is slow on purpose (0.1 s to check, 0.2 s to hash, up to 0.7 s measured on a busy
# 2-core box): CPU work, so it runs in a job worker, not on the event loop the terminals'
# heartbeats share (the loop-lag monitor named POST /login as the worst stall).


def hash_password(password: str) -> str:
    return workpool.run(generate_password_hash, password, method="scrypt")


def _matches(password_hash: str, password: str) -> bool:
    return workpool.run(check_password_hash, password_hash, password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(
            N_("The password must have at least %(min)d characters."), field="password",
            min=MIN_PASSWORD,
        )


def authenticate(s: Session, username: str, password: str) -> User | None:
    """The user, or None. Callers show one generic message either way."""
    user = s.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        _matches(_DUMMY_HASH, password)
        return None
    if not _matches(user.password_hash, password) or not user.active:
        return None
    return user


def list_users(s: Session, actor: Actor) -> list[User]:
    q = select(User).where(User.street_id == actor.street_id)
    if not actor.is_street_admin:
        q = q.where(User.community_id == actor.community_id)
    return list(s.scalars(q.order_by(User.username)))


def get_user(s: Session, actor: Actor, user_id: int) -> User:
    u = s.get(User, user_id)
    if u is None or u.street_id != actor.street_id:
        raise NotFound(N_("No such %(what)s."), what="user")
    if not actor.is_street_admin and u.community_id != actor.community_id:
        raise NotFound(N_("No such %(what)s."), what="user")
    return u


def manageable_user(s: Session, actor: Actor, user_id: int) -> User:
    """An account `actor` may change: out of sight is 404, in sight but not its to manage
    (a peer admin, or any account for a non-admin) 403."""
    u = get_user(s, actor, user_id)
    require_account_manager(actor, u.role, u.community_id)
    return u


def create_user(
    s: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    community_id: int | None,
    display_name: str = "",
    may_broadcast: bool = False,
) -> User:
    role_ = _role(role)
    _check_assignment(s, actor, role_, community_id)
    if not USERNAME_RE.match(username or ""):
        raise Invalid(
            N_("User names are 3 to 40 letters, digits, “.”, “_” or “-”."), field="username"
        )
    check_password_strength(password)
    u = User(
        username=username,
        display_name=(display_name or "").strip()[:80],
        password_hash=hash_password(password),
        role=role_,
        street_id=actor.street_id,
        community_id=community_id if role_ != Role.street_admin else None,
        may_broadcast=_broadcast_grant(role_, may_broadcast),
    )
    s.add(u)
    try:
        s.flush()
    except IntegrityError as exc:
        s.rollback()
        raise Conflict(
            N_("The user name “%(name)s” is taken."), field="username", name=username
        ) from exc
    audit.record(s, actor, "create", "user", u.id, label=u.username, community_id=u.community_id,
                 after=audit.snapshot(u, USER_FIELDS))
    return u


def update_user(s: Session, actor: Actor, user_id: int, **changes: object) -> User:
    """A role change, a move to another community, a password reset and a deactivation
    also sign the account out everywhere and revoke its API tokens (`end_access`)."""
    u = manageable_user(s, actor, user_id)  # the account as it is
    before = audit.snapshot(u, USER_FIELDS)
    role_ = _role(str(changes.get("role", u.role)))
    community_id = changes.get("community_id", u.community_id)
    _check_assignment(s, actor, role_, community_id)  # type: ignore[arg-type]  # as it will be
    if u.id == actor.id and (role_ != u.role or changes.get("active") is False):
        raise Invalid(N_("You cannot demote or deactivate your own account."), field="role")
    if u.id == actor.id and changes.get("password"):
        # Here it would sign out the admin's own browser; there it needs the old password.
        raise Invalid(N_("Change your own password on the “My account” page."),
                      field="password")
    u.role = role_
    u.community_id = None if role_ == Role.street_admin else community_id  # type: ignore[assignment]
    if "display_name" in changes:
        u.display_name = str(changes["display_name"]).strip()[:80]
    if "active" in changes:
        u.active = bool(changes["active"])
    u.may_broadcast = _broadcast_grant(role_, bool(changes.get("may_broadcast",
                                                               u.may_broadcast)))
    if changes.get("password"):
        check_password_strength(str(changes["password"]))
        u.password_hash = hash_password(str(changes["password"]))
    s.flush()
    after = audit.snapshot(u, USER_FIELDS)
    if changes.get("password"):
        after["password"] = "changed"
    if _access_changed(before, after):
        after["sessions_ended"], after["tokens_revoked"] = end_access(s, u)
    audit.record(s, actor, "update", "user", u.id, label=u.username, community_id=u.community_id,
                 before=before, after=after)
    return u


def _access_changed(before: dict, after: dict) -> bool:
    """What an open session or a token must not outlive: a new password, a new role or
    community (the staff socket's rooms were chosen by them), a deactivation."""
    return ("password" in after or before["role"] != after["role"]
            or before["community_id"] != after["community_id"]
            or (before["active"] and not after["active"]))


def change_own_password(s: Session, user: User, old: str, new: str) -> None:
    """Ends every other sign-in and every API token of the account: whoever else knew the
    old password is out. The sign-in that made the change (user.login_key) stays."""
    if not _matches(user.password_hash, old):
        raise Invalid(N_("The current password is wrong."), field="old_password")
    check_password_strength(new)
    user.password_hash = hash_password(new)
    sessions, tokens = end_access(s, user, keep=user.login_key)
    audit.record(s, Actor.of(user), "update", "user", user.id, label=user.username,
                 community_id=user.community_id,
                 after={"password": "changed", "sessions_ended": sessions,
                        "tokens_revoked": tokens})


def _broadcast_grant(role: Role, granted: bool) -> bool:
    """Stored only where it means something (access.may_broadcast): administrators always
    have the right and viewers never, so a grant does not linger to wake on a role change."""
    return bool(granted) and role in BROADCAST_GRANTABLE


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise Invalid(N_("Unknown role “%(role)s”."), field="role", role=value) from None


def _check_assignment(s: Session, actor: Actor, role: Role, community_id: int | None) -> None:
    """The account as a change leaves it: allowed to `actor` (the rule is in access.py),
    and in a community of the actor's street unless it is a street admin's."""
    require_account_manager(actor, role, community_id)
    if role == Role.street_admin:
        return
    if community_id is None:
        raise Invalid(N_("Every account except street administrators belongs to a community."),
                      field="community_id")
    c = s.get(Community, community_id)
    if c is None or c.street_id != actor.street_id or not actor.sees(c.id):
        raise NotFound(N_("No such %(what)s."), what="community")


# --- Sign-ins (Flask-Login sessions) --------------------------------------------------

SIGNED_OUT_KEY = "signage_signed_out"


class SignOut(NamedTuple):
    """Sign-ins a transaction ended, for what else holds them: the staff sockets they let
    in (server/hub/staff.py closes those after the commit)."""

    user_id: int
    key_hash: str | None = None  # only this sign-in; None: every one of the user's
    keep_hash: str | None = None  # but this one

    def covers(self, user_id: int, key_hash: str) -> bool:
        return (user_id == self.user_id and self.key_hash in (None, key_hash)
                and key_hash != self.keep_hash)


def signed_out(s: Session) -> list[SignOut]:
    """Taken once, after the commit (or dropped after a rollback)."""
    return s.info.pop(SIGNED_OUT_KEY, [])


def key_hash(key: str) -> str:
    return _digest(key)



def start_session(s: Session, user: User) -> str:
    """A new sign-in; its key goes into the session cookie (User.get_id returns it)."""
    key = secrets.token_urlsafe(32)
    s.add(LoginSession(user_id=user.id, key_hash=_digest(key)))
    user.login_key = key
    return key


def user_for_session(s: Session, key: str) -> User | None:
    """The user of a live sign-in, or None: ended, unknown, or the account is inactive."""
    user = s.scalar(select(User).join(LoginSession, LoginSession.user_id == User.id)
                    .where(LoginSession.key_hash == _digest(key)))
    if user is None or not user.active:
        return None
    user.login_key = key
    return user


def end_session(s: Session, user: User) -> None:
    """Logout: the sign-in `user` was loaded for is over, whatever copies of its cookie
    exist."""
    if user.login_key:
        digest = _digest(user.login_key)
        s.execute(delete(LoginSession).where(LoginSession.key_hash == digest))
        s.info.setdefault(SIGNED_OUT_KEY, []).append(SignOut(user.id, key_hash=digest))


def end_access(s: Session, user: User, keep: str | None = None) -> tuple[int, int]:
    """Signs the account out everywhere but the sign-in `keep`, and revokes every API
    token it has. Returns how many sign-ins and tokens ended."""
    keep_hash = _digest(keep) if keep else None
    q = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_hash:
        q = q.where(LoginSession.key_hash != keep_hash)
    sessions = s.execute(q).rowcount
    s.info.setdefault(SIGNED_OUT_KEY, []).append(SignOut(user.id, keep_hash=keep_hash))
    tokens = s.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    return sessions, tokens


# --- API tokens ---------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(s: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and the plaintext, which is shown once and never stored."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise Invalid(N_("Give the token a name of 1 to 80 characters."), field="name")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tok = ApiToken(user_id=user.id, name=name, token_hash=_digest(plaintext),
                   prefix=plaintext[:10])
    s.add(tok)
    s.flush()
    audit.record(s, Actor.of(user), "create", "token", tok.id, label=name,
                 community_id=user.community_id)
    return tok, plaintext


def list_tokens(s: Session, user: User) -> list[ApiToken]:
    q = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(s.scalars(q))


def revoke_token(s: Session, user: User, token_id: int) -> None:
    tok = s.get(ApiToken, token_id)
    if tok is None or tok.user_id != user.id:
        raise NotFound(N_("No such %(what)s."), what="token")
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        audit.record(s, Actor.of(user), "revoke", "token", tok.id, label=tok.name,
                     community_id=user.community_id)


def user_for_token(s: Session, plaintext: str) -> User | None:
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    tok = s.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(plaintext)))
    if tok is None or tok.revoked_at is not None or not tok.user.active:
        return None
    tok.last_used_at = utcnow()
    return tok.user

"""Who may use the workbench: users with roles, argon2 password hashes, server-side sessions that
expire when idle, and the synchronizer CSRF token every form echoes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy.orm import Session

from mdm.errors import MdmError
from warehouse.models import WorkbenchSession, WorkbenchUser

ROLES = ("viewer", "steward", "admin")  # each can do what the ones before it can
MIN_PASSWORD_LENGTH = 10
SESSION_MAX_AGE = dt.timedelta(hours=12)  # even an active session signs in again each day
_hasher = PasswordHasher()
# Verified when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SignedIn:
    username: str
    role: str
    csrf_token: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def add_user(session: Session, *, username: str, password: str, role: str) -> WorkbenchUser:
    """A new workbench user (or a new password and role for an existing one)."""
    if role not in ROLES:
        raise MdmError(f"role must be one of {', '.join(ROLES)}")
    if not username.strip() or len(username) > 100:
        raise MdmError("a user name has 1 to 100 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise MdmError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    user = session.get(WorkbenchUser, username) or WorkbenchUser(
        username=username, created_at=dt.datetime.now(dt.UTC)
    )
    user.password_hash, user.role, user.is_active = _hasher.hash(password), role, True
    session.add(user)
    # A changed password or role ends the user's sessions.
    session.execute(sa.delete(WorkbenchSession).where(WorkbenchSession.username == username))
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(session: Session, *, username: str, password: str) -> str | None:
    """A new session token for the right name and password, else None."""
    user = session.get(WorkbenchUser, username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    token = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    session.add(
        WorkbenchSession(
            token_hash=_token_hash(token),
            username=username,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


def sign_out(session: Session, *, token: str) -> None:
    session.execute(
        sa.delete(WorkbenchSession).where(WorkbenchSession.token_hash == _token_hash(token))
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def signed_in(session: Session, *, token: str | None, idle: dt.timedelta) -> SignedIn | None:
    """Who holds this session token, if the session is still alive; touching it keeps it so."""
    if not token:
        return None
    row = session.execute(
        sa.select(WorkbenchSession, WorkbenchUser)
        .join(WorkbenchUser, WorkbenchUser.username == WorkbenchSession.username)
        .where(WorkbenchSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    found, user = row
    now = dt.datetime.now(dt.UTC)
    expired = (
        now - _aware(found.last_seen_at) > idle or now - _aware(found.created_at) > SESSION_MAX_AGE
    )
    if expired or not user.is_active:
        session.delete(found)
        return None
    found.last_seen_at = now
    return SignedIn(username=user.username, role=user.role, csrf_token=found.csrf_token)


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so the token cannot be guessed a character at a time."""
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())

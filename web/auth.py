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
from warehouse.models import LoginThrottle, StewardDecision, WorkbenchSession, WorkbenchUser

ROLES = ("viewer", "steward", "admin")  # each can do what the ones before it can
MIN_PASSWORD_LENGTH = 10
SESSION_MAX_AGE = dt.timedelta(hours=12)  # even an active session signs in again each day
# Throttle: after MAX_FAILURES failed sign-ins of a user name or from a client address (none
# more than FAILURE_WINDOW apart), sign-in is refused for LOCK_BASE, doubling per further
# failure up to LOCK_MAX. A name that does not exist is throttled the same, so a lock says
# nothing about which names exist.
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(hours=1)
LOCK_BASE = dt.timedelta(seconds=30)
LOCK_MAX = dt.timedelta(minutes=15)
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


class SignInLocked(MdmError):
    """Too many failed sign-ins: refused without looking at the password."""

    def __init__(self, retry_after: dt.timedelta) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins; try again in {retry_after.seconds + 1} s")


def _throttles(session: Session, username: str, client: str) -> list[LoginThrottle]:
    keys = (("user", username[:100]), ("client", client[:100]))
    return [
        session.get(LoginThrottle, key)
        or LoginThrottle(scope=key[0], key=key[1], failures=0, last_failure_at=_EPOCH)
        for key in keys
    ]


def _audit_sign_in(session: Session, *, action: str, username: str, client: str) -> None:
    session.add(
        StewardDecision(
            action=action,
            subject={"username": username[:100], "client": client[:100]},
            decided_by=username[:100] or "-",
            decided_at=dt.datetime.now(dt.UTC),
        )
    )


def sign_in(session: Session, *, username: str, password: str, client: str = "") -> str | None:
    """A new session token for the right name and password, else None; SignInLocked while the
    name or the client address is throttled. The caller commits either way."""
    now = dt.datetime.now(dt.UTC)
    throttles = _throttles(session, username, client)
    locked = [
        _aware(t.locked_until) for t in throttles if t.locked_until and _aware(t.locked_until) > now
    ]
    if locked:
        _audit_sign_in(session, action="sign_in_refused", username=username, client=client)
        raise SignInLocked(max(locked) - now)
    user = session.get(WorkbenchUser, username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        right = user is not None and user.is_active
    except (VerifyMismatchError, InvalidHashError):
        right = False
    if not right:
        for throttle in throttles:
            _count_failure(session, throttle, now)
        if any(t.failures >= MAX_FAILURES for t in throttles):  # a lock (again) now
            _audit_sign_in(session, action="sign_in_locked", username=username, client=client)
        return None
    session.execute(
        sa.delete(LoginThrottle).where(LoginThrottle.scope == "user", LoginThrottle.key == username)
    )
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


def unlock_sign_in(session: Session, *, username: str, client: str | None, by: str) -> int:
    """End a sign-in lock before it runs out (the person called the help desk): the user
    name's throttle, and the client address's when given. Audited with who unlocked it.
    Returns how many throttles were cleared. The caller commits."""
    keys = [("user", username[:100])] + ([("client", client[:100])] if client else [])
    cleared = 0
    for scope, key in keys:
        result = session.execute(
            sa.delete(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
        )
        cleared += int(result.rowcount or 0)  # type: ignore[attr-defined]
    session.add(
        StewardDecision(
            action="sign_in_unlocked",
            subject={"username": username[:100], "client": (client or "")[:100]},
            after={"throttles_cleared": cleared},
            decided_by=by[:100],
            decided_at=dt.datetime.now(dt.UTC),
        )
    )
    return cleared


def _count_failure(session: Session, throttle: LoginThrottle, now: dt.datetime) -> None:
    if now - _aware(throttle.last_failure_at) > FAILURE_WINDOW:
        throttle.failures = 0
    throttle.failures += 1
    throttle.last_failure_at = now
    if throttle.failures >= MAX_FAILURES:
        delay = min(LOCK_BASE * 2 ** (throttle.failures - MAX_FAILURES), LOCK_MAX)
        throttle.locked_until = now + delay
    session.add(throttle)


def sign_out(session: Session, *, token: str) -> None:
    session.execute(
        sa.delete(WorkbenchSession).where(WorkbenchSession.token_hash == _token_hash(token))
    )


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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

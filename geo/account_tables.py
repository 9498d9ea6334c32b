"""The account tables: accounts, their API tokens and the record of what was done to them; how
an account row becomes a :class:`User`; and the checks every change of an account makes.

Passwords are kept only as salted hashes and API tokens only as SHA-256 digests (see
:mod:`geo.accounts`).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.database import Base, UTCDateTime

#: Roles, least to most trusted.
ROLES: tuple[str, ...] = ("viewer", "staff", "admin")

#: Shortest password accepted.
MIN_PASSWORD_LENGTH: int = 8


class AccountError(ValueError):
    """An account could not be made or changed as asked.

    Attributes:
        field: the input at fault (``username``, ``password``, ``role`` or ``days``).
        message: what is wrong with it.
    """

    def __init__(self, field: str, message: str) -> None:
        """Make the error.

        Args:
            field: the input at fault.
            message: what is wrong with it.
        """
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclasses.dataclass(frozen=True)
class User:
    """An account, without its password hash.

    Attributes:
        id: the account's id.
        username: the unique name it signs in with.
        role: one of :data:`ROLES`.
        failed_attempts: wrong passwords since the last sign-in or the end of the last lock.
        locked_until: when a lock ends (UTC), or None if it was never locked.
        created_at: when the account was made (UTC).
        session_version: the version signed-in sessions must carry; moved on to end them all.
        active: False once an admin deactivates it: it cannot sign in and its tokens are
            refused.
        must_change_password: True after an admin reset its password: it must choose a new one
            before anything else.
        last_sign_in_at: when it last signed in (UTC), or None if never.
    """

    id: int
    username: str
    role: str
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    session_version: int
    active: bool
    must_change_password: bool
    last_sign_in_at: datetime | None

    def has_role(self, role: str) -> bool:
        """Tell whether the account has a role or a more trusted one.

        Args:
            role: one of :data:`ROLES`.

        Returns:
            True if this account's role ranks at least as high.
        """
        return ROLES.index(self.role) >= ROLES.index(role)

    def is_locked(self, now: datetime) -> bool:
        """Tell whether the account is locked at a time.

        Args:
            now: an aware datetime.

        Returns:
            True while a lock lasts.
        """
        return self.locked_until is not None and now < self.locked_until


class UserRow(Base):
    """One account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    failed_attempts: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    session_version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    must_change_password: Mapped[bool] = mapped_column(Boolean)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TokenRow(Base):
    """One API token, kept as its SHA-256 digest only."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountEventRow(Base):
    """One change made to an account: who made it, when, and what it was."""

    __tablename__ = "account_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    username: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(200))


def to_user(row: UserRow) -> User:
    """Turn a row into a User.

    Args:
        row: the ORM row.

    Returns:
        The account, without its password hash.
    """
    return User(
        id=row.id, username=row.username, role=row.role, failed_attempts=row.failed_attempts,
        locked_until=row.locked_until, created_at=row.created_at,
        session_version=row.session_version, active=row.active,
        must_change_password=row.must_change_password, last_sign_in_at=row.last_sign_in_at,
    )


def check_password(password: str) -> None:
    """Refuse a password that is too short.

    Args:
        password: the password given.

    Raises:
        AccountError: it has fewer than :data:`MIN_PASSWORD_LENGTH` characters.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters long")


def check_role(role: str) -> None:
    """Refuse a role that is not one of :data:`ROLES`.

    Args:
        role: the role given.

    Raises:
        AccountError: the role is unknown.
    """
    if role not in ROLES:
        raise AccountError("role", f"unknown role {role!r}; use one of {', '.join(ROLES)}")


def user_id_of(session: Session, username: str) -> int:
    """Return the id of the account with a name.

    Args:
        session: an open session.
        username: the account's name.

    Returns:
        The id.

    Raises:
        AccountError: no account has that name.
    """
    user_id = session.scalar(select(UserRow.id).where(UserRow.username == username))
    if user_id is None:
        raise AccountError("username", f"no account named {username!r}")
    return user_id

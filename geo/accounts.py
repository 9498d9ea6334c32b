"""Staff accounts: who may change station records, and the API tokens they write with.

Accounts live in the station store's database (same URL, tables made by the same Alembic
migrations), so SQLite and PostgreSQL both have them. Passwords are stored only as salted
scrypt hashes (:func:`werkzeug.security.generate_password_hash`), API tokens only as SHA-256
digests: a stolen database yields neither.

Roles rank ``viewer`` < ``staff`` < ``admin``: a viewer may read the staff pages, staff may also
change stations, an admin may also manage accounts. After :data:`MAX_FAILED_ATTEMPTS` wrong
passwords in a row an account is locked for :data:`LOCKOUT`; while it is locked even the right
password is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from geo.store import UTCDateTime, _upgrade_to_head, create_store_engine

#: Roles, least to most trusted.
ROLES: tuple[str, ...] = ("viewer", "staff", "admin")

#: Wrong passwords in a row that lock an account.
MAX_FAILED_ATTEMPTS: int = 5

#: How long a locked account stays locked.
LOCKOUT: timedelta = timedelta(minutes=15)

#: Shortest password accepted.
MIN_PASSWORD_LENGTH: int = 8

#: A user name: 1 to 80 letters (any script), digits, ``.``, ``_``, ``@`` or ``-``.
USERNAME_PATTERN = re.compile(r"[\w.@-]{1,80}")

#: How passwords are hashed (a :func:`werkzeug.security.generate_password_hash` method):
#: scrypt, salted, about 0.1 s per check.
PASSWORD_METHOD: str = "scrypt"

#: Random bytes in an API token (it is sent as URL-safe base64).
TOKEN_BYTES: int = 32


class AccountError(ValueError):
    """An account could not be made or changed as asked.

    Attributes:
        field: the input at fault (``username``, ``password`` or ``role``).
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


class SignInRefused(Exception):
    """A sign-in was refused: unknown user, wrong password, or a locked account.

    The reason is deliberately not given: whoever tries must not learn whether a user name
    exists.
    """


@dataclasses.dataclass(frozen=True)
class User:
    """An account, without its password hash.

    Attributes:
        id: the account's id.
        username: the unique name it signs in with.
        role: one of :data:`ROLES`.
        failed_attempts: wrong passwords since the last sign-in or lock.
        locked_until: when a lock ends (UTC), or None if it was never locked.
        created_at: when the account was made (UTC).
    """

    id: int
    username: str
    role: str
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime

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


class _Base(DeclarativeBase):
    """Declarative base of the account tables."""


class _UserRow(_Base):
    """One account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    failed_attempts: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class _TokenRow(_Base):
    """One API token, kept as its SHA-256 digest only."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


#: The account tables as the ORM sees them; migration ``0002`` makes the same schema.
METADATA = _Base.metadata


def _utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class AccountStore:
    """Accounts and API tokens in the station store's database."""

    def __init__(self, url: str, clock: Callable[[], datetime] = _utc_now,
                 password_method: str = PASSWORD_METHOD) -> None:
        """Connect and upgrade the database to the newest schema.

        Args:
            url: SQLAlchemy database URL, the station store's (see
                :class:`geo.store.StationStore`).
            clock: returns the current aware time; lock-outs are measured with it.
            password_method: how new passwords are hashed; checking reads the method from
                each stored hash, so changing it never locks anyone out.
        """
        self._engine = create_store_engine(url)
        _upgrade_to_head(self._engine)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._clock = clock
        self._password_method = password_method
        self._decoy_hash: str | None = None

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def add_user(self, username: str, password: str, role: str = "staff") -> User:
        """Make an account.

        Args:
            username: a name matching :data:`USERNAME_PATTERN`, not yet taken.
            password: at least :data:`MIN_PASSWORD_LENGTH` characters.
            role: one of :data:`ROLES`.

        Returns:
            The new account.

        Raises:
            AccountError: the name is malformed or taken, the password too short, or the
                role unknown.
        """
        if not USERNAME_PATTERN.fullmatch(username):
            raise AccountError("username", "use 1 to 80 letters, digits, '.', '_', '@' or '-'")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(
                "password", f"must be at least {MIN_PASSWORD_LENGTH} characters long"
            )
        if role not in ROLES:
            raise AccountError("role", f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        with self._sessions.begin() as session:
            if session.scalar(select(_UserRow.id).where(_UserRow.username == username)):
                raise AccountError("username", f"{username!r} is taken")
            row = _UserRow(
                username=username, role=role,
                password_hash=generate_password_hash(password, self._password_method),
                failed_attempts=0, locked_until=None, created_at=self._clock(),
            )
            session.add(row)
            session.flush()
            return _to_user(row)

    def get_user(self, user_id: int) -> User | None:
        """Read an account by id.

        Args:
            user_id: the account's id.

        Returns:
            The account, or None if there is none with that id.
        """
        with self._sessions() as session:
            row = session.get(_UserRow, user_id)
            return _to_user(row) if row is not None else None

    def list_users(self) -> list[User]:
        """List every account.

        Returns:
            The accounts in order of user name.
        """
        with self._sessions() as session:
            return [_to_user(row) for row in session.scalars(
                select(_UserRow).order_by(_UserRow.username)
            )]

    def authenticate(self, username: str, password: str) -> User:
        """Check a user name and password, counting wrong passwords towards a lock-out.

        A wrong password increments the account's ``failed_attempts``; the
        :data:`MAX_FAILED_ATTEMPTS`-th in a row locks it for :data:`LOCKOUT` and starts the
        count again. While locked, every attempt is refused without being counted. A right
        password resets the count. An unknown name costs as much time as a known one.

        Args:
            username: the name given.
            password: the password given.

        Returns:
            The account.

        Raises:
            SignInRefused: unknown name, wrong password, or a locked account.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.scalar(
                select(_UserRow).where(_UserRow.username == username).with_for_update()
            )
            if row is None:
                check_password_hash(self._decoy(), password)
                raise SignInRefused()
            if row.locked_until is not None and now < row.locked_until:
                raise SignInRefused()
            if check_password_hash(row.password_hash, password):
                row.failed_attempts = 0
                return _to_user(row)
            row.failed_attempts += 1
            if row.failed_attempts >= MAX_FAILED_ATTEMPTS:
                row.failed_attempts = 0
                row.locked_until = now + LOCKOUT
        raise SignInRefused()

    def issue_token(self, username: str) -> str:
        """Make a new API token for an account.

        Args:
            username: the account's name.

        Returns:
            The token; it is shown this once and only its digest is kept.

        Raises:
            AccountError: no account has that name.
        """
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._sessions.begin() as session:
            user_id = session.scalar(select(_UserRow.id).where(_UserRow.username == username))
            if user_id is None:
                raise AccountError("username", f"no account named {username!r}")
            session.add(_TokenRow(
                user_id=user_id, token_hash=_digest(token), created_at=self._clock(),
                last_used_at=None, revoked_at=None,
            ))
        return token

    def user_for_token(self, token: str) -> User | None:
        """Find the account an API token belongs to, noting that the token was used.

        Args:
            token: the token as sent by a client.

        Returns:
            The account, or None if the token is unknown or revoked.
        """
        with self._sessions.begin() as session:
            found = session.execute(
                select(_TokenRow, _UserRow)
                .join(_UserRow, _UserRow.id == _TokenRow.user_id)
                .where(_TokenRow.token_hash == _digest(token), _TokenRow.revoked_at.is_(None))
            ).first()
            if found is None:
                return None
            token_row, user_row = found
            token_row.last_used_at = self._clock()
            return _to_user(user_row)

    def revoke_tokens(self, username: str) -> int:
        """Revoke every API token of an account.

        Args:
            username: the account's name.

        Returns:
            How many tokens were revoked.

        Raises:
            AccountError: no account has that name.
        """
        with self._sessions.begin() as session:
            user_id = session.scalar(select(_UserRow.id).where(_UserRow.username == username))
            if user_id is None:
                raise AccountError("username", f"no account named {username!r}")
            result = session.execute(
                update(_TokenRow)
                .where(_TokenRow.user_id == user_id, _TokenRow.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
            return result.rowcount

    def _decoy(self) -> str:
        """Return a password hash to check unknown names against, made on first use.

        Returns:
            A hash of a random password, of the same kind as real ones.
        """
        if self._decoy_hash is None:
            self._decoy_hash = generate_password_hash(secrets.token_hex(16),
                                                      self._password_method)
        return self._decoy_hash


def _digest(token: str) -> str:
    """Return the SHA-256 digest of an API token, as stored.

    Tokens are long random strings, so a fast unsalted digest is enough to make a copy of the
    table useless.

    Args:
        token: the token.

    Returns:
        64 hexadecimal characters.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def _to_user(row: _UserRow) -> User:
    """Turn a row into a User.

    Args:
        row: the ORM row.

    Returns:
        The account, without its password hash.
    """
    return User(
        id=row.id, username=row.username, role=row.role, failed_attempts=row.failed_attempts,
        locked_until=row.locked_until, created_at=row.created_at,
    )

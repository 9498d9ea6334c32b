"""Staff accounts: who may change station records, and the API tokens they write with.

Accounts live in the app's database (:class:`geo.database.Database`, tables made by the same
Alembic migrations as the stations', see :mod:`geo.account_tables`), so SQLite and PostgreSQL
both have them. Passwords are stored only as salted scrypt hashes
(:func:`werkzeug.security.generate_password_hash`), API tokens only as SHA-256 digests: a
stolen database yields neither.

Roles rank ``viewer`` < ``staff`` < ``admin``: a viewer may read the staff pages, staff may also
change stations, an admin may also manage accounts. After :data:`MAX_FAILED_ATTEMPTS` wrong
passwords in a row an account is locked for :data:`LOCKOUT`; while it is locked even the right
password is refused. Attempts are counted by single UPDATE statements, so simultaneous guesses
are all counted on both databases.

Each account has a session version that signed-in sessions carry: signing out, a new password,
a new role or deactivation moves it on, which ends every session of the account. A new password
also revokes the account's API tokens; a token's rights are always its account's current role,
and a token of a locked or deactivated account is refused. API tokens expire
(:data:`TOKEN_DAYS` days by default) and note when they were last used, at most once per
:data:`TOKEN_USE_RESOLUTION` so that reading with a token does not write to the database.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, literal, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from geo.account_admin import AccountAdministration
from geo.account_tables import (
    MIN_PASSWORD_LENGTH,
    ROLES,
    AccountError,
    TokenRow,
    User,
    UserRow,
    check_password,
    check_role,
    to_user,
    user_id_of,
)
from geo.database import Database, UTCDateTime

#: Names other modules import from here, though they are defined next to the tables.
__all__ = ["MIN_PASSWORD_LENGTH", "ROLES", "AccountError", "AccountStore", "SignInRefused",
           "Token", "User"]

#: Wrong passwords in a row that lock an account.
MAX_FAILED_ATTEMPTS: int = 5

#: How long a locked account stays locked.
LOCKOUT: timedelta = timedelta(minutes=15)

#: A user name: 1 to 80 letters (any script), digits, ``.``, ``_``, ``@`` or ``-``.
USERNAME_PATTERN = re.compile(r"[\w.@-]{1,80}")

#: How passwords are hashed (a :func:`werkzeug.security.generate_password_hash` method):
#: scrypt, salted, about 0.1 s per check.
PASSWORD_METHOD: str = "scrypt"

#: Random bytes in an API token (it is sent as URL-safe base64).
TOKEN_BYTES: int = 32

#: Days a new API token lasts unless told otherwise.
TOKEN_DAYS: int = 90

#: The most days a token may last: ten years (a token stays valid only while its account exists,
#: but a bound keeps expiry dates within what every tool can show).
MAX_TOKEN_DAYS: int = 3650

#: A token's last use is written at most this often.
TOKEN_USE_RESOLUTION: timedelta = timedelta(minutes=1)


class SignInRefused(Exception):
    """A sign-in was refused: unknown user, wrong password, or a locked account.

    The reason is deliberately not given: whoever tries must not learn whether a user name
    exists.
    """


@dataclasses.dataclass(frozen=True)
class Token:
    """An API token as the store knows it (its digest left out).

    Attributes:
        id: the token's id.
        created_at: when it was issued (UTC).
        expires_at: when it stops working (UTC).
        last_used_at: when it was last used (UTC, to within :data:`TOKEN_USE_RESOLUTION`), or
            None if never.
    """

    id: int
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None

    def is_expired(self, now: datetime) -> bool:
        """Tell whether the token has expired at a time.

        Args:
            now: an aware datetime.

        Returns:
            True from its expiry on.
        """
        return now >= self.expires_at


def _utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class AccountStore(AccountAdministration):
    """Accounts and API tokens in the app's database; what admins do to accounts is in
    :class:`geo.account_admin.AccountAdministration`."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = _utc_now,
                 password_method: str = PASSWORD_METHOD) -> None:
        """Keep accounts in a database.

        Args:
            database: the app's database, already at the newest schema.
            clock: returns the current aware time; lock-outs are measured with it.
            password_method: how new passwords are hashed; checking reads the method from
                each stored hash, so changing it never locks anyone out.
        """
        self._database = database
        self._clock = clock
        self._password_method = password_method
        # Checked for unknown names, so that they cost what a known name costs.
        self._decoy_hash = generate_password_hash(secrets.token_hex(16), password_method)

    def close(self) -> None:
        """Release the database connections."""
        self._database.close()

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
        check_password(password)
        check_role(role)
        with self._database.transaction() as session:
            if session.scalar(select(UserRow.id).where(UserRow.username == username)):
                raise AccountError("username", f"{username!r} is taken")
            row = UserRow(
                username=username, role=role,
                password_hash=generate_password_hash(password, self._password_method),
                failed_attempts=0, locked_until=None, created_at=self._clock(),
                session_version=0, active=True, must_change_password=False,
                last_sign_in_at=None,
            )
            session.add(row)
            session.flush()
            return to_user(row)

    def get_user(self, user_id: int) -> User | None:
        """Read an account by id.

        Args:
            user_id: the account's id.

        Returns:
            The account, or None if there is none with that id.
        """
        with self._database.session() as session:
            row = session.get(UserRow, user_id)
            return to_user(row) if row is not None else None

    def list_users(self) -> list[User]:
        """List every account.

        Returns:
            The accounts in order of user name.
        """
        with self._database.session() as session:
            return [to_user(row) for row in session.scalars(
                select(UserRow).order_by(UserRow.username)
            )]

    def authenticate(self, username: str, password: str) -> User:
        """Check a user name and password, counting wrong passwords towards a lock-out.

        Every attempt costs one password-hash check, whether the name is unknown (a decoy hash
        is checked), the account locked, or the password wrong or right, and every refusal
        sends the same statements, a SELECT and an UPDATE that PostgreSQL commits as a write
        (for an unknown name, the first account rewritten unchanged, which SQLite skips). So on
        PostgreSQL how long a refusal takes tells nothing. A wrong password increments the
        account's ``failed_attempts``;
        the :data:`MAX_FAILED_ATTEMPTS`-th in a row locks it for :data:`LOCKOUT`. Wrong
        passwords while it is locked are counted but do not extend the lock; the first one
        after the lock ends starts the count again. A right password, when not locked, resets
        the count. Each count is one UPDATE of the row, so simultaneous attempts are all
        counted and the check of the slow hash holds no lock. A deactivated account is refused
        even its right password. A sign-in notes its time in ``last_sign_in_at``.

        Args:
            username: the name given.
            password: the password given.

        Returns:
            The account.

        Raises:
            SignInRefused: unknown name, wrong password, or a locked or deactivated account.
        """
        with self._database.session() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username))
        right = check_password_hash(row.password_hash if row else self._decoy_hash, password)
        now = self._clock()
        locked = UserRow.locked_until > now
        with self._database.transaction() as session:
            if right and row is not None:
                signed_in = session.scalar(
                    update(UserRow)
                    .where(UserRow.id == row.id, UserRow.active.is_(True),
                           or_(UserRow.locked_until.is_(None), ~locked))
                    .values(failed_attempts=0, locked_until=None, last_sign_in_at=now)
                    .returning(UserRow)
                )
                if signed_in is not None:
                    return to_user(signed_in)
            elif row is None:
                # An unknown name rewrites the first account unchanged: like a known name's
                # attempt, a write for PostgreSQL to commit (SQLite skips it).
                session.execute(update(UserRow)
                                .where(UserRow.id == select(func.min(UserRow.id))
                                       .scalar_subquery())
                                .values(failed_attempts=UserRow.failed_attempts))
            else:
                count = case((UserRow.locked_until <= now, 1),
                             else_=UserRow.failed_attempts + 1)
                session.execute(update(UserRow).where(UserRow.id == row.id).values(
                    failed_attempts=count,
                    locked_until=case(
                        (locked, UserRow.locked_until),
                        (count >= MAX_FAILED_ATTEMPTS, literal(now + LOCKOUT, UTCDateTime)),
                        else_=None,
                    ),
                ))
        raise SignInRefused()

    def set_password(self, username: str, password: str, actor: str = "system") -> User:
        """Give an account a new password, ending its sessions, revoking its API tokens and
        lifting any lock: whoever learnt the old password keeps no way in. A password that had
        to be changed (:meth:`reset_password`) no longer has to be.

        Args:
            username: the account's name.
            password: at least :data:`MIN_PASSWORD_LENGTH` characters.
            actor: who sets it, as the account's record notes.

        Returns:
            The account as changed.

        Raises:
            AccountError: no account has that name, or the password is too short.
        """
        check_password(password)
        return self._change(
            username, actor, "password", revoke_tokens=True,
            password_hash=generate_password_hash(password, self._password_method),
            failed_attempts=0, locked_until=None, must_change_password=False,
        )

    def end_sessions(self, user_id: int) -> None:
        """End every signed-in session of an account (its session version moves on).

        Args:
            user_id: the account's id; an unknown id changes nothing.
        """
        with self._database.transaction() as session:
            session.execute(update(UserRow).where(UserRow.id == user_id)
                            .values(session_version=UserRow.session_version + 1))

    def issue_token(self, username: str, days: int = TOKEN_DAYS) -> str:
        """Make a new API token for an account.

        Args:
            username: the account's name.
            days: how many days the token lasts, 1 to :data:`MAX_TOKEN_DAYS`.

        Returns:
            The token; it is shown this once and only its digest is kept.

        Raises:
            AccountError: no account has that name, or ``days`` is out of range.
        """
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise AccountError("days", f"a token lasts 1 to {MAX_TOKEN_DAYS} days, not {days}")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        with self._database.transaction() as session:
            session.add(TokenRow(
                user_id=user_id_of(session, username), token_hash=_digest(token), created_at=now,
                expires_at=now + timedelta(days=days), last_used_at=None, revoked_at=None,
            ))
        return token

    def list_tokens(self, username: str) -> list[Token]:
        """List an account's API tokens that are not revoked, expired ones included.

        Args:
            username: the account's name.

        Returns:
            The tokens, oldest first.

        Raises:
            AccountError: no account has that name.
        """
        with self._database.session() as session:
            rows = session.scalars(
                select(TokenRow)
                .where(TokenRow.user_id == user_id_of(session, username),
                       TokenRow.revoked_at.is_(None))
                .order_by(TokenRow.id)
            )
            return [Token(id=row.id, created_at=row.created_at, expires_at=row.expires_at,
                          last_used_at=row.last_used_at) for row in rows]

    def user_for_token(self, token: str) -> User | None:
        """Find the account an API token belongs to, noting when the token was used.

        The last use is written only when the stored one is :data:`TOKEN_USE_RESOLUTION` old
        or more, so most requests only read.

        Args:
            token: the token as sent by a client.

        Returns:
            The account, or None if the token is unknown, revoked or expired, or its account
            locked or deactivated.
        """
        now = self._clock()
        with self._database.session() as session:
            found = session.execute(
                select(TokenRow.id, TokenRow.last_used_at, UserRow)
                .join(UserRow, UserRow.id == TokenRow.user_id)
                .where(TokenRow.token_hash == _digest(token), TokenRow.revoked_at.is_(None),
                       TokenRow.expires_at > now, UserRow.active.is_(True),
                       or_(UserRow.locked_until.is_(None), UserRow.locked_until <= now))
            ).first()
        if found is None:
            return None
        token_id, last_used_at, user_row = found
        if last_used_at is None or now - last_used_at >= TOKEN_USE_RESOLUTION:
            with self._database.transaction() as session:
                session.execute(update(TokenRow).where(TokenRow.id == token_id)
                                .values(last_used_at=now))
        return to_user(user_row)

    def revoke_tokens(self, username: str) -> int:
        """Revoke every API token of an account.

        Args:
            username: the account's name.

        Returns:
            How many tokens were revoked.

        Raises:
            AccountError: no account has that name.
        """
        with self._database.transaction() as session:
            return self._revoke_tokens(session, user_id_of(session, username))

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

"""What admins do to accounts: change a role, lift a lock, reset a password, deactivate and
reactivate; and the record of every change, who made it and when.

:class:`AccountAdministration` is the part of :class:`geo.accounts.AccountStore` that changes
accounts. Each change is one transaction that also writes an ``account_events`` row. The last
active admin can neither be demoted nor deactivated, so someone can always manage accounts: a
change that would leave no active admin is rolled back, and such changes wait for one another,
so two admins demoting each other at once cannot both succeed.

A reset password is a temporary one: the account must choose a new one before anything else
(``must_change_password``), and whoever reset it knows it. A deactivated account cannot sign
in, its sessions end and its API tokens are refused (not revoked: reactivating the account
brings them back).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from geo.account_tables import (
    AccountError,
    AccountEventRow,
    TokenRow,
    User,
    UserRow,
    check_password,
    check_role,
    to_user,
    user_id_of,
)
from geo.database import Database

#: Characters of a temporary password: lower-case letters and digits without look-alikes
#: (no 0/o, 1/l/i), so it can be read out over the phone.
TEMPORARY_PASSWORD_ALPHABET: str = "abcdefghjkmnpqrstuvwxyz23456789"

#: Characters in a temporary password (about 79 random bits).
TEMPORARY_PASSWORD_LENGTH: int = 16

#: What an account event records: a new role, a lock lifted, a password reset by an admin, a
#: password set, an account deactivated or reactivated.
EVENT_ACTIONS: tuple[str, ...] = ("role", "unlock", "reset", "password", "deactivate",
                                  "activate")


@dataclasses.dataclass(frozen=True)
class AccountEvent:
    """One recorded change of an account.

    Attributes:
        at: when it was made (UTC).
        actor: who made it (an account name, or ``cli:<login>`` from the command line).
        username: the account changed.
        action: one of :data:`EVENT_ACTIONS`.
        detail: the new role for ``role``, else empty.
    """

    at: datetime
    actor: str
    username: str
    action: str
    detail: str


class AccountAdministration:
    """Account changes an admin makes, for :class:`geo.accounts.AccountStore`, which provides
    the database, the clock and the password-hash method."""

    _database: Database
    _clock: Callable[[], datetime]
    _password_method: str

    def set_role(self, username: str, role: str, actor: str = "system") -> User:
        """Give an account a new role, ending its sessions.

        Its API tokens keep working with the new role: a token names its account, whose role
        is read afresh on every use.

        Args:
            username: the account's name.
            role: one of :data:`geo.account_tables.ROLES`.
            actor: who changes it.

        Returns:
            The account as changed.

        Raises:
            AccountError: no account has that name, the role is unknown, or the account is the
                last active admin and the role is not admin.
        """
        check_role(role)
        return self._change(username, actor, "role", detail=role,
                            keeps_admin=role == "admin", role=role)

    def unlock(self, username: str, actor: str = "system") -> User:
        """Lift an account's lock and forget its wrong passwords.

        Args:
            username: the account's name.
            actor: who lifts it.

        Returns:
            The account as changed.

        Raises:
            AccountError: no account has that name.
        """
        return self._change(username, actor, "unlock", end_sessions=False,
                            failed_attempts=0, locked_until=None)

    def reset_password(self, username: str, actor: str = "system",
                       password: str | None = None) -> tuple[User, str]:
        """Give an account a temporary password that it must change at its next sign-in; its
        sessions end, its API tokens are revoked and any lock is lifted.

        Args:
            username: the account's name.
            actor: who resets it.
            password: the temporary password; a random one if None.

        Returns:
            The account as changed, and the temporary password (to be handed to its owner).

        Raises:
            AccountError: no account has that name, or the password given is too short.
        """
        password = password or "".join(secrets.choice(TEMPORARY_PASSWORD_ALPHABET)
                                       for _ in range(TEMPORARY_PASSWORD_LENGTH))
        check_password(password)
        user = self._change(
            username, actor, "reset", revoke_tokens=True,
            password_hash=generate_password_hash(password, self._password_method),
            failed_attempts=0, locked_until=None, must_change_password=True,
        )
        return user, password

    def deactivate(self, username: str, actor: str = "system") -> User:
        """Deactivate an account: it cannot sign in, its sessions end and its API tokens are
        refused until it is reactivated.

        Args:
            username: the account's name.
            actor: who deactivates it.

        Returns:
            The account as changed.

        Raises:
            AccountError: no account has that name, or it is the last active admin.
        """
        return self._change(username, actor, "deactivate", keeps_admin=False, active=False)

    def activate(self, username: str, actor: str = "system") -> User:
        """Reactivate a deactivated account, with its role, password and API tokens as they
        were.

        Args:
            username: the account's name.
            actor: who reactivates it.

        Returns:
            The account as changed.

        Raises:
            AccountError: no account has that name.
        """
        return self._change(username, actor, "activate", end_sessions=False, active=True)

    def usable_tokens(self) -> dict[str, int]:
        """Count each account's API tokens that are neither revoked nor expired.

        Returns:
            Account name -> number of tokens, for accounts that have any.
        """
        with self._database.session() as session:
            return {name: count for name, count in session.execute(
                select(UserRow.username, func.count(TokenRow.id))
                .join(TokenRow, TokenRow.user_id == UserRow.id)
                .where(TokenRow.revoked_at.is_(None), TokenRow.expires_at > self._clock())
                .group_by(UserRow.username)
            )}

    def events(self, username: str | None = None, limit: int = 50) -> list[AccountEvent]:
        """The recorded changes of accounts, newest first.

        Args:
            username: only this account's; every account's if None.
            limit: the most events returned.

        Returns:
            The events.
        """
        query = select(AccountEventRow).order_by(AccountEventRow.id.desc()).limit(limit)
        if username is not None:
            query = query.where(AccountEventRow.username == username)
        with self._database.session() as session:
            return [AccountEvent(at=row.at, actor=row.actor, username=row.username,
                                 action=row.action, detail=row.detail)
                    for row in session.scalars(query)]

    def _revoke_tokens(self, session: Session, user_id: int) -> int:
        """Revoke every API token of an account, in an open transaction.

        Args:
            session: the transaction.
            user_id: the account's id.

        Returns:
            How many tokens were revoked.
        """
        # An UPDATE's result is a CursorResult; SQLAlchemy types execute() as Result.
        return session.execute(  # type: ignore[attr-defined]
            update(TokenRow)
            .where(TokenRow.user_id == user_id, TokenRow.revoked_at.is_(None))
            .values(revoked_at=self._clock())
        ).rowcount

    def _change(self, username: str, actor: str, action: str, detail: str = "",
                revoke_tokens: bool = False, end_sessions: bool = True,
                keeps_admin: bool = True, **values) -> User:
        """Change an account's columns and record the change, in one transaction.

        Args:
            username: the account's name.
            actor: who changes it.
            action: what the change is, one of :data:`EVENT_ACTIONS`.
            detail: what the record adds to the action.
            revoke_tokens: whether its API tokens are revoked too.
            end_sessions: whether its sessions end (its session version moves on).
            keeps_admin: False if the change takes away the account's admin rights, which the
                last active admin may not lose.
            values: the new column values.

        Returns:
            The account as changed.

        Raises:
            AccountError: no account has that name, or it is the last active admin and
                ``keeps_admin`` is False.
        """
        active_admins = select(UserRow.id).where(UserRow.role == "admin",
                                                 UserRow.active.is_(True))
        with self._database.transaction() as session:
            user_id = user_id_of(session, username)
            # Locking the admin rows makes simultaneous demotions on PostgreSQL wait in turn;
            # on SQLite the UPDATE below takes the database's write lock, which does the same.
            was_admin = not keeps_admin and user_id in session.scalars(
                active_admins.with_for_update()).all()
            if end_sessions:
                values["session_version"] = UserRow.session_version + 1
            row = session.scalar(update(UserRow).where(UserRow.id == user_id).values(**values)
                                 .returning(UserRow))
            assert row is not None  # user_id was read in this transaction
            if was_admin and session.scalar(active_admins.limit(1)) is None:
                raise AccountError("username", f"{username!r} is the last active admin; "
                                               "make another account admin first")
            if revoke_tokens:
                self._revoke_tokens(session, user_id)
            session.add(AccountEventRow(at=self._clock(), actor=actor, username=username,
                                        action=action, detail=detail))
            return to_user(row)

"""``yizhan user``: staff accounts and their API tokens."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime

import click

from geo import MAX_TOKEN_DAYS, ROLES, TOKEN_DAYS, AccountError, AccountStore
from web.cli import main
from web.cli.common import SHANGHAI


@main.group()
def user() -> None:
    """Staff accounts and their API tokens."""


def _accounts() -> AccountStore:
    """The account store of the configured database (``DATABASE_URL``)."""
    from geo import Database, default_store_url

    return AccountStore(Database(default_store_url()))


def _when(moment: datetime) -> str:
    """A stored time as Beijing time to the minute."""
    return f"{moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def _actor() -> str:
    """Who changes an account from the command line, as its record notes: ``cli:<login>``."""
    return f"cli:{getpass.getuser()}"


def _new_password(from_stdin: bool) -> str:
    """A password read from standard input, or asked for twice without showing it."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _password_option(command):
    """The ``--password-stdin`` option of the commands that set a password."""
    return click.option("--password-stdin", is_flag=True,
                        help="Read the password from standard input instead of prompting.")(
        command)


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True,
              help="viewer reads the staff pages, staff also changes stations, admin also "
                   "manages accounts.")
@_password_option
def user_add(name: str, role: str, password_stdin: bool) -> None:
    """Make an account NAME; the password is asked for (or read from standard input)."""
    try:
        added = _accounts().add_user(name, _new_password(password_stdin), role)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"added {added.role} {added.username}")


@user.command("list")
def user_list() -> None:
    """Show the accounts: role, whether active, lock, last sign-in and usable API tokens, then
    each token (times in Beijing time)."""
    accounts = _accounts()
    now = datetime.now(UTC)
    usable = accounts.usable_tokens()
    for account in accounts.list_users():
        state = "active" if account.active else "deactivated"
        signed_in = _when(account.last_sign_in_at) if account.last_sign_in_at else "never"
        count = usable.get(account.username, 0)
        line = (f"{account.username:<24} {account.role:<7} {state:<11} "
                f"last sign-in {signed_in:<16} {count} usable token{'' if count == 1 else 's'}, "
                f"created {_when(account.created_at)}")
        if account.must_change_password:
            line += ", must change password"
        if account.is_locked(now):
            line += (f", locked until {_when(account.locked_until)} "
                     f"({account.failed_attempts} wrong passwords)")
        click.echo(line)
        for token in accounts.list_tokens(account.username):
            state = "expired" if token.is_expired(now) else "expires"
            used = _when(token.last_used_at) if token.last_used_at else "never"
            click.echo(f"{'':<4}token {token.id}: {state} {_when(token.expires_at)}, "
                       f"last used {used}")


@user.command("password")
@click.argument("name")
@_password_option
def user_password(name: str, password_stdin: bool) -> None:
    """Give NAME a new password; this signs NAME out everywhere, revokes NAME's API tokens
    and lifts a lock."""
    try:
        _accounts().set_password(name, _new_password(password_stdin), actor=_actor())
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"changed the password of {name} and revoked its API tokens")


@user.command("role")
@click.argument("name")
@click.argument("role")
def user_role(name: str, role: str) -> None:
    """Give NAME a new ROLE (viewer, staff or admin); this signs NAME out everywhere, and NAME's
    API tokens carry the new role from the next request on. The last active admin stays
    admin."""
    try:
        _accounts().set_role(name, role, actor=_actor())
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{name} is now {role}")


@user.command("unlock")
@click.argument("name")
def user_unlock(name: str) -> None:
    """Lift NAME's lock after too many wrong passwords."""
    try:
        _accounts().unlock(name, actor=_actor())
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"unlocked {name}")


@user.command("reset-password")
@click.argument("name")
@_password_option
def user_reset_password(name: str, password_stdin: bool) -> None:
    """Give NAME a temporary password and print it (or read it from standard input): NAME must
    choose a new one at the next sign-in. This signs NAME out everywhere, revokes NAME's API
    tokens and lifts a lock."""
    given = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        _changed, password = _accounts().reset_password(name, actor=_actor(), password=given)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    if given is None:
        click.echo(password)
    click.echo(f"{name} must choose a new password at the next sign-in; its API tokens are "
               "revoked", err=given is None)


@user.command("deactivate")
@click.argument("name")
def user_deactivate(name: str) -> None:
    """Deactivate NAME: it cannot sign in, its sessions end and its API tokens are refused
    until it is activated again. The last active admin stays active."""
    try:
        _accounts().deactivate(name, actor=_actor())
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"deactivated {name}")


@user.command("activate")
@click.argument("name")
def user_activate(name: str) -> None:
    """Activate NAME again, with its role, password and API tokens as they were."""
    try:
        _accounts().activate(name, actor=_actor())
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"activated {name}")


@user.command("token")
@click.argument("name")
@click.option("--days", type=click.IntRange(1, MAX_TOKEN_DAYS), default=TOKEN_DAYS,
              show_default=True, help=f"How many days the token lasts (1 to {MAX_TOKEN_DAYS}).")
def user_token(name: str, days: int) -> None:
    """Print a new API token for NAME (shown once: only its digest is kept)."""
    try:
        click.echo(_accounts().issue_token(name, days))
    except AccountError as error:
        raise click.ClickException(str(error)) from error


@user.command("revoke")
@click.argument("name")
def user_revoke(name: str) -> None:
    """Revoke every API token of NAME."""
    try:
        count = _accounts().revoke_tokens(name)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"revoked {count} tokens of {name}")

"""``yizhan user``: staff accounts and their API tokens."""

from __future__ import annotations

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
    """Show the accounts, their roles, locks and API tokens (times in Beijing time)."""
    accounts = _accounts()
    now = datetime.now(UTC)
    for account in accounts.list_users():
        line = f"{account.username:<24} {account.role:<7} created {_when(account.created_at)}"
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
        _accounts().set_password(name, _new_password(password_stdin))
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"changed the password of {name} and revoked its API tokens")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
def user_role(name: str, role: str) -> None:
    """Give NAME a new ROLE; this signs NAME out everywhere, and NAME's API tokens carry the
    new role from the next request on."""
    try:
        _accounts().set_role(name, role)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{name} is now {role}")


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

"""Who calls the API and what they may write: an API token (``Authorization: Bearer``) or a
signed-in session, the caller's key for the job pool and rate limits, and refused writes
answered as JSON naming the field or parameter at fault."""

from __future__ import annotations

import ipaddress

from flask import current_app, g, jsonify, request
from flask_babel import gettext
from flask_login import current_user

from web.api import bp
from web.auth import accounts


class WriteRefused(Exception):
    """A write was refused; answered as JSON naming the field or parameter at fault."""

    def __init__(self, status: int, key: str, name: str, message: str, **extra) -> None:
        """Make the refusal.

        Args:
            status: the HTTP status.
            key: ``"field"`` (a station field in the body) or ``"parameter"`` (a header, the
                path or the body as a whole).
            name: the field or parameter.
            message: what is wrong.
            extra: more top-level members of the answer (``current``, ``problems``).
        """
        super().__init__(f"{name}: {message}")
        self.status = status
        self.body = {"error": {key: name, "message": message}, **extra}


@bp.errorhandler(WriteRefused)
def write_refused(error: WriteRefused):
    """Answer a refused write; a missing or bad token also gets ``WWW-Authenticate``."""
    response = jsonify(error.body)
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="yizhan"'
    return response


def _token_user():
    """The account of the request's ``Authorization: Bearer <token>``; None without one.

    Raises:
        WriteRefused: 401 for a malformed, unknown, revoked or expired token, or one whose
            account is locked or deactivated (said in the request's language).
    """
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise WriteRefused(401, "parameter", "Authorization",
                           "use 'Authorization: Bearer <token>' with an API token")
    user = accounts().user_for_token(token.strip())
    if user is None:
        raise WriteRefused(401, "parameter", "Authorization",
                           gettext("unknown, revoked or expired token, or its account is locked "
                                   "or deactivated"))
    return user


def _caller():
    """The account making the request: its API token's (API requests), else its signed-in
    session's; None for an anonymous caller. Looked up once per request.

    Raises:
        WriteRefused: 401 for a malformed, unknown or revoked token.
    """
    if "caller" not in g:
        user = _token_user() if request.blueprint == bp.name else None
        if user is None and current_user.is_authenticated:
            user = current_user.user
        g.caller = user
    return g.caller


def signed_in() -> bool:
    """Whether the request comes from an account (an API token or a signed-in session)."""
    return _caller() is not None


def client_key() -> str:
    """Who makes the request, for the job pool and the rate of heavy requests: the account,
    else the remote address (an IPv6 address's /64 network)."""
    user = _caller()
    if user is not None:
        return f"account:{user.username}"
    address = ipaddress.ip_address(request.remote_addr or "0.0.0.0")
    if address.version == 6:  # one host commonly holds a whole /64
        return f"address:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"address:{address}"


def writer(role: str = "staff") -> str:
    """The name of the account making a write.

    A request with ``Authorization: Bearer <token>`` is the token's account. Without one, a
    signed-in session may write if the request carries its CSRF token in ``X-CSRFToken``.

    Args:
        role: the least role the write needs (``staff`` for station records).

    Raises:
        WriteRefused: 401 without a usable token or session, 403 if the account's role is
            below ``role``.
    """
    user = _token_user()
    if user is None:
        if not current_user.is_authenticated:
            raise WriteRefused(401, "parameter", "Authorization",
                               "writing needs 'Authorization: Bearer <token>' (yizhan user "
                               "token)")
        current_app.extensions["csrf"].protect()
        user = current_user.user
    if not user.has_role(role):
        raise WriteRefused(403, "parameter", "Authorization",
                           f"account {user.username!r} is a {user.role}; writing needs {role}")
    return user.username

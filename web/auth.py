"""Signing in and out, and who may do what.

Pages use Flask-Login sessions (cookie, CSRF-protected forms); the REST API also takes
``Authorization: Bearer <token>`` with a per-user API token. Roles rank viewer < staff < admin
(:mod:`geo.accounts`): reading is open to everyone, the staff pages need an account, every
write needs the ``staff`` role and account management ``admin``.

A session names its account by id and session version (``"<id>:<version>"``): signing out moves
the account's version on (:meth:`geo.accounts.AccountStore.end_sessions`), so every copy of the
session cookie stops working, on every device. Signing in starts a new CSRF secret, so a form
token from before the sign-in is refused after it.

A deactivated account's session is anonymous from its next request on. An account whose password
an admin reset is sent to :func:`change_password` by every page until it has chosen a new one.

A session also carries when it signed in, and is anonymous once that is longer ago than the
app's ``PERMANENT_SESSION_LIFETIME``: Flask re-signs the cookie whenever the session changes (a
flash message, a new CSRF token), so the cookie's own age says nothing about the sign-in's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)

from geo import (
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
    MIN_PASSWORD_LENGTH,
    AccountError,
    AccountStore,
    SignInRefused,
    User,
)

bp = Blueprint("auth", __name__)

#: The session key that holds when it signed in (seconds since the epoch).
SIGNED_IN_AT = "signed_in_at"

#: Endpoints an account that must change its password may still reach.
_OPEN_TO_NEW_PASSWORDS = frozenset({"auth.change_password", "auth.sign_in", "auth.sign_out"})


class SignedIn(UserMixin):
    """The signed-in account, as Flask-Login wants it.

    Attributes:
        user: the account.
    """

    def __init__(self, user: User) -> None:
        """Wrap an account.

        Args:
            user: the account.
        """
        self.user = user

    def get_id(self) -> str:
        """Return what Flask-Login keeps in the session: ``"<id>:<session version>"``."""
        return f"{self.user.id}:{self.user.session_version}"

    @property
    def username(self) -> str:
        """The account's name."""
        return self.user.username

    def may(self, role: str) -> bool:
        """Tell whether the account has a role or a more trusted one.

        Args:
            role: ``viewer``, ``staff`` or ``admin``.

        Returns:
            True if it may do what the role may.
        """
        return self.user.has_role(role)


def accounts() -> AccountStore:
    """Return the app's account store."""
    return current_app.extensions["accounts"]


def init_auth(app: Flask) -> None:
    """Set up Flask-Login: sessions name an account by id and session version, and a session
    whose version the account has moved past, or that signed in longer ago than
    ``app.permanent_session_lifetime``, is anonymous; pages that need an account send anonymous
    visitors to the sign-in page.

    Args:
        app: the app, with its account store in ``app.extensions["accounts"]``.
    """
    manager = LoginManager(app)
    manager.login_view = "auth.sign_in"
    manager.login_message = None

    @manager.user_loader
    def load_user(session_id: str) -> SignedIn | None:
        user_id, _colon, version = session_id.partition(":")
        if not (user_id.isdigit() and version.isdigit()) or _too_old(app):
            return None
        user = app.extensions["accounts"].get_user(int(user_id))
        if user is None or not user.active or user.session_version != int(version):
            return None
        return SignedIn(user)


def _too_old(app: Flask) -> bool:
    """Tell whether the request's session signed in longer ago than the app's session lifetime
    (or does not say when it signed in).

    Args:
        app: the app.
    """
    signed_in_at = session.get(SIGNED_IN_AT)
    if not isinstance(signed_in_at, int | float):
        return True
    return time.time() - signed_in_at > app.permanent_session_lifetime.total_seconds()


def requires(role: str) -> Callable:
    """Make a view need a signed-in account with at least a role.

    Anonymous visitors are sent to the sign-in page; accounts with too little trust get
    HTTP 403.

    Args:
        role: ``viewer``, ``staff`` or ``admin``.

    Returns:
        A view decorator.
    """
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if not current_user.may(role):
                abort(403)
            return view(*args, **kwargs)
        return guarded
    return decorate


def _local_target(target: str | None) -> str:
    """Return where to go after signing in: ``target`` if it is a path on this site, else the
    staff home.

    Args:
        target: the ``next`` parameter.

    Returns:
        A local URL (never another site's, so the sign-in page cannot redirect away).
    """
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("staff.stations")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """The sign-in form; a refusal never says whether the name exists."""
    refused = False
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            user = accounts().authenticate(username, request.form.get("password", ""))
        except SignInRefused:
            refused = True
        else:
            _start_session(user)
            session[SIGNED_IN_AT] = time.time()
            if user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(_local_target(request.args.get("next")))
    lockout = _("After %(n)s wrong passwords in a row an account is locked for %(minutes)s "
                "minutes.", n=MAX_FAILED_ATTEMPTS, minutes=int(LOCKOUT.total_seconds() // 60))
    return render_template("auth/sign_in.html", refused=refused, username=username,
                           lockout=lockout), 401 if refused else 200


def _start_session(user: User) -> None:
    """Sign an account in to the request's session, with a new CSRF secret."""
    session.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)
    login_user(SignedIn(user))


@bp.before_app_request
def password_first():
    """Send an account that must change its password to :func:`change_password` first (an API
    request gets HTTP 403 JSON naming ``Authorization``); signing in or out and assets stay
    open."""
    if request.blueprint == "assets" or request.endpoint in _OPEN_TO_NEW_PASSWORDS:
        return None
    if not (current_user.is_authenticated and current_user.user.must_change_password):
        return None
    if request.path == "/api" or request.path.startswith("/api/"):
        return jsonify(error={"parameter": "Authorization",
                              "message": _("Change your password first.")}), 403
    return redirect(url_for("auth.change_password"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Choose a new password: the current one, then the new one twice. A password an admin
    reset must be changed here before anything else; the new one must differ from it."""
    problem = ""
    if request.method == "POST":
        current = request.form.get("current", "")
        new = request.form.get("password", "")
        if new != request.form.get("repeat", ""):
            problem = _("The two new passwords differ.")
        elif new == current:
            problem = _("Choose a password different from the current one.")
        else:
            problem = _change_password(current, new)
        if not problem:
            flash(_("Your password is changed."))
            return redirect(url_for("staff.stations"))
    return render_template("auth/password.html", problem=problem,
                           forced=current_user.user.must_change_password,
                           min_length=MIN_PASSWORD_LENGTH), 400 if problem else 200


def _change_password(current: str, new: str) -> str:
    """Check the signed-in account's current password and set the new one, keeping this
    session signed in (every other one ends).

    Returns:
        What was wrong, in the current language, or an empty string once changed.
    """
    name = current_user.username
    try:
        accounts().authenticate(name, current)
    except SignInRefused:
        return _("The current password is wrong.")
    try:
        user = accounts().set_password(name, new, actor=name)
    except AccountError:
        return _("A password needs at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    _start_session(user)
    return ""


@bp.post("/sign-out")
def sign_out():
    """Sign out, ending every session of the account, and go back to the worker page."""
    if current_user.is_authenticated:
        accounts().end_sessions(current_user.user.id)
    logout_user()
    return redirect(url_for("worker.page"))

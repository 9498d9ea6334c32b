"""The accounts page, for admins: every account with its role, whether it is active, its lock,
its last sign-in and its usable API tokens; and the changes an admin makes to an account (a new
role, lifting a lock, a password reset, deactivation and reactivation), with the record of who
changed what.

Every change is a CSRF-protected form post and is recorded under the admin's name
(:mod:`geo.account_admin`). A password reset shows the temporary password once, on the answer
to the post, and never stores it anywhere but as a hash. The last active admin can be neither
demoted nor deactivated: the page says so and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from geo import ROLES, AccountError, User
from web.auth import accounts, requires

bp = Blueprint("admin", __name__, url_prefix="/staff/users")


def role_labels() -> dict[str, str]:
    """Each account role's name in the current language."""
    return {"viewer": _("viewer (reads records)"), "staff": _("staff (changes records)"),
            "admin": _("admin (also manages accounts)")}


def event_label(action: str, detail: str) -> str:
    """A recorded account change, said in the current language."""
    labels = {
        "role": _("role changed to %(role)s", role=role_labels().get(detail, detail)),
        "unlock": _("unlocked"), "reset": _("password reset"), "password": _("password changed"),
        "deactivate": _("deactivated"), "activate": _("reactivated"),
    }
    return labels.get(action, action)


def _accounts_page(status: int = 200, problem: str = "", temporary: tuple[str, str] | None = None):
    """The accounts page.

    Args:
        status: the HTTP status.
        problem: a refused change, said in the current language.
        temporary: an account's name and the temporary password just given to it.
    """
    store = accounts()
    return render_template(
        "staff/accounts.html", users=store.list_users(), tokens=store.usable_tokens(),
        events=store.events(), roles=role_labels(), event_label=event_label,
        now=datetime.now(UTC), problem=problem, temporary=temporary,
    ), status


def _account(user_id: int) -> User:
    """The account with an id; HTTP 404 if there is none."""
    user = accounts().get_user(user_id)
    if user is None:
        abort(404)
    return user


def _refusal(error: AccountError):
    """The accounts page saying why a change was refused (HTTP 409 for the last admin, 400
    for an unknown role)."""
    if error.field == "role":
        return _accounts_page(400, _("Choose one of the listed roles."))
    return _accounts_page(409, _("This is the last active admin: make another account admin "
                                 "first."))


@bp.get("")
@requires("admin")
def page():
    """Every account, with the changes an admin can make to it."""
    return _accounts_page()


@bp.post("/<id:user_id>/role")
@requires("admin")
def change_role(user_id: int):
    """Give an account the role chosen in the form (``role``); its sessions end."""
    user = _account(user_id)
    role = request.form.get("role", "")
    if role not in ROLES:
        return _accounts_page(400, _("Choose one of the listed roles."))
    try:
        accounts().set_role(user.username, role, actor=current_user.username)
    except AccountError as error:
        return _refusal(error)
    flash(_("%(name)s is now %(role)s.", name=user.username, role=role_labels()[role]))
    return redirect(url_for("admin.page"))


@bp.post("/<id:user_id>/unlock")
@requires("admin")
def unlock(user_id: int):
    """Lift an account's lock."""
    user = _account(user_id)
    accounts().unlock(user.username, actor=current_user.username)
    flash(_("%(name)s is unlocked.", name=user.username))
    return redirect(url_for("admin.page"))


@bp.post("/<id:user_id>/reset-password")
@requires("admin")
def reset_password(user_id: int):
    """Give an account a temporary password, shown once on this answer; its owner must change
    it at the next sign-in."""
    user = _account(user_id)
    _changed, password = accounts().reset_password(user.username, actor=current_user.username)
    response = make_response(_accounts_page(temporary=(user.username, password)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<id:user_id>/deactivate")
@requires("admin")
def deactivate(user_id: int):
    """Deactivate an account: its sessions end and its API tokens are refused."""
    user = _account(user_id)
    try:
        accounts().deactivate(user.username, actor=current_user.username)
    except AccountError as error:
        return _refusal(error)
    flash(_("%(name)s is deactivated.", name=user.username))
    return redirect(url_for("admin.page"))


@bp.post("/<id:user_id>/activate")
@requires("admin")
def activate(user_id: int):
    """Reactivate a deactivated account."""
    user = _account(user_id)
    accounts().activate(user.username, actor=current_user.username)
    flash(_("%(name)s is active again.", name=user.username))
    return redirect(url_for("admin.page"))

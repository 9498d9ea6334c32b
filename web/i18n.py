"""Languages: Chinese by default, English on request; labels of the domain vocabularies.

Page text goes through Flask-Babel (English message ids, a Chinese catalogue in
``web/translations``); the vocabularies (kinds, amenities, statuses, modes) carry both names in
:mod:`geo` and are picked here by the current locale.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, request
from flask_babel import Babel, get_locale

from geo import AMENITIES, GROUPS, KINDS, PROFILES, STATUSES

#: Languages offered, the first being the default.
LANGUAGES = ("zh", "en")

#: Cookie that remembers a worker's language choice.
LANG_COOKIE = "lang"


def select_locale() -> str:
    """``?lang=`` if given, else the remembered choice, else Chinese."""
    for choice in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if choice in LANGUAGES:
            return choice
    return LANGUAGES[0]


def init_babel(app: Flask) -> None:
    """Set up Flask-Babel and remember a ``?lang=`` choice in a cookie."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[0])
    Babel(app, locale_selector=select_locale)

    @app.after_request
    def remember_language(response):
        choice = request.args.get("lang")
        if choice in LANGUAGES:
            response.set_cookie(LANG_COOKIE, choice, max_age=365 * 86400, samesite="Lax")
        return response

    @app.context_processor
    def language():
        return {"lang": str(get_locale() or LANGUAGES[0]), "languages": LANGUAGES,
                "lang_url": lang_url}


def lang_url(code: str) -> str:
    """This page's URL with its query kept and the language set to ``code``."""
    args = request.args.to_dict()
    args["lang"] = code
    return f"{request.path}?{urlencode(args)}"


def current_lang() -> str:
    """The language of this request, ``"zh"`` or ``"en"``."""
    return "en" if str(get_locale()) == "en" else "zh"


def _pick(names: tuple[str, str]) -> str:
    """The Chinese or the English name, by the current locale."""
    return names[1] if str(get_locale()) == "en" else names[0]


def kind_label(kind: str) -> str:
    """A station kind's name in the current language."""
    return _pick(KINDS[kind])


def amenity_label(amenity: str) -> str:
    """An amenity's name in the current language."""
    return _pick(AMENITIES[amenity])


def status_label(status: str) -> str:
    """A station status's name in the current language."""
    return _pick(STATUSES[status])


def mode_label(mode: str) -> str:
    """A travel mode's name in the current language."""
    profile = PROFILES[mode]
    return _pick((profile.label_zh, profile.label_en))


def group_label(group_id: str) -> str:
    """A worker group's name in the current language."""
    group = GROUPS[group_id]
    return _pick((group.label_zh, group.label_en))

"""Every visible string has a Chinese translation, and the compiled catalogue is current."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "web" / "translations" / "zh" / "LC_MESSAGES"
METHODS = [("web/templates/**.html", "jinja2"), ("web/**.py", "python")]


def source_messages() -> set[str]:
    """Message ids marked for translation in the web package's code and templates."""
    found = extract_from_dir(str(ROOT), method_map=METHODS)
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context in found}


def test_every_marked_string_has_a_chinese_translation():
    with open(CATALOGUE / "messages.po", "rb") as po:
        catalogue = read_po(po)
    translated = {m.id: m.string for m in catalogue if m.id}
    messages = source_messages()
    assert messages, "no strings were found to check"
    missing = sorted(m for m in messages if not translated.get(m))
    assert missing == []


def test_the_compiled_catalogue_matches_the_source_catalogue():
    with open(CATALOGUE / "messages.po", "rb") as po, open(CATALOGUE / "messages.mo", "rb") as mo:
        source, compiled = read_po(po), read_mo(mo)
    assert {m.id: m.string for m in source if m.id} == {m.id: m.string for m in compiled if m.id}

"""Refresh the Chinese catalogue: extract marked strings, merge, fill from a JSON of translations,
and compile.

    python scripts/translate.py [translations.json]

Without a file it lists the strings that still lack a translation (and exits 1 if any do).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "web" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def main() -> int:
    """Extract, merge, fill and compile; report what is still untranslated."""
    with tempfile.TemporaryDirectory() as folder:
        template = Path(folder) / "messages.pot"
        # Paths relative to the repository, so the catalogue names no machine's folders.
        subprocess.run(["pybabel", "extract", "-F", "babel.cfg", "-o", str(template), "."],
                       check=True, capture_output=True, cwd=ROOT)
        subprocess.run(["pybabel", "update", "-i", str(template), "-d",
                        str(ROOT / "web" / "translations"), "-l", "zh", "--no-fuzzy-matching"],
                       check=True, capture_output=True)
    with open(CATALOGUE, "rb") as po:
        catalogue = read_po(po)
    given = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")) if len(sys.argv) > 1 else {}
    for message in catalogue:
        if message.id in given:
            message.string = given[message.id]
            message.flags.discard("fuzzy")
    catalogue.obsolete.clear()
    with open(CATALOGUE, "wb") as po:
        write_po(po, catalogue, width=100, omit_header=False)
    subprocess.run(["pybabel", "compile", "-d", str(ROOT / "web" / "translations")], check=True,
                   capture_output=True)
    missing = [m.id for m in catalogue if m.id and not m.string]
    for text in missing:
        print(f"untranslated: {text}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

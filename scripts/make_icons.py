"""Draw the app's PNG icons for the web app manifest (``web/static/icon-192.png`` and
``icon-512.png``) from the design of ``web/static/favicon.svg``: a white house on the red of the
header. The icons fill their square, the house in its middle, so a launcher may cut them to a
circle or a rounded square (a "maskable" icon).

    python scripts/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"

#: The header's red and the house's outline in favicon.svg's 32 × 32 units.
RED = "#b71c1c"
HOUSE = [(5, 15), (16, 6), (27, 15), (24, 15), (24, 26), (19, 26), (19, 19), (13, 19), (13, 26),
         (8, 26), (8, 15)]

#: Share of the icon the house's 32-unit box takes, inside a launcher's safe circle.
HOUSE_SHARE = 0.75


def icon(size: int) -> Image.Image:
    """The icon at ``size`` × ``size`` pixels, drawn 4 × larger and scaled down (smooth edges)."""
    big = size * 4
    image = Image.new("RGB", (big, big), RED)
    unit = big * HOUSE_SHARE / 32
    margin = (big - 32 * unit) / 2
    ImageDraw.Draw(image).polygon([(margin + x * unit, margin + y * unit) for x, y in HOUSE],
                                  fill="white")
    return image.resize((size, size), Image.LANCZOS)


if __name__ == "__main__":
    for size in (192, 512):
        icon(size).save(STATIC / f"icon-{size}.png", optimize=True)

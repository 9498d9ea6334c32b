"""Charts: the cumulative coverage curve as PNG or SVG.

Charts are drawn on a plain :class:`matplotlib.figure.Figure`: no pyplot, no global backend,
nothing changed for other users of matplotlib in the process. Chinese labels need a font with
CJK glyphs; the first of :data:`CJK_FONT_FILES` present is registered with matplotlib's font
manager when the first chart is drawn, so it works without a rebuilt font cache.
"""

from __future__ import annotations

import io
import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

#: Font files with Chinese glyphs, tried in order: Debian's fonts-noto-cjk, then
#: fonts-wqy-zenhei.
CJK_FONT_FILES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)

#: The font for everything else, and for Chinese when no CJK font is installed.
LATIN_FONT = "DejaVu Sans"


@cache
def font_family() -> tuple[str, ...]:
    """The font family names charts use, CJK font first. Without a CJK font the Chinese
    characters of a chart are drawn as boxes; that is logged once, naming the package to
    install."""
    from matplotlib import font_manager

    for path in CJK_FONT_FILES:
        if path.is_file():
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name(), LATIN_FONT
    log.warning("no CJK font found (looked for %s); Chinese chart labels will show as boxes — "
                "install fonts-noto-cjk", ", ".join(str(p) for p in CJK_FONT_FILES))
    return (LATIN_FONT,)


def curve_chart(curve: pd.DataFrame, threshold_min: float, title: str, x_label: str,
                y_label: str, footer: str, fmt: str = "png") -> bytes:
    """Draw covered share against travel time, with the threshold marked.

    Args:
        curve: columns ``minutes`` and ``covered_share`` (0 to 1).
        threshold_min: the threshold to mark, minutes.
        title, x_label, y_label: texts in the reader's language.
        footer: small print under the chart (the data attribution).
        fmt: ``png`` or ``svg``; an SVG keeps its texts as text.

    Returns:
        The image file's bytes.
    """
    import matplotlib
    from matplotlib.figure import Figure

    family = list(font_family())
    figure = Figure(figsize=(6.4, 3.6), dpi=110)
    axes = figure.subplots()
    axes.plot(curve["minutes"], curve["covered_share"] * 100, color="#b71c1c", linewidth=2)
    axes.axvline(threshold_min, color="#52606d", linestyle="--", linewidth=1)
    axes.set_xlim(0, float(curve["minutes"].max()))
    axes.set_ylim(0, 100)
    axes.set_xlabel(x_label, family=family)
    axes.set_ylabel(y_label, family=family)
    axes.set_title(title, fontsize=11, family=family)
    axes.grid(alpha=0.3)
    figure.text(0.99, 0.01, footer, ha="right", va="bottom", fontsize=7, color="#7b8794",
                family=family)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format=fmt)
    return buffer.getvalue()

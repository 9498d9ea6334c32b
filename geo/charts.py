"""Charts: the cumulative coverage curve as PNG or SVG."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402

#: Fonts tried first, so Chinese labels render where a CJK font is installed.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "Source Han Sans SC")


def curve_chart(curve: pd.DataFrame, threshold_min: float, title: str, x_label: str,
                y_label: str, footer: str, fmt: str = "png") -> bytes:
    """Draw covered share against travel time, with the threshold marked.

    Args:
        curve: columns ``minutes`` and ``covered_share`` (0 to 1).
        threshold_min: the threshold to mark, minutes.
        title, x_label, y_label: texts in the reader's language.
        footer: small print under the chart (the data attribution).
        fmt: ``png`` or ``svg``.

    Returns:
        The image file's bytes.
    """
    installed = {f.name for f in font_manager.fontManager.ttflist}
    family = [f for f in CJK_FONTS if f in installed] + ["DejaVu Sans"]
    with plt.rc_context({"font.family": family, "svg.fonttype": "none"}):
        figure, axes = plt.subplots(figsize=(6.4, 3.6), dpi=110)
        axes.plot(curve["minutes"], curve["covered_share"] * 100, color="#b71c1c", linewidth=2)
        axes.axvline(threshold_min, color="#52606d", linestyle="--", linewidth=1)
        axes.set_xlim(0, float(curve["minutes"].max()))
        axes.set_ylim(0, 100)
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        axes.set_title(title, fontsize=11)
        axes.grid(alpha=0.3)
        figure.text(0.99, 0.01, footer, ha="right", va="bottom", fontsize=7, color="#7b8794")
        figure.tight_layout(rect=(0, 0.03, 1, 1))
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt)
        plt.close(figure)
    return buffer.getvalue()

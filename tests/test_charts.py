"""Coverage curves as images, with Chinese labels drawn in a CJK font."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

from geo.charts import curve_chart, font_family

ROOT = Path(__file__).resolve().parent.parent

CURVE = pd.DataFrame({"minutes": [0.0, 5.0, 10.0, 15.0], "covered_share": [0.0, 0.4, 0.8, 0.9]})


def test_chinese_labels_are_drawn_in_a_cjk_font_with_no_glyph_missing():
    # pyproject.toml turns matplotlib's "Glyph … missing from font" warning into an error.
    assert "CJK" in font_family()[0]
    image = curve_chart(CURVE, 10, "南京 · 快递员", "到最近驿站的出行时间(分钟)", "覆盖需求(%)",
                        "© OpenStreetMap 贡献者")
    assert image[:4] == b"\x89PNG"


def test_an_svg_chart_keeps_its_texts_as_text():
    image = curve_chart(CURVE, 10, "南京 · 快递员", "分钟", "覆盖", "©", fmt="svg").decode()
    assert "南京 · 快递员" in image


def test_a_chart_leaves_pyplot_and_the_backend_alone():
    drawn = subprocess.run(
        [sys.executable, "-c", "import sys, pandas as pd; from geo.charts import curve_chart; "
         "curve_chart(pd.DataFrame({'minutes': [0.0, 5.0], 'covered_share': [0.0, 1.0]}), 5, "
         "'t', 'x', 'y', 'f'); print(sorted(m for m in sys.modules if 'pyplot' in m or "
         "'backends.backend_' in m))"],
        capture_output=True, text=True, cwd=ROOT, check=True)
    assert drawn.stdout.strip() == "['matplotlib.backends.backend_agg']"

"""The SVG bar charts of the HTML report: well-formed SVG, one rectangle per non-zero segment,
labels escaped, bar lengths on the stated scale, and no plotting library imported."""

from __future__ import annotations

import base64
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from snncompile.report.svg import Bar, bar_chart, img_tag

ROOT = Path(__file__).resolve().parents[2]
NS = {"svg": "http://www.w3.org/2000/svg"}


def _bars(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall("svg:rect[@class='bar']", NS)


def test_linear_chart_lengths_are_proportional() -> None:
    svg = bar_chart(
        "rates",
        [Bar("<sj_lif>", ((0.5, "#000"),), "0.500"), Bar("b", ((0.25, "#000"),))],
        xlabel="rate",
    )
    root = ET.fromstring(svg)  # well-formed: the label's < > are escaped
    texts = [t.text for t in root.findall("svg:text", NS)]
    assert "<sj_lif>" in texts and "0.500" in texts and "rates" in texts
    first, second = _bars(svg)
    assert float(first.get("width", 0)) == pytest.approx(2 * float(second.get("width", 0)), 0.01)
    assert float(root.get("width", 0)) > 0 and float(root.get("height", 0)) > 0


def test_symlog_chart_stacks_segments_and_skips_zeros() -> None:
    bars = [
        Bar("mac", ((1000.0, "red"), (0.0, "blue"))),
        Bar("both", ((10.0, "red"), (990.0, "blue"))),
    ]
    svg = bar_chart("ops", bars, xlabel="ops", log_threshold=10.0, legend=(("MAC", "red"),))
    rects = _bars(svg)
    assert len(rects) == 3  # the zero segment draws nothing
    mac, both_mac, both_ac = (float(r.get("width", 0)) for r in rects)
    # the stacked bar ends where a bar of the same total ends; 10 is one linear unit, 1000 is
    # two decades further: 1 : 3 on the axis
    assert both_mac + both_ac == pytest.approx(mac, abs=0.2)
    assert both_mac == pytest.approx(mac / 3, abs=0.2)


def test_img_tag_is_a_data_uri_of_the_svg() -> None:
    svg = bar_chart("t", [Bar("a", ((1.0, "#000"),))], xlabel="x")
    tag = img_tag(svg, 'alt "quoted"')
    assert tag.startswith('<img alt="alt &quot;quoted&quot;" src="data:image/svg+xml;base64,')
    data = tag.split("base64,", 1)[1].rstrip('">')
    assert base64.b64decode(data).decode() == svg


def test_html_report_needs_no_plotting_library(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from snncompile.cli import main\n"
        "assert main(['check', 'examples/digits/spikingformer.pt', '--samples', '2', "
        "'--html', sys.argv[1]]) == 0\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    page = tmp_path / "r.html"
    done = subprocess.run(
        [sys.executable, "-c", code, str(page)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert page.read_text().count("data:image/svg+xml;base64,") == 3

"""The HTML report in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by ``make browser``) loads the page that ``snncompile check
--html`` writes for shipped digits models and we check that it renders, that every plot loaded
and that the console stayed clean; a broken page must be caught by the same checker.

Without Chromium these tests skip, except when ``CI=true``: there a missing browser fails.
Selenium is given the driver's path, so Selenium Manager never downloads anything.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NoReturn

import pytest

from snncompile.cli import main
from snncompile.report.html import PLOTS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"
#: model -> (exit status of `snncompile check`, text the verdict must contain)
MODELS = {"spikformer": (2, "Not spike-driven"), "spikingformer": (0, "Spike-driven")}
WIDTH = 1280  # a laptop screen, CSS pixels


def _find(name: str, *fallbacks: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((path for path in fallbacks if os.access(path, os.X_OK)), None)


def _unavailable(reason: str) -> NoReturn:
    """Skip, or fail on CI (CI=true), where a missing browser is a broken set-up."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{reason}; CI=true, so the browser tests must run (`make browser`)")
    pytest.skip(f"{reason} (`make browser` installs Debian's chromium and chromium-driver)")


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium = _find("chromium", "/usr/bin/chromium", "/usr/lib/chromium/chromium")
    chromedriver = _find("chromedriver", "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
    if chromium is None or chromedriver is None:
        _unavailable("Chromium or chromedriver is not installed")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (the dev extra)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={WIDTH},900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager is skipped and nothing is downloaded.
    browser = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The real `snncompile check --html` page of each model in MODELS."""
    out = tmp_path_factory.mktemp("html")
    pages = {}
    for model, (status, _) in MODELS.items():
        page = out / f"{model}.html"
        args = ["check", str(EXAMPLES / f"{model}.pt"), "--samples", "4", "--html", str(page)]
        assert main(args) == status
        pages[model] = page
    return pages


@dataclass
class Page:
    """What the browser saw on one page."""

    title: str
    text: str
    ids: set[str]
    images: list[dict[str, Any]]
    severe: list[str]
    screenshot: bytes
    scroll_width: int
    problems: list[str] = field(default_factory=list)


def inspect(browser: Any, path: Path, *, plots: int | None = None) -> Page:
    """Load ``path`` and collect what renders; ``problems`` lists what is wrong with it:
    broken or missing images, console messages of level SEVERE, a blank screenshot,
    content wider than the window."""
    browser.get_log("browser")  # drop what an earlier page left
    browser.set_window_size(WIDTH, 900)
    browser.get(path.resolve().as_uri())  # returns after the load event (images included)
    images = browser.execute_script(
        "return Array.from(document.images).map(i => ({src: i.src.slice(0, 40), alt: i.alt,"
        " complete: i.complete, naturalWidth: i.naturalWidth, width: i.width}));"
    )
    ids = set(
        browser.execute_script("return Array.from(document.querySelectorAll('[id]'), e => e.id);")
    )
    height = browser.execute_script("return document.documentElement.scrollHeight;")
    browser.set_window_size(WIDTH, min(int(height) + 120, 16000))
    page = Page(
        title=browser.title,
        text=browser.execute_script("return document.body.innerText;"),
        ids=ids,
        images=images,
        severe=[
            entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
        ],
        screenshot=browser.get_screenshot_as_png(),
        scroll_width=browser.execute_script("return document.documentElement.scrollWidth;"),
    )
    page.problems = _problems(page, plots)
    return page


def _problems(page: Page, plots: int | None) -> list[str]:
    from PIL import Image

    problems = [f"console: {message}" for message in page.severe]
    for image in page.images:
        if not image["complete"] or image["naturalWidth"] == 0:
            problems.append(f"image not loaded: {image['alt'] or image['src']}")
    if plots is not None and len(page.images) != plots:
        problems.append(f"{len(page.images)} images, expected {plots} plots")
    if not page.title.strip():
        problems.append("no title")
    if page.scroll_width > WIDTH:
        problems.append(f"content {page.scroll_width}px wide in a {WIDTH}px window")
    shot = Image.open(io.BytesIO(page.screenshot)).convert("RGB")
    colors = shot.getcolors(maxcolors=1 << 16)
    if colors is not None and len(colors) < 16:
        problems.append(f"screenshot is blank ({len(colors)} colours)")
    return problems


_VOID = frozenset({"meta", "link", "img", "br", "hr", "input", "source", "wbr", "col", "area"})


class _Structure(HTMLParser):
    """The facts of an HTML5 page that a parser can check: doctype, lang, charset, title,
    balanced elements, and every resource embedded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doctype: str | None = None
        self.first: str | None = None
        self.lang: str | None = None
        self.charset: str | None = None
        self.title = ""
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.external: list[str] = []
        self.scripts = 0

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl
        self.first = self.first or "doctype"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.first = self.first or tag
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag == "meta" and "charset" in values:
            self.charset = values["charset"]
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            value = values.get(key)
            if value is not None and not value.startswith(("data:", "#")):
                self.external.append(f"<{tag} {key}={value[:40]}>")
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "title":
            self.title += data


@pytest.mark.timeout(120)
@pytest.mark.parametrize("model", list(MODELS))
def test_page_is_complete_valid_and_self_contained(reports: dict[str, Path], model: str) -> None:
    source = reports[model].read_text(encoding="utf-8")
    parser = _Structure()
    parser.feed(source)
    parser.close()
    assert parser.first == "doctype" and parser.doctype is not None
    assert parser.doctype.lower() == "doctype html"
    assert parser.lang == "en" and parser.charset == "utf-8"
    assert model in parser.title
    assert parser.errors == [] and parser.stack == []
    assert parser.external == [] and parser.scripts == 0
    assert source.count('<img alt="Bar chart') == PLOTS


@pytest.mark.browser
@pytest.mark.timeout(180)
@pytest.mark.parametrize("model", list(MODELS))
def test_report_renders_in_chromium(
    driver: Any, reports: dict[str, Path], model: str, tmp_path: Path
) -> None:
    page = inspect(driver, reports[model], plots=PLOTS)
    (tmp_path / f"{model}.png").write_bytes(page.screenshot)  # to look at
    assert page.problems == []
    status, verdict = MODELS[model]
    assert model in page.title
    assert verdict in page.text
    assert {"verdict", "summary", "findings", "energy", "plots", "ops-table", "partitions"} <= (
        page.ids
    )
    if status == 2:  # violations: the findings table names the code and the fix
        assert "SD201" in page.text and "--expand-sew" in page.text
    for image in page.images:  # plots are drawn large enough to read
        assert image["naturalWidth"] > 400 and image["width"] >= 300, image
    # one unit, each energy labelled with its model, and the sentence reconciling them
    for model_name in ("45 nm compute", "chip model", "memory traffic"):
        assert re.search(rf"energy, {model_name}\s+[\d.e+-]+ µJ", page.text), model_name
    assert " mJ" not in page.text and " nJ" not in page.text
    assert "prices only the arithmetic" in page.text


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_checker_catches_a_broken_page(driver: Any, tmp_path: Path) -> None:
    """The checker is not vacuous: a broken image, a console error and an uncaught exception
    are each reported."""
    good = tmp_path / "good.html"
    good.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
        "<body><h1>fine</h1><p>" + " ".join(f"word{i}" for i in range(200)) + "</p></body></html>"
    )
    assert inspect(driver, good, plots=0).problems == []

    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
        '<body><h1>broken</h1><img alt="corrupt plot" src="data:image/png;base64,iVBORw0KGgo=">'
        '<img alt="missing plot" src="no-such-plot.png">'
        '<script>console.error("boom from the page");</script>'
        '<script>throw new Error("uncaught in the page");</script></body></html>'
    )
    problems = inspect(driver, broken, plots=PLOTS).problems
    joined = "\n".join(problems)
    assert "image not loaded: corrupt plot" in joined
    assert "image not loaded: missing plot" in joined
    assert "boom from the page" in joined
    assert "uncaught in the page" in joined
    assert f"2 images, expected {PLOTS} plots" in joined

    blank = tmp_path / "blank.html"
    blank.write_text(
        '<!DOCTYPE html><html lang="en"><head><title></title></head><body></body></html>'
    )
    assert inspect(driver, blank).problems == ["no title", "screenshot is blank (1 colours)"]


def test_missing_browser_skips_but_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make browser"):
        _unavailable("Chromium is not installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        _unavailable("Chromium is not installed")

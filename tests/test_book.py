"""The book (``python -m ebm book``): built once, offline, and read in a real browser.

The book is built once per session (conftest's ``book_build``: it executes all five
lectures, which test_notebooks.py relies on too), with every connection to anything but
this machine refused.  The browser tests open each page
from ``file://`` in headless Chromium, driven by playwright, with every request that is
not ``file://`` blocked and recorded; they share one browser.

Without a Chromium the browser tests skip and say why; ``.ci/run`` installs Debian's
``chromium`` and sets ``EBM_REQUIRE_BROWSER=1``, which makes a missing browser a failure.
``EBM_CHROMIUM`` names a browser binary to use instead of the one on PATH.

Each browser check is shown to fail, on a page broken on purpose (``test_check_catches_*``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import ebm
from ebm.book import LECTURES, BookError, _build, build_book, outside_references

pytestmark = pytest.mark.xdist_group("book")  # one worker: its module/session fixtures run once

REPO = Path(ebm.__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = ["index.html", *(f"notebooks/{name}.html" for name in LECTURES), "docs/article.html", "docs/grading.html"]


# --------------------------------------------------------------------------- the build


def test_the_network_guard_refuses_and_records(network_guard):
    with network_guard() as attempts:
        with socket.socket() as sock, pytest.raises(OSError, match="no network during the build"):
            sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never reached
        with pytest.raises(socket.gaierror, match="no name lookups"):
            socket.getaddrinfo("cdn.example.org", 443)
        with socket.socket() as server:  # loopback still works
            server.bind(("127.0.0.1", 0))
            server.listen()
            socket.create_connection(server.getsockname(), timeout=5).close()
    assert attempts == [("192.0.2.1", 80), "cdn.example.org"]


@pytest.fixture(scope="module")
def book(book_build):
    """The session's book (conftest), which must have been built without touching the network."""
    result, attempts = book_build
    assert not attempts, f"the build tried to reach the network: {attempts}"
    return result


def test_book_has_every_page_and_no_warnings(book):
    for page in PAGES:
        assert (book.out / page).is_file(), page
    assert book.index == book.out / "index.html"
    assert book.lectures == tuple(book.out / "notebooks" / f"{name}.html" for name in LECTURES)
    assert book.warnings == ()
    assert 1e6 < book.size_bytes < 40e6, book.size_mb


def test_book_refers_to_nothing_outside_itself(book):
    assert outside_references(book.out) == []
    html = (book.out / "notebooks" / "01_hopfield.html").read_text()
    assert 'src="../_static/mathjax/tex-chtml-full.js' in html  # MathJax from inside the book
    assert (book.out / "_static" / "mathjax" / "tex-chtml-full.js").is_file()
    assert "font-awesome" not in html and 'class="fa fa-' not in html  # the players' icons are inline


def test_index_tells_the_story_in_order(book):
    html = (book.out / "index.html").read_text()
    main = html[html.index("<article") : html.index("</article>")]
    text = re.sub(r"<[^>]+>", "", main)
    steps = ["Hopfield 1982", "Boltzmann 1985", "RBM 1986", "LeCun et al. 2006", "The core"]
    positions = [text.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), dict(zip(steps, positions))
    links = re.findall(r'href="(notebooks/\w+\.html)"', main)
    assert list(dict.fromkeys(links)) == [f"notebooks/{name}.html" for name in LECTURES]
    assert 'href="docs/article.html"' in main and 'href="docs/grading.html"' in main


@pytest.mark.parametrize("name", LECTURES)
def test_lectures_are_executed_with_their_figures_and_players(book, name):
    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    html = (book.out / "notebooks" / f"{name}.html").read_text()
    assert html.count('class="cell_output') >= 1
    assert "Traceback" not in html
    if "plotting." in code:
        assert re.search(r'<img[^>]+src="(\.\./_images/|data:image/png)', html), f"{name}: no figure"
    assert html.count('<div class="animation">') == code.count("animation_html("), f"{name}: players"


@pytest.mark.parametrize("name", LECTURES)
def test_exercises_appear_as_students_get_them(book, name):
    import html as html_module

    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    solutions = [
        re.search(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", cell.source, re.S).group(1)
        for cell in nb.cells
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source
    ]
    page = html_module.unescape(re.sub(r"<[^>]+>", "", (book.out / "notebooks" / f"{name}.html").read_text()))
    assert "BEGIN SOLUTION" not in page and "all public checks passed" not in page
    assert page.count("raise NotImplementedError") >= len(solutions) >= 1
    for solution in solutions:
        assert solution not in page


def test_outside_references_finds_every_kind(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "p.html").write_text(
        '<link rel="stylesheet" href="//fonts.example/x.css"><link rel="canonical" href="https://ok.example/">'
        '<img srcset="a.png 1x, https://img.example/b.png 2x"><div style="background: url(http://x.example/i.png)">'
        '<style>@import "https://css.example/y.css";</style><iframe src="https://frame.example/"></iframe>'
        '<script src="data:text/javascript,1"></script><a href="https://a.example/">a link</a>'
    )
    (tmp_path / "s.css").write_text("@font-face { src: url('https://font.example/f.woff2') } .a { b: url(x.png) }")
    assert outside_references(tmp_path) == [
        ("s.css", "https://font.example/f.woff2"),
        ("sub/p.html", "//fonts.example/x.css"),
        ("sub/p.html", "https://img.example/b.png"),
        ("sub/p.html", "http://x.example/i.png"),
        ("sub/p.html", "https://css.example/y.css"),
        ("sub/p.html", "https://frame.example/"),
    ]


def test_importing_the_book_loads_nothing_heavy():
    code = (
        "import sys, json, ebm, ebm.book, ebm.cli\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'sphinx', 'myst_nb', 'nbclient', "
        "'playwright', 'docutils', 'numba', 'matplotlib', 'tqdm'})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == []


# --------------------------------------------------------------------------- bad input


def test_missing_extra_says_which_command_installs_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(_build, "_NEEDED", _build._NEEDED + (("ebm_no_such_module", "no-such-dist"),))
    with pytest.raises(
        BookError,
        match=r"no-such-dist is not installed; install it with "
        r'python -m pip install -e "\.\[book\]"',
    ):
        build_book(tmp_path / "out")
    from ebm.cli import main

    assert main(["book", "--out", str(tmp_path / "out")]) == 1
    assert "error: the book needs the 'book' extra" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_refuses_an_output_folder_it_would_clobber(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BookError, match="holds no earlier book"):
        build_book(tmp_path)
    with pytest.raises(BookError, match="is not a folder"):
        build_book(tmp_path / "notes.txt")
    with pytest.raises(BookError, match="would replace the repository's own files"):
        build_book(REPO / "notebooks")
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        build_book(tmp_path / "new", jobs=0)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_missing_sources_are_named(tmp_path):
    with pytest.raises(BookError, match=r"notebooks/01_hopfield\.ipynb.*docs/grading\.md"):
        build_book(tmp_path / "out", source=tmp_path)


def test_a_failing_lecture_names_itself_and_keeps_the_earlier_book(tmp_path):
    source = tmp_path / "repo"
    (source / "notebooks").mkdir(parents=True)
    (source / "docs").mkdir()
    for name in LECTURES:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0" if name == "02_boltzmann" else "1")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, source / "notebooks" / f"{name}.ipynb")
    for name in ("article", "grading"):
        (source / "docs" / f"{name}.md").write_text(f"# {name}\n")
    out = tmp_path / "book"
    out.mkdir()
    (out / ".buildinfo").write_text("an earlier book")
    with pytest.raises(BookError, match=r"lecture 02_boltzmann\.ipynb failed: ZeroDivisionError: division by zero"):
        build_book(out, source=source, jobs=1)
    assert (out / ".buildinfo").read_text() == "an earlier book"
    assert {p.name for p in tmp_path.iterdir()} == {"repo", "book"}  # no half-built book left behind


def test_the_build_refuses_a_page_that_would_fetch_from_outside(tmp_path, monkeypatch):
    # No kernels and no Sphinx: "rendering" writes one page with a CDN script.
    def render(stage, out, doctrees):
        out.mkdir(exist_ok=True)
        (out / "index.html").write_text('<script src="https://cdn.example.org/mathjax.js"></script>')
        return ()

    monkeypatch.setattr(_build, "_execute_all", lambda *args: None)
    monkeypatch.setattr(_build, "_render", render)
    out = tmp_path / "book"
    out.mkdir()
    (out / ".buildinfo").write_text("an earlier book")
    with pytest.raises(
        BookError,
        match=r"1 reference\(s\) to outside resources .*index\.html: "
        r"https://cdn\.example\.org/mathjax\.js",
    ):
        build_book(out)
    assert (out / ".buildinfo").read_text() == "an earlier book"
    assert {p.name for p in tmp_path.iterdir()} == {"book"}


# --------------------------------------------------------------------------- the players, offline


def test_players_need_no_network():
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.animation import FuncAnimation

    fig, ax = plt.subplots()
    image = ax.imshow(np.zeros((2, 2)))
    anim = FuncAnimation(fig, lambda i: image.set_data(np.eye(2) * i), frames=3)
    html = ebm.plotting.animation_html(anim)
    assert not re.search(r"https?://", html)
    assert 'class="fa' not in html and "<link" not in html
    assert html.count("<svg") == 9  # every button of matplotlib's player
    assert "play_animation()" in html and "pause_animation()" in html


# --------------------------------------------------------------------------- the browser


def _chromium():
    """The Chromium binary to drive, or None."""
    named = os.environ.get("EBM_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    for candidate in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(candidate):
            return shutil.which(candidate)
    return None


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for every browser test of this module."""
    why = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = 'playwright is not installed (python -m pip install -e ".[test]")'
    executable = _chromium()
    if why is None and executable is None:
        why = (
            "no Chromium found: install Debian's (apt-get install chromium) or set EBM_CHROMIUM to a "
            "Chrome/Chromium binary"
        )
    if why is not None:
        if os.environ.get("EBM_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(f"EBM_REQUIRE_BROWSER is set, and {why}")
        pytest.skip(
            f"the book's browser tests need a real browser, and {why}; set EBM_REQUIRE_BROWSER=1 to make this a failure"
        )
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# Text in the prose that still holds a `$`: math that MyST did not parse (a table that split a
# formula at its `|`, an unclosed dollar), shown to the reader as raw TeX.
_UNRENDERED_DOLLARS = """() => {
  const root = document.querySelector('article') || document.body;
  const skip = 'pre, code, script, style, .math, mjx-container, .cell_output, .highlight';
  const found = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.textContent.includes('$') && !node.parentElement.closest(skip)) found.push(node.textContent.trim());
  }
  return found;
}"""

_MATH = """async () => {
  const math = document.querySelectorAll('.math');
  if (!math.length) return {math: 0};
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return {math: math.length, noMathJax: true};
  await MathJax.startup.promise;
  const untypeset = [...math].filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60));
  const errors = [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 60));
  return {math: math.length, untypeset, errors};
}"""


#: Presses of a player's "Increase speed" before Play: 0.7**4, a 200 ms interval becomes 48 ms.
SPEED_PRESSES = 4


def _play_and_pause(page, player):
    """What the player did: its frame before, while playing, and across a pause."""
    slider = player.locator("input.anim-slider")
    image = player.locator("img").first

    def frame():
        return int(slider.input_value()), image.get_attribute("src")

    def interval():
        return page.evaluate(
            "id => { const a = window['anim' + id]; return a ? a.interval : 500; }",
            slider.get_attribute("id").removeprefix("_anim_slider"),
        )

    # the speed button first (each press: 0.7 x the interval), so that the frames below come sooner
    before = interval()
    for _ in range(SPEED_PRESSES):
        player.locator('button[title="Increase speed"]').click()
    sped_up = interval()
    last = int(slider.get_attribute("max"))
    start = frame()
    player.locator('button[title="Play"]').click()
    playing = start
    for _ in range(40):  # up to ~10 intervals for the first steps
        page.wait_for_timeout(sped_up / 4)
        playing = frame()
        if playing[0] >= start[0] + 2:
            break
    player.locator('button[title="Pause"]').click()
    paused = frame()
    later = []  # three looks across the wait: a running player cannot match all three by wrapping around
    for _ in range(3):
        page.wait_for_timeout(max(4 * sped_up, 300) / 3)
        later.append(frame()[0])
    return {
        "start": start[0],
        "playing": playing[0],
        "paused": paused[0],
        "later": later,
        "last": last,
        "image_changed": playing[1] != start[1],
        "interval": before,
        "sped_up": sped_up,
    }


def _read_page(browser, url):
    """Open ``url`` with every non-file request blocked; report what a reader would meet."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    report = {"blocked": [], "local_failed": [], "errors": [], "requests": 0, "players": []}

    def route(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            report["blocked"].append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", lambda request: report.__setitem__("requests", report["requests"] + 1))
    page.on("websocket", lambda ws: report["blocked"].append(ws.url))
    page.on(
        "requestfailed", lambda request: request.url.startswith("file:") and report["local_failed"].append(request.url)
    )
    page.on("pageerror", lambda exc: report["errors"].append(f"uncaught: {exc}"))
    page.on("console", lambda msg: msg.type == "error" and report["errors"].append(f"console: {msg.text}"))
    try:
        page.goto(url, wait_until="load")
        report["math"] = page.evaluate(_MATH)
        report["unrendered"] = page.evaluate(_UNRENDERED_DOLLARS)
        for n in range(page.locator("div.animation").count()):
            report["players"].append(_play_and_pause(page, page.locator("div.animation").nth(n)))
    finally:
        context.close()
    return report


def _problems(report):
    """Every way the page fails a reader, as readable strings (empty: the page is fine)."""
    problems = [f"fetched from outside: {url}" for url in report["blocked"]]
    problems += [f"missing file: {url}" for url in report["local_failed"]]
    problems += [f"JavaScript error: {e}" for e in report["errors"]]
    math = report["math"]
    if math.get("noMathJax"):
        problems.append(f"{math['math']} formulas and no MathJax to typeset them")
    problems += [f"formula not typeset: {m!r}" for m in math.get("untypeset", [])]
    problems += [f"TeX error: {m!r}" for m in math.get("errors", [])]
    problems += [f"raw TeX in the text: {t!r}" for t in report["unrendered"]]
    for n, p in enumerate(report["players"]):
        if not p["sped_up"] < p["interval"]:
            problems.append(f"player {n}: Increase speed did not shorten the interval ({p})")
        if not (p["playing"] > p["start"] and p["image_changed"]):
            problems.append(f"player {n}: Play did not advance it ({p})")
        elif not (all(f == p["paused"] for f in p["later"]) and p["paused"] < p["last"]):
            problems.append(f"player {n}: Pause did not stop it ({p})")
    return problems


@pytest.mark.parametrize("page", PAGES)
def test_page_works_offline_in_a_browser(book, browser, page, tmp_path):
    report = _read_page(browser, (book.out / page).as_uri())
    assert _problems(report) == []
    assert report["requests"] > 5  # the page's own style sheets and scripts did load
    if page.startswith("notebooks/"):
        assert report["math"]["math"] > 10, report["math"]
        html = (book.out / page).read_text()
        assert len(report["players"]) == html.count('<div class="animation">')


# Each check above, failing on a page broken on purpose.


def _player_html(sabotage=None):
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.animation import FuncAnimation

    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    image = ax.imshow(np.zeros((2, 2)), vmin=0, vmax=12)
    anim = FuncAnimation(fig, lambda i: image.set_data(np.full((2, 2), i)), frames=12, interval=100)
    html = ebm.plotting.animation_html(anim)
    if sabotage:  # the button's action replaced by nothing
        html, count = re.subn(rf"anim\w+\.{sabotage}\(\)", "void(0)", html)
        assert count == 1
    return html


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """Small pages (using the MathJax the book copies), each broken in one way."""
    folder = tmp_path_factory.mktemp("broken")
    script = (_build._mathjax_dir() / "tex-chtml-full.js").as_uri()
    mathjax = f'<script defer src="{script}"></script>'
    pages = {
        "fine": f"{mathjax}<article><p><span class='math'>\\(x^2\\)</span></p>{_player_html()}</article>",
        "cdn_script": '<script src="https://cdn.example.org/lib.js"></script><article>text</article>',
        "cdn_font": '<style>@import url("https://fonts.example.org/css");</style><article>text</article>',
        "js_error": "<article>text</article><script>undefinedFunction();</script>",
        "missing_file": '<article><img src="no-such-figure.png"></article>',
        "no_mathjax": "<article><p><span class='math'>\\(x^2\\)</span></p></article>",
        "tex_error": f"{mathjax}<article><p><span class='math'>\\(\\frac{{1}}\\)</span></p></article>",
        "raw_dollars": f"{mathjax}<article><p>true: $E = -</p></article>",
        "dead_play": f"<article>{_player_html('play_animation')}</article>",
        "dead_pause": f"<article>{_player_html('pause_animation')}</article>",
        "dead_faster": f"<article>{_player_html('faster')}</article>",
    }
    for name, body in pages.items():
        (folder / f"{name}.html").write_text(
            f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"
        )
    return folder


@pytest.mark.parametrize(
    "name, expected",
    [
        ("cdn_script", "fetched from outside: https://cdn.example.org/lib.js"),
        ("cdn_font", "fetched from outside: https://fonts.example.org/css"),
        ("js_error", "JavaScript error: uncaught: undefinedFunction is not defined"),
        ("missing_file", "missing file: file://"),
        ("no_mathjax", "1 formulas and no MathJax to typeset them"),
        ("tex_error", "TeX error"),
        ("raw_dollars", "raw TeX in the text: 'true: $E = -'"),
        ("dead_play", "player 0: Play did not advance it"),
        ("dead_pause", "player 0: Pause did not stop it"),
        ("dead_faster", "player 0: Increase speed did not shorten the interval"),
    ],
)
def test_check_catches_a_broken_page(browser, broken, name, expected):
    problems = _problems(_read_page(browser, (broken / f"{name}.html").as_uri()))
    assert any(p.startswith(expected) for p in problems), problems


def test_check_passes_the_unbroken_test_page(browser, broken):
    report = _read_page(browser, (broken / "fine.html").as_uri())
    assert _problems(report) == [], json.dumps(report)
    assert report["math"]["math"] == 1 and len(report["players"]) == 1

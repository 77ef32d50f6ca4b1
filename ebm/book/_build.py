"""Build the book: execute the lectures, render them with Sphinx, check nothing is outside.

Private: use :func:`ebm.book.build_book` or ``python -m ebm book``.  Every heavy import
(Sphinx, MyST-NB, nbclient) happens inside the functions.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

#: The lectures, in the order the story is told (``notebooks/<name>.ipynb``).
LECTURES = ("01_hopfield", "02_boltzmann", "03_rbm", "04_gibbs", "05_softmax_loss")
#: The other pages, from the repository's ``docs/`` folder: the article and the exercises guide.
DOCS = ("article", "grading")
#: Seconds one cell of a lecture may run.
CELL_TIMEOUT = 600

_INSTALL = 'python -m pip install -e ".[book]"'
# Python modules of the ``book`` extra, with the PyPI distribution that provides each.
_NEEDED = (
    ("sphinx", "sphinx"),
    ("myst_nb", "myst-nb"),
    ("sphinx_book_theme", "sphinx-book-theme"),
    ("nbclient", "nbclient"),
    ("nbformat", "nbformat"),
    ("ipykernel", "ipykernel"),
)
# MathJax 3, from the sphinx-mathjax-offline package: one script holding every TeX extension
# (so it never loads another), and the web fonts its HTML output uses.
_MATHJAX_DIST = "sphinx-mathjax-offline"
_MATHJAX_FILES = ("tex-chtml-full.js", "output/chtml/fonts/woff-v2")
_MATHJAX_SCRIPT = "mathjax/tex-chtml-full.js"  # relative to the book's _static/


class BookError(RuntimeError):
    """The book cannot be built: the message says why and what to do."""


@dataclass(frozen=True)
class BookResult:
    """What :func:`build_book` wrote."""

    out: Path  #: the book's folder
    index: Path  #: its front page, ``out/index.html``
    lectures: tuple[Path, ...]  #: the lecture pages, in order
    warnings: tuple[str, ...]  #: Sphinx's warnings (the build succeeded despite them)
    seconds: float  #: wall-clock time of the whole build
    size_bytes: int  #: total size of the book's files
    executed: tuple = ()  #: ``(lecture name, seconds)`` of each executed lecture, in order

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6


# --------------------------------------------------------------------------- inputs


def _missing_extra():
    """The distributions of the ``book`` extra that cannot be imported."""
    import importlib.util

    missing = [dist for module, dist in _NEEDED if importlib.util.find_spec(module) is None]
    if _mathjax_dir() is None:
        missing.append(_MATHJAX_DIST)
    return missing


def _mathjax_dir():
    """The folder of MathJax files that ``sphinx-mathjax-offline`` installs, or None."""
    from importlib import metadata

    try:
        files = metadata.files(_MATHJAX_DIST) or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == _MATHJAX_FILES[0] and f.parent.name == "mathjax":
            folder = Path(f.locate()).parent
            if all((folder / name).exists() for name in _MATHJAX_FILES):
                return folder
    return None


def default_source():
    """The repository that holds this ebm: ``notebooks/`` and ``docs/`` beside the package."""
    import ebm

    return Path(ebm.__file__).resolve().parent.parent


def _inputs(source):
    """``(lectures, docs)``: the paths of the lecture notebooks and the docs, checked to exist."""
    source = Path(source)
    lectures = [source / "notebooks" / f"{name}.ipynb" for name in LECTURES]
    docs = [source / "docs" / f"{name}.md" for name in DOCS]
    missing = [str(p) for p in lectures + docs if not p.is_file()]
    if missing:
        raise BookError(
            f"the book is built from the repository's notebooks/ and docs/, and these are missing "
            f"under {source}: {', '.join(missing)}. Build it from a clone of the repository "
            f"(installed with {_INSTALL}), or pass the clone's folder as source"
        )
    return lectures, docs


def _check_out(out, source):
    """Refuse an output folder that holds anything but an earlier book."""
    src = Path(source).resolve()
    target = out.resolve()
    if target == src or target in src.parents or target in ((src / "notebooks"), (src / "docs")):
        raise BookError(f"--out {out} would replace the repository's own files; choose a folder such as build/book")
    if out.exists() and not out.is_dir():
        raise BookError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / ".buildinfo").is_file():
        raise BookError(
            f"{out} is not empty and holds no earlier book (no .buildinfo); it would be replaced. "
            f"Choose an empty or new folder for --out, or remove this one"
        )


# --------------------------------------------------------------------------- execution


def hide_solutions(nb, where="notebook"):
    """Show the exercises of an executed notebook as a student gets them (in place).

    Every solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
    nbgrader's stub (``raise NotImplementedError()``), as ``python -m ebm exercises --student``
    writes it, and
    the cells that run ``ebm.grading.check`` lose their outputs (they were computed with
    the solutions).  The other cells keep their outputs: the lecture ran with the solutions.
    Returns the number of cells changed.

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_code_cell("def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION"),
    ...     nbformat.v4.new_code_cell('ebm.grading.check("f", f)', outputs=[nbformat.v4.new_output("stream", text="PASS")])])
    >>> hide_solutions(nb)
    2
    >>> print(nb.cells[0].source); nb.cells[1].outputs
    def f(x):
        # YOUR CODE HERE
        raise NotImplementedError()
    []
    """
    from ebm.grading.notebooks import BEGIN, student_source

    changed = 0
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if BEGIN in cell.source:
            cell.source = student_source(cell.source, f"{where}, cell {k}")
            changed += 1
        elif "grading.check(" in cell.source and cell.outputs:
            cell.outputs = []
            changed += 1
    return changed


def _execute(path, target, workdir, timeout, solutions=False):
    """Run the notebook at ``path`` top to bottom in a fresh kernel and write it to ``target``.

    The kernel runs in ``workdir`` (what a lecture writes lands there) and its own
    messages go to ``workdir/<name>.kernel.log``, quoted if the kernel dies.  Unless
    ``solutions``, the exercises are then shown as students get them (:func:`hide_solutions`).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    env = {**os.environ, "MPLBACKEND": "Agg"}  # headless: figures render, nothing opens
    log_path = Path(workdir) / f"{path.stem}.kernel.log"
    with open(log_path, "wb") as log:
        try:
            client.execute(env=env, stdout=log, stderr=log)
        except CellExecutionError as exc:
            raise BookError(
                f"lecture {path.name} failed: {exc.ename}: {exc.evalue} (run it in Jupyter to see "
                f"the cell; the book is built only from lectures that run)"
            ) from exc
        except (CellTimeoutError, DeadKernelError) as exc:
            log.flush()
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise BookError(
                f"lecture {path.name} did not finish: {str(exc).strip().splitlines()[0]}"
                + ("; the kernel said:\n" + "\n".join(tail) if tail else "")
            ) from exc
    if not solutions:
        hide_solutions(nb, path.name)
    nbformat.write(nb, target)


def _execute_all(lectures, stage, work, timeout, jobs, bar, solutions):
    """Execute every lecture, ``jobs`` kernels at a time, advancing ``bar`` as each finishes.

    Returns ``{lecture name: seconds}``.
    """
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    running = set()
    seconds = {}

    def run(path):
        running.add(path.stem)
        bar.set_postfix(running=",".join(sorted(running)))
        start = time.perf_counter()
        try:
            _execute(path, stage / "notebooks" / path.name, work, timeout, solutions)
        finally:
            running.discard(path.stem)
        seconds[path.stem] = time.perf_counter() - start
        bar.update()

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run, path) for path in lectures]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        for f in futures:
            if f.done() and not f.cancelled() and f.exception() is not None:
                raise f.exception()
    return seconds


# --------------------------------------------------------------------------- outside references

# Tags that make a browser fetch something as the page loads, and their attributes.
_LOADING = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
# <link rel=...> values that fetch (alternate, canonical, license and the like only name a page).
_LOADING_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "prefetch",
    "preconnect",
    "dns-prefetch",
    "icon",
    "shortcut",
    "apple-touch-icon",
    "manifest",
    "prerender",
}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)
_LOCAL_SCHEMES = ("data:", "blob:", "about:", "javascript:", "#")


def _is_outside(ref):
    """Whether the URL ``ref`` points off the book (any scheme but local ones, or ``//host``)."""
    ref = ref.strip()
    if not ref or ref.lower().startswith(_LOCAL_SCHEMES):
        return False
    return ref.startswith("//") or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", ref) is not None


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        names = _LOADING.get(tag, ())
        if tag == "link" and _LOADING_RELS & set((attrs.get("rel") or "").lower().split()):
            names = ("href",)
        for name in names:
            value = attrs.get(name) or ""
            parts = [p.strip().split(" ")[0] for p in value.split(",")] if name.endswith("srcset") else [value]
            self.refs += [p for p in parts if _is_outside(p)]
        if attrs.get("style"):
            self.refs += _css_refs(attrs["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.refs += _css_refs(data)


def _css_refs(css):
    return [a or b for a, b in _CSS_URL.findall(css) if _is_outside(a or b)]


def outside_references(folder):
    """Every reference to an outside resource in the HTML pages and style sheets under ``folder``.

    Returns ``[(relative path, url)]``: scripts, style sheets, fonts, images, frames and CSS
    ``url()``/``@import`` that a browser would fetch from anywhere but the folder itself (plain
    links ``<a href>`` to other sites are not fetched, and not reported).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.html").write_text('<script src="https://cdn.example/x.js"></script><img src="i.png">'
    ...                               '<a href="https://example.org">a link</a>')
    >>> outside_references(d)
    [('a.html', 'https://cdn.example/x.js')]
    """
    folder = Path(folder)
    found = []
    for path in sorted(folder.rglob("*")):
        suffix = path.suffix.lower()
        if suffix not in (".html", ".htm", ".css") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if suffix == ".css":
            refs = _css_refs(text)
        else:
            parser = _Refs()
            parser.feed(text)
            parser.close()
            refs = parser.refs
        found += [(path.relative_to(folder).as_posix(), ref) for ref in refs]
    return found


# --------------------------------------------------------------------------- Sphinx


def _sphinx_config():
    """The whole Sphinx configuration (there is no conf.py)."""
    return {
        "project": "ebm",
        "author": "the ebm authors",
        "copyright": "the ebm authors",
        "language": "en",
        "extensions": ["myst_nb"],
        "html_theme": "sphinx_book_theme",
        "html_title": "ebm: energy-based models",
        "html_theme_options": {
            "home_page_in_toc": True,
            "show_navbar_depth": 1,
            "use_download_button": False,  # would offer _sources/, which is not copied
            "use_fullscreen_button": True,
            "use_repository_button": False,
            "navigation_with_keys": False,
        },
        "html_context": {"default_mode": "light"},  # the figures are drawn on white
        "html_copy_source": False,
        "html_show_sourcelink": False,
        "html_last_updated_fmt": None,
        # Math: MathJax from inside the book (copied in by _copy_mathjax), never from a CDN.
        "mathjax_path": _MATHJAX_SCRIPT,
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_heading_anchors": 3,
        # The lectures arrive executed; MyST-NB only renders them.
        "nb_execution_mode": "off",
        "nb_merge_streams": True,
        "nb_ipywidgets_js": {},  # no require.js or widget manager from a CDN
        "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
    }


def _copy_mathjax(out):
    src = _mathjax_dir()
    dest = out / "_static" / "mathjax"
    for name in _MATHJAX_FILES:
        if (src / name).is_dir():
            shutil.copytree(src / name, dest / name, dirs_exist_ok=True)
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, dest / name)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _render(stage, out, doctrees):
    """Sphinx's HTML build of the staged sources; returns its warnings."""
    import io
    import warnings as python_warnings

    from sphinx.application import Sphinx

    warnings = io.StringIO()
    with python_warnings.catch_warnings():
        # the theme's and MyST's use of APIs that a later Sphinx removes: nothing a reader can act on
        python_warnings.simplefilter("ignore", DeprecationWarning)
        python_warnings.simplefilter("ignore", PendingDeprecationWarning)
        app = Sphinx(
            str(stage),
            None,
            str(out),
            str(doctrees),
            "html",
            confoverrides=_sphinx_config(),
            status=None,
            warning=warnings,
            freshenv=True,
        )
        app.build()
    if app.statuscode:
        raise BookError(f"Sphinx failed to build the book:\n{warnings.getvalue()}")
    text = _ANSI.sub("", warnings.getvalue())
    return tuple(line for line in text.splitlines() if line.strip())


# --------------------------------------------------------------------------- the build


def build_book(out="build/book", *, source=None, solutions=False, progress=False, timeout=CELL_TIMEOUT, jobs=None):
    """Execute the lectures and write the book as static HTML to ``out``.

    Parameters
    ----------
    out : path
        The book's folder (``out/index.html`` is its front page).  A folder that holds
        anything but an earlier book is refused; an earlier book is replaced only once
        the new one has built.
    source : path, optional
        The repository holding ``notebooks/`` and ``docs/`` (default: the one this ebm
        was installed from).
    solutions : bool
        Keep the exercises' solutions.  By default the book shows them as students get
        them (``raise NotImplementedError``, as ``python -m ebm exercises --student``
        writes them), so that it can be published to a class; the lectures still run
        with the solutions.
    progress : bool
        Draw a progress bar (one step per lecture, one for the rendering).
    timeout : float
        Seconds one cell may run.
    jobs : int, optional
        Lectures executed at once, each in its own kernel (default: 2, or 1 on a
        single-core machine).

    Returns
    -------
    BookResult

    Raises
    ------
    BookError
        The ``book`` extra is not installed, an input is missing, a lecture fails, or a
        page would fetch something from outside the book.
    """
    from ebm._progress import progress_bar

    start = time.perf_counter()
    missing = _missing_extra()
    if missing:
        raise BookError(
            f"the book needs the 'book' extra, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed; install it with {_INSTALL}"
        )
    if jobs is None:
        jobs = min(2, os.cpu_count() or 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    source = Path(source) if source is not None else default_source()
    lectures, docs = _inputs(source)
    out = Path(out)
    _check_out(out, source)
    out.parent.mkdir(parents=True, exist_ok=True)

    with (
        tempfile.TemporaryDirectory(prefix="ebm-book-") as tmp,
        progress_bar(progress, len(LECTURES) + 1, "book") as bar,
    ):
        tmp = Path(tmp)
        stage, work = tmp / "src", tmp / "work"
        for folder in (stage / "notebooks", stage / "docs", work):
            folder.mkdir(parents=True)
        (stage / "index.md").write_text(
            (Path(__file__).parent / "index.md").read_text(encoding="utf-8"), encoding="utf-8"
        )
        for doc in docs:
            shutil.copy2(doc, stage / "docs" / doc.name)
        executed = _execute_all(lectures, stage, work, timeout, jobs, bar, solutions)

        bar.set_postfix(running="Sphinx")
        built = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        try:
            warnings = _render(stage, built, tmp / "doctrees")
            _copy_mathjax(built)
            for source_map in built.rglob("*.map"):  # the theme's source maps: for its developers'
                source_map.unlink()  # tools only, a quarter of the book's size
            outside = outside_references(built)
            if outside:
                shown = "; ".join(f"{page}: {url}" for page, url in outside[:5])
                raise BookError(
                    f"{len(outside)} reference(s) to outside resources would make the book fetch "
                    f"from the network: {shown}"
                )
            if out.exists():
                shutil.rmtree(out)
            built.rename(out)
        except BaseException:
            shutil.rmtree(built, ignore_errors=True)
            raise
        bar.update()

    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return BookResult(
        out=out,
        index=out / "index.html",
        lectures=tuple(out / "notebooks" / f"{name}.html" for name in LECTURES),
        warnings=warnings,
        seconds=time.perf_counter() - start,
        size_bytes=size,
        executed=tuple((p.stem, executed[p.stem]) for p in lectures),
    )

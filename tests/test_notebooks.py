"""Every lecture notebook runs top to bottom headless, and is stored clean.

Run only these with ``pytest -m notebook``; skip them with ``-m "not notebook"``.
"""

import html
import re
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.xdist_group("book")  # one worker: its module/session fixtures run once

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, book_build):
    """Building the book (once per session, conftest) ran every lecture top to bottom in a fresh
    headless kernel (the book's per-cell time limit); a cell that raises or times out fails the build,
    naming its lecture (``ebm.book.BookError``), and with it this test."""
    result, _ = book_build
    seconds = dict(result.executed)
    assert path.stem in seconds, f"{path.name} is not one of the book's lectures: {sorted(seconds)}"
    assert seconds[path.stem] > 0


@pytest.mark.notebook
def test_lecture_05_runs_caffes_gradient_test_so_that_it_can_fail(book_build):
    """What the executed lecture printed: the layer's gradient passes Caffe's test, two wrong ones fail it
    (the tour's chapter runs the same test: test_plotting_and_tour.py)."""
    result, _ = book_build
    page = html.unescape(re.sub(r"<[^>]+>", "", (result.out / "notebooks" / "05_softmax_loss.html").read_text()))
    for printed, verdict in (
        ("ignore_label=None:", "passed"),
        ("ignore_label=0:", "passed"),
        ("half the gradient:", "FAILED"),
        ("normaliser off by 1/60:", "FAILED"),
    ):
        assert re.search(re.escape(printed) + r"\s+gradcheck " + verdict, page), (printed, verdict)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [
        n
        for n, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them"

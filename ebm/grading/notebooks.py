"""Exercise notebooks: instructor versions from the registry, student versions from markers.

An instructor notebook marks each solution with nbgrader's markers::

    def flip_delta(W, b, s, i):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

and :func:`student_source` does to a cell what ``nbgrader generate_assignment``
does: the marked lines become nbgrader's stub (``# YOUR CODE HERE`` and ``raise
NotImplementedError()``) at the marker's indentation, and the lines between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed.  Notebooks
are read and written as plain JSON (nbformat 4), so no Jupyter package is needed.
The instructor notebooks carry nbgrader's cell metadata and test cells
(:mod:`ebm.grading.nbgrader`).

>>> print(student_source("def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION"))
def f(x):
    # YOUR CODE HERE
    raise NotImplementedError()
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

from ebm.grading._exercise import CHAPTER_ORDER, registry

__all__ = [
    "student_source",
    "student_notebook",
    "instructor_notebook",
    "write_instructor_notebooks",
    "write_student_versions",
    "has_solutions",
    "notebook_code",
    "repo_notebooks",
    "TITLES",
    "WouldOverwrite",
    "check_markers",
    "STUB",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
_MARKER = re.compile(r"^(\s*)### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")
#: Phrases nbgrader acts on wherever they appear in a line (a comment, a markdown cell...).
_NBGRADER_PHRASES = (
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN HIDDEN TESTS",
    "END HIDDEN TESTS",
    "BEGIN MARK SCHEME",
    "END MARK SCHEME",
    "AUTOTEST",
)

#: What replaces a solution: nbgrader's default code stub for Python (``ClearSolutions.code_stub``).
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")

#: Chapter titles for the notebooks' headings (a chapter not listed uses its key).
TITLES = {
    "hopfield": "Hopfield networks (1982)",
    "boltzmann": "Boltzmann machines (1985)",
    "rbm": "Restricted Boltzmann machines (1986)",
    "gibbs": "Gibbs distributions and LeCun's energy-based learning (2006)",
    "softmax_loss": "The softmax-with-loss core (Caffe)",
}


def check_markers(source, where="source"):
    """Refuse a line that mentions one of nbgrader's phrases without being exactly a marker line.

    nbgrader acts on ``BEGIN SOLUTION`` (and its other phrases) *anywhere* in a
    line, ebm only on a line that is nothing but the marker; refusing the rest
    keeps the student versions of the two tools equal.

    Raises
    ------
    ValueError
        Naming ``where`` and the line.
    """
    for n, line in enumerate(source.split("\n"), 1):
        if any(p in line for p in _NBGRADER_PHRASES) and not _MARKER.match(line):
            raise ValueError(
                f"{where}, line {n}: {line.strip()!r} mentions one of nbgrader's markers without "
                "being a marker line (nbgrader would act on it); reword it"
            )


def student_source(source, where="source"):
    """``source`` as a student gets it, exactly as ``nbgrader generate_assignment`` makes it.

    Each marked solution becomes :data:`STUB` at the marker's indentation; the
    lines from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS`` are removed;
    every other line (a trailing newline included) is kept.

    Raises
    ------
    ValueError
        For an unbalanced or nested marker, or a line that mentions a marker
        without being one, naming ``where`` and the line.
    """
    check_markers(source, where)
    out, inside = [], None  # inside: (kind, line number) of the open region
    for n, line in enumerate(source.split("\n"), 1):
        marker = _MARKER.match(line)
        if marker is None:
            if inside is None:
                out.append(line)
            continue
        indent, edge, kind = marker.groups()
        name = f"### {edge} {kind}"
        if edge == "BEGIN":
            if inside is not None:
                raise ValueError(
                    f"{where}, line {n}: {name} inside the region opened on line {inside[1]} (### BEGIN {inside[0]})"
                )
            inside = (kind, n)
            if kind == "SOLUTION":
                out += [indent + stub for stub in STUB]
        elif inside is None or inside[0] != kind:
            raise ValueError(f"{where}, line {n}: {name} without a ### BEGIN {kind}")
        else:
            inside = None
    if inside is not None:
        raise ValueError(f"{where}, line {inside[1]}: ### BEGIN {inside[0]} is never closed by ### END {inside[0]}")
    return "\n".join(out)


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def has_solutions(nb):
    """True if a code cell of the notebook (a dict) holds a solution marker."""
    return any(cell.get("cell_type") == "code" and BEGIN in _source(cell) for cell in nb.get("cells", []))


def _clear(cell):
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    return cell


def student_notebook(nb, where="notebook"):
    """A copy of the notebook dict as a student gets it: solutions and hidden tests out, outputs cleared.

    Code cells go through :func:`student_source` (a cell it does not change keeps
    its source as stored); a markdown cell that mentions one of nbgrader's
    markers is refused, as nbgrader would act on it.
    """
    nb = json.loads(json.dumps(nb))
    for k, cell in enumerate(nb.get("cells", [])):
        text = _source(cell)
        if cell.get("cell_type") == "code":
            new = student_source(text, f"{where}, cell {k}")
            if new != text:
                cell["source"] = new.splitlines(keepends=True) if isinstance(cell.get("source"), list) else new
        else:
            check_markers(text, f"{where}, cell {k}")
        _clear(cell)
    return nb


def _cell(kind, text):
    cell = {"cell_type": kind, "metadata": {}, "source": text}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def _notebook(cells):
    for k, cell in enumerate(cells):
        cell.setdefault("id", f"cell-{k:02d}")  # nbformat 4.5 wants an id per cell
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _points(x):
    return f"{x:g} point{'s' if x != 1 else ''}"


def instructor_notebook(chapter):
    """The instructor notebook of ``chapter`` (a dict), built from the registry.

    A statement, a solution cell (the reference's source, with its markers) and a
    check cell per exercise, then the exercise's autograded test cells, one per
    check, with nbgrader's metadata (:func:`ebm.grading.nbgrader.stamp`).
    """
    exercises = registry(chapter)
    number = CHAPTER_ORDER.get(chapter, 0) // 10
    title = TITLES.get(chapter, chapter)
    names = ", ".join(f"`{ex.name}`" for ex in exercises)
    cells = [
        _cell(
            "markdown",
            (
                f"# Exercises {number:02d}: {title}\n\n"
                "Write each function between the markers, then run the check cell under it: "
                "`ebm.grading.check` runs the public checks and prints what passed, what was expected "
                "and what you returned, with a hint when the mistake is a known one. Hidden checks run "
                "when you hand in. The cells starting with `# autograded:` are the grader's tests "
                "(nbgrader's, one per check): each raises `AssertionError` with the same explanation "
                "while its check fails.\n\n"
                f"Hand in this notebook (or a `.py` file defining {names}); the instructor grades it "
                "with `python -m ebm grade` or nbgrader (the same points). Use NumPy only: a function "
                "that calls ebm's own implementation of the exercise is flagged."
            ),
        ),
        _cell("code", "import numpy as np\n\nimport ebm.grading"),
    ]
    for k, ex in enumerate(exercises, 1):
        public = sum(c.points for c in ex.public_checks)
        hidden = sum(c.points for c in ex.hidden_checks)
        cells.append(
            _cell(
                "markdown",
                (
                    f"## Exercise {number}.{k}: `{ex.signature}`\n\n{ex.statement}\n\n"
                    f"*{_points(public)} in {len(ex.public_checks)} public checks, {_points(hidden)} in "
                    f"{len(ex.hidden_checks)} hidden checks.*"
                ),
            )
        )
        cells.append(_cell("code", inspect.getsource(ex.reference).rstrip("\n")))
        cells.append(_cell("code", f'ebm.grading.check("{ex.name}", {ex.name})'))
    from ebm.grading.nbgrader import stamp

    return stamp(_notebook(cells), notebook_name(chapter))


def notebook_name(chapter):
    """``NN_<chapter>.ipynb``, NN from :data:`ebm.grading.CHAPTER_ORDER`."""
    return f"{CHAPTER_ORDER.get(chapter, 990) // 10:02d}_{chapter}.ipynb"


def _write(nb, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_instructor_notebooks(outdir, chapters=None):
    """Write ``NN_<chapter>.ipynb`` for each chapter with exercises; return the paths."""
    from ebm.grading._exercise import chapters as all_chapters

    chosen = all_chapters() if chapters is None else list(chapters)
    return [_write(instructor_notebook(ch), Path(outdir) / notebook_name(ch)) for ch in chosen]


def read_notebook(path):
    """The notebook at ``path`` as a dict; ValueError when it is not notebook JSON."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable notebook (JSON): {exc}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path} is not a Jupyter notebook: it has no list of cells")
    return nb


class WouldOverwrite(FileExistsError):
    """Writing the student versions would replace files that exist (``force=True`` replaces them)."""


def write_student_versions(source, outdir, *, force=False):
    """Write the student version of every notebook under ``source`` that has solutions.

    The folder structure under ``source`` is kept (``exercises/01_hopfield.ipynb``...).
    Returns the written paths.

    Raises
    ------
    WouldOverwrite
        When a file to write exists already and ``force`` is false: nothing is
        written, and the message names the files.
    """
    source, outdir = Path(source), Path(outdir)
    if not source.is_dir():
        raise FileNotFoundError(f"no notebook folder at {source}")
    todo = []
    for path in sorted(source.rglob("*.ipynb")):
        rel = path.relative_to(source)
        if any(part.startswith(".") for part in rel.parts):
            continue
        nb = read_notebook(path)
        if has_solutions(nb):
            todo.append((student_notebook(nb, str(rel)), outdir / rel))
    existing = [str(target) for _, target in todo if target.exists()]
    if existing and not force:
        shown = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise WouldOverwrite(
            f"{len(existing)} file(s) exist already and would be replaced: {shown}. "
            "Nothing was written; pass --force to replace them"
        )
    return [_write(nb, target) for nb, target in todo]


def repo_notebooks():
    """The repository's ``notebooks/`` folder (for an editable install or a source checkout)."""
    import ebm

    return Path(ebm.__file__).resolve().parent.parent / "notebooks"


def notebook_code(nb):
    """``[(k, source)]`` of the code cells (k counts code cells from 1), magics removed.

    A cell magic (``%%time``...) skips the whole cell; a line magic or ``!cmd`` line
    becomes ``pass`` (keeping the indentation and the line numbers).  Malformed
    cells are skipped (:func:`ebm.grading._nbcode.notebook_code` reports them).
    """
    from ebm.grading._nbcode import notebook_code as code_cells

    return code_cells(nb)[0]

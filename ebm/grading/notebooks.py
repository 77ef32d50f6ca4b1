"""Exercise notebooks: instructor versions from the registry, student versions from markers.

An instructor notebook marks each solution with nbgrader's markers::

    def flip_delta(W, b, s, i):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

and :func:`student_source` turns the marked lines into ``raise NotImplementedError``
at the marker's indentation.  Notebooks are read and written as plain JSON
(nbformat 4), so no Jupyter package is needed.

>>> print(student_source("def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION"))
def f(x):
    raise NotImplementedError
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

from ebm.grading._exercise import CHAPTER_ORDER, registry

__all__ = ["student_source", "student_notebook", "instructor_notebook", "write_instructor_notebooks",
           "write_student_versions", "has_solutions", "notebook_code", "repo_notebooks", "TITLES",
           "WouldOverwrite"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_BEGIN_RE = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
_END_RE = re.compile(r"^\s*### END SOLUTION\s*$")

#: Chapter titles for the notebooks' headings (a chapter not listed uses its key).
TITLES = {
    "hopfield": "Hopfield networks (1982)",
    "boltzmann": "Boltzmann machines (1985)",
    "rbm": "Restricted Boltzmann machines (1986)",
    "gibbs": "Gibbs distributions and LeCun's energy-based learning (2006)",
    "softmax_loss": "The softmax-with-loss core (Caffe)",
}


def student_source(source, where="source"):
    """``source`` with every marked solution replaced by ``raise NotImplementedError``.

    Raises
    ------
    ValueError
        For an unbalanced or nested marker, naming ``where`` and the line.
    """
    out, inside = [], None
    for n, line in enumerate(source.splitlines(), 1):
        begin = _BEGIN_RE.match(line)
        if begin:
            if inside is not None:
                raise ValueError(f"{where}, line {n}: {BEGIN} inside the solution opened on line {inside}")
            inside = n
            out.append(f"{begin.group(1)}raise NotImplementedError")
        elif _END_RE.match(line):
            if inside is None:
                raise ValueError(f"{where}, line {n}: {END} without a {BEGIN}")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise ValueError(f"{where}, line {inside}: {BEGIN} is never closed by {END}")
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
    """A copy of the notebook dict with solutions replaced and outputs cleared."""
    nb = json.loads(json.dumps(nb))
    for k, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code":
            cell["source"] = student_source(_source(cell), f"{where}, cell {k}")
        _clear(cell)
    return nb


def _cell(kind, text):
    cell = {"cell_type": kind, "metadata": {}, "source": text}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def _notebook(cells):
    for k, cell in enumerate(cells):
        cell.setdefault("id", f"cell-{k:02d}")             # nbformat 4.5 wants an id per cell
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
    """The instructor notebook of ``chapter`` (a dict), built from the registry."""
    exercises = registry(chapter)
    number = CHAPTER_ORDER.get(chapter, 0) // 10
    title = TITLES.get(chapter, chapter)
    names = ", ".join(f"`{ex.name}`" for ex in exercises)
    cells = [
        _cell("markdown", (
            f"# Exercises {number:02d}: {title}\n\n"
            "Write each function between the markers, then run the check cell under it: "
            "`ebm.grading.check` runs the public checks and prints what passed, what was expected "
            "and what you returned, with a hint when the mistake is a known one. Hidden checks run "
            "when you hand in.\n\n"
            f"Hand in this notebook (or a `.py` file defining {names}); the instructor grades it "
            "with `python -m ebm grade`. Use NumPy only: a function that calls ebm's own "
            "implementation of the exercise is flagged.")),
        _cell("code", "import numpy as np\n\nimport ebm.grading"),
    ]
    for k, ex in enumerate(exercises, 1):
        public = sum(c.points for c in ex.public_checks)
        hidden = sum(c.points for c in ex.hidden_checks)
        cells.append(_cell("markdown", (
            f"## Exercise {number}.{k}: `{ex.signature}`\n\n{ex.statement}\n\n"
            f"*{_points(public)} in {len(ex.public_checks)} public checks, {_points(hidden)} in "
            f"{len(ex.hidden_checks)} hidden checks.*")))
        cells.append(_cell("code", inspect.getsource(ex.reference).rstrip("\n")))
        cells.append(_cell("code", f'ebm.grading.check("{ex.name}", {ex.name})'))
    return _notebook(cells)


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
        raise WouldOverwrite(f"{len(existing)} file(s) exist already and would be replaced: {shown}. "
                             "Nothing was written; pass --force to replace them")
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

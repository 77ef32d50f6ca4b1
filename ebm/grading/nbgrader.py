"""nbgrader's cell metadata and autograded test cells, stamped onto notebooks from the registry.

A course that runs `nbgrader <https://nbgrader.readthedocs.io>`_ drops ebm's
notebooks into ``source/<assignment>/`` and runs ``nbgrader generate_assignment``.
nbgrader needs, besides the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers
ebm's notebooks already have, its own cell metadata; :func:`stamp` writes it from
the exercise registry, so the points live in one place (the exercise modules):

- each code cell with solution markers becomes a *solution cell*
  (``solution: true``), its ``grade_id`` the exercise's name;
- after the exercise's ``ebm.grading.check(...)`` cell come its *autograded test
  cells*, **one per check** of the registry (``grade: true``, ``locked: true``,
  ``points`` the check's points, ``grade_id`` ``<exercise>-check<k>``).  A public
  check's cell calls :func:`ebm.grading.assert_check` visibly; a hidden check's
  call sits between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, which
  nbgrader (and ``python -m ebm exercises --student``) strips from the student
  version.

One cell per check is what makes nbgrader's scores equal ``python -m ebm grade``'s:
nbgrader gives a test cell all its points or none, ebm gives each check its
points, so a cell per check earns exactly what the check earns.

:func:`stamp` is idempotent: it removes the test cells it made before (recognised
by their ``grade_id``) and makes them again, so re-running it after the registry or
a lecture changed is all it takes (``python tools/build_exercises.py`` in a
clone).  :func:`drift` says how a stored notebook differs from what
:func:`stamp` would make of it.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

from ebm.grading._exercise import get, registry
from ebm.grading.notebooks import BEGIN as BEGIN_SOLUTION
from ebm.grading.notebooks import BEGIN_HIDDEN, END_HIDDEN, _source, check_markers

__all__ = [
    "stamp",
    "drift",
    "stamp_file",
    "stamp_notebooks",
    "autograded_source",
    "autograded_id",
    "graded_exercises",
    "SCHEMA_VERSION",
]

#: nbgrader's cell-metadata schema version (nbgrader 0.7 to 0.9 write 3).
SCHEMA_VERSION = 3

_TEST_ID = re.compile(r"^[A-Za-z_]\w*-check\d+$")
_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.M)


def _as_style(text, like):
    """``text`` as a cell source in the style of ``like`` (a list of lines, as nbformat writes, or a str)."""
    return text.splitlines(keepends=True) if isinstance(like, list) else text


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def autograded_id(exercise, k):
    """The ``grade_id`` of the test cell of check ``k`` (from 1, in the registry's order) of ``exercise``."""
    return f"{exercise}-check{k}"


def _points(x):
    return int(x) if float(x).is_integer() else float(x)


def _plural(x, word):
    return f"{x:g} {word}{'s' if x != 1 else ''}"


def autograded_source(name, k):
    """The source of the autograded test cell of check ``k`` (from 1) of exercise ``name``.

    A public check's call is visible; a hidden check's call is inside the hidden
    tests markers, so the student version keeps only the first comment line.
    """
    ex = get(name)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(ex.checks):
        raise ValueError(f"k must be a check number from 1 to {len(ex.checks)} of {ex.name!r}, got {k!r}")
    check = ex.checks[k - 1]
    call = (
        f"import ebm.grading\n"
        f"ebm.grading.assert_check({json.dumps(ex.name)}, {ex.name}, {json.dumps(check.description)})"
    )
    if not check.hidden:
        return (
            f"# autograded: {ex.name}, public check {k} of {len(ex.checks)} "
            f"({_plural(check.points, 'point')}): {check.description}\n{call}"
        )
    return (
        f"# autograded: {ex.name}, hidden check {k} of {len(ex.checks)} "
        f"({_plural(check.points, 'point')}), run at grading\n{BEGIN_HIDDEN}\n{call}\n{END_HIDDEN}"
    )


def _solution_meta(grade_id):
    return {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": SCHEMA_VERSION, "solution": True}


def _test_meta(grade_id, points):
    return {
        "grade": True,
        "grade_id": grade_id,
        "locked": True,
        "points": _points(points),
        "schema_version": SCHEMA_VERSION,
        "solution": False,
    }


def _defined(source):
    """The top-level function names a cell defines (by parsing it; by a regex if it does not parse)."""
    try:
        return [n.name for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    except SyntaxError:
        return _DEF.findall(source)


def _is_ours(cell):
    meta = _meta(cell)
    return (
        cell.get("cell_type") == "code"
        and meta.get("grade") is True
        and _TEST_ID.match(str(meta.get("grade_id", ""))) is not None
    )


def graded_exercises(nb, where="notebook"):
    """``[(cell index, [exercise names])]`` of the notebook's solution cells (with markers).

    Raises
    ------
    ValueError
        When a cell with markers defines no registered exercise, when an exercise
        has two solution cells, or when a line mentions a marker without being one.
    """
    known = {ex.name for ex in registry()}
    found, seen = [], {}
    for k, cell in enumerate(nb.get("cells", [])):
        text = _source(cell)
        check_markers(text, f"{where}, cell {k}")
        if cell.get("cell_type") != "code" or BEGIN_SOLUTION not in text:
            continue
        names = [n for n in _defined(text) if n in known]
        if not names:
            raise ValueError(
                f"{where}, cell {k} has solution markers but defines no registered exercise "
                f"(functions: {_defined(text) or 'none'}); nbgrader needs each solution graded"
            )
        for n in names:
            if n in seen:
                raise ValueError(f"{where}: exercise {n!r} has two solution cells, {seen[n]} and {k}")
            seen[n] = k
        found.append((k, names))
    return found


def _calls_check(cell, names):
    text = _source(cell)
    return cell.get("cell_type") == "code" and any(
        re.search(rf"ebm\.grading\.check\(\s*['\"]{re.escape(n)}['\"]", text) for n in names
    )


def _new_cell(grade_id, text, points, like, with_id):
    cell = {"cell_type": "code", "execution_count": None}
    if with_id:
        cell["id"] = grade_id
    cell.update(metadata={"nbgrader": _test_meta(grade_id, points)}, outputs=[], source=_as_style(text, like))
    return cell


def stamp(nb, where="notebook"):
    """A copy of the notebook dict with nbgrader's metadata and test cells made from the registry.

    Every code cell with solution markers becomes a solution cell (``grade_id``:
    the exercise's name; several names joined by ``-``); after it, and after the
    ``ebm.grading.check("<name>", ...)`` cells that follow it, one autograded test
    cell per check of each exercise it defines (:func:`autograded_source`).  Test
    cells made by an earlier call are removed first, so ``stamp(stamp(nb)) ==
    stamp(nb)``, and a cell that lost its markers loses the solution metadata
    :func:`stamp` gave it.  Nothing else changes.

    Parameters
    ----------
    nb : dict
        An nbformat-4 notebook, as JSON.
    where : str
        How errors name the notebook.

    Raises
    ------
    TypeError
        When ``nb`` is not a notebook dict.
    ValueError
        See :func:`graded_exercises`; also when a new cell's id would repeat one.
    """
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise TypeError(f"nb must be a notebook (a dict with a list of cells), got {type(nb).__name__}")
    nb = copy.deepcopy(nb)
    names = {ex.name for ex in registry()}
    cells = [c for c in nb["cells"] if not _is_ours(c)]
    for cell in cells:  # a solution stamp left on a cell without markers
        meta = _meta(cell)
        if (
            meta.get("solution")
            and BEGIN_SOLUTION not in _source(cell)
            and set(str(meta.get("grade_id", "")).split("-")) <= names
        ):
            del cell["metadata"]["nbgrader"]
    nb["cells"] = cells
    graded = graded_exercises(nb, where)
    with_id = any("id" in c for c in cells)
    like = cells[0].get("source", "") if cells else ""
    inserts = []
    for k, exercises in graded:
        cells[k].setdefault("metadata", {})["nbgrader"] = _solution_meta("-".join(exercises))
        after = k + 1
        while after < len(cells) and _calls_check(cells[after], exercises):
            after += 1
        new = [
            _new_cell(autograded_id(n, j), autograded_source(n, j), check.points, like, with_id)
            for n in exercises
            for j, check in enumerate(get(n).checks, 1)
        ]
        inserts.append((after, new))
    for after, new in reversed(inserts):
        cells[after:after] = new
    if with_id:
        ids = [c.get("id") for c in cells]
        repeated = sorted({i for i in ids if i is not None and ids.count(i) > 1})
        if repeated:
            raise ValueError(f"{where}: cell id(s) {repeated} repeat; a test cell's id is its grade_id")
    return nb


def _normal(cell):
    return {"cell_type": cell.get("cell_type"), "source": _source(cell), "nbgrader": _meta(cell) or None}


def _label(cell, k):
    meta = _meta(cell)
    return f"cell {k} ({meta['grade_id']})" if meta.get("grade_id") else f"cell {k}"


def drift(nb, where="notebook"):
    """How the notebook's nbgrader metadata and test cells differ from the registry's; ``[]`` if not at all.

    Each item is a sentence: a test cell whose points are not the check's, a
    check without a test cell, a test cell without a check, a changed test or
    solution cell.  Fix them all with ``python tools/build_exercises.py`` (in a clone).
    """
    want = stamp(nb, where)
    have_tests = {_meta(c)["grade_id"]: (k, c) for k, c in enumerate(nb["cells"]) if _is_ours(c)}
    want_tests = {_meta(c)["grade_id"]: (k, c) for k, c in enumerate(want["cells"]) if _is_ours(c)}
    out = []
    for gid, (k, cell) in want_tests.items():
        if gid not in have_tests:
            out.append(f"{where}: no test cell {gid} (worth {_meta(cell)['points']:g} in the registry)")
            continue
        hk, have = have_tests[gid]
        if _meta(have).get("points") != _meta(cell)["points"]:
            out.append(
                f"{where}, {_label(have, hk)}: {_meta(have).get('points')} points in the notebook, "
                f"{_meta(cell)['points']:g} in the registry"
            )
        if _normal(have) != _normal(cell):
            out.append(f"{where}, {_label(have, hk)}: the test cell differs from the registry's")
    for gid, (hk, have) in have_tests.items():
        if gid not in want_tests:
            out.append(f"{where}, {_label(have, hk)}: a test cell for a check the registry does not have")
    if not out and [_normal(c) for c in nb["cells"]] != [_normal(c) for c in want["cells"]]:
        out.append(f"{where}: the solution cells' nbgrader metadata or the test cells' places differ")
    return out


def _dumps(nb, sort_keys):
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=sort_keys) + "\n"


def stamp_file(path):
    """Stamp the notebook at ``path`` in place (its JSON style kept); return whether it changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a readable notebook (JSON): {exc}") from None
    new = stamp(nb, str(path))
    sort_keys = text == _dumps(nb, True)  # nbformat writes sorted keys; keep what the file had
    out = _dumps(new, sort_keys)
    if out == text:
        return False
    path.write_text(out, encoding="utf-8")
    return True


def stamp_notebooks(folder):
    """Stamp every notebook under ``folder`` that has solution markers; return the paths that changed.

    Folders starting with ``.`` (``.ipynb_checkpoints``) are skipped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no notebook folder at {folder}")
    changed = []
    for path in sorted(folder.rglob("*.ipynb")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if BEGIN_SOLUTION in path.read_text(encoding="utf-8") and stamp_file(path):
            changed.append(path)
    return changed

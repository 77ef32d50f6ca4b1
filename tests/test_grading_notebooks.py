"""The exercise notebooks and the lectures' exercises: up to date, and graded as they should be.

Every notebook in ``notebooks/exercises/`` (one per chapter with exercises) is built from the
registry, and its student version has no solution left.  Executing each one top to bottom, as the
instructor wrote it and as students get it, is done once, by ``nbgrader autograde`` in
test_grading_nbgrader.py, whose tests check what those runs printed and what the batch grader gave.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ebm.grading as grading
from ebm.cli import main
from ebm.grading import notebooks

ROOT = Path(__file__).resolve().parent.parent
EXERCISE_NOTEBOOKS = sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))


def test_every_chapter_with_exercises_has_an_up_to_date_instructor_notebook():
    chapters = grading.chapters()
    assert {p.name for p in EXERCISE_NOTEBOOKS} >= {notebooks.notebook_name(ch) for ch in chapters}
    for ch in chapters:
        stored = json.loads((ROOT / "notebooks" / "exercises" / notebooks.notebook_name(ch)).read_text())
        assert stored == notebooks.instructor_notebook(ch), (
            f"notebooks/exercises/{notebooks.notebook_name(ch)} is stale: run python tools/build_exercises.py"
        )


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    assert main(["exercises", "--student", str(out)]) == 0
    return out


def test_student_versions_have_no_solutions(student_dir):
    written = sorted(student_dir.rglob("*.ipynb"))
    assert {p.relative_to(student_dir) for p in written} >= {Path("exercises") / p.name for p in EXERCISE_NOTEBOOKS}
    for path in written:
        text = path.read_text()
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
        assert "# YOUR CODE HERE" in text and "raise NotImplementedError()" in text
        nb = json.loads(text)
        assert all(c.get("outputs", []) == [] for c in nb["cells"] if c["cell_type"] == "code")


def test_student_source_replaces_marked_lines_and_rejects_bad_markers():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION"
    stub = "    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert notebooks.student_source(src) == f"def f(x):\n    y = 1\n{stub}"
    with pytest.raises(ValueError, match="line 2: ### BEGIN SOLUTION is never closed"):
        notebooks.student_source("x = 1\n### BEGIN SOLUTION\nx = 2\n", "nb.ipynb, cell 3")
    with pytest.raises(ValueError, match="line 1: ### END SOLUTION without"):
        notebooks.student_source("### END SOLUTION\n")
    with pytest.raises(ValueError, match="inside the region opened on line 1"):
        notebooks.student_source("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n")


def test_the_docs_example_module_works_as_written(tmp_path):
    """docs/grading.md's "Adding an exercise" module, run as a new exercise module would be."""
    doc = (ROOT / "docs" / "grading.md").read_text()
    code = re.findall(r"```python\n(.*?)```", doc.split("## Adding an exercise", 1)[1], re.S)[0]
    script = tmp_path / "run.py"
    script.write_text(
        code
        + """
import ebm.grading as g
ex = g.get("unit_on_probability")
assert g.verify("unit_on_probability") == []
assert ex.public_checks and ex.hidden_checks
for h in ex.hints:
    r = g.run_exercise(ex, h.example)
    assert r.score < r.max_score and h.key in r.hint_keys
print("ok")
"""
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


LECTURES = sorted(
    p for p in (ROOT / "notebooks").glob("*.ipynb") if notebooks.has_solutions(notebooks.read_notebook(p))
)


def _definitions(source):
    """The imports, functions and classes of a cell, as written (comments and markers kept)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    lines = source.splitlines()
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    starts = [min([n.lineno] + [d.lineno for d in getattr(n, "decorator_list", [])]) for n in tree.body]
    parts = []
    for node, first, nxt in zip(tree.body, starts, starts[1:] + [len(lines) + 1]):
        if isinstance(node, keep):  # up to the next statement: keeps a trailing END marker
            parts.append("\n".join(lines[first - 1 : nxt - 1]).rstrip())
    return "\n\n".join(parts)


_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.M)


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_exercises_are_registered_and_their_solutions_earn_full_marks(path, tmp_path):
    """The lectures' solution cells, graded alone: full marks; their student versions: 0."""
    nb = notebooks.read_notebook(path)
    cells = [_definitions(src) for _, src in notebooks.notebook_code(nb)]  # imports, defs and classes only
    names = [
        n
        for n in _DEF.findall("\n".join(c for c in cells if notebooks.BEGIN in c))
        if n in {e.name for e in grading.registry()}
    ]
    assert names, f"{path.name} has solution cells but none of their functions is a registered exercise"
    for version, source in (
        ("instructor", "\n\n".join(cells)),
        ("student", "\n\n".join(notebooks.student_source(c) for c in cells)),
    ):
        namespace = {}  # in this process: the grader's isolation is tested elsewhere
        exec("import numpy as np\nimport ebm", namespace)
        for node in ast.parse(source).body:  # one statement at a time, as the grader loads a submission
            try:
                exec(compile(ast.Module([node], []), f"<{path.name}, {version}>", "exec"), namespace)
            except Exception:
                pass  # e.g. a default argument using a global of the lecture
        results = [grading.run_exercise(n, namespace[n]) for n in names]
        if version == "instructor":
            assert all(r.score == r.max_score for r in results), [
                c.message for r in results for c in r.checks if not c.passed
            ]
        else:
            assert sum(r.score for r in results) == 0
            assert {c.status for r in results for c in r.checks} == {"not_implemented"}

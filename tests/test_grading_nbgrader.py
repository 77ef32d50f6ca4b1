"""ebm's notebooks in nbgrader: the metadata comes from the registry, and both graders give the same points.

The first half runs without nbgrader: the stored notebooks carry exactly the
metadata and test cells :func:`ebm.grading.nbgrader.stamp` makes from the
registry (so a changed point fails here), and each autograded test cell, run
in this process, fails exactly when its check fails.

The second half is nbgrader itself, end to end, in a course folder laid out as an
instructor would (``source/exercises``, ``source/lectures``): ``nbgrader
generate_assignment`` on the stored notebooks, its student versions compared
cell by cell with ``python -m ebm exercises --student``; then ``nbgrader
autograde`` on three submissions per chapter (the solution, the untouched student
version, a realistic wrong answer), whose points per check are compared with
``python -m ebm grade`` on the same files.  These tests skip when nbgrader is not
installed, unless ``EBM_REQUIRE_NBGRADER`` is set (``.ci/run`` sets it): then they
fail.  nbgrader runs from this interpreter's ``bin`` folder, which is put first on
``PATH`` (its gradebook needs ``alembic`` from there).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ebm.grading as grading
from ebm.cli import main
from ebm.grading import nbgrader, notebooks

pytestmark = pytest.mark.xdist_group("nbgrader")  # one worker: its module/session fixtures run once

ROOT = Path(__file__).resolve().parent.parent
EXERCISE_NOTEBOOKS = sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))
LECTURES = sorted(
    p for p in (ROOT / "notebooks").glob("*.ipynb") if notebooks.has_solutions(notebooks.read_notebook(p))
)
STAMPED = EXERCISE_NOTEBOOKS + LECTURES
RESTAMP = "python tools/build_exercises.py"


def _src(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _test_cells(nb):
    return [c for c in nb["cells"] if _meta(c).get("grade")]


# --------------------------------------------------------------------------- the metadata, without nbgrader


@pytest.mark.parametrize("path", STAMPED, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_stored_notebooks_carry_the_registrys_metadata(path):
    nb = notebooks.read_notebook(path)
    assert nbgrader.drift(nb, path.name) == [], f"run {RESTAMP}"
    assert nbgrader.stamp(nb) == nb  # idempotent, and nothing else would change
    solutions = [c for c in nb["cells"] if _meta(c).get("solution")]
    assert solutions and all(notebooks.BEGIN in _src(c) for c in solutions)
    assert all(notebooks.BEGIN not in _src(c) for c in nb["cells"] if not _meta(c).get("solution"))
    # one test cell per check, worth the check's points, in the registry's order, after its exercise
    for cell in solutions:
        for name in _meta(cell)["grade_id"].split("-"):
            ex = grading.get(name)
            cells = [c for c in _test_cells(nb) if _meta(c)["grade_id"].startswith(f"{name}-check")]
            assert [_meta(c)["points"] for c in cells] == [c.points for c in ex.checks]
            assert sum(_meta(c)["points"] for c in cells) == ex.max_score
            assert all(
                _meta(c)["locked"] and not _meta(c)["solution"] and _meta(c)["schema_version"] == 3 for c in cells
            )
            for c, check in zip(cells, ex.checks):
                hidden_block = nbgrader.BEGIN_HIDDEN in _src(c)
                assert hidden_block == check.hidden and json.dumps(check.description) in _src(c)
            assert nb["cells"].index(cells[0]) > nb["cells"].index(cell)


def test_drift_names_a_changed_point_in_the_notebook_or_the_registry(monkeypatch):
    path = ROOT / "notebooks" / "exercises" / "05_softmax_loss.ipynb"
    nb = notebooks.read_notebook(path)
    tampered = copy.deepcopy(nb)
    cell = next(c for c in tampered["cells"] if _meta(c).get("grade_id") == "softmax_loss_backward-check5")
    cell["metadata"]["nbgrader"]["points"] = 3
    assert any(
        "softmax_loss_backward-check5" in d and "3 points in the notebook, 1 in the registry" in d
        for d in nbgrader.drift(tampered)
    )
    # the registry changes, the stored notebook does not: the stored one has drifted
    ex = grading.get("softmax_loss_backward")
    check = ex.checks[4]
    changed = list(ex.checks)
    changed[4] = type(check)(check.description, check.run, 2.0, check.hidden)
    monkeypatch.setattr(ex, "checks", changed)
    assert any(
        "softmax_loss_backward-check5" in d and "1 points in the notebook, 2 in the registry" in d
        for d in nbgrader.drift(nb)
    )
    # a test cell removed, and a solution cell that lost its metadata
    del tampered["cells"][tampered["cells"].index(cell)]
    assert any("no test cell softmax_loss_backward-check5" in d for d in nbgrader.drift(tampered))
    bare = copy.deepcopy(nb)
    next(c for c in bare["cells"] if _meta(c).get("solution"))["metadata"] = {}
    assert nbgrader.drift(bare) != []


def test_stamp_on_a_lecture_adds_metadata_and_cells_and_nothing_else():
    path = ROOT / "notebooks" / "05_softmax_loss.ipynb"
    stored = notebooks.read_notebook(path)
    bare = copy.deepcopy(stored)  # the lecture as it was before stamping
    bare["cells"] = [c for c in bare["cells"] if not _meta(c).get("grade")]
    for c in bare["cells"]:
        c["metadata"].pop("nbgrader", None)
    assert nbgrader.stamp(bare) == stored
    kept = [c for c in stored["cells"] if not _meta(c).get("grade")]
    assert [(_src(a), a.get("id")) for a in kept] == [(_src(b), b.get("id")) for b in bare["cells"]]
    # a solution cell that no longer has markers loses its stamp; an unknown function is refused
    lost = copy.deepcopy(stored)
    cell = next(c for c in lost["cells"] if _meta(c).get("grade_id") == "smoothed_grad")
    cell["source"] = _answer(_src(cell))
    again = nbgrader.stamp(lost)
    assert not any(_meta(c).get("grade_id", "").startswith("smoothed_grad") for c in again["cells"])
    odd = copy.deepcopy(bare)
    odd["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "id": "x1",
            "source": "def mine(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
        }
    )
    last = len(odd["cells"]) - 1
    with pytest.raises(ValueError, match=f"cell {last} has solution markers but defines no registered exercise"):
        nbgrader.stamp(odd, "lecture")
    odd["cells"][-1]["source"] = "# the BEGIN SOLUTION marker, explained"
    with pytest.raises(ValueError, match=f"cell {last}, line 1: .* without being a marker line"):
        nbgrader.stamp(odd, "lecture")
    with pytest.raises(TypeError, match="nb must be a notebook"):
        nbgrader.stamp([])


def _run_cell(source, namespace):
    try:
        exec(compile(source, "<test cell>", "exec"), namespace)
    except AssertionError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("ex", grading.registry(), ids=lambda e: e.name)
def test_each_test_cell_fails_exactly_when_its_check_fails(ex, capsys):
    """In this process: the reference passes every cell; a hint's wrong example fails the cells of its failed checks."""
    sources = [nbgrader.autograded_source(ex.name, k) for k in range(1, len(ex.checks) + 1)]
    for source in sources:
        assert _run_cell(source, {ex.name: ex.reference}) is None
    for hint in ex.hints:
        expected = grading.run_exercise(ex, hint.example)
        failed = [_run_cell(source, {ex.name: hint.example}) for source in sources]
        assert [f is None for f in failed] == [c.passed for c in expected.checks], hint.key
        assert any(hint.message[:40] in f for f in failed if f), hint.key  # the usual explanation
    assert capsys.readouterr().err == ""  # nbgrader: stderr costs the cell


def test_student_source_matches_nbgraders_rules():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    stub = "    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert notebooks.student_source(src) == f"def f(x):\n    y = 1\n{stub}\n"
    test = "# check 2\n### BEGIN HIDDEN TESTS\nassert f(1) == 2\n### END HIDDEN TESTS"
    assert notebooks.student_source(test) == "# check 2"
    for bad, match in (
        ("### BEGIN HIDDEN TESTS\n### BEGIN SOLUTION\n", "inside the region opened on line 1"),
        ("### BEGIN SOLUTION\n### END HIDDEN TESTS\n", "END HIDDEN TESTS without"),
        ("x = 1  # BEGIN SOLUTION\n", "line 1: .* without being a marker line"),
    ):
        with pytest.raises(ValueError, match=match):
            notebooks.student_source(bad, "nb.ipynb, cell 3")
    with pytest.raises(ValueError, match="cell 0, line 1"):
        notebooks.student_notebook(
            {
                "cells": [
                    {
                        "cell_type": "markdown",
                        "metadata": {},
                        "source": "write it between BEGIN SOLUTION and END SOLUTION",
                    }
                ]
            }
        )


def test_hidden_checks_stay_out_of_the_student_versions(tmp_path):
    assert main(["exercises", "--student", str(tmp_path)]) == 0
    for path in STAMPED:
        student = (tmp_path / path.relative_to(ROOT / "notebooks")).read_text()
        assert nbgrader.BEGIN_HIDDEN not in student and notebooks.BEGIN not in student
        instructor = notebooks.read_notebook(path)
        for cell in _test_cells(instructor):
            name, k = re.match(r"(\w+)-check(\d+)$", _meta(cell)["grade_id"]).groups()
            check = grading.get(name).checks[int(k) - 1]
            assert (json.dumps(check.description)[1:-1] in student) == (not check.hidden), (path.name, check)


# --------------------------------------------------------------------------- nbgrader, end to end


def _need_nbgrader():
    if importlib.util.find_spec("nbgrader") is None:
        if os.environ.get("EBM_REQUIRE_NBGRADER"):
            pytest.fail(
                "EBM_REQUIRE_NBGRADER is set but nbgrader is not installed (python -m pip install -e '.[test]')"
            )
        pytest.skip(
            "nbgrader is not installed (python -m pip install -e '.[test]'); "
            "set EBM_REQUIRE_NBGRADER=1 to make this a failure"
        )


IMPORT_SHIMS = Path(__file__).resolve().parent / "import_shims"


def _nbgrader_command(course, *args):
    """``(argv, env)`` to run ``nbgrader ARGS`` from this interpreter's bin folder (alembic is found there)."""
    bindir = Path(sys.executable).parent
    exe = bindir / "nbgrader"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "nbgrader"]
    env = dict(
        os.environ,
        PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        MPLBACKEND="Agg",
        JUPYTER_CONFIG_DIR=str(course / ".jupyter"),
        # nbgrader, alembic and nbconvert import jsonschema; see tests/import_shims for why this is safe
        PYTHONPATH=os.pathsep.join(filter(None, [str(IMPORT_SHIMS), os.environ.get("PYTHONPATH")])),
    )  # no user configuration leaks in
    return cmd + list(args), env


def _nbgrader(course, *args):
    """Run ``nbgrader ARGS`` in ``course``; fail with its log unless it succeeds."""
    cmd, env = _nbgrader_command(course, *args)
    done = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stderr[-4000:]}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder with the stored notebooks as two assignments, generated by nbgrader."""
    _need_nbgrader()
    root = tmp_path_factory.mktemp("course")
    for assignment, paths in (("exercises", EXERCISE_NOTEBOOKS), ("lectures", LECTURES)):
        (root / "source" / assignment).mkdir(parents=True)
        for path in paths:
            shutil.copy(path, root / "source" / assignment / path.name)
    _nbgrader(root, "generate_assignment", "*")
    return root


def test_nbgrader_and_ebm_make_the_same_student_versions(course, tmp_path):
    assert main(["exercises", "--student", str(tmp_path)]) == 0
    for assignment, ours in (("exercises", tmp_path / "exercises"), ("lectures", tmp_path)):
        released = sorted((course / "release" / assignment).glob("*.ipynb"))
        assert [p.name for p in released] == [
            p.name for p in (EXERCISE_NOTEBOOKS if assignment == "exercises" else LECTURES)
        ]
        for path in released:
            theirs, mine = json.loads(path.read_text()), json.loads((ours / path.name).read_text())
            assert len(theirs["cells"]) == len(mine["cells"]), path.name
            for k, (a, b) in enumerate(zip(theirs["cells"], mine["cells"])):
                where = f"{assignment}/{path.name}, cell {k}"
                assert (a["cell_type"], a.get("id"), _src(a)) == (b["cell_type"], b.get("id"), _src(b)), where
                if a["cell_type"] == "code":
                    assert a["outputs"] == b["outputs"] == [] and a["execution_count"] is b["execution_count"] is None


#: One realistic wrong answer per chapter: the solution region of one exercise, as a student wrote it.
WRONG = {
    "hopfield": (
        "flip_delta",
        """\
    h = W[i] @ s + b[i]                 # the self-coupling W[i, i] s[i] left in the field
    return float(2.0 * s[i] * h)""",
    ),
    "boltzmann": (
        "unit_probability",
        """\
    return 1.0 / (1.0 + np.exp(-np.asarray(net, dtype=np.float64) / T))   # the textbook sigmoid""",
    ),
    "rbm": (
        "rbm_free_energy",
        """\
    x = c + V @ W
    return -(V @ b) - np.log(1 + np.exp(x)).sum(axis=1)""",
    ),
    "gibbs": (
        "gibbs_distribution",
        """\
    p = np.exp(-beta * np.asarray(energies, dtype=np.float64))           # no shift by the minimum
    return p / p.sum(axis=-1, keepdims=True)""",
    ),
    "softmax_loss": (
        "softmax_loss_backward",
        """\
    prob = np.asarray(prob, dtype=np.float64)
    n, c = prob.shape[:2]
    p = prob.reshape(n, c, -1)
    label = np.asarray(label).reshape(n, -1)
    keep = np.ones(label.shape, bool) if ignore_label is None else label != ignore_label
    bottom_diff = p.copy()
    i, j = np.nonzero(keep)
    bottom_diff[i, label[i, j], j] -= 1
    bottom_diff *= keep[:, None, :]
    bottom_diff /= n                    # divided by the batch size, not by the kept positions
    return bottom_diff.reshape(prob.shape)""",
    ),
}


def _answer(source, body=None):
    """A solution cell as a student hands it in: no markers; ``body`` in place of the solution if given."""
    out, inside = [], False
    for line in source.split("\n"):
        if line.strip() == notebooks.BEGIN:
            inside = True
            if body is not None:
                out.append(body)
        elif line.strip() == notebooks.END:
            inside = False
        elif not inside or body is None:
            out.append(line)
    return "\n".join(out)


def _submission(released, instructor, wrong=None):
    """The released notebook with its solution cells filled in (one of them with ``wrong`` = (name, body))."""
    nb = json.loads(released.read_text())
    solutions = {_meta(c)["grade_id"]: _src(c) for c in instructor["cells"] if _meta(c).get("solution")}
    for cell in nb["cells"]:
        gid = _meta(cell).get("grade_id")
        if gid in solutions:
            body = wrong[1] if wrong and gid == wrong[0] else None
            cell["source"] = _answer(solutions[gid], body)
    return nb


def _gradebook_points(course, assignment, students, names):
    from nbgrader.api import Gradebook

    points = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in students:
            for name in names:
                sub = gb.find_submission_notebook(name, assignment, student)
                for g in sub.grades:
                    exercise, k = re.match(r"(\w+)-check(\d+)$", g.name).groups()
                    points[student, exercise, int(k)] = g.score
    return points


def _ebm_points(results, student, chapter, why=None):
    """``{(student, exercise, k): points}`` of ``chapter`` from a ``results.json`` (a dict).

    ``why``, a dict, gets each check's status and message (to explain a disagreement).
    """
    points = {}
    for ex in grading.registry(chapter):
        descriptions = [c.description for c in ex.checks]
        for t in results["tests"]:
            if t["extra_data"]["exercise"] == ex.name:
                k = descriptions.index(t["name"].split(": ", 1)[1]) + 1
                points[student, ex.name, k] = t["score"]
                if why is not None:
                    why[student, ex.name, k] = f"{t['extra_data']['status']}: {t.get('output', '')[:200]}"
    return points


STUDENTS = ("solution", "untouched", "wrong")
FULL_LECTURES = bool(os.environ.get("EBM_NBGRADER_FULL_LECTURES"))


def _definitions_only(nb):
    """The lecture as a student may hand it in with its demonstrations deleted.

    nbgrader grades the cells it owns (solution and test cells) and runs the rest;
    a student may delete or shorten any other cell.  Here every other code cell
    keeps only its imports, functions and classes (what the exercises may use),
    so the autograder runs in seconds instead of the lecture's minutes.  With
    ``EBM_NBGRADER_FULL_LECTURES=1`` the lectures are handed in whole.
    """
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or _meta(cell):
            continue
        lines = [ln for ln in _src(cell).split("\n") if not ln.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            cell["source"] = ""
            continue
        keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
        cell["source"] = "\n\n".join(
            ast.get_source_segment("\n".join(lines), n, padded=True) for n in tree.body if isinstance(n, keep)
        )
    return nb


@pytest.fixture(scope="module")
def autograded(course, tmp_path_factory):
    """Every submission, graded by ``nbgrader autograde`` and by ``python -m ebm grade`` at once.

    Exercises: three students per chapter (the solution, the untouched student
    version, a realistic wrong answer).  Lectures: the solutions, handed in by
    the student ``solution``.  Returns ``(course, ebm's results folder)``.
    """
    work = tmp_path_factory.mktemp("ebm-grade")
    chapters = grading.chapters()
    by_name = {notebooks.notebook_name(ch): ch for ch in chapters}
    for path in EXERCISE_NOTEBOOKS:
        released = course / "release" / "exercises" / path.name
        instructor = notebooks.read_notebook(path)
        versions = {
            "solution": _submission(released, instructor),
            "untouched": json.loads(released.read_text()),
            "wrong": _submission(released, instructor, WRONG[by_name[path.name]]),
        }
        for student, nb in versions.items():
            # nbgrader: submitted/<student>/<assignment>/<notebook>; ebm: the same files, one per "student"
            for target in (
                course / "submitted" / student / "exercises" / path.name,
                work / "class" / f"{by_name[path.name]}-{student}.ipynb",
            ):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(nb))
    for path in LECTURES:
        nb = _submission(course / "release" / "lectures" / path.name, notebooks.read_notebook(path))
        target = course / "submitted" / "solution" / "lectures" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(nb if FULL_LECTURES else _definitions_only(nb)))
    cmd, env = _nbgrader_command(course, "autograde", "*")
    with subprocess.Popen(
        cmd, cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as autograde:  # both graders at once: half the wait
        args = ["grade", str(work / "class"), "--out", str(work / "graded"), "--no-progress"]
        with contextlib.redirect_stdout(io.StringIO()):
            status = main(args + [a for ch in chapters for a in ("--chapter", ch)])
        log = autograde.communicate(timeout=1800)[0]
    assert autograde.returncode == 0, f"nbgrader autograde failed:\n{log[-4000:]}"
    assert status == 0
    return course, work / "graded"


def test_nbgrader_autograde_and_ebm_grade_agree_check_by_check(autograded):
    """Three submissions per chapter, graded by both; every check's points agree."""
    course, graded = autograded
    chapters = grading.chapters()
    assert set(WRONG) == set(chapters)
    theirs = _gradebook_points(course, "exercises", STUDENTS, [p.stem for p in EXERCISE_NOTEBOOKS])
    ours, why = {}, {}
    for ch in chapters:
        for student in STUDENTS:
            results = json.loads((graded / f"{ch}-{student}" / "results.json").read_text())
            ours.update(_ebm_points(results, student, ch, why))
    assert theirs.keys() == ours.keys() and len(ours) == 3 * sum(len(e.checks) for e in grading.registry())
    disagree = {k: f"nbgrader {v:g}, ebm {ours[k]:g} ({why[k]})" for k, v in theirs.items() if v != ours[k]}
    assert disagree == {}
    # and the submissions are what they claim: full marks, zero, and a partly right answer
    table = [
        "| chapter | exercise | solution: nbgrader | ebm | untouched: nbgrader | ebm | wrong: nbgrader | ebm | max |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ex in grading.registry():
        checks = range(1, len(ex.checks) + 1)
        score = {s: sum(ours[s, ex.name, k] for k in checks) for s in STUDENTS}
        nbg = {s: sum(theirs[s, ex.name, k] for k in checks) for s in STUDENTS}
        table.append(
            f"| {ex.chapter} | {ex.name} | "
            + " | ".join(f"{nbg[s]:g} | {score[s]:g}" for s in STUDENTS)
            + f" | {ex.max_score:g} |"
        )
        assert score["solution"] == ex.max_score and score["untouched"] == 0
        if WRONG[ex.chapter][0] == ex.name:
            assert 0 < score["wrong"] < ex.max_score
        else:
            assert score["wrong"] == ex.max_score
    print("\n".join(table))
    # the autograded notebooks have no error outside the test cells that failed
    for student in STUDENTS:
        for path in sorted((course / "autograded" / student / "exercises").glob("*.ipynb")):
            for cell in json.loads(path.read_text())["cells"]:
                errors = [
                    o for o in cell.get("outputs", []) if o["output_type"] == "error" or o.get("name") == "stderr"
                ]
                assert not errors or (
                    _meta(cell).get("grade") and errors[0].get("ename") == "AssertionError" and student != "solution"
                ), (student, path.name, _src(cell)[:80], errors)


def test_nbgrader_generate_feedback_shows_the_hint(autograded):
    """``nbgrader generate_feedback`` shows the wrong student the failed check's explanation and hint."""
    course, _ = autograded
    _nbgrader(course, "generate_feedback", "exercises", "--student", "wrong", "--notebook", "05_softmax_loss")
    html = (course / "feedback" / "wrong" / "exercises" / "05_softmax_loss.html").read_text()
    assert "0 of 1 checks passed" in html and "divided by N, the batch size" in html


def test_nbgrader_autograde_accepts_every_lecture_and_gives_the_solutions_full_marks(autograded):
    """Each lecture, its solutions filled in, autograded by nbgrader: every test cell earns its points."""
    course, _ = autograded
    points = _gradebook_points(course, "lectures", ["solution"], [p.stem for p in LECTURES])
    names = {name for _, name, _ in points}
    assert names == {n for p in LECTURES for _, ns in nbgrader.graded_exercises(notebooks.read_notebook(p)) for n in ns}
    for name in names:
        ex = grading.get(name)
        assert [points["solution", name, k] for k in range(1, len(ex.checks) + 1)] == [c.points for c in ex.checks]
    # no error in the cells nbgrader owns or the check cells (a shortened demonstration cell may fail:
    # ``def f(rng=rng)`` without the cell that made ``rng``); none at all when the lectures are whole
    for path in sorted((course / "autograded" / "solution" / "lectures").glob("*.ipynb")):
        errors = [
            (_src(c)[:80], o.get("ename"))
            for c in json.loads(path.read_text())["cells"]
            for o in c.get("outputs", [])
            if o["output_type"] == "error" and (FULL_LECTURES or _meta(c) or "ebm.grading.check(" in _src(c))
        ]
        assert errors == [], (path.name, errors)


# --------------------------------------------------------------------------- the exercise notebooks, as run


def _printed(path):
    """What an autograded notebook printed: ``(stdout, stderr and errors outside test cells, test cell errors)``.

    The autograded test cells (nbgrader's ``grade: true``) raise when their check fails, as
    nbgrader expects; their errors are returned apart, as ``[(grade_id, ename)]``.
    """
    out, err, failed = [], [], []
    for cell in json.loads(path.read_text())["cells"]:
        test = _meta(cell)
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                (err if o["name"] == "stderr" else out).append(o["text"])  # a str, or a list of lines
            elif o.get("output_type") == "error" and test.get("grade"):
                failed.append((test["grade_id"], o["ename"]))
            elif o.get("output_type") == "error":
                err.append(f"{o['ename']}: {o['evalue']}")
    return _joined(out), _joined(err), failed


def _joined(texts):
    return "".join("".join(t) if isinstance(t, list) else t for t in texts)


def _ebm_result(graded, path, student):
    """``(chapter, output, tests)``: what ``ebm grade`` said of this notebook's submission, and its
    tests for the notebook's own chapter (the class was graded against every chapter at once)."""
    chapter = {notebooks.notebook_name(ch): ch for ch in grading.chapters()}[path.name]
    results = json.loads((graded / f"{chapter}-{student}" / "results.json").read_text())
    return chapter, results["output"], [t for t in results["tests"] if t["tags"][0] == chapter]


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_instructor_notebook_runs_with_every_check_passed_and_grades_full(autograded, path):
    """The solutions, run top to bottom by nbgrader: every check cell prints its pass line, nothing
    goes to stderr (nbgrader counts that as a failure), and the batch grader gives full marks."""
    course, graded = autograded
    out, err, failed = _printed(course / "autograded" / "solution" / "exercises" / path.name)
    assert err == "" and failed == []
    n = sum(
        c["cell_type"] == "markdown" and _src(c).startswith("## Exercise")
        for c in json.loads(path.read_text())["cells"]
    )
    assert n >= 2
    assert len(re.findall(r"all public checks passed; \d+ hidden checks? run at grading", out)) == n, out
    _, output, tests = _ebm_result(graded, path, "solution")
    assert sum(t["score"] for t in tests) == sum(t["max_score"] for t in tests) > 0, output
    assert "problem while loading" not in output  # the sandbox's stand-in has assert_check too


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_student_notebook_runs_without_crashing_and_grades_zero(autograded, path):
    """The student version as released (the same cells as ``exercises --student``), handed in
    untouched and run by nbgrader, which puts the hidden checks back: no crash, every check cell fails
    with AssertionError (0 points), and the batch grader says "not implemented" for every check."""
    course, graded = autograded
    out, err, failed = _printed(course / "autograded" / "untouched" / "exercises" / path.name)
    assert err == ""
    assert "all public checks passed" not in out and "not implemented yet" in out
    chapter, output, tests = _ebm_result(graded, path, "untouched")
    every = [f"{ex.name}-check{k}" for ex in grading.registry(chapter) for k in range(1, len(ex.checks) + 1)]
    assert failed == [(gid, "AssertionError") for gid in every]
    assert sum(t["score"] for t in tests) == 0 and sum(t["max_score"] for t in tests) > 0
    assert "problem while loading" not in output
    assert {t["extra_data"]["status"] for t in tests} == {"not_implemented"}

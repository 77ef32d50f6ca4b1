"""The batch grader on a gallery of realistic wrong and hostile submissions.

Each submission is a real file graded in its own sandbox, as an instructor
would.  Time limits here are ~1 s so the file runs in seconds.  The attacks on
the grader itself are in ``test_grading_redteam.py``.
"""

from __future__ import annotations

import csv
import inspect
import json
import sys

import pytest

import ebm.grading as grading
from ebm.cli import main
from ebm.grading import grader
from ebm.grading.demo import CORE, GALLERY, HOSTILE, RIGHT, replace_function

pytestmark = pytest.mark.xdist_group("grader")  # one worker: its module/session fixtures run once

TIMEOUT = 1.0


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the whole gallery as one class (a directory), the way an instructor would."""
    folder = tmp_path_factory.mktemp("submissions")
    for name, (src, _, _) in GALLERY.items():
        (folder / f"{name}.py").write_text(src)
    for name, src in HOSTILE.items():
        (folder / f"{name}.py").write_text(src)
    (folder / "right.py").write_text(RIGHT)
    out = tmp_path_factory.mktemp("out")
    streams = sys.stdout, sys.stderr
    results = grader.grade_directory(folder, out, exercises=CORE, timeout=TIMEOUT, jobs=2)
    assert (sys.stdout, sys.stderr) == streams  # checks run in threads: no global stream is swapped
    return {r.student: r for r in results}, out


def _ex(sub, name):
    return next(e for e in sub.exercises if e.exercise == name)


MAX = sum(grading.get(n).max_score for n in CORE)


def test_right_submission_gets_full_marks(graded):
    results, _ = graded
    assert results["right"].score == results["right"].max_score == MAX
    assert results["right"].problems == []


@pytest.mark.parametrize("name", list(GALLERY))
def test_each_mistake_loses_points_on_its_exercise_only_with_its_hint(graded, name):
    results, _ = graded
    _, exercise, hint = GALLERY[name]
    sub = results[name]
    for other in CORE:
        e = _ex(sub, other)
        if other == exercise:
            assert e.score < e.max_score
            assert hint in e.hint_keys, [(c.description, c.message) for c in e.checks]
        else:
            assert e.score == e.max_score, (other, [c.message for c in e.checks if not c.passed])


def _only_softmax_backward_lost(sub):
    for name in CORE[:2]:
        assert _ex(sub, name).score == _ex(sub, name).max_score, name
    e = _ex(sub, "softmax_backward")
    assert e.score == 0
    return e


@pytest.mark.parametrize(
    "name,status,text",
    [
        ("loop", "timeout", "more than 1 s"),
        ("stubborn_loop", "timeout", "process was killed"),
        ("exits", "exited", "sys.exit(3)"),
        ("hard_exit", "crashed", "exited with status 7"),
        ("crash", "error", "IndexError"),
        ("mutates", "failed", "modified its argument 'top_diff' in place"),
        ("memory", "error", "out of memory"),
        ("cheat", "flagged", "tried importing ebm.reference, which the grader refuses"),
    ],
)
def test_hostile_submissions_cost_only_the_exercise_they_touch(graded, name, status, text):
    results, _ = graded
    e = _only_softmax_backward_lost(results[name])
    first = e.checks[0]
    assert first.status == status and text in first.message, (first.status, first.message)


def test_a_flood_of_output_is_truncated_and_graded(graded):
    results, _ = graded
    e = _ex(results["flood"], "softmax_backward")
    assert e.score == e.max_score
    out = e.checks[0].output
    assert len(out) < 3000 and "more characters of output not shown" in out


def test_a_syntax_error_costs_only_its_function(graded):
    results, _ = graded
    sub = results["syntax"]
    e = _only_softmax_backward_lost(sub)
    assert e.checks[0].status == "missing"
    assert any("SyntaxError" in p for p in sub.problems)


def test_exits_at_top_level(graded):
    results, _ = graded
    soft = results["exit_at_top"]  # sys.exit while loading: the functions exist
    assert soft.score == MAX and any("sys.exit(0)" in p for p in soft.problems)
    hard = results["hard_exit_at_top"]  # os._exit while loading: nothing can be graded
    assert hard.score == 0 and "while loading" in hard.problems[0]
    assert {c.status for e in hard.exercises for c in e.checks} == {"crashed"}


def test_docs_exercise_table_is_current():
    from pathlib import Path

    from ebm.grading.cli import docs_with_table

    doc = (Path(__file__).resolve().parent.parent / "docs" / "grading.md").read_text()
    assert docs_with_table(doc) == doc, "run: python tools/build_exercises.py --docs"
    for ex in grading.registry():
        assert f"`{ex.signature}`" in doc


def test_directory_outputs(graded):
    results, out = graded
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert {r["student"] for r in rows} == set(results)
    right = next(r for r in rows if r["student"] == "right")
    assert float(right["score"]) == MAX and float(right["softmax_backward"]) == 5
    cheat = next(r for r in rows if r["student"] == "cheat")
    assert "softmax_backward: reached for ebm's implementation or the grader" in cheat["flags"]
    hints = list(csv.DictReader(open(out / "hints.csv")))
    counts = {(h["exercise"], h["mistake"]): int(h["students"]) for h in hints}
    assert counts[("softmax_loss_backward", "label_not_subtracted")] == 1
    assert counts[("softmax_backward", "timeout")] == 2  # loop and stubborn_loop
    assert (out / "hints.png").stat().st_size > 5000
    for student in results:
        data = json.loads((out / student / "results.json").read_text())
        _assert_gradescope(data)


def _assert_gradescope(data):
    assert set(data) >= {"score", "max_score", "tests"}
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    assert data["max_score"] == pytest.approx(sum(t["max_score"] for t in data["tests"]))
    for t in data["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert t["status"] in ("passed", "failed")
        assert t["name"].split(":")[0] in CORE
        assert t["visibility"] in ("visible", "after_due_date")


def test_hidden_checks_use_the_hidden_visibility(graded):
    results, _ = graded
    data = grader.gradescope_results(results["right"], hidden_visibility="hidden")
    hidden = {t["name"] for t in data["tests"] if t["visibility"] == "hidden"}
    assert hidden == {f"{n}: {c.description}" for n in CORE for c in grading.get(n).hidden_checks}
    pl = grader.prairielearn_results(results["forgot_one"])
    assert 0 < pl["score"] < 1 and pl["gradable"] is True
    assert pl["score"] == pytest.approx(results["forgot_one"].score / results["forgot_one"].max_score)
    assert sum(t["points"] for t in pl["tests"]) == pytest.approx(results["forgot_one"].score)
    hidden = [
        t
        for t in pl["tests"]
        if t["name"]
        in {f"softmax_loss_backward: {c.description}" for c in grading.get("softmax_loss_backward").hidden_checks}
    ]
    assert hidden and all(t["message"] in ("hidden check: passed", "hidden check: failed") for t in hidden)


def test_cli_class_prints_the_table(tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("alice", "bob", "carol"):
        (folder / f"{name}.py").write_text(RIGHT if name != "bob" else GALLERY["sign"][0])
    assert (
        main(
            [
                "grade",
                str(folder),
                "--out",
                str(tmp_path / "out"),
                "--exercise",
                "softmax_backward",
                "--jobs",
                "2",
                "--timeout",
                "5",
                "--no-progress",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "graded 3 submission(s)" in text and "bob" in text and "wrong_sign" in text and "sandbox:" in text


def test_cli_single_submission_json_and_exit_status(tmp_path, capsys):
    sub = tmp_path / "student.py"
    sub.write_text(GALLERY["forgot_one"][0])
    out = tmp_path / "results.json"
    assert (
        main(["grade", str(sub), "--json", str(out), "--timeout", "5", "--exercise", "softmax_loss_backward"]) == 0
    )  # a low score is still a successful grading
    data = json.loads(out.read_text())
    assert 0 <= data["score"] < data["max_score"] == 7
    text = capsys.readouterr().out
    assert "hint: the result equals prob" in text
    assert main(["grade", str(tmp_path / "absent.py")]) == 1  # could not grade
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["grade", str(tmp_path / "notes.txt")]) == 1
    assert main(["grade", str(tmp_path)]) == 2  # a directory needs --out
    err = capsys.readouterr().err
    assert "could not grade" in err and "--out" in err


def test_a_notebook_submission_skips_magics_and_a_broken_notebook_scores_zero(tmp_path):
    from ebm.grading.notebooks import _cell, _notebook

    cells = [
        _cell("code", "%matplotlib inline\nimport numpy as np"),
        _cell("code", "%%time\nraise RuntimeError('cell magics are skipped')"),
        _cell(
            "code",
            "!echo shell\n" + replace_function(RIGHT, "softmax_loss_forward", "").split("def softmax_loss_backward")[0],
        ),
        _cell(
            "code",
            "def softmax_loss_backward" + RIGHT.split("def softmax_loss_backward")[1].split("def softmax_backward")[0],
        ),
        _cell("code", "ebm_undefined_name"),
        _cell("code", "def softmax_backward" + RIGHT.split("def softmax_backward")[1]),
    ]
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps(_notebook(cells)))
    sub = grader.grade_submission(nb, exercises=CORE, timeout=5)
    assert _ex(sub, "softmax_loss_backward").score == 7 and _ex(sub, "softmax_backward").score == 5
    assert _ex(sub, "softmax_loss_forward").checks[0].status == "missing"
    assert any("<cell 5>" in p and "NameError" in p for p in sub.problems)
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    sub = grader.grade_submission(broken, exercises=CORE, timeout=5)
    assert sub.score == 0 and "not a readable notebook" in sub.problems[0]


def test_the_assignment_comes_from_the_instructor_never_from_the_submission(tmp_path, capsys):
    f = tmp_path / "a.py"
    f.write_text('"""def flip_delta(): def hebb_weights(): def gibbs_sampling_update(): def nll_loss():"""\n' + RIGHT)
    with pytest.raises(ValueError, match="say what to grade"):
        grader.grade_submission(f)
    assert main(["grade", str(f)]) == 2
    assert "say what to grade" in capsys.readouterr().err
    assert grader.resolve_assignment(chapters=["softmax_loss"])[0] == "softmax_loss_forward"
    assert grader.resolve_assignment(exercises=["flip_delta"]) == ["flip_delta"]
    with pytest.raises(KeyError):
        grader.resolve_assignment(exercises=["no_such_exercise"])
    listing = tmp_path / "assignment.txt"
    listing.write_text("# week 5\nsoftmax_backward\nhopfield   # a whole chapter\n")
    assert grader.resolve_assignment(assignment=listing) == ["softmax_backward"] + [
        e.name for e in grading.registry("hopfield")
    ]
    # an exercise notebook's file name names its chapter (the name, not the text)
    named = tmp_path / "05_softmax_loss.py"
    named.write_text(RIGHT)
    sub = grader.grade_submission(named, timeout=5)
    assert [e.exercise for e in sub.exercises] == [e.name for e in grading.registry("softmax_loss")]
    assert sub.score == sub.max_score == 23


def test_patching_numpy_in_the_sandbox_changes_nothing_in_the_judge(tmp_path):
    f = tmp_path / "tamper.py"
    f.write_text(
        replace_function(
            RIGHT,
            "softmax_backward",
            """
        def softmax_backward(top_data, top_diff):
            import numpy
            numpy.isclose = lambda *a, **k: numpy.array(True)      # every comparison would pass
            numpy.allclose = lambda *a, **k: True
            return top_data
        """,
        )
    )
    sub = grader.grade_submission(f, exercises=CORE, timeout=5)
    e = _only_softmax_backward_lost(sub)  # graded on its merits: wrong, not flagged
    assert {c.status for c in e.checks} == {"failed"}


def test_a_failure_of_the_grader_itself_is_not_blamed_on_the_student(tmp_path, monkeypatch, capsys):
    f = tmp_path / "student.py"
    f.write_text(RIGHT)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the grader")

    monkeypatch.setattr(grader, "_grade", broken)
    with pytest.raises(grader.GraderError, match="a bug in the grader"):
        grader.grade_submission(f, exercises=CORE, timeout=5)
    assert main(["grade", str(f), "--exercise", "softmax_backward"]) == 1
    assert "could not grade" in capsys.readouterr().err
    # in a class, the student still gets a results.json and a summary row that say so
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "alice.py").write_text(RIGHT)
    results = grader.grade_directory(tmp_path / "class", tmp_path / "out", exercises=CORE, timeout=5, jobs=1)
    assert results[0].grader_error and results[0].score == 0
    data = json.loads((tmp_path / "out" / "alice" / "results.json").read_text())
    assert "NOT GRADED: the grader failed" in data["output"]
    row = next(csv.DictReader(open(tmp_path / "out" / "summary.csv")))
    assert "GRADER FAILED" in row["problems"]


def test_grade_directory_hands_its_options_to_each_submission_and_refuses_unknown_ones(tmp_path, monkeypatch):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "alice.py").write_text(RIGHT)
    # help() shows the options with grade_submission's defaults
    own, theirs = (
        inspect.signature(grader.grade_directory).parameters,
        inspect.signature(grader.grade_submission).parameters,
    )
    assert {n: own[n].default for n in grader._PER_SUBMISSION} == {n: theirs[n].default for n in grader._PER_SUBMISSION}
    seen = []

    def record(**kwargs):
        seen.append(kwargs)
        raise RuntimeError("recorded")

    monkeypatch.setattr(grader, "grade_submission", record)
    grader.grade_directory(
        tmp_path / "class", tmp_path / "out", exercises=CORE, timeout=2.5, memory_mb=512, isolation="process", jobs=1
    )
    assert {k: seen[0][k] for k in ("timeout", "memory_mb", "isolation")} == dict(
        timeout=2.5, memory_mb=512, isolation="process"
    )
    assert "load_timeout" not in seen[0]  # not given: grade_submission's own default applies
    with pytest.raises(TypeError, match="memory_MB"):
        grader.grade_directory(tmp_path / "class", tmp_path / "out2", exercises=CORE, memory_MB=512)
    assert not (tmp_path / "out2").exists()  # refused before anything was graded or written


def test_grade_submission_hands_its_limits_to_the_sandbox_and_refuses_unknown_options(tmp_path, monkeypatch):
    f = tmp_path / "student.py"
    f.write_text(RIGHT)
    sig = inspect.signature(grader.grade_submission).parameters  # help() shows every option and its default
    assert {n: sig[n].default for n in ("timeout", "load_timeout", "memory_mb", "max_restarts")} == dict(
        timeout=10.0, load_timeout=None, memory_mb=1024, max_restarts=grader.MAX_RESTARTS
    )
    assert all(sig[n].kind is sig[n].KEYWORD_ONLY for n in list(sig)[1:])
    seen = []

    def record(files, **kwargs):
        seen.append(kwargs)
        raise RuntimeError("recorded")

    monkeypatch.setattr(grader, "Sandbox", record)
    protect = [str(tmp_path)]
    with pytest.raises(grader.GraderError, match="recorded"):
        grader.grade_submission(
            f, exercises=CORE, timeout=2, memory_mb=512, isolation="process", slot=3, extra_protected=protect
        )
    got = seen[0]
    assert (got["statement_timeout"], got["load_budget"]) == (2.0, 30.0)  # the loading default: max(30, 3 * timeout)
    assert type(got["statement_timeout"]) is float
    assert {k: got[k] for k in ("memory_mb", "isolation", "slot", "parent", "extra_protected")} == dict(
        memory_mb=512, isolation="process", slot=3, parent=None, extra_protected=protect
    )
    seen.clear()
    with pytest.raises(grader.GraderError):
        grader.grade_submission(f, exercises=CORE, timeout=20, load_timeout=7)
    assert (seen[0]["load_budget"], seen[0]["memory_mb"]) == (7.0, 1024)
    with pytest.raises(TypeError, match="memory_MB"):
        grader.grade_submission(f, exercises=CORE, memory_MB=512)


def test_ebm_can_be_allowed_but_never_the_grading_package_nor_the_exercise_itself(tmp_path):
    uses_ebm = replace_function(
        RIGHT,
        "softmax_backward",
        """
        def softmax_backward(top_data, top_diff):
            from ebm.gradient_check import numerical_gradient     # a part of ebm that does not do the exercise
            assert callable(numerical_gradient)
            return top_data * (top_diff - (top_data * top_diff).sum(axis=1, keepdims=True))
        """,
    )
    f = tmp_path / "uses_ebm.py"
    f.write_text(uses_ebm)
    allowed = grader.grade_submission(f, exercises=["softmax_backward"], timeout=10, allow_ebm=True)
    assert allowed.score == allowed.max_score == 5, [c.message for e in allowed.exercises for c in e.checks]
    refused = grader.grade_submission(f, exercises=["softmax_backward"], timeout=10)
    assert refused.score == 0 and refused.exercises[0].checks[0].status == "flagged"
    for reach in (
        "from ebm.reference import softmax_backward as theirs",  # the exercise's own module
        "from ebm.grading.exercises.softmax_loss import softmax_backward as theirs",
    ):
        f.write_text(
            replace_function(
                RIGHT,
                "softmax_backward",
                f"""
            def softmax_backward(top_data, top_diff):
                {reach}
                return theirs(top_data, top_diff)
            """,
            )
        )
        sub = grader.grade_submission(f, exercises=["softmax_backward"], timeout=10, allow_ebm=True)
        assert sub.score == 0 and sub.exercises[0].checks[0].status == "flagged", reach


def test_an_exercise_that_allows_ebm_may_call_the_cores_kernels(tmp_path):
    """nll_beta_grad (lecture 05) allows ebm: a solution built on the core's Numba softmax earns full marks,
    the kernels coming from the grader's own JIT cache (copied into the sandbox)."""
    import numpy as np

    import ebm

    ebm.softmax_forward(np.zeros(6), axis=0)  # the grading machine has run this kernel
    f = tmp_path / "core.py"
    f.write_text(
        "import numpy as np\nimport ebm\n\n"
        "def nll_beta_grad(x, k, beta):\n"
        "    p = ebm.softmax_forward(beta * np.asarray(x, dtype=float), axis=0)\n"
        "    p[k] -= 1\n"
        "    return beta * p\n"
    )
    sub = grader.grade_submission(f, exercises=["nll_beta_grad"], timeout=20)
    assert sub.score == sub.max_score == 3, [c.message for e in sub.exercises for c in e.checks]

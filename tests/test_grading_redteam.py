"""The red-team gallery: every attack on the grader that was found, as a submission with its outcome.

The whole gallery is graded as one class (chapter 05, 23 points), with two
honest classmates, the way an instructor would run it.  For every attack:

- the score is bounded by what the submission's own code earns: the exercises an
  attack touches score 0, every other exercise (a correct implementation) full
  marks, so the total is computed from the registry's points, not written here;
- results.json is final (unchanged a while after the grader returns) and agrees
  with summary.csv;
- no process survives (the launcher reports 0 survivors; no process of the
  sandbox users, or carrying the gallery's marker, is alive afterwards);
- the classmates are untouched (their files, scores and results).

A few attacks are also graded with ``isolation="process"`` (what a grader that
is not root gets: no other user, no namespaces), where only the audit hook and
the import blocker stand between the student and ebm.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import ebm
import ebm.grading as grading
from ebm.grading import grader
from ebm.grading._sandbox import GRACE, UID_SPAN
from ebm.grading.demo import RIGHT, replace_function

pytestmark = pytest.mark.xdist_group("redteam")  # one worker: its module/session fixtures run once

CHAPTER = "softmax_loss"
NAMES = [e.name for e in grading.registry(CHAPTER)]
POINTS = {e.name: e.max_score for e in grading.registry(CHAPTER)}
MAX = sum(POINTS.values())
TIMEOUT = 1.0
MARKER = "EBM-REDTEAM-7f3a"
PACKAGE = os.path.dirname(os.path.realpath(ebm.__file__))
SITE = os.path.dirname(os.path.dirname(os.path.realpath(np.__file__)))


def _with(name, body):
    return replace_function(RIGHT, name, body)


def _nb(cells):
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _code(src):
    return {"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None}


# name -> (file name, source (str or bytes; {SUBMISSIONS} {OUT} {PACKAGE} {SITE} {MARKER} filled in),
#          the exercises the attack touches (they must score 0), the statuses their first check may have,
#          text that must appear in the submission's problems or the touched exercise's first message)
ATTACKS = {
    # ------------------------------------------------------------------ full marks without solving anything
    "import_solutions": (
        "py",
        "from ebm.grading.exercises.softmax_loss import *\n",
        set(NAMES),
        {"missing"},
        "importing ebm.grading.exercises",
    ),
    "registry_references": (
        "py",
        textwrap.dedent("""
        import ebm.grading as g
        for ex in g.registry():
            globals()[ex.name] = ex.reference
        """),
        set(NAMES),
        {"missing"},
        "AttributeError",
    ),
    "code_object_copy": (
        "py",
        _with(
            "softmax_backward",
            """
        def softmax_backward(top_data, top_diff):
            import sys
            m = sys.modules.get("ebm.reference") or __import__("ebm.reference", fromlist=["x"])
            clone = type(lambda: 0)(m.softmax_backward.__code__, m.__dict__, "mine")
            return clone(top_data, top_diff)
        """,
        ),
        {"softmax_backward"},
        {"flagged"},
        "importing ebm.reference",
    ),
    "exec_reference_source": (
        "py",
        _with(
            "softmax_backward",
            """
        def softmax_backward(top_data, top_diff):
            import glob, os, re, sys
            places = ["{PACKAGE}"]
            for entry in sys.path:
                for finder in glob.glob(os.path.join(entry, "__editable__*ebm*finder.py")):
                    places += re.findall(r"'ebm': '([^']+)'", open(finder).read())
                places.append(os.path.join(entry, "ebm"))
            for place in places:
                for name in ("reference.py", "/proc/self/root" + place + "/reference.py"):
                    try:
                        source = open(os.path.join(place, name)).read()
                    except OSError:
                        continue
                    ns = {}
                    exec(source, ns)
                    return ns["softmax_backward"](top_data, top_diff)
            raise RuntimeError("no reference found")
        """,
        ),
        {"softmax_backward"},
        {"flagged"},
        "reference.py",
    ),
    "setprofile_none": (
        "py",
        _with(
            "softmax_backward",
            """
        def softmax_backward(top_data, top_diff):
            import sys
            sys.setprofile(None)
            from ebm.reference import softmax_backward as theirs
            return theirs(top_data, top_diff)
        """,
        ),
        {"softmax_backward"},
        {"flagged"},
        "importing ebm.reference",
    ),
    "from_a_thread": (
        "py",
        _with(
            "softmax_backward",
            """
        def softmax_backward(top_data, top_diff):
            import threading
            out = []
            def steal():
                from ebm.reference import softmax_backward as theirs
                out.append(theirs(top_data, top_diff))
            t = threading.Thread(target=steal)
            t.start()
            t.join()
            return out[0]
        """,
        ),
        {"softmax_backward"},
        {"flagged"},
        "importing ebm.reference",
    ),
    "array_reads_expected": (
        "py",
        _with(
            "softmax_backward",
            """
        class Sneaky:
            def __array__(self, dtype=None, copy=None):
                import sys
                frame = sys._getframe(1)
                while frame is not None:
                    if "expected" in frame.f_locals:
                        return np.asarray(frame.f_locals["expected"])
                    frame = frame.f_back
                return np.zeros(1)

        def softmax_backward(top_data, top_diff):
            return Sneaky()
        """,
        ),
        {"softmax_backward"},
        {"failed"},
        "",
    ),
    "swap_numpy_code": (
        "py",
        _with(
            "softmax_backward",
            """
        import numpy
        def _always(*args, **kwargs):
            return numpy.ones(numpy.broadcast(*args[:2]).shape, bool)
        numpy.isclose._implementation.__code__ = _always.__code__
        numpy.isclose = _always
        numpy.allclose = lambda *a, **k: True
        import numpy._core.numeric as _n
        _n.isclose = _always

        def softmax_backward(top_data, top_diff):
            return top_data
        """,
        ),
        {"softmax_backward"},
        {"failed"},
        "",
    ),
    "patch_registry_and_json": (
        "py",
        _with(
            "softmax_backward",
            """
        import json
        json.dumps = lambda *a, **k: '{"op": "result", "score": 999}'

        def softmax_backward(top_data, top_diff):
            return top_data
        """,
        ),
        set(NAMES),
        {"malformed"},
        "malformed",
    ),
    "forged_result_lines": (
        "py",
        RIGHT
        + textwrap.dedent("""
        import os, sys
        line = b'{"op": "result", "id": "x", "status": "ok", "value": 1, "args": null, "error": null, '
        line += b'"output": "", "warnings": [], "seconds": 0, "refused": []}\\n'
        for _ in range(230):
            os.write(int(sys.argv[2]), line)
        """),
        set(NAMES),
        {"malformed"},
        "malformed",
    ),
    "planted_worker": (
        "py",
        _with(
            "softmax_loss_forward",
            """
        import os
        os.makedirs("ebm/grading", exist_ok=True)
        for path in ("ebm/grading/_worker.py", "_worker.py", "_ebm_worker.py", "sitecustomize.py"):
            with open(path, "w") as f:
                f.write("print('{MARKER}: full marks')\\n")

        def softmax_loss_forward(bottom_data, label):
            os._exit(1)
        """,
        ),
        {"softmax_loss_forward"},
        {"crashed"},
        "exited with status 1",
    ),
    "daemon_rewrites_results": (
        "py",
        RIGHT
        + textwrap.dedent("""
        import os, subprocess, time
        forged = '{"score": 999, "tests": []}'
        try:
            subprocess.Popen(["/bin/sh", "-c", "sleep 1; echo '" + forged + "' > {OUT}/right_a/results.json; : {MARKER}"],
                             start_new_session=True)
        except OSError:
            pass
        try:
            if os.fork() == 0:
                os.setsid()
                time.sleep(1)
                open("{OUT}/daemon_rewrites_results/results.json", "w").write(forged)
                os._exit(0)
        except OSError:
            pass
        """),
        set(),
        set(),
        "starting a process",
    ),
    # ------------------------------------------------------------------ harm to classmates
    "overwrite_classmate": (
        "py",
        RIGHT
        + textwrap.dedent("""
        try:
            open("{SUBMISSIONS}/right_b.py", "w").write("def softmax_backward(*a):\\n    return 0\\n")
        except OSError:
            pass
        """),
        set(),
        set(),
        "right_b.py",
    ),
    "read_classmate": (
        "py",
        textwrap.dedent("""
        exec(open("{SUBMISSIONS}/right_a.py").read())
        """),
        set(NAMES),
        {"missing"},
        "right_a.py",
    ),
    "zero_classmate_results": (
        "py",
        RIGHT
        + textwrap.dedent("""
        import os
        for name in os.listdir("{OUT}"):
            open(os.path.join("{OUT}", name, "results.json"), "w").write('{"score": 0}')
        """),
        set(),
        set(),
        "{OUT}",
    ),
    "names_in_a_docstring": (
        "py",
        '"""def flip_delta(): def hebb_weights(): def unit_probability():\n'
        'def gibbs_sampling_update(): def rbm_free_energy(): def nll_loss(): def hinge_loss():"""\n' + RIGHT,
        set(),
        set(),
        "",
    ),
    "write_into_the_package": (
        "py",
        RIGHT
        + textwrap.dedent("""
        for path in ("{PACKAGE}/evil.py", "{SITE}/sitecustomize.py", "{SITE}/evil.pth"):
            try:
                open(path, "w").write("print('{MARKER}')\\n")
            except OSError:
                pass
        """),
        set(),
        set(),
        "sitecustomize.py",
    ),
    # ------------------------------------------------------------------ stopping the grader
    "kill_the_grader": (
        "py",
        _with(
            "softmax_backward",
            """
        def softmax_backward(top_data, top_diff):
            import os, signal
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                for pid in (os.getppid(), 1):
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
            return top_data
        """,
        ),
        {"softmax_backward"},
        {"flagged"},
        "sending a signal",
    ),
    "resend_start_events": (
        "py",
        RIGHT
        + textwrap.dedent("""
        import os, sys
        for _ in range(50):
            os.write(int(sys.argv[2]), b'{"event": "start", "exercise": "softmax_backward"}\\n')
        """),
        set(NAMES),
        {"malformed"},
        "malformed",
    ),
    "exit_before_each_call": (
        "py",
        "\n".join(f"def {n}(*args, **kwargs):\n    import os\n    os._exit(3)\n" for n in NAMES),
        set(NAMES),
        {"crashed"},
        "exited with status 3",
    ),
    "raise_the_memory_limit": (
        "py",
        _with(
            "softmax_backward",
            """
        def softmax_backward(top_data, top_diff):
            import resource
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            try:
                resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
            except (OSError, ValueError):
                pass
            big = np.ones(1 << 31)
            return big
        """,
        ),
        {"softmax_backward"},
        {"flagged", "error"},
        "",
    ),
    "setsid_children": (
        "py",
        _with(
            "softmax_backward",
            """
        def softmax_backward(top_data, top_diff):
            import subprocess
            subprocess.Popen(["/bin/sh", "-c", "sleep 30; : {MARKER}"], start_new_session=True)
            return top_data * (top_diff - (top_data * top_diff).sum(axis=1, keepdims=True))
        """,
        ),
        {"softmax_backward"},
        {"flagged"},
        "_posixsubprocess",
    ),
    "malformed_event_line": (
        "py",
        RIGHT
        + textwrap.dedent("""
        import os, sys
        os.write(int(sys.argv[2]), b"{not json at all\\n")
        """),
        set(NAMES),
        {"malformed"},
        "malformed",
    ),
    "surrogate_and_raising_str": (
        "py",
        _with(
            "softmax_loss_backward",
            """
        class Evil(Exception):
            def __str__(self):
                raise RuntimeError("no message for you")

        class Slow(Exception):
            def __str__(self):
                while True:
                    pass

        def softmax_loss_backward(prob, label, ignore_label=None):
            raise Evil()
        """,
        )
        .replace(
            "def softmax_backward(top_data, top_diff):\n",
            "def softmax_backward(top_data, top_diff):\n"
            "    raise ValueError('\\udcff lone surrogate \\x1b[31m red \\x07')\n",
            1,
        )
        .replace("def nll_beta_grad(x, k, beta):\n", "def nll_beta_grad(x, k, beta):\n    raise Slow()\n", 1),
        {"softmax_loss_backward", "softmax_backward", "nll_beta_grad"},
        {"error"},
        "could not be printed",
    ),
    # ------------------------------------------------------------------ malformed files
    "nb_bad_cells": (
        "ipynb",
        _nb([5, "text", {"cell_type": "code", "source": 42}, None, _code(RIGHT.splitlines(keepends=True))]),
        set(),
        set(),
        "not a notebook cell",
    ),
    "nb_nested_deep": (
        "ipynb",
        '{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}",
        set(NAMES),
        {"missing"},
        "nested too deeply",
    ),
    "nb_cells_not_a_list": ("ipynb", '{"cells": 5}', set(NAMES), {"missing"}, "no list of cells"),
    "undecodable_bytes": ("py", b"# \xff\xfe\xfa broken bytes\n" + RIGHT.encode(), set(), set(), "not valid UTF-8"),
}

#: Two classmates with correct code, and two names that sanitise to the same folder (plus a reserved one).
HONEST = {"right_a.py": RIGHT, "right_b.py": RIGHT, "a b.py": RIGHT, "a_b.py": RIGHT, "summary.csv.py": RIGHT}


def _fill(text):
    for key, value in (
        ("SUBMISSIONS", _FILL["submissions"]),
        ("OUT", _FILL["out"]),
        ("PACKAGE", PACKAGE),
        ("SITE", SITE),
        ("MARKER", MARKER),
    ):
        token = "{" + key + "}"
        text = text.replace(token.encode(), value.encode()) if isinstance(text, bytes) else text.replace(token, value)
    return text


_FILL = {}


def _sandbox_processes():
    """PIDs of live processes that carry the gallery's marker, or run as a sandbox user id that no grader
    holds any more (another test's grader may be running at the same time, under its own claimed id)."""
    import fcntl

    from ebm.grading._sandbox import _lock_dir

    base = int(os.environ.get("EBM_GRADER_UID", "64400"))
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        if MARKER.encode() in cmdline:
            found.append(int(name))
        elif base <= uid < base + UID_SPAN and os.geteuid() == 0:
            fd = os.open(os.path.join(_lock_dir(), f"{uid}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: nobody grades as that user
                found.append(int(name))
            except OSError:
                pass  # held: a sandbox that is running
            finally:
                os.close(fd)
    return found


PLANTED = (Path(PACKAGE) / "evil.py", Path(SITE) / "sitecustomize.py", Path(SITE) / "evil.pth")


@pytest.fixture(autouse=True, scope="module")
def _remove_anything_planted():
    """Should an attack ever get through, its files must not outlive the failing test (they would run in
    every later Python of this environment)."""
    yield
    for path in PLANTED:
        path.unlink(missing_ok=True)


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    submissions = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("out")
    _FILL.update(submissions=str(submissions), out=str(out))
    for name, (suffix, source, *_rest) in ATTACKS.items():
        data = _fill(source)
        (submissions / f"{name}.{suffix}").write_bytes(data if isinstance(data, bytes) else data.encode())
    for name, source in HONEST.items():
        (submissions / name).write_text(source)
    before = {p.name: _digest(p) for p in submissions.iterdir()}
    started = time.monotonic()
    results = grader.grade_directory(submissions, out, chapters=[CHAPTER], timeout=TIMEOUT, jobs=2)
    wall = time.monotonic() - started
    snapshot = {p.relative_to(out): _digest(p) for p in out.rglob("*") if p.is_file()}
    time.sleep(1.5)  # long enough for any daemon's "sleep 1; rewrite"
    return {
        "results": {r.student: r for r in results},
        "out": out,
        "submissions": submissions,
        "before": before,
        "snapshot": snapshot,
        "wall": wall,
    }


def _exercise(sub, name):
    return next(e for e in sub.exercises if e.exercise == name)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_each_attack_earns_at_most_what_its_own_code_earns(gallery, name):
    _, _, touched, statuses, text = ATTACKS[name]
    sub = gallery["results"][name]
    assert sub.max_score == MAX  # never graded out of more (or fewer) points
    assert sub.score == MAX - sum(POINTS[n] for n in touched), (
        sub.problems,
        [(e.exercise, c.status, c.message) for e in sub.exercises for c in e.checks if not c.passed],
    )
    for n in NAMES:
        e = _exercise(sub, n)
        if n in touched:
            assert e.score == 0 and e.checks[0].status in statuses, (n, e.checks[0].status, e.checks[0].message)
    said = " ".join(sub.problems + [_exercise(sub, n).checks[0].message for n in touched])
    assert _fill(text) in said, said
    assert not sub.grader_error


def test_the_messages_are_clean_text(gallery):
    sub = gallery["results"]["surrogate_and_raising_str"]
    messages = [c.message for e in sub.exercises for c in e.checks]
    assert any("lone surrogate" in m for m in messages)
    for m in messages:
        m.encode("utf-8")  # no lone surrogate left
        assert not any(ch in m for ch in "\x1b\x07\x00")


def test_results_are_final_and_agree_with_the_summary(gallery):
    out = gallery["out"]
    now = {p.relative_to(out): _digest(p) for p in out.rglob("*") if p.is_file()}
    assert now == gallery["snapshot"]  # nothing rewrote a file after the grader returned
    rows = {r["student"]: r for r in csv.DictReader(open(out / "summary.csv"))}
    assert set(rows) == set(gallery["results"])
    folders = [r["folder"] for r in rows.values()]
    assert len(set(folders)) == len(folders)  # two names, one folder each
    assert rows["a b"]["folder"] != rows["a_b"]["folder"]
    assert rows["summary.csv"]["folder"] not in ("summary.csv", "hints.csv", "hints.png")
    for student, row in rows.items():
        data = json.loads((out / row["folder"] / "results.json").read_text())
        assert data["score"] == pytest.approx(float(row["score"])) == pytest.approx(gallery["results"][student].score)
        for n in NAMES:
            got = sum(t["score"] for t in data["tests"] if t["extra_data"]["exercise"] == n)
            assert got == pytest.approx(float(row[n]))


def test_no_process_survives(gallery):
    assert all(sub.survivors == 0 for sub in gallery["results"].values())
    assert _sandbox_processes() == []


def test_classmates_are_untouched(gallery):
    results, submissions = gallery["results"], gallery["submissions"]
    for name in HONEST:
        assert results[Path(name).stem].score == MAX, name
    after = {p.name: _digest(p) for p in submissions.iterdir()}
    assert after == gallery["before"]
    for path in PLANTED:
        assert not path.exists(), path


def test_every_submission_stays_within_its_fixed_budget(gallery):
    load_budget = max(30.0, 3 * TIMEOUT)
    budget = load_budget + len(NAMES) * (TIMEOUT + GRACE)
    for sub in gallery["results"].values():
        assert sub.seconds <= budget + 5, (sub.student, sub.seconds)
    assert gallery["results"]["exit_before_each_call"].restarts <= grader.MAX_RESTARTS


def test_the_sandbox_has_every_wall_this_machine_allows_or_says_why_not(gallery):
    isolation = gallery["results"]["right_a"].isolation
    assert "audit hook" in isolation and "subreaper" in isolation
    if os.geteuid() == 0:
        assert "user 644" in isolation or "not readable by other users" in isolation, isolation
        assert "namespaces: pid, mount, network" in isolation or "no namespaces (" in isolation, isolation


PROCESS_MODE = [
    "code_object_copy",
    "exec_reference_source",
    "from_a_thread",
    "read_classmate",
    "overwrite_classmate",
    "write_into_the_package",
    "kill_the_grader",
    "setsid_children",
]


def test_without_root_the_audit_hook_alone_holds(tmp_path):
    submissions, out = tmp_path / "subs", tmp_path / "out"
    submissions.mkdir()
    _FILL.update(submissions=str(submissions), out=str(out))
    for name in PROCESS_MODE:
        suffix, source, *_ = ATTACKS[name]
        (submissions / f"{name}.{suffix}").write_text(_fill(source))
    (submissions / "right_a.py").write_text(RIGHT)
    (submissions / "right_b.py").write_text(RIGHT)
    before = {p.name: _digest(p) for p in submissions.iterdir()}
    results = {
        r.student: r
        for r in grader.grade_directory(
            submissions, out, chapters=[CHAPTER], timeout=TIMEOUT, jobs=2, isolation="process"
        )
    }
    for name in PROCESS_MODE:
        _, _, touched, statuses, _ = ATTACKS[name]
        assert results[name].score == MAX - sum(POINTS[n] for n in touched), name
    assert results["right_a"].score == results["right_b"].score == MAX
    assert "the grader's own user" in results["right_a"].isolation
    assert {p.name: _digest(p) for p in submissions.iterdir()} == before
    assert _sandbox_processes() == []
    assert not any(path.exists() for path in PLANTED)


def test_a_check_cannot_be_fooled_by_a_forged_answer_to_its_own_request(tmp_path):
    """Even a worker that answers the current request itself only chooses a return value: still judged."""
    f = tmp_path / "forger.py"
    f.write_text(
        _with(
            "softmax_backward",
            """
        def softmax_backward(top_data, top_diff):
            import gc, json, os, sys
            ids = [o["id"] for o in gc.get_objects() if isinstance(o, dict) and o.get("op") == "call"]
            answer = {"op": "result", "id": ids[-1], "status": "ok", "value": 0.0, "args": None, "error": None,
                      "output": "", "warnings": [], "seconds": 0.0, "refused": []}
            os.write(int(sys.argv[2]), (json.dumps(answer) + "\\n").encode())
            return top_data
        """,
        )
    )
    sub = grader.grade_submission(f, chapters=[CHAPTER], timeout=TIMEOUT)
    assert _exercise(sub, "softmax_backward").score == 0
    assert sub.score <= MAX - POINTS["softmax_backward"]
    assert any(c.status == "malformed" for e in sub.exercises for c in e.checks)  # the second answer

"""The batch grader: every submission in its own process, results for Gradescope.

:func:`grade_submission` grades one ``.py`` or ``.ipynb`` file; :func:`grade_directory`
grades every submission in a folder in parallel (one worker process per
submission, ``jobs`` at a time) and writes, under ``out``::

    <student>/results.json     Gradescope's format (see :func:`gradescope_results`)
    summary.csv                one row per student: total, per-exercise scores, flags
    hints.csv                  how many students each mistake (hint) hit, per exercise
    hints.png                  the same as a figure: what to re-teach

Isolation (each is reported as what it was, and costs only the exercise it hits):

- each submission runs in a fresh Python process (``python -m ebm.grading._worker``)
  with its own temporary working directory;
- each exercise has a wall-clock ``timeout``: an in-process timer stops a Python
  loop, and the parent kills a process that does not stop (a C loop, an
  ``except BaseException``), then starts a fresh one for the remaining exercises;
- the address space is capped (``memory_mb``, POSIX ``RLIMIT_AS``), so a huge
  allocation is a ``MemoryError`` of that exercise;
- printed output is captured and truncated (2000 characters per check);
- inputs are copies; modifying them fails the check with a message;
- ``sys.exit()`` is caught; ``os._exit()``, a segfault or a kill end the process,
  and the exercise that was running is reported as ``crashed`` with the exit status.

It is not a security sandbox: student code can still read and write files as
the grading user.  Run the grader in a container (as Gradescope does) for
untrusted code.
"""

from __future__ import annotations

import csv
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ebm.grading._exercise import get, registry
from ebm.grading._harness import CheckResult, ExerciseResult

__all__ = ["GraderError", "SubmissionResult", "grade_submission", "grade_directory", "gradescope_results",
           "prairielearn_results", "hint_counts", "plot_hint_counts", "find_submissions",
           "select_exercises", "SUFFIXES"]

SUFFIXES = (".py", ".ipynb")


class GraderError(RuntimeError):
    """The grader itself failed (not the submission): the submission could not be graded."""

#: Seconds the parent waits beyond the in-process timer before it kills the worker.
GRACE = 2.0


@dataclass
class SubmissionResult:
    """Everything the grader learned about one submission.

    ``problems`` lists what went wrong while loading it (a syntax error, an
    exception or ``sys.exit`` at top level...); ``flags`` lists calls into ebm's own
    implementation; ``restarts`` counts worker processes that had to be replaced.
    """

    student: str
    path: str
    exercises: list
    problems: list = field(default_factory=list)
    output: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    restarts: int = 0
    memory: str = ""
    grader_error: str = ""

    @property
    def score(self):
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self):
        return sum(e.max_score for e in self.exercises)

    @property
    def flags(self):
        """``"<exercise>: calls ebm's own implementation"`` for each flagged exercise."""
        return list(dict.fromkeys(f"{e.exercise}: calls ebm's own implementation" for e in self.exercises
                                  for c in e.checks if c.status == "flagged"))


# --------------------------------------------------------------------------- what to grade


_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.M)


def _defined_names(path):
    """Function names a submission defines (a regex scan: it works on code that does not parse)."""
    from ebm.grading.notebooks import notebook_code, read_notebook

    try:
        if str(path).endswith(".ipynb"):
            text = "\n".join(src for _, src in notebook_code(read_notebook(path)))
        else:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return set()
    return set(_DEF.findall(text))


def select_exercises(paths, *, exercises=None, chapters=None):
    """The exercise names to grade.

    Explicit ``exercises`` win, then ``chapters``; otherwise every exercise of each
    chapter that at least one of ``paths`` defines a function of (so a whole class
    is graded on the same set).  When nothing matches, every exercise.
    """
    if exercises:
        return [get(name).name for name in exercises]
    if chapters:
        return [ex.name for ex in registry(chapters)]
    defined = set().union(*(_defined_names(p) for p in paths)) if paths else set()
    touched = {ex.chapter for ex in registry() if ex.name in defined}
    return [ex.name for ex in registry() if not touched or ex.chapter in touched]


def find_submissions(directory):
    """``[(student, path)]``: each ``.py``/``.ipynb`` file directly in ``directory``.

    The student is the file name without its suffix.  Files starting with ``.`` or
    ``_`` are skipped.
    """
    directory = Path(directory)
    found = sorted(p for p in directory.iterdir()
                   if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith((".", "_")))
    stems = [p.stem for p in found]
    return [(p.stem if stems.count(p.stem) == 1 else p.name, p) for p in found]


# --------------------------------------------------------------------------- one submission


def _synthetic(name, status, message, seconds=0.0):
    ex = get(name)
    return ExerciseResult(ex.name, ex.chapter, [
        CheckResult(ex.name, c.description, 0.0, c.points, c.hidden, status,
                    message if k == 0 else f"not run: {message}", seconds=seconds if k == 0 else 0.0)
        for k, c in enumerate(ex.checks)])


def _exit_reason(code):
    if code is None:
        return "the process stopped"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        extra = {"SIGKILL": " (killed: perhaps out of memory)", "SIGSEGV": " (a segmentation fault)"}
        return f"the process was ended by {name}{extra.get(name, '')}"
    return f"the process exited with status {code} (os._exit() or a hard crash)"


class _Worker:
    """One worker process and the JSON lines it writes."""

    def __init__(self, path, names, *, timeout, memory_mb, flag_ebm, workdir):
        job = {"path": str(Path(path).resolve()), "exercises": names, "timeout": timeout,
               "memory_mb": memory_mb, "flag_ebm": flag_ebm}
        read_fd, write_fd = os.pipe()
        env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
        self.log = open(Path(workdir) / "process-output.txt", "w+b")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ebm.grading._worker", json.dumps(job), str(write_fd)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, pass_fds=(write_fd,),
            cwd=workdir, env=env, start_new_session=True)
        os.close(write_fd)
        self.fd = read_fd
        self.buffer = b""

    def next_event(self, deadline):
        """The next event, ``"eof"`` if the process closed the pipe, or ``"timeout"``."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return "eof"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def stop(self):
        """Kill the process group (if still running); return ``(exit status, CPU seconds)``."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)      # also any process the submission started
        except (ProcessLookupError, PermissionError):
            pass
        _, status, usage = os.wait4(self.proc.pid, 0)     # reaps it, with its own CPU time
        self.proc.returncode = code = os.waitstatus_to_exitcode(status)
        os.close(self.fd)
        self.log.close()
        return code, usage.ru_utime + usage.ru_stime

    def tail(self, limit=500):
        try:
            with open(self.log.name, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - limit))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""


def grade_submission(path, *, exercises=None, chapters=None, timeout=10.0, memory_mb=1024, flag_ebm=True,
                     student=None):
    """Grade one ``.py`` or ``.ipynb`` submission in a separate process.

    Parameters
    ----------
    path : str or Path
    exercises, chapters : list of str, optional
        What to grade (see :func:`select_exercises`); by default the chapters the
        submission defines functions of.
    timeout : float, default 10
        Wall-clock seconds per exercise (and per top-level statement while loading).
    memory_mb : int or None, default 1024
        Address-space cap of the worker; ``None`` for none.
    flag_ebm : bool, default True
        Give 0 points (status ``flagged``) to a check whose function calls ebm's own
        implementation of the exercise.
    student : str, optional
        The name in the results (default: the file name without suffix).

    Returns
    -------
    SubmissionResult

    Raises
    ------
    FileNotFoundError, ValueError
        Only when the grader cannot grade: no such file, or not ``.py``/``.ipynb``.
        Everything the submission does wrong is in the result instead.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no submission at {path}")
    if path.suffix not in SUFFIXES:
        raise ValueError(f"{path} is not a .py or .ipynb file")
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    names = select_exercises([path], exercises=exercises, chapters=chapters)
    student = student or path.stem
    results, problems, output, memory = {}, [], "", ""
    remaining = list(names)
    restarts, started, cpu = -1, time.perf_counter(), 0.0
    load_budget = max(30.0, 3 * timeout)
    with tempfile.TemporaryDirectory(prefix="ebm-grade-") as workdir:
        while remaining:
            restarts += 1
            worker = _Worker(path, remaining, timeout=timeout, memory_mb=memory_mb, flag_ebm=flag_ebm,
                             workdir=workdir)
            current, deadline, loaded = None, time.monotonic() + load_budget + GRACE, False
            while True:
                event = worker.next_event(deadline)
                if event == "timeout" or event == "eof":
                    code, used = worker.stop()
                    cpu += used
                    if current is not None:
                        why = (f"time limit: the exercise ran for more than {timeout:g} s and its process was "
                               "killed" if event == "timeout" else f"{_exit_reason(code)} during this exercise")
                        status = "timeout" if event == "timeout" else "crashed"
                        results[current] = _synthetic(current, status, why, timeout if status == "timeout" else 0)
                        remaining.remove(current)
                    elif not loaded:
                        why = (f"the submission did not finish loading within {load_budget:g} s"
                               if event == "timeout" else f"{_exit_reason(code)} while loading the submission")
                        tail = worker.tail()
                        if tail and event == "eof" and code and code > 0 and "Traceback" in tail:
                            why += f": {tail.splitlines()[-1][:200]}"
                        problems.append(why)
                        for name in remaining:
                            results[name] = _synthetic(name, "crashed" if event == "eof" else "timeout", why)
                        remaining = []
                    break
                kind = event.get("event")
                if kind == "internal_error":
                    worker.stop()
                    raise GraderError(f"the grading worker failed on {path}:\n{event['traceback']}")
                if kind == "loaded":
                    loaded = True
                    if restarts == 0:
                        problems, output, memory = event["problems"], event["output"], event["memory"]
                elif kind == "start":
                    current = event["exercise"]
                    deadline = time.monotonic() + timeout + GRACE
                elif kind == "result":
                    results[event["exercise"]] = ExerciseResult.from_dict(event["result"])
                    remaining.remove(event["exercise"])
                    current = None
                elif kind == "done":
                    cpu += worker.stop()[1]
                    break
    return SubmissionResult(student, str(path), [results[n] for n in names], problems, output,
                            time.perf_counter() - started, cpu, restarts, memory)


# --------------------------------------------------------------------------- output formats


def _check_output(c):
    parts = [c.message] if c.message else []
    if c.tolerance and c.status == "failed":
        parts.append(f"tolerance: {c.tolerance}")
    parts += [f"hint: {m}" for _, m in c.hints]
    if c.warnings:
        parts.append("warnings: " + "; ".join(c.warnings))
    if c.output:
        parts.append("printed:\n" + c.output)
    return "\n".join(parts) or "passed"


def gradescope_results(sub, *, hidden_visibility="after_due_date"):
    """The submission as Gradescope's ``results.json`` (a dict).

    Top level: ``score``, ``max_score``, ``execution_time``, ``output`` (loading
    problems and flags), ``visibility`` and ``tests``.  One test per check:
    ``name`` is ``"<exercise>: <check>"``, ``score``/``max_score`` its points,
    ``status`` ``"passed"``/``"failed"``, ``output`` the message (expected against
    got, tolerance, hints, printed output), ``visibility`` ``"visible"`` for public
    checks and ``hidden_visibility`` for hidden ones, plus ``number``, ``tags`` and
    ``extra_data`` (the grader's own status and hint keys).
    """
    if hidden_visibility not in ("hidden", "after_due_date", "after_published", "visible"):
        raise ValueError(f"hidden_visibility must be one of hidden, after_due_date, after_published, "
                         f"visible; got {hidden_visibility!r}")
    tests = []
    for k, ex in enumerate(sub.exercises, 1):
        for j, c in enumerate(ex.checks, 1):
            tests.append({
                "name": f"{ex.exercise}: {c.description}",
                "number": f"{k}.{j}",
                "score": c.points,
                "max_score": c.max_points,
                "status": "passed" if c.passed else "failed",
                "output": _check_output(c),
                "visibility": hidden_visibility if c.hidden else "visible",
                "tags": [ex.chapter, ex.exercise],
                "extra_data": {"exercise": ex.exercise, "status": c.status, "hints": [h for h, _ in c.hints],
                               "hidden": c.hidden},
            })
    lines = [f"{sub.student}: {sub.score:g} / {sub.max_score:g} points"]
    lines += [f"problem while loading: {p}" for p in sub.problems]
    lines += [f"flagged: {f}" for f in sub.flags or []]
    return {"score": sub.score, "max_score": sub.max_score, "execution_time": round(sub.seconds, 3),
            "output": "\n".join(lines), "visibility": "visible", "stdout_visibility": "hidden",
            "tests": tests}


def prairielearn_results(sub, *, hidden_visibility="after_due_date"):
    """The submission in PrairieLearn's external-grader format (a dict).

    ``score`` is the fraction ``score / max_score`` in [0, 1]; each test has ``name``,
    ``description`` (the grader's status), ``points``, ``max_points``, ``message`` and
    ``output``.  PrairieLearn shows every test, so unless ``hidden_visibility`` is
    ``"visible"`` a hidden check's message is only ``hidden check: passed/failed``.
    """
    gs = gradescope_results(sub, hidden_visibility=hidden_visibility)
    tests = []
    for t in gs["tests"]:
        message = t["output"]
        if t["extra_data"]["hidden"] and hidden_visibility != "visible":
            message = f"hidden check: {t['status']}"
        tests.append({"name": t["name"], "description": t["extra_data"]["status"], "points": t["score"],
                      "max_points": t["max_score"], "message": message, "output": ""})
    return {"gradable": True, "score": (sub.score / sub.max_score) if sub.max_score else 0.0,
            "message": gs["output"], "output": sub.output, "tests": tests}


# --------------------------------------------------------------------------- a class


def hint_counts(results):
    """``[(exercise, mistake, students)]``: how many students each mistake hit, most first.

    A mistake is a hint key, or a status that is not a plain pass/fail
    (``timeout``, ``crashed``, ``error``, ``not_implemented``, ``flagged``...); a
    student counts once per exercise however many checks it hit.
    """
    counts = {}
    for sub in results:
        if sub.grader_error:
            continue
        for ex in sub.exercises:
            keys = set(ex.hint_keys)
            keys |= {c.status for c in ex.checks if c.status not in ("passed", "failed")}
            for key in keys:
                counts[(ex.exercise, key)] = counts.get((ex.exercise, key), 0) + 1
    order = {ex.name: n for n, ex in enumerate(registry())}
    return sorted(((e, k, n) for (e, k), n in counts.items()), key=lambda r: (order.get(r[0], 0), -r[2], r[1]))


_STATUS_KINDS = {"error", "not_implemented", "missing", "timeout", "exited", "crashed", "flagged", "not_run"}


def plot_hint_counts(results, path=None):
    """A horizontal bar chart of :func:`hint_counts` (one bar per exercise and mistake)."""
    import matplotlib.pyplot as plt

    rows = hint_counts(results)
    n_students = len(results)
    height = max(2.5, 0.32 * len(rows) + 1.2)
    fig, ax = plt.subplots(figsize=(8, height))
    if not rows:
        ax.text(0.5, 0.5, "no mistakes recognised: every check passed", ha="center", va="center")
        ax.set_axis_off()
    else:
        from matplotlib.patches import Patch
        from matplotlib.ticker import MaxNLocator

        exercises = list(dict.fromkeys(r[0] for r in rows))
        colors = plt.get_cmap("tab10")
        rows = rows[::-1]                                     # the first exercise on top
        for y, (e, k, n) in enumerate(rows):
            status = k in _STATUS_KINDS
            ax.barh(y, n, color=colors(exercises.index(e) % 10), alpha=0.45 if status else 1.0,
                    hatch="//" if status else None, edgecolor="0.3" if status else "none")
            ax.text(n + 0.01 * max(n_students, 1), y, str(n), va="center", fontsize=8)
        ax.set_yticks(range(len(rows)), [f"{e}: {k}" for e, k, _ in rows], fontsize=8)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlim(0, max(n_students, 1) * 1.05)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(f"students (of {n_students}) with this mistake on this exercise")
        ax.legend(handles=[Patch(color="0.5", label="a recognised mistake (hint)"),
                           Patch(facecolor="0.5", alpha=0.45, hatch="//", edgecolor="0.3",
                                 label="how the code failed (error, timeout, crash...)")],
                  loc="lower right", fontsize=8, framealpha=0.9)
    ax.set_title("What to re-teach: recognised mistakes per exercise", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def _safe_name(student):
    return re.sub(r"[^\w.-]+", "_", student) or "student"


def write_results(sub, out, *, fmt="gradescope", hidden_visibility="after_due_date"):
    """Write ``results.json`` for one submission to ``out`` (a file path); return it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = (prairielearn_results(sub, hidden_visibility=hidden_visibility) if fmt == "prairielearn"
            else gradescope_results(sub, hidden_visibility=hidden_visibility))
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return out


def grade_directory(directory, out, *, exercises=None, chapters=None, timeout=10.0, memory_mb=1024,
                    flag_ebm=True, jobs=None, progress=False, fmt="gradescope",
                    hidden_visibility="after_due_date"):
    """Grade every submission in ``directory`` in parallel; write the files listed above.

    Parameters are those of :func:`grade_submission`, plus ``jobs`` (worker
    processes at once; default the number of CPUs), ``progress`` (a bar) and
    ``fmt`` (``"gradescope"`` or ``"prairielearn"`` results files).

    Returns
    -------
    list of SubmissionResult
        In the order of :func:`find_submissions`.  A submission the grader itself
        failed on has ``grader_error`` set and no ``results.json``.
    """
    from ebm._progress import progress_bar

    directory, out = Path(directory), Path(out)
    if not directory.is_dir():
        raise FileNotFoundError(f"no submission folder at {directory}")
    found = find_submissions(directory)
    names = select_exercises([p for _, p in found], exercises=exercises, chapters=chapters)
    jobs = jobs or os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    out.mkdir(parents=True, exist_ok=True)
    with progress_bar(progress, len(found), "grading") as bar, ThreadPoolExecutor(jobs) as pool:
        def one(item):
            student, path = item
            try:
                sub = grade_submission(path, exercises=names, timeout=timeout, memory_mb=memory_mb,
                                       flag_ebm=flag_ebm, student=student)
            except GraderError as exc:               # no results.json: a 0 would be a false zero
                sub = SubmissionResult(student, str(path), [_synthetic(n, "not_run", "the grader failed")
                                                            for n in names], grader_error=str(exc))
            else:
                write_results(sub, out / _safe_name(student) / "results.json", fmt=fmt,
                              hidden_visibility=hidden_visibility)
            bar.update()
            return sub
        results = list(pool.map(one, found))
    _write_summary(results, names, out / "summary.csv")
    _write_hints(results, out / "hints.csv")
    plot_hint_counts(results, out / "hints.png")
    return results


def _write_summary(results, names, path):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "file", "score", "max_score", *names, "flags", "problems", "seconds",
                    "cpu_seconds"])
        for sub in results:
            by_name = {e.exercise: e for e in sub.exercises}
            w.writerow([sub.student, os.path.basename(sub.path), f"{sub.score:g}", f"{sub.max_score:g}",
                        *[f"{by_name[n].score:g}" for n in names], "; ".join(sub.flags or []),
                        "; ".join(sub.problems + ([f"GRADER FAILED: {sub.grader_error}"] if sub.grader_error
                                                  else [])), f"{sub.seconds:.2f}", f"{sub.cpu_seconds:.2f}"])


def _write_hints(results, path):
    messages = {(ex.name, h.key): h.message for ex in registry() for h in ex.hints}
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["exercise", "mistake", "students", "of", "hint"])
        for exercise, key, n in hint_counts(results):
            w.writerow([exercise, key, n, len(results), messages.get((exercise, key), "")])


def format_hint_table(results):
    """The class-wide table of :func:`hint_counts` as text."""
    rows = hint_counts(results)
    if not rows:
        return "no mistakes recognised: every check passed"
    w1 = max(len("exercise"), *(len(r[0]) for r in rows))
    w2 = max(len("mistake"), *(len(r[1]) for r in rows))
    lines = [f"{'exercise':{w1}s}  {'mistake':{w2}s}  students", f"{'-' * w1}  {'-' * w2}  --------"]
    lines += [f"{e:{w1}s}  {k:{w2}s}  {n} of {len(results)}" for e, k, n in rows]
    return "\n".join(lines)

"""The batch grader: each submission in its own sandbox, every score computed here.

:func:`grade_submission` grades one ``.py`` or ``.ipynb`` file; :func:`grade_directory`
grades a class (one file per student) in parallel and writes, under ``out``::

    <student>/results.json     Gradescope's format (or PrairieLearn's)
    summary.csv                one row per student: total, per-exercise scores, flags
    hints.csv                  how many students each mistake (hint) hit, per exercise
    hints.png                  the same as a figure: what to re-teach

POSIX only (Linux or macOS): the sandbox needs ``fork``, ``setsid``, resource
limits, ``flock`` and, for its strongest form, Linux namespaces.  Importing this
module elsewhere raises RuntimeError naming the requirement
(:func:`ebm.grading._platform.require_posix`), before the sandbox is imported.

How a submission is graded:

- **What** comes from the instructor: ``exercises``, ``chapters`` or an assignment
  file; never from the text of a submission.
- **Where**: the submission's bytes are read once (no symbolic link followed,
  at most :data:`MAX_SUBMISSION_BYTES`), before any student code runs, and each
  sandbox gets a copy of its own file only (:mod:`ebm.grading._sandbox`).
- **Who computes what**: the worker in the sandbox loads the submission and
  calls its functions on the inputs the checks send; the return values come
  back as plain data.  Expected values, comparisons, hints and points are all
  computed here, by code the student cannot reach.
- **Time**: each exercise has ``timeout`` seconds of calls; the whole submission
  has one fixed budget (loading plus every exercise's timeout), and no deadline
  ever moves later.  A worker that dies or must be killed is replaced for the
  exercises that are left, at most ``max_restarts`` times.
- **The end**: when a submission is done, every process it started is killed
  (the launcher's job), and only then are its results written, atomically.

Every failure costs only the exercises it touches and is reported as what it
was (statuses in :data:`ebm.grading.STATUSES`).
"""

from __future__ import annotations

import inspect
import os
import queue
import re
import shutil
import stat
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ebm.grading import _posix_only  # noqa: F401  (first: off POSIX it raises RuntimeError naming the need)
from ebm.grading._exercise import CHAPTER_ORDER, get, registry
from ebm.grading._harness import CheckResult, ExerciseResult, RemoteFunction, _missing, run_checks
from ebm.grading._sandbox import GRACE, Sandbox, SandboxLost, isolation_summary
from ebm.grading.results import (
    format_hint_table,
    gradescope_results,
    hint_counts,
    plot_hint_counts,
    prairielearn_results,
    write_hints,
    write_results,
    write_summary,
)

__all__ = [
    "GraderError",
    "SubmissionResult",
    "grade_submission",
    "grade_directory",
    "gradescope_results",
    "prairielearn_results",
    "write_results",
    "hint_counts",
    "plot_hint_counts",
    "format_hint_table",
    "find_submissions",
    "resolve_assignment",
    "assignment_for_file",
    "read_submission",
    "student_folders",
    "SUFFIXES",
    "MAX_SUBMISSION_BYTES",
    "MAX_RESTARTS",
]

SUFFIXES = (".py", ".ipynb")
#: Largest submission file read (bytes).
MAX_SUBMISSION_BYTES = 8 * 2**20
#: Workers replaced at most this many times per submission.
MAX_RESTARTS = 3
#: Names in the output folder that a student's folder may not take.
RESERVED = {"summary.csv", "hints.csv", "hints.png"}


class GraderError(RuntimeError):
    """The grader itself failed (not the submission): the submission could not be graded."""


@dataclass
class SubmissionResult:
    """Everything the grader learned about one submission.

    ``problems`` lists what went wrong while loading it (a syntax error, an
    exception or ``sys.exit`` at top level, a refused action...); ``flags`` the
    exercises whose function reached for ebm or the grader; ``restarts`` counts
    worker processes that had to be replaced; ``survivors`` processes still alive
    after the sandbox was taken down (always 0 unless something is badly wrong);
    ``isolation`` says which walls the sandbox had; ``folder`` is the student's
    folder under the class's output.
    """

    student: str
    path: str
    exercises: list
    problems: list = field(default_factory=list)
    output: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    restarts: int = 0
    isolation: str = ""
    grader_error: str = ""
    survivors: int = 0
    folder: str = ""

    @property
    def score(self):
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self):
        return sum(e.max_score for e in self.exercises)

    @property
    def flags(self):
        """``"<exercise>: ..."`` for each flagged exercise."""
        return list(
            dict.fromkeys(
                f"{e.exercise}: reached for ebm's implementation or the grader"
                for e in self.exercises
                for c in e.checks
                if c.status == "flagged"
            )
        )


# --------------------------------------------------------------------------- what to grade


def resolve_assignment(exercises=None, chapters=None, assignment=None):
    """The exercise names the instructor asked for, in the story's order within each source.

    Parameters
    ----------
    exercises, chapters : list of str, optional
    assignment : path, optional
        A text file: one exercise name or chapter key per line (``#`` starts a comment).

    Raises
    ------
    ValueError
        When nothing is asked for (the grader never guesses from a submission).
    KeyError
        For an unknown exercise or chapter.
    """
    names = []
    if assignment is not None:
        text = Path(assignment).read_text(encoding="utf-8")
        chapter_keys = {ex.chapter for ex in registry()}
        for line in text.splitlines():
            token = line.split("#", 1)[0].strip()
            if not token:
                continue
            if token in chapter_keys:
                names += [ex.name for ex in registry(token)]
            else:
                names.append(get(token).name)
    for name in exercises or ():
        names.append(get(name).name)
    if chapters:
        names += [ex.name for ex in registry(chapters)]
    names = list(dict.fromkeys(names))
    if not names:
        raise ValueError(
            "say what to grade: --chapter KEY, --exercise NAME or --assignment FILE "
            "(the grader never infers the assignment from a submission)"
        )
    return names


def assignment_for_file(path):
    """The exercises of the chapter an exercise notebook's file name names (``05_softmax_loss.ipynb``), or None."""
    stem = Path(path).stem
    for chapter, order in CHAPTER_ORDER.items():
        if stem == f"{order // 10:02d}_{chapter}":
            return [ex.name for ex in registry(chapter)]
    return None


def read_submission(path):
    """The bytes of the submission at ``path``: a regular file (no symbolic link), at most the size cap."""
    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if os.path.islink(path):
            raise ValueError(f"{path} is a symbolic link, not a submission file") from None
        raise FileNotFoundError(f"no submission at {path} ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError(f"{path} is not a regular file")
        data = f.read(MAX_SUBMISSION_BYTES + 1)
    if len(data) > MAX_SUBMISSION_BYTES:
        raise ValueError(f"{path} is larger than {MAX_SUBMISSION_BYTES // 2**20} MiB")
    return data


def find_submissions(directory):
    """``[(student, path)]``: each ``.py``/``.ipynb`` entry directly in ``directory``.

    The student is the file name without its suffix (the whole name when two
    files share a stem).  Names starting with ``.`` or ``_`` are skipped.
    Symbolic links are listed too: reading them fails, which is reported for
    that student.
    """
    directory = Path(directory)
    found = sorted(
        p
        for p in directory.iterdir()
        if (p.is_symlink() or p.is_file()) and p.suffix in SUFFIXES and not p.name.startswith((".", "_"))
    )
    stems = [p.stem for p in found]
    return [(p.stem if stems.count(p.stem) == 1 else p.name, p) for p in found]


def _safe_name(student):
    name = re.sub(r"[^\w.-]+", "_", student, flags=re.ASCII).strip(".") or "student"
    return name[:80]


def student_folders(students):
    """``{student: folder}``: a safe, distinct folder name for each (case-insensitively), never a reserved one."""
    taken, out = {n.lower() for n in RESERVED}, {}
    for student in students:
        base = _safe_name(student)
        name, k = base, 1
        while name.lower() in taken:
            k += 1
            name = f"{base}-{k}"
        taken.add(name.lower())
        out[student] = name
    return out


# --------------------------------------------------------------------------- one submission


def _synthetic(name, status, message):
    ex = get(name)
    return ExerciseResult(
        ex.name,
        ex.chapter,
        [
            CheckResult(
                ex.name, c.description, 0.0, c.points, c.hidden, status, message if k == 0 else f"not run: {message}"
            )
            for k, c in enumerate(ex.checks)
        ],
    )


def _groups(names, allow_ebm):
    """Exercises that can share one worker: same ebm policy (allowed or not, and which modules stay out)."""
    groups = {}
    for name in names:
        ex = get(name)
        allowed = bool(allow_ebm or ex.allow_ebm)
        key = (allowed, tuple(ex.forbidden_modules) if allowed else ())
        groups.setdefault(key, []).append(name)
    return list(groups.items())


_LOST_STATUS = {"timeout": "timeout", "exited": "crashed", "malformed": "malformed"}


@dataclass(frozen=True)
class _Run:
    """How one submission is run: who it is, every limit, where its sandbox stands.

    The fields are :func:`grade_submission`'s keyword options after ``assignment``, and
    their defaults are written here only (its docstring says what each means).  What
    :func:`_grade` gets has the defaults that depend on the submission resolved --
    ``student`` a name, ``timeout`` a float, ``load_timeout`` the whole loading budget in
    seconds -- and is frozen before any of the submission's code runs.
    """

    timeout: float = 10.0
    load_timeout: float | None = None
    memory_mb: int | None = 1024
    allow_ebm: bool = False
    student: str | None = None
    isolation: str = "auto"
    slot: int = 0
    parent: str | None = None
    extra_protected: tuple = ()
    max_restarts: int = MAX_RESTARTS


_RUN_OPTIONS = tuple(f.name for f in fields(_Run))


def grade_submission(path=None, *, data=None, name=None, exercises=None, chapters=None, assignment=None, **options):
    """Grade one ``.py`` or ``.ipynb`` submission in a sandbox.

    Parameters
    ----------
    path : str or Path
        The submission.  (Or ``data``, its bytes, with ``name``, its file name.)
    exercises, chapters, assignment
        What to grade (see :func:`resolve_assignment`).  When none is given, an
        exercise notebook's file name (``05_softmax_loss.ipynb``) names its chapter.
    timeout : float, default 10
        Wall-clock seconds of calls per exercise (and per top-level statement while loading).
    load_timeout : float, optional
        Wall-clock seconds for loading the whole submission (default ``max(30, 3 * timeout)``).
        A lecture handed in whole runs its demonstrations while loading: allow a few minutes.
    memory_mb : int or None, default 1024
        Address-space cap of the worker (hard); ``None`` or 0 for none.
    allow_ebm : bool, default False
        Let every exercise's function import ebm (never ``ebm.grading``).
    student : str, optional
        The name in the results (default: the file name without suffix).
    isolation : {"auto", "process"}
        See :class:`ebm.grading._sandbox.Sandbox`.
    slot, parent, extra_protected
        Set by :func:`grade_directory` (the slot's user id, the class's folder, what to hide).
    max_restarts : int, default 3

    Returns
    -------
    SubmissionResult

    Raises
    ------
    FileNotFoundError, ValueError
        Only when the grader cannot grade: no such file, not ``.py``/``.ipynb``,
        no assignment.  Everything the submission does wrong is in the result.
    GraderError
        The grader itself failed.
    """
    _refuse_unknown("grade_submission", options, _RUN_OPTIONS)
    run = _Run(**options)
    if data is None:
        if path is None:
            raise ValueError("give the submission's path (or its data and name)")
        path = Path(path)
        if path.suffix not in SUFFIXES:
            raise ValueError(f"{path} is not a .py or .ipynb file")
        data, name = read_submission(path), path.name
    name = name or (Path(path).name if path is not None else "submission.py")
    if Path(name).suffix not in SUFFIXES:
        raise ValueError(f"{name} is not a .py or .ipynb file")
    for label, value in (("timeout", run.timeout), ("load_timeout", run.load_timeout)):
        if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0):
            raise ValueError(f"{label} must be a positive number of seconds, got {value!r}")
    if run.timeout is None:
        raise ValueError("timeout must be a positive number of seconds, got None")
    if exercises or chapters or assignment is not None:
        names = resolve_assignment(exercises, chapters, assignment)
    else:
        names = assignment_for_file(name)
        if names is None:
            resolve_assignment()  # raises: say what to grade
    run = replace(
        run,
        student=run.student or Path(name).stem,
        timeout=float(run.timeout),
        load_timeout=float(run.load_timeout or max(30.0, 3 * run.timeout)),
    )
    safe = re.sub(r"[^\w.-]+", "_", Path(name).stem, flags=re.ASCII)[:60] + Path(name).suffix
    try:
        return _grade(data, safe, names, str(path or name), run)
    except GraderError:
        raise
    except Exception as exc:
        raise GraderError(
            f"the grader failed on {name}: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        ) from exc


def _grade(data, name, names, path, run):
    student, timeout, load_budget, max_restarts = run.student, run.timeout, run.load_timeout, run.max_restarts
    started = time.monotonic()
    deadline = started + load_budget + len(names) * (timeout + GRACE)
    results, problems, output = {}, [], ""
    state = {"restarts": 0, "cpu": 0.0, "survivors": 0, "isolation": {}, "loaded": False}
    halted = None  # set when the rest of the submission cannot be graded

    def stop(box):
        report = box.stop()
        state["cpu"] += report.cpu_seconds
        state["survivors"] += report.survivors
        state["isolation"] = report.isolation or state["isolation"]

    for (allowed, blocked), group in _groups(names, run.allow_ebm):
        pending, box, loaded, starts = list(group), None, None, 0
        while pending and halted is None:
            if box is None:
                if starts and state["restarts"] >= max_restarts:
                    halted = (
                        "crashed",
                        f"the worker had to be replaced {max_restarts} times; the rest of the "
                        "submission was not graded",
                    )
                    break
                if time.monotonic() >= deadline:
                    halted = ("timeout", f"the submission's time budget ({deadline - started:.0f} s) ran out")
                    break
                state["restarts"] += starts > 0
                starts += 1
                box = Sandbox(
                    {name: data},
                    functions=group,
                    memory_mb=run.memory_mb,
                    cpu_seconds=deadline - started + 5,
                    statement_timeout=timeout,
                    load_budget=load_budget,
                    allow_ebm=allowed,
                    blocked_modules=blocked,
                    extra_protected=run.extra_protected,
                    slot=run.slot,
                    parent=run.parent,
                    isolation=run.isolation,
                )
                try:
                    loaded = box.start(min(deadline, time.monotonic() + load_budget + GRACE))
                except SandboxLost as lost:
                    stop(box)
                    why = (
                        f"the submission did not finish loading within {load_budget:g} s"
                        if lost.kind == "timeout"
                        else f"{lost.detail} while loading the submission"
                    )
                    if lost.kind == "exited" and getattr(box, "log_tail", ""):
                        last = box.log_tail.splitlines()[-1][:200]
                        if "Traceback" in box.log_tail or "Error" in last:
                            why += f": {last}"
                    problems.append(why)
                    halted = (_LOST_STATUS[lost.kind], why)
                    break
                except RuntimeError as exc:
                    stop(box)
                    raise GraderError(str(exc)) from exc
                if not state["loaded"]:
                    state["loaded"] = True
                    problems += loaded["problems"]
                    output = loaded["output"]
                    problems += [f"refused while loading: {text}" for _, text in loaded["refused"]]
            exercise = get(pending.pop(0))
            kind = loaded["functions"][exercise.name]
            if kind is None or kind:  # not defined, or not a function
                result = ExerciseResult(exercise.name, exercise.chapter, _missing(exercise, exercise.checks, kind))
                if kind is None and problems:
                    for c in result.checks:
                        c.message += f" (loading the submission had problems: {problems[0]})"
                results[exercise.name] = result
                continue
            remote = RemoteFunction(box.call, exercise, budget=timeout, deadline=deadline, grace=GRACE)
            checks, lost = run_checks(exercise, exercise.checks, remote, timeout=timeout)
            results[exercise.name] = ExerciseResult(exercise.name, exercise.chapter, checks)
            problems += [f"{exercise.name}: refused: {text}" for text in dict.fromkeys(remote.refused)]
            if lost is not None:
                stop(box)
                box = None
                if lost.status == "malformed":
                    halted = (
                        "malformed",
                        f"not graded: an earlier exercise's process sent a malformed message ({lost.message})",
                    )
        if box is not None:
            stop(box)
    for n in names:
        if n not in results:
            status, why = halted or ("not_run", "not run")
            results[n] = _synthetic(n, status, why)
    return SubmissionResult(
        student,
        path,
        [results[n] for n in names],
        problems,
        output,
        time.monotonic() - started,
        state["cpu"],
        state["restarts"],
        isolation_summary(state["isolation"]),
        survivors=state["survivors"],
        folder=student_folders([student])[student],
    )


# --------------------------------------------------------------------------- a class


def _refuse_unknown(function, given, allowed):
    """``TypeError`` naming the keyword options in ``given`` that ``function`` does not take, and the ones it does."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise TypeError(f"{function}() got unexpected keyword argument(s) {unknown}; it takes {tuple(allowed)}")


def _with_options_of(function, source, names):
    """``function``'s signature with its ``**`` parameter replaced by ``source``'s parameters ``names``
    (keyword-only, without annotations)."""
    own = [p for p in inspect.signature(function).parameters.values() if p.kind is not p.VAR_KEYWORD]
    theirs = inspect.signature(source).parameters
    options = [
        theirs[n].replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=inspect.Parameter.empty) for n in names
    ]
    return inspect.signature(function).replace(parameters=own + options)


# The run's options, with their defaults, shown as grade_submission's own (help, Jupyter's ``?``).
grade_submission.__signature__ = _with_options_of(grade_submission, _Run, _RUN_OPTIONS)


#: The keyword options of :func:`grade_submission` that :func:`grade_directory` hands
#: to every submission unchanged; their defaults are written once, in that signature.
_PER_SUBMISSION = ("timeout", "load_timeout", "memory_mb", "allow_ebm", "isolation", "max_restarts")


def grade_directory(
    directory,
    out,
    *,
    exercises=None,
    chapters=None,
    assignment=None,
    jobs=None,
    progress=False,
    fmt="gradescope",
    hidden_visibility="after_due_date",
    **per_submission,
):
    """Grade every submission in ``directory`` in parallel; write the files listed above.

    Parameters are those of :func:`grade_submission` (``timeout``, ``load_timeout``,
    ``memory_mb``, ``allow_ebm``, ``isolation``, ``max_restarts``, with its
    defaults; an unknown name raises TypeError), plus ``jobs`` (sandboxes at
    once; default the number of CPUs), ``progress`` (a bar), ``fmt``
    (``"gradescope"`` or ``"prairielearn"``) and ``hidden_visibility``.  The
    assignment is required.

    Every submission gets ``<folder>/results.json`` and one row of
    ``summary.csv``, from the same result, even when the grader failed on it
    (then its ``grader_error`` says so and the run's CLI exit status is 1).

    Returns
    -------
    list of SubmissionResult
        In the order of :func:`find_submissions`.
    """
    from ebm._progress import progress_bar

    _refuse_unknown("grade_directory", per_submission, _PER_SUBMISSION)
    directory, out = Path(directory), Path(out)
    if not directory.is_dir():
        raise FileNotFoundError(f"no submission folder at {directory}")
    names = resolve_assignment(exercises, chapters, assignment)
    jobs = jobs or os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    found = find_submissions(directory)
    folders = student_folders([s for s, _ in found])
    staged = {}
    for student, path in found:  # read-only copies, before any student code runs
        try:
            staged[student] = read_submission(path)
        except (OSError, ValueError) as exc:
            staged[student] = exc
    out.mkdir(parents=True, exist_ok=True)
    staging = tempfile.mkdtemp(prefix="ebm-grade-")
    os.chmod(staging, 0o711)
    slots = queue.Queue()
    for k in range(jobs):
        slots.put(k)
    protect = [os.path.realpath(directory), os.path.realpath(out)]

    def one(item):
        student, path = item
        slot = slots.get()
        try:
            data = staged[student]
            if isinstance(data, Exception):
                sub = SubmissionResult(
                    student,
                    str(path),
                    [_synthetic(n, "missing", f"the submission could not be read: {data}") for n in names],
                    problems=[f"could not read the submission: {data}"],
                )
            else:
                sub = grade_submission(
                    data=data,
                    name=path.name,
                    exercises=names,
                    student=student,
                    slot=slot,
                    parent=staging,
                    extra_protected=protect,
                    **per_submission,
                )
        except Exception as exc:  # the grader failed: said so, still one file and row
            sub = SubmissionResult(
                student,
                str(path),
                [_synthetic(n, "not_run", "the grader failed") for n in names],
                grader_error=str(exc) or repr(exc),
            )
        finally:
            slots.put(slot)
        sub.folder = folders[student]
        write_results(sub, out / sub.folder / "results.json", fmt=fmt, hidden_visibility=hidden_visibility)
        bar.update()
        return sub

    try:
        with progress_bar(progress, len(found), "grading") as bar, ThreadPoolExecutor(jobs) as pool:
            results = list(pool.map(one, found))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_summary(results, names, out / "summary.csv")
    write_hints(results, out / "hints.csv")
    plot_hint_counts(results, out / "hints.png")
    return results


# The options handed on, with grade_submission's defaults, shown as grade_directory's own (help, Jupyter's ``?``).
grade_directory.__signature__ = _with_options_of(grade_directory, grade_submission, _PER_SUBMISSION)

"""Run an exercise's checks on a student's function: the checks run here, the function may not.

The checks (inputs, expected values, comparisons, hints, points) always run in
this process.  The student's function is reached through one of two wrappers
with the same interface:

- :class:`StudentFunction` calls a function of this process (the in-notebook
  :func:`ebm.grading.check`, in the student's own kernel);
- :class:`RemoteFunction` asks the grader's sandbox to call it
  (:mod:`ebm.grading._sandbox`) and gets back plain data: the return value, the
  arguments after the call, what was printed, what went wrong.

Either way a call gets copies of the arguments, modifying them fails the check,
warnings and printed output are captured, and a failed comparison is explained
by the exercise's hints.
"""

from __future__ import annotations

import builtins
import copy
import importlib.machinery
import importlib.util
import os
import sys
import time
import traceback
import warnings
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import numpy as np

from ebm.grading._capture import BoundedText, ExerciseTimeout, alarm, captured
from ebm.grading._exercise import Attempt, get
from ebm.grading.compare import Mismatch

__all__ = [
    "CheckResult",
    "ExerciseResult",
    "run_exercise",
    "run_checks",
    "select_checks",
    "StudentFunction",
    "RemoteFunction",
    "ExerciseTimeout",
    "WorkerLost",
    "STATUSES",
]

#: Every status a check can end in.
STATUSES = (
    "passed",
    "failed",
    "error",
    "not_implemented",
    "missing",
    "timeout",
    "exited",
    "crashed",
    "flagged",
    "malformed",
    "not_run",
)


class StudentError(Exception):
    """The student's code raised; ``info`` describes it (type, message, where, kind, exit_code)."""

    def __init__(self, info):
        super().__init__(f"{info.get('type')}: {info.get('message')}")
        self.info = info


class StudentException(Exception):
    """Stands for an exception raised in the sandbox (``Attempt.error`` of a graded call)."""

    def __init__(self, type_name, message):
        super().__init__(message)
        self.type_name = type_name


class CallsEbm(Exception):
    """The student's function reached for ebm's own implementation (or the grader)."""


class WorkerLost(BaseException):
    """The sandbox cannot answer any more: ``status`` is ``timeout``, ``crashed`` or ``malformed``."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class CheckResult:
    """The outcome of one check.

    ``status`` is one of :data:`STATUSES`; ``hints`` lists ``(key, message)`` of the
    recognised mistakes; ``output`` is what the student's code printed (truncated).
    """

    exercise: str
    description: str
    points: float
    max_points: float
    hidden: bool
    status: str
    message: str = ""
    tolerance: str = ""
    hints: list = field(default_factory=list)
    output: str = ""
    warnings: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self):
        return self.status == "passed"

    def to_dict(self):
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data):
        data = dict(data)
        data["hints"] = [tuple(h) for h in data.get("hints", [])]
        return cls(**data)


@dataclass
class ExerciseResult:
    """All checks of one exercise for one submission."""

    exercise: str
    chapter: str
    checks: list

    @property
    def score(self):
        return sum(c.points for c in self.checks)

    @property
    def max_score(self):
        return sum(c.max_points for c in self.checks)

    @property
    def hint_keys(self):
        return list(dict.fromkeys(k for c in self.checks for k, _ in c.hints))

    def to_dict(self):
        return {"exercise": self.exercise, "chapter": self.chapter, "checks": [c.to_dict() for c in self.checks]}

    @classmethod
    def from_dict(cls, data):
        return cls(data["exercise"], data["chapter"], [CheckResult.from_dict(c) for c in data["checks"]])


# --------------------------------------------------------------------------- ebm's own implementation


def _module_file(name):
    """The file that defines module ``name``, or ``None``; nothing is imported.

    ``importlib.util.find_spec("a.b.c")`` would import ``a.b`` (and an era's package
    imports Numba), so each package on the way is looked up on its parent's path
    unless it is imported already.
    """
    spec, path = None, None
    parts = name.split(".")
    for k in range(1, len(parts) + 1):
        prefix = ".".join(parts[:k])
        module = sys.modules.get(prefix)
        spec = getattr(module, "__spec__", None) if module is not None else None
        if spec is None:
            spec = (
                importlib.util.find_spec(prefix) if k == 1 else importlib.machinery.PathFinder.find_spec(prefix, path)
            )
        if spec is None:
            return None
        path = spec.submodule_search_locations
        if path is None and k < len(parts):  # a module, not a package, on the way
            return None
    return spec.origin


def _forbidden_codes(specs):
    """``{(qualname, realpath of file)}`` for ``"module:qualname"`` specs, without importing."""
    out = set()
    for spec in specs:
        module, _, qualname = spec.partition(":")
        if not module or not qualname:
            raise ValueError(f"forbid entry {spec!r} must be 'module:qualname'")
        origin = _module_file(module)
        if not origin:  # no such module: nothing to call
            continue
        out.add((qualname, os.path.realpath(origin)))
    return out


@contextmanager
def _watch_calls(codes, found):
    """While active, append ``module-file:qualname`` to ``found`` for each call of a forbidden code."""
    if not codes:
        yield
        return
    names = {q.rsplit(".", 1)[-1] for q, _ in codes}
    real = {}

    def profiler(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if code.co_name not in names:
            return
        path = real.get(code.co_filename)
        if path is None:
            path = real[code.co_filename] = os.path.realpath(code.co_filename)
        if (code.co_qualname, path) in codes:
            found.append(f"{code.co_qualname} ({os.path.relpath(path, _package_root())})")
            raise CallsEbm("stopped at the call")  # before ebm does the work (and unsets this hook)

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        yield
    finally:
        sys.setprofile(previous)


def _package_root():
    import ebm

    return os.path.dirname(os.path.dirname(os.path.realpath(ebm.__file__)))


# --------------------------------------------------------------------------- the wrapped student function


def _first_change(before, after):
    """A description of how ``after`` differs from ``before`` (``None`` if equal)."""
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or after.shape != before.shape:
            return "was replaced"
        same = (
            (before == after) | (np.isnan(before) & np.isnan(after)) if before.dtype.kind in "fc" else before == after
        )
        if np.all(same):
            return None
        idx = tuple(int(k) for k in np.argwhere(~same)[0])
        at = f"[{', '.join(map(str, idx))}]" if idx else ""
        return f"{at} was {before[idx].item()!r:.12}, is now {after[idx].item()!r:.12}"
    if isinstance(before, (list, dict, set)):
        try:
            return None if before == after else "was changed"
        except Exception:
            return "was changed"
    return None


def _student_frame(tb):
    """``"line N, in f"`` of the innermost frame outside ebm.grading, or ``""``."""
    here = os.path.dirname(os.path.realpath(__file__))
    where = ""
    for frame in traceback.extract_tb(tb):
        if not os.path.realpath(frame.filename).startswith(here):
            where = f"line {frame.lineno}, in {frame.name}"
    return where


def exception_info(exc, where=""):
    """An exception of this process described like the sandbox describes one (a dict of text)."""
    info = {"type": type(exc).__name__, "message": str(exc), "where": where}
    for kind in ("NotImplementedError", "MemoryError", "RecursionError", "SystemExit", "KeyboardInterrupt"):
        if isinstance(exc, getattr(builtins, kind)):
            info["kind"] = kind
    if isinstance(exc, SystemExit):
        info["exit_code"] = repr(exc.code)
    return info


def _mutation(name, exercise, before, after):
    change = _first_change(before, after)
    if change:
        raise Mismatch(
            f"{exercise} modified its argument {name!r} in place: {name}{change}. Work on a copy "
            f"({name}.copy()); the caller still needs its array",
            what=name,
            got=after,
            expected=before,
        )


def _bind(params, args, kwargs):
    bound = {}
    for k, value in enumerate(args):
        bound[params[k] if k < len(params) else f"arg{k}"] = value
    bound.update(kwargs)
    return bound


class StudentFunction:
    """The student's ``fn``, in this process, as a check sees it (copies in, mutation and ebm calls caught)."""

    def __init__(self, fn, exercise, *, flag_ebm=True):
        self.fn = fn
        self.exercise = exercise
        self.params = exercise.parameters()
        self.codes = _forbidden_codes(exercise.forbid) if flag_ebm else set()
        self.last = Attempt()
        self.sink = None
        self.ebm_calls = []

    def __call__(self, *args, **kwargs):
        pristine = copy.deepcopy((args, kwargs))
        given_args, given_kwargs = copy.deepcopy((args, kwargs))
        self.last = Attempt(args=_bind(self.params, *pristine))
        found = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with _watch_calls(self.codes, found):
                    result = self.fn(*given_args, **given_kwargs)
            except (ExerciseTimeout, KeyboardInterrupt):
                raise
            except CallsEbm:
                pass  # reported below, from ``found``
            except BaseException as exc:  # SystemExit included
                if found:  # it caught our stop, then failed
                    raise CallsEbm(
                        f"{self.exercise.name} calls ebm's own implementation "
                        f"({', '.join(dict.fromkeys(found))}); write it yourself"
                    ) from None
                self.last.error = exc
                self.last.warnings = _warning_texts(caught)
                raise StudentError(exception_info(exc, _student_frame(exc.__traceback__))) from exc
            else:
                self.last.result = result
        self.last.warnings = _warning_texts(caught)
        if found:
            self.ebm_calls.extend(found)
            raise CallsEbm(
                f"{self.exercise.name} calls ebm's own implementation "
                f"({', '.join(dict.fromkeys(found))}); write it yourself"
            )
        given = _bind(self.params, given_args, given_kwargs)
        for name, before in _bind(self.params, *pristine).items():
            _mutation(name, self.exercise.name, before, given[name])
        return result


class RemoteFunction:
    """The student's function in the grader's sandbox, as a check sees it.

    ``call(name, args, kwargs, timeout=, deadline=)`` is :meth:`Sandbox.call
    <ebm.grading._sandbox.Sandbox.call>`.  The exercise has ``budget`` seconds of
    calls in all (timed here, not by the worker); no call waits past
    ``deadline`` (the submission's, a ``time.monotonic()``).
    """

    def __init__(self, call, exercise, *, budget, deadline, grace=1.0):
        self.call = call
        self.exercise = exercise
        self.params = exercise.parameters()
        self.budget = budget
        self.deadline = deadline
        self.grace = grace
        self.spent = 0.0
        self.last = Attempt()
        self.sink = None
        self.refused = []

    def __call__(self, *args, **kwargs):
        from ebm.grading._sandbox import SandboxLost

        pristine = copy.deepcopy((args, kwargs))
        self.last = Attempt(args=_bind(self.params, *pristine))
        left = min(self.budget - self.spent, self.deadline - time.monotonic())
        if left <= 0:
            raise ExerciseTimeout()
        started = time.monotonic()
        try:
            reply = self.call(
                self.exercise.name,
                args,
                kwargs,
                timeout=left,
                deadline=min(self.deadline + self.grace, started + left + self.grace),
            )
        except SandboxLost as lost:
            self.spent += time.monotonic() - started
            if lost.kind == "timeout":
                raise WorkerLost(
                    "timeout",
                    f"time limit: the exercise ran for more than {self.budget:g} s and its process was killed",
                ) from None
            if lost.kind == "exited":
                raise WorkerLost("crashed", f"{lost.detail} during this exercise") from None
            raise WorkerLost("malformed", lost.detail) from None
        self.spent += time.monotonic() - started
        if self.sink is not None and reply["output"]:
            self.sink.write(reply["output"])
        self.last.warnings = reply["warnings"]
        attempts = [text for kind, text in reply["refused"] if kind == "attempt"]
        self.refused += [text for kind, text in reply["refused"] if kind == "refused"]
        if attempts:
            raise CallsEbm(
                f"{self.exercise.name} tried {attempts[0]}, which the grader refuses: ebm and the "
                "grader are out of reach while grading; write the exercise yourself"
            )
        if reply["status"] == "timeout":
            raise ExerciseTimeout()
        if reply["status"] == "missing":
            raise StudentError(
                {"type": "NameError", "message": f"{self.exercise.name} is no longer defined", "where": ""}
            )
        if reply["status"] == "error":
            info = reply["error"]
            self.last.error = StudentException(info.get("type", "Exception"), info.get("message", ""))
            raise StudentError(info)
        result = reply["value"]
        self.last.result = result
        if reply["args"] is not None:
            given = _bind(self.params, *reply["args"])
            for name, before in _bind(self.params, *pristine).items():
                _mutation(name, self.exercise.name, before, given.get(name))
        return result


def _warning_texts(caught):
    return list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))


# --------------------------------------------------------------------------- running the checks


def _quiet(local):
    """Silence the checks' own NumPy warnings; in this process's thread only, unless ``local``.

    ``warnings.catch_warnings`` changes process-wide state, so the grader, which
    runs several submissions' checks in threads, relies on ``np.errstate``
    (thread-local) alone.
    """
    stack = ExitStack()
    stack.enter_context(np.errstate(all="ignore"))
    if local:
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
    return stack


def _hints_for(ex, attempt, local=True):
    fired = []
    for hint in ex.hints:
        try:
            with _quiet(local):
                hit = bool(hint.detect(attempt))
        except Exception:
            hit = False
        if hit:
            fired.append((hint.key, hint.message))
    return fired


MUTATION_HINT = (
    "mutated_input",
    "the function changed an argument in place: copy an array before "
    "writing into it (x = x.copy()); the caller (Caffe's net) still needs it",
)


def _describe_error(info):
    where = f" (at {info['where']})" if info.get("where") else ""
    kind = info.get("kind")
    if kind == "NotImplementedError":
        return "not_implemented", "not implemented yet: the function raises NotImplementedError"
    if kind == "SystemExit":
        return "exited", f"the function called sys.exit({info.get('exit_code', '')}){where}"
    if kind == "MemoryError":
        return "error", f"the function ran out of memory (MemoryError){where}"
    text = f"{info.get('type', 'Exception')}: {info.get('message', '')}"
    if len(text) > 300:
        text = text[:297] + "..."
    return "error", f"the function raised {text}{where}"


def _missing(ex, checks, fn):
    why = (
        f"no function named {ex.name!r} was found"
        if fn is None
        else f"{ex.name} is a {fn if isinstance(fn, str) else type(fn).__name__}, not a function"
    )
    return [CheckResult(ex.name, c.description, 0.0, c.points, c.hidden, "missing", why) for c in checks]


def run_checks(ex, checks, student, *, timeout=None):
    """Run ``checks`` of exercise ``ex`` through ``student`` (a :class:`StudentFunction` or :class:`RemoteFunction`).

    Returns
    -------
    results : list of CheckResult
    lost : WorkerLost or None
        Set when the sandbox could not go on; the check it happened in has its
        status, and the checks after it are not run.
    """
    results, lost = [], None
    started = time.perf_counter()
    try:
        for check in checks:
            results.append(_run_one(ex, check, student))
    except ExerciseTimeout:
        status, first = (
            "timeout",
            (
                f"time limit: the exercise ran for more than {timeout:g} s (an infinite "
                "loop, or far too slow) during this check"
            ),
        )
        rest = "not run: the exercise ran out of time on an earlier check"
    except WorkerLost as exc:
        lost, status, first = exc, exc.status, exc.message
        rest = f"not run: {exc.message}"
    else:
        return results, None
    seconds = time.perf_counter() - started
    for k, check in enumerate(checks[len(results) :]):
        results.append(
            CheckResult(
                ex.name,
                check.description,
                0.0,
                check.points,
                check.hidden,
                status,
                first if k == 0 else rest,
                seconds=seconds if k == 0 else 0.0,
            )
        )
    return results, lost


def run_exercise(name, fn, *, include_hidden=True, flag_ebm=True, timeout=None, checks=None):
    """Run the checks of exercise ``name`` on ``fn`` in this process; return an :class:`ExerciseResult`.

    Parameters
    ----------
    name : str or Exercise
    fn : callable or None
        The student's function; ``None`` (not defined) fails every check as ``missing``.
    include_hidden : bool, default True
        Also run the hidden checks (the grader does; :func:`ebm.grading.check` does not).
    checks : sequence of str, optional
        Run only the checks with these descriptions (public or hidden, in the
        exercise's order; ``include_hidden`` is then ignored).  An unknown
        description is a ``ValueError`` that lists the exercise's checks.
    flag_ebm : bool, default True
        A function that calls ebm's own implementation of the exercise gets 0 points
        on that check, status ``flagged``.
    timeout : float, optional
        Wall-clock seconds for the whole exercise (main thread, POSIX); the check
        that runs out of time and every check after it get status ``timeout``.
        A loop that catches every exception cannot be stopped in this process
        (the grader's sandbox kills it).
    """
    ex = get(name)
    if checks is not None:
        checks = select_checks(ex, checks)
    else:
        checks = ex.checks if include_hidden else ex.public_checks
    if fn is None or not callable(fn):
        return ExerciseResult(ex.name, ex.chapter, _missing(ex, checks, fn))
    student = StudentFunction(fn, ex, flag_ebm=flag_ebm)
    with alarm(timeout):
        results, _ = run_checks(ex, checks, student, timeout=timeout)
    return ExerciseResult(ex.name, ex.chapter, results)


def select_checks(ex, descriptions):
    """The checks of exercise ``ex`` with these descriptions, in the exercise's order.

    Raises
    ------
    TypeError
        When ``descriptions`` is a single string or holds something else than strings.
    ValueError
        When it is empty or names a check that ``ex`` does not have (the message
        lists the exercise's checks).
    """
    if isinstance(descriptions, str) or not all(isinstance(d, str) for d in descriptions):
        raise TypeError(f"checks must be a sequence of check descriptions (strings), got {descriptions!r}")
    wanted = list(descriptions)
    if not wanted:
        raise ValueError(f"checks names no check of {ex.name!r}")
    known = [c.description for c in ex.checks]
    unknown = [d for d in wanted if d not in known]
    if unknown:
        raise ValueError(f"exercise {ex.name!r} has no check {unknown[0]!r}; its checks: {known}")
    return [c for c in ex.checks if c.description in wanted]


def _run_one(ex, check, student):
    sink = BoundedText()
    student.last = Attempt()
    student.sink = sink
    local = isinstance(student, StudentFunction)  # else: the output comes back from the sandbox
    start = time.perf_counter()
    status, message, tolerance, hints = "passed", "", "", []
    try:
        with ExitStack() as stack:
            if local:  # nothing reaches stderr (sys.stdout is global state)
                stack.enter_context(captured(sink))
                stack.enter_context(warnings.catch_warnings(record=True))
                warnings.simplefilter("always")
            else:
                stack.enter_context(np.errstate(all="ignore"))
            check.run(student)
    except (ExerciseTimeout, WorkerLost):
        raise
    except Mismatch as m:
        status, message, tolerance = "failed", str(m), m.tolerance
        attempt = student.last
        attempt.got, attempt.expected, attempt.what = m.got, m.expected, m.what
        if message.startswith(f"{ex.name} modified its argument"):
            hints = [MUTATION_HINT]
        elif m.hintable:
            hints = _hints_for(ex, attempt, local)
    except CallsEbm as e:
        status, message = "flagged", str(e)
    except StudentError as e:
        status, message = _describe_error(e.info)
        if status in ("error", "exited"):
            hints = _hints_for(ex, student.last, local)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # the check itself could not use the result
        status = "error"
        message = (
            f"checking the result raised {type(e).__name__}: {e} (is the return value of the right type and shape?)"
        )
    return CheckResult(
        ex.name,
        check.description,
        check.points if status == "passed" else 0.0,
        check.points,
        check.hidden,
        status,
        message,
        tolerance,
        hints,
        sink.text(),
        list(student.last.warnings),
        time.perf_counter() - start,
    )

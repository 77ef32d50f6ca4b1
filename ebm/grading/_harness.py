"""Run an exercise's checks on a student's function, in this process.

This is the part shared by the in-notebook :func:`ebm.grading.check` and the
batch grader's worker process (which adds a timeout, a memory cap and process
isolation around it).  The student's function is called through
:class:`StudentFunction`: it gets copies of the arguments, a call that modifies
them fails the check, warnings and printed output are captured, and a call into
ebm's own implementation of the exercise is noticed.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import os
import signal
import sys
import time
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ebm.grading._exercise import Attempt, get
from ebm.grading.compare import Mismatch

__all__ = ["CheckResult", "ExerciseResult", "run_exercise", "ExerciseTimeout", "STATUSES"]

#: Every status a check can end in.
STATUSES = ("passed", "failed", "error", "not_implemented", "missing", "timeout", "exited",
            "crashed", "flagged", "not_run")

#: Characters of captured output kept per check (the rest is counted, not kept).
OUTPUT_LIMIT = 2000


class ExerciseTimeout(BaseException):
    """Raised by the timer when an exercise runs out of time (a BaseException, so a
    student's ``except Exception`` cannot swallow it)."""


class StudentError(Exception):
    """The student's code raised ``exc`` (kept apart from errors in the check itself)."""

    def __init__(self, exc, where):
        super().__init__(f"{type(exc).__name__}: {exc}")
        self.exc = exc
        self.where = where


class CallsEbm(Exception):
    """The student's function called ebm's own implementation of the exercise."""


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
        return {"exercise": self.exercise, "chapter": self.chapter,
                "checks": [c.to_dict() for c in self.checks]}

    @classmethod
    def from_dict(cls, data):
        return cls(data["exercise"], data["chapter"], [CheckResult.from_dict(c) for c in data["checks"]])


# --------------------------------------------------------------------------- output capture


class BoundedText(io.TextIOBase):
    """A text sink that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit=OUTPUT_LIMIT):
        self.limit = limit
        self.parts = []
        self.kept = 0
        self.dropped = 0

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(s[:room])
            self.kept += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self):
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[... {self.dropped} more characters of output not shown]"
        return out


@contextmanager
def _captured(sink):
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = sink
    try:
        yield sink
    finally:
        sys.stdout, sys.stderr = old_out, old_err


# --------------------------------------------------------------------------- ebm's own implementation


def _forbidden_codes(specs):
    """``{(qualname, realpath of file)}`` for ``"module:qualname"`` specs, without importing."""
    out = set()
    for spec in specs:
        module, _, qualname = spec.partition(":")
        if not module or not qualname:
            raise ValueError(f"forbid entry {spec!r} must be 'module:qualname'")
        found = importlib.util.find_spec(module)
        if found is None or not found.origin:         # no such module: nothing to call
            continue
        out.add((qualname, os.path.realpath(found.origin)))
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
            raise CallsEbm("stopped at the call")    # before ebm does the work (and unsets this hook)

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
        same = (before == after) | (np.isnan(before) & np.isnan(after)) if before.dtype.kind in "fc" \
            else before == after
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


class StudentFunction:
    """The student's ``fn`` as a check sees it (copies in, mutation and ebm calls caught)."""

    def __init__(self, fn, exercise, *, flag_ebm=True):
        self.fn = fn
        self.exercise = exercise
        self.params = exercise.parameters()
        self.codes = _forbidden_codes(exercise.forbid) if flag_ebm else set()
        self.last = Attempt()
        self.ebm_calls = []

    def _bind(self, args, kwargs):
        bound = {}
        for k, value in enumerate(args):
            bound[self.params[k] if k < len(self.params) else f"arg{k}"] = value
        bound.update(kwargs)
        return bound

    def __call__(self, *args, **kwargs):
        pristine = copy.deepcopy((args, kwargs))
        given_args, given_kwargs = copy.deepcopy((args, kwargs))
        self.last = Attempt(args=self._bind(*pristine))
        found = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with _watch_calls(self.codes, found):
                    result = self.fn(*given_args, **given_kwargs)
            except (ExerciseTimeout, KeyboardInterrupt):
                raise
            except CallsEbm:
                pass                                        # reported below, from ``found``
            except BaseException as exc:                    # SystemExit included
                if found:                                   # it caught our stop, then failed
                    raise CallsEbm(f"{self.exercise.name} calls ebm's own implementation "
                                   f"({', '.join(dict.fromkeys(found))}); write it yourself") from None
                self.last.error = exc
                self.last.warnings = _warning_texts(caught)
                raise StudentError(exc, _student_frame(exc.__traceback__)) from exc
            else:
                self.last.result = result
        self.last.warnings = _warning_texts(caught)
        if found:
            self.ebm_calls.extend(found)
            raise CallsEbm(f"{self.exercise.name} calls ebm's own implementation "
                           f"({', '.join(dict.fromkeys(found))}); write it yourself")
        given = self._bind(given_args, given_kwargs)
        for name, before in self._bind(*pristine).items():
            change = _first_change(before, given[name])
            if change:
                raise Mismatch(f"{self.exercise.name} modified its argument {name!r} in place: "
                               f"{name}{change}. Work on a copy ({name}.copy()); the caller still "
                               f"needs its array", what=name, got=given[name], expected=before)
        return result


def _warning_texts(caught):
    return list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))


# --------------------------------------------------------------------------- running the checks


@contextmanager
def _alarm(seconds):
    """Raise :class:`ExerciseTimeout` in the main thread after ``seconds`` (POSIX only)."""
    usable = seconds and hasattr(signal, "setitimer") and _in_main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise ExerciseTimeout()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _in_main_thread():
    import threading

    return threading.current_thread() is threading.main_thread()


def _hints_for(ex, attempt):
    fired = []
    for hint in ex.hints:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with np.errstate(all="ignore"):
                    hit = bool(hint.detect(attempt))
        except Exception:
            hit = False
        if hit:
            fired.append((hint.key, hint.message))
    return fired


MUTATION_HINT = ("mutated_input", "the function changed an argument in place: copy an array before "
                 "writing into it (x = x.copy()); the caller (Caffe's net) still needs it")


def _describe_error(err):
    exc = err.exc
    where = f" (at {err.where})" if err.where else ""
    if isinstance(exc, NotImplementedError):
        return "not_implemented", "not implemented yet: the function raises NotImplementedError"
    if isinstance(exc, SystemExit):
        return "exited", f"the function called sys.exit({exc.code!r}){where}"
    if isinstance(exc, MemoryError):
        return "error", f"the function ran out of memory (MemoryError){where}"
    text = f"{type(exc).__name__}: {exc}"
    if len(text) > 300:
        text = text[:297] + "..."
    return "error", f"the function raised {text}{where}"


def run_exercise(name, fn, *, include_hidden=True, flag_ebm=True, timeout=None):
    """Run the checks of exercise ``name`` on ``fn``; return an :class:`ExerciseResult`.

    Parameters
    ----------
    name : str or Exercise
    fn : callable or None
        The student's function; ``None`` (not defined) fails every check as ``missing``.
    include_hidden : bool, default True
        Also run the hidden checks (the grader does; :func:`ebm.grading.check` does not).
    flag_ebm : bool, default True
        A function that calls ebm's own implementation of the exercise gets 0 points
        on that check, status ``flagged``.
    timeout : float, optional
        Wall-clock seconds for the whole exercise (main thread, POSIX); the check
        that runs out of time and every check after it get status ``timeout``.
    """
    ex = get(name)
    checks = ex.checks if include_hidden else ex.public_checks
    results = []
    if fn is None or not callable(fn):
        why = (f"no function named {ex.name!r} was found" if fn is None
               else f"{ex.name} is a {type(fn).__name__}, not a function")
        return ExerciseResult(ex.name, ex.chapter, [
            CheckResult(ex.name, c.description, 0.0, c.points, c.hidden, "missing", why) for c in checks])
    student = StudentFunction(fn, ex, flag_ebm=flag_ebm)
    started = time.perf_counter()
    try:
        with _alarm(timeout):
            for check in checks:
                results.append(_run_one(ex, check, student))
    except ExerciseTimeout:
        seconds = time.perf_counter() - started
        done = len(results)
        msg = (f"time limit: the exercise ran for more than {timeout:g} s (an infinite loop, or far too "
               f"slow) during this check")
        for k, check in enumerate(checks[done:]):
            results.append(CheckResult(ex.name, check.description, 0.0, check.points, check.hidden,
                                       "timeout", msg if k == 0 else "not run: the exercise ran out of time "
                                       "on an earlier check", seconds=seconds if k == 0 else 0.0))
    return ExerciseResult(ex.name, ex.chapter, results)


def _run_one(ex, check, student):
    sink = BoundedText()
    student.last = Attempt()
    start = time.perf_counter()
    status, message, tolerance, hints = "passed", "", "", []
    try:
        with _captured(sink), warnings.catch_warnings(record=True):   # nothing reaches stderr
            warnings.simplefilter("always")
            check.run(student)
    except ExerciseTimeout:
        raise
    except Mismatch as m:
        status, message, tolerance = "failed", str(m), m.tolerance
        attempt = student.last
        attempt.got, attempt.expected, attempt.what = m.got, m.expected, m.what
        if message.startswith(f"{ex.name} modified its argument"):
            hints = [MUTATION_HINT]
        else:
            hints = _hints_for(ex, attempt)
    except CallsEbm as e:
        status, message = "flagged", str(e)
    except StudentError as e:
        status, message = _describe_error(e)
        if status in ("error", "exited"):
            hints = _hints_for(ex, student.last)
    except KeyboardInterrupt:
        raise
    except BaseException as e:        # the check itself could not use the result
        status = "error"
        message = (f"checking the result raised {type(e).__name__}: {e} "
                   "(is the return value of the right type and shape?)")
    return CheckResult(ex.name, check.description, check.points if status == "passed" else 0.0,
                       check.points, check.hidden, status, message, tolerance, hints, sink.text(),
                       list(student.last.warnings), time.perf_counter() - start)

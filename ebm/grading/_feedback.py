"""In-notebook feedback: :func:`check` prints a short table of the public checks."""

from __future__ import annotations

import contextlib
import io
import sys
import textwrap
import warnings

from ebm.grading._exercise import get
from ebm.grading._harness import run_exercise

__all__ = ["check", "assert_check", "format_result", "verify"]

#: Seconds :func:`check` gives a function's checks by default.
CHECK_TIMEOUT = 5.0

#: Seconds :func:`assert_check` gives its checks by default: ``python -m ebm grade``'s default ``--timeout``.
ASSERT_TIMEOUT = 10.0

_MARK = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "not_implemented": "TODO",
    "missing": "MISSING",
    "timeout": "TIMEOUT",
    "exited": "EXIT",
    "crashed": "CRASH",
    "flagged": "FLAGGED",
    "not_run": "NOT RUN",
}


def _points(x):
    return f"{x:g}"


def format_result(result, *, hidden_remaining=0, width=100):
    """The table :func:`check` prints, as a string (see :func:`check`)."""
    passed = sum(c.passed for c in result.checks)
    lines = [
        f"{result.exercise}: {passed} of {len(result.checks)} checks passed "
        f"({_points(result.score)} / {_points(result.max_score)} points)"
    ]
    desc_width = max([len(c.description) for c in result.checks] + [20])
    wrap = dict(width=width, initial_indent=" " * 11, subsequent_indent=" " * 13)
    for c in result.checks:
        tag = "hidden " if c.hidden else ""
        lines.append(
            f"  {_MARK.get(c.status, c.status.upper()):8s} {tag}{c.description:{desc_width}s} "
            f"{_points(c.points)}/{_points(c.max_points)}"
        )
        if c.status != "passed":
            lines += textwrap.wrap(c.message, **wrap) or []
            if c.tolerance:
                lines += textwrap.wrap(f"tolerance: {c.tolerance}", **wrap)
            for _, message in c.hints:
                lines += textwrap.wrap(f"hint: {message}", **wrap)
        if c.warnings:
            lines += textwrap.wrap("warnings: " + "; ".join(c.warnings), **wrap)
        if c.output:
            lines.append(" " * 11 + "printed:")
            lines += [" " * 13 + line for line in c.output.splitlines()[:10]]
    if all(c.passed for c in result.checks):
        if hidden_remaining:
            lines.append(
                f"all public checks passed; {hidden_remaining} hidden check"
                f"{'s' if hidden_remaining != 1 else ''} run at grading"
            )
        else:
            lines.append("all checks passed")
    elif hidden_remaining:
        lines.append(f"({hidden_remaining} more hidden check{'s' if hidden_remaining != 1 else ''} run at grading)")
    return "\n".join(lines)


def check(name, fn, *, flag_ebm=True, file=None, timeout=CHECK_TIMEOUT):
    """Run the public checks of exercise ``name`` on ``fn`` and print a short table.

    For each check: PASS or FAIL (or TODO, ERROR...), and for a failure the value
    expected against the value got at the first differing index, the tolerance,
    and a hint when the mistake is a known one.  The last line says honestly what
    is left: ``all public checks passed; N hidden checks run at grading``.

    Nothing is written to stderr (nbgrader counts any stderr output as a failure):
    the student's printed output and warnings are captured and shown in the table.
    A failing check does not raise, so a notebook with unfinished exercises still
    runs top to bottom.  An infinite loop becomes a ``TIMEOUT`` line after
    ``timeout`` seconds instead of a hung cell (in the main thread of a POSIX
    process, as in Jupyter; a loop that catches every exception cannot be
    stopped here, only by the grader's sandbox).

    While grading, the sandbox replaces ``ebm.grading`` with a stand-in whose
    ``check`` does nothing, so a handed-in notebook may keep its check cells.

    Parameters
    ----------
    name : str
        The exercise (``python -m ebm exercises --list`` lists them).
    fn : callable
        Your function.
    flag_ebm : bool, default True
        Report a function that merely calls ebm's own implementation.
    file : file-like, optional
        Where to print (default ``sys.stdout``).
    timeout : float or None, default 5
        Seconds for all the public checks together; ``None`` for no limit.

    Returns
    -------
    None
        Use :func:`ebm.grading.run_exercise` for the result as an object.
    """
    _timeout_ok(timeout)
    stray = io.StringIO()  # anything written to stderr on the way (an import's warning)
    with contextlib.redirect_stderr(stray), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ex = get(name)
        result = run_exercise(ex, fn, include_hidden=False, flag_ebm=flag_ebm, timeout=timeout)
    table = format_result(result, hidden_remaining=len(ex.hidden_checks))
    notes = stray.getvalue().strip().splitlines() + [f"{w.category.__name__}: {w.message}" for w in caught]
    if notes:
        table += "\n(other messages: " + "; ".join(dict.fromkeys(notes))[:500] + ")"
    print(table, file=file or sys.stdout)
    return None


def _timeout_ok(timeout):
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")


def assert_check(name, fn, *checks, flag_ebm=True, timeout=ASSERT_TIMEOUT):
    """Run the named checks of exercise ``name`` on ``fn``; raise ``AssertionError`` if one fails.

    This is what the autograded test cells of an nbgrader notebook call (one
    cell per check, :mod:`ebm.grading.nbgrader`): nbgrader gives a test cell its
    points when it runs without an error, and 0 when it raises.  The checks run
    in this process, on ``fn`` as it is (nbgrader's own model: the student's
    kernel runs the tests), with the same wrapper as :func:`check` (copies of
    the arguments, a modified argument fails, a call of ebm's own
    implementation is flagged, a timer).  A check that passes prints nothing.

    Nothing is written to stderr (nbgrader gives 0 points to a test cell that
    writes there): the student's printed output and warnings are captured and,
    on a failure, shown in the message.

    Parameters
    ----------
    name : str
        The exercise (``python -m ebm exercises --list`` lists them).
    fn : callable
        The student's function (anything else fails every check as ``missing``).
    *checks : str
        The descriptions of the checks to run, public or hidden (at least one).
    flag_ebm : bool, default True
        Fail a function that merely calls ebm's own implementation.
    timeout : float or None, default 10
        Seconds for these checks together (``python -m ebm grade`` gives an
        exercise's checks 10 s together by default); ``None`` for no limit.

    Returns
    -------
    None
        (A test cell's value would count as partial credit for nbgrader.)

    Raises
    ------
    AssertionError
        When a check does not pass; the message is the table :func:`check`
        prints: expected against got, the tolerance, the hint.
    KeyError
        For an unknown exercise.
    ValueError
        For an unknown check, no check at all, or a bad ``timeout``.
    """
    _timeout_ok(timeout)
    stray = io.StringIO()
    with contextlib.redirect_stderr(stray), warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        ex = get(name)
        result = run_exercise(ex, fn, checks=checks, flag_ebm=flag_ebm, timeout=timeout)
    if not all(c.passed for c in result.checks):
        raise AssertionError(format_result(result)) from None
    return None


def verify(name=None):
    """Run every exercise's reference solution through all its checks; return the failures.

    Returns
    -------
    list of ExerciseResult
        The exercises whose reference did not earn full marks (empty when all did).
    """
    from ebm.grading._exercise import registry

    exercises = registry() if name is None else [get(name)]
    bad = []
    for ex in exercises:
        result = run_exercise(ex, ex.reference, include_hidden=True)
        if result.score != result.max_score:
            bad.append(result)
    return bad

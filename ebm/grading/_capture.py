"""Running a piece of student code in this process: a time limit and captured output.

Shared by the in-notebook :func:`ebm.grading.check` (the student's own kernel)
and the sandbox's worker (which imports only the standard library, so this
module does too).

- :func:`alarm` raises :class:`ExerciseTimeout` in the main thread after a number
  of wall-clock seconds (POSIX ``setitimer``).  It is a ``BaseException``, so an
  ``except Exception`` in student code does not swallow it; a loop that catches
  *everything* is stopped by the process around it instead (the grader kills
  the worker).
- :func:`captured` sends ``sys.stdout`` and ``sys.stderr`` to a
  :class:`BoundedText`, which keeps the first characters and counts the rest.
"""

from __future__ import annotations

import io
import signal
import sys
import threading
from contextlib import contextmanager

__all__ = ["ExerciseTimeout", "BoundedText", "captured", "alarm", "OUTPUT_LIMIT"]

#: Characters of captured output kept per check (the rest is counted, not kept).
OUTPUT_LIMIT = 2000


class ExerciseTimeout(BaseException):
    """Raised by :func:`alarm` when the time is up (a BaseException: ``except Exception`` cannot swallow it)."""


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
def captured(sink):
    """Send ``sys.stdout`` and ``sys.stderr`` to ``sink`` inside the block."""
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = sink
    try:
        yield sink
    finally:
        sys.stdout, sys.stderr = old_out, old_err


def usable():
    """True where :func:`alarm` works: POSIX, in the main thread."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def alarm(seconds):
    """Raise :class:`ExerciseTimeout` after ``seconds`` of wall-clock time (no limit if falsy or not :func:`usable`)."""
    if not seconds or not usable():
        yield
        return

    def on_alarm(signum, frame):
        raise ExerciseTimeout()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)

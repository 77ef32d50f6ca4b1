"""The grader runs on POSIX systems only: what it needs, and a clear error where it is missing.

The sandbox (:mod:`ebm.grading._sandbox`, :mod:`ebm.grading._launcher`) forks each
submission's worker into a session of its own (``os.fork``, ``os.setsid``,
``os.killpg``), caps it with ``resource.setrlimit``, serialises its slots with
``fcntl.flock`` and times calls with ``signal.setitimer``; none of these exists on
Windows, where importing the sandbox would fail with a bare ``ModuleNotFoundError``.
:func:`require_posix` turns that into one sentence naming the requirement, before
anything is imported or started.  This module imports only the standard library.
"""

from __future__ import annotations

import importlib.util
import os
import signal

__all__ = ["REQUIREMENT", "posix_problems", "require_posix"]

REQUIREMENT = (
    "the grader needs a POSIX system (Linux or macOS): its sandbox uses os.fork, os.setsid, "
    "resource limits, fcntl.flock and signal.setitimer"
)

_OS_CALLS = ("fork", "setsid", "killpg", "getuid")
_MODULES = ("posix", "resource", "fcntl")


def posix_problems():
    """What this interpreter lacks of what the grader needs: a list of short phrases, ``[]`` on POSIX."""
    problems = [] if os.name == "posix" else [f"os.name is {os.name!r}"]
    problems += [f"no os.{name}" for name in _OS_CALLS if not hasattr(os, name)]
    problems += [f"no module {name}" for name in _MODULES if not _importable(name)]
    if not hasattr(signal, "setitimer"):
        problems.append("no signal.setitimer")
    return problems


def _importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ValueError:  # sys.modules[name] is None: an import would fail
        return False


def require_posix(what="the grader"):
    """Raise RuntimeError, naming the requirement and what is missing, unless this is a POSIX system."""
    problems = posix_problems()
    if problems:
        raise RuntimeError(
            f"{what} cannot run here: {REQUIREMENT} ({'; '.join(problems)}). "
            "The rest of ebm does not need them (ebm.grading.check runs, without its time limit)"
        )

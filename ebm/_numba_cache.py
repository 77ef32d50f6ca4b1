"""Where Numba's on-disk cache of ebm's kernels goes, when the package directory is read-only.

Every kernel is ``@njit(cache=True)``.  Numba writes its cache into the
``__pycache__`` beside the source file and, when that is not writable (a system
or container install), into the user's cache directory (``~/.cache/numba`` on
Linux).  When neither is writable, Numba raises ``RuntimeError: cannot cache
function ...`` at import.  :func:`configure` runs on ``import ebm`` and only in
that last case sets ``NUMBA_CACHE_DIR`` to a private directory under the system's
temporary directory: no error and no warning reaches the user.  A
``NUMBA_CACHE_DIR`` that the user set is always left alone.

It uses only :mod:`os` and :mod:`sys`, so ``import ebm`` stays cheap and still
imports neither Numba nor matplotlib.
"""

from __future__ import annotations

import os
import sys

__all__ = ["configure", "fallback_cache_dir"]


def _can_write(directory: str) -> bool:
    """Whether a file can be created in ``directory`` (made if missing), as Numba would test it."""
    probe = os.path.join(directory, f".ebm-write-test-{os.getpid()}")
    try:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError:
        return False
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass
    return True


def _numba_user_cache_dir() -> str:
    """The user-wide directory Numba falls back to (appdirs' user cache dir for "numba")."""
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches", "numba")
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        return os.path.join(base, "numba", "Cache")
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "numba")


def fallback_cache_dir() -> str:
    """The private directory used when neither of Numba's own locations is writable.

    ``<tmp>/ebm-numba-cache-<uid>``, made with mode 0700.  Numba loads pickled
    code from its cache, so a directory there that is not a real directory owned
    by this user and closed to others (another user may have made it first) is
    not used: a fresh private ``mkdtemp`` directory is, for this process only.
    """
    import stat
    import tempfile                                   # only on this rare path

    uid = os.getuid() if hasattr(os, "getuid") else None
    path = os.path.join(tempfile.gettempdir(), f"ebm-numba-cache-{uid if uid is not None else 'user'}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
        private = (stat.S_ISDIR(st.st_mode) and (uid is None or st.st_uid == uid)
                   and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))
    except OSError:
        private = False
    return path if private else tempfile.mkdtemp(prefix="ebm-numba-cache-")


def configure(package_dir: str | None = None) -> str | None:
    """Point Numba's cache at a writable directory if it has none; return it (or None).

    Parameters
    ----------
    package_dir : str, optional
        The installed ``ebm`` directory (default: this file's directory).

    Returns
    -------
    str or None
        The ``NUMBA_CACHE_DIR`` that was set, or None when nothing had to change
        (the user set ``NUMBA_CACHE_DIR``, or Numba can write beside the sources or
        in the user cache directory).
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    package_dir = package_dir or os.path.dirname(os.path.abspath(__file__))
    if _can_write(os.path.join(package_dir, "__pycache__")) or _can_write(_numba_user_cache_dir()):
        return None
    cache_dir = fallback_cache_dir()
    if not _can_write(cache_dir):
        return None                                   # nowhere to write: Numba will say so itself
    os.environ["NUMBA_CACHE_DIR"] = cache_dir         # read when numba is imported ...
    numba = sys.modules.get("numba")
    if numba is not None and hasattr(numba, "config"):
        numba.config.CACHE_DIR = cache_dir            # ... or already was
    return cache_dir

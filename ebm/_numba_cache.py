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

Numba keys a kernel's cache on its own source file only.  The core's kernels
(``ebm/softmax_loss.py``) are also made of the SIMD code that ``ebm/_fastexp.py`` and
``ebm/_rowvec.py`` emit, so :func:`stamp_with_dependencies` adds those files'
contents to the key: edit the ``exp`` polynomial and the next call recompiles,
instead of loading the old machine code.
"""

from __future__ import annotations

import os
import sys

__all__ = ["configure", "fallback_cache_dir", "stamp_with_dependencies"]


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


def stamp_with_dependencies(kernel_file: str, dependencies) -> bool:
    """Make the on-disk cache of the kernels in ``kernel_file`` depend on ``dependencies`` too.

    Call it in ``kernel_file`` before its first ``@njit(cache=True)``.  Numba picks
    a cache "locator" per kernel; each of its locator classes gets a subclass,
    tried first, that takes only ``kernel_file``'s kernels and adds the SHA-256 of
    every dependency (as this process imported it) to the source stamp that
    Numba compares with the cached index.  A changed dependency therefore makes
    the cache stale, and Numba recompiles and overwrites it, as it does when
    ``kernel_file`` itself changes.  Where the cache goes is unchanged.

    Returns False, changing nothing, on a Numba without this (private) locator
    list; the cache then depends on ``kernel_file`` only, as before.
    """
    import hashlib

    try:
        from numba.core import caching
        classes = caching.CacheImpl._locator_classes
    except (ImportError, AttributeError):            # pragma: no cover - another Numba
        return False
    kernel_file = os.path.realpath(kernel_file)
    digests = []
    for path in dependencies:
        with open(path, "rb") as f:
            digests.append((os.path.basename(path), hashlib.sha256(f.read()).hexdigest()))
    digests = tuple(digests)
    originals = [c for c in classes if getattr(c, "_ebm_kernel_file", None) != kernel_file]
    ours = [_dependent_locator(base, kernel_file, digests) for base in originals
            if getattr(base, "_ebm_kernel_file", None) is None]
    classes[:] = ours + originals
    return True


def _dependent_locator(base, kernel_file, digests):
    """A subclass of the locator class ``base`` for ``kernel_file``'s kernels only,
    whose source stamp adds ``digests``."""

    class Locator(base):
        _ebm_kernel_file = kernel_file
        _ebm_digests = digests

        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.realpath(py_file) != cls._ebm_kernel_file:
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return super().get_source_stamp(), self._ebm_digests

    Locator.__name__ = Locator.__qualname__ = "EbmDependent" + base.__name__
    return Locator

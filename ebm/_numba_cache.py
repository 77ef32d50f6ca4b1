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

Numba keys a kernel's cache on its own source file only, but ebm's kernels call
``@njit`` helpers and emit LLVM IR from other files (the RBM's sampler calls a
sigmoid, the core is made of the SIMD code of ``ebm/_fastexp.py`` and
``ebm/_rowvec.py``).  :func:`stamp_package`, called by every module that defines
cached kernels before its first one, adds one SHA-256 of all of ebm's modules that
use Numba to every ebm kernel's cache key: edit any of them and the next call
recompiles, instead of loading old machine code.

Both rely on private parts of Numba.  A guard that finds one missing warns (a
``RuntimeWarning``) and is recorded in :func:`tripped_guards`; the test suite
fails on the pinned Numba if any guard has tripped.
"""

from __future__ import annotations

import os
import sys

__all__ = [
    "configure",
    "fallback_cache_dir",
    "stamp_package",
    "stamp_directory",
    "package_digest",
    "guard_tripped",
    "tripped_guards",
]

_TRIPPED = []


def guard_tripped(what):
    """Record and warn that a guard on a private Numba API found it missing (see :func:`tripped_guards`)."""
    import warnings

    if what not in _TRIPPED:
        _TRIPPED.append(what)
        warnings.warn(f"ebm: {what}", RuntimeWarning, stacklevel=3)


def tripped_guards():
    """The guards on Numba's private APIs that found them missing in this process (a list of sentences)."""
    return list(_TRIPPED)


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
    import tempfile  # only on this rare path

    uid = os.getuid() if hasattr(os, "getuid") else None
    path = os.path.join(tempfile.gettempdir(), f"ebm-numba-cache-{uid if uid is not None else 'user'}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
        private = (
            stat.S_ISDIR(st.st_mode)
            and (uid is None or st.st_uid == uid)
            and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        )
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
        return None  # nowhere to write: Numba will say so itself
    os.environ["NUMBA_CACHE_DIR"] = cache_dir  # read when numba is imported ...
    numba = sys.modules.get("numba")
    if numba is not None and hasattr(numba, "config"):
        numba.config.CACHE_DIR = cache_dir  # ... or already was
    return cache_dir


def _package_dir():
    return os.path.dirname(os.path.realpath(__file__))


_DIGEST = []
#: Folders of the package that define no kernels (and that a grading sandbox may not even list).
_NO_KERNELS = ("__pycache__", "grading", "book", "chapters", "plotting", "data")


def package_digest() -> str:
    """SHA-256 of every module of the ebm package that imports Numba (paths and contents, in order)."""
    if not _DIGEST:
        import hashlib

        root = _package_dir()
        h = hashlib.sha256()
        paths = []
        for top, dirs, files in os.walk(root):  # not sorted(os.walk(...)): that would walk every
            dirs[:] = [d for d in dirs if d not in _NO_KERNELS]  # folder before the pruning takes effect
            paths += [os.path.join(top, n) for n in files if n.endswith(".py")]
        for path in sorted(paths):
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:  # unreadable (a grading sandbox): it cannot be run either
                continue
            if b"from numba" in data or b"import numba" in data:
                h.update(os.path.relpath(path, root).encode() + b"\0" + data + b"\0")
        _DIGEST.append(h.hexdigest())
    return _DIGEST[0]


def stamp_package() -> bool:
    """Make every ebm kernel's on-disk cache depend on :func:`package_digest` (idempotent).

    Call it before a module's first ``@njit(cache=True)``.  Numba picks a cache
    "locator" per kernel from a list of locator classes; each gets a subclass,
    tried first, that takes only kernels defined in ebm's package and adds the
    package digest to the source stamp Numba compares with its cached index.  A
    change in any of ebm's Numba modules therefore makes the cache stale, and
    Numba recompiles and overwrites it.  Where the cache goes is unchanged.

    Returns False, after a warning (:func:`guard_tripped`), on a Numba without
    the (private) locator list: the cache then depends on each kernel's own file
    only.
    """
    return stamp_directory(_package_dir())


def stamp_directory(root) -> bool:
    """:func:`stamp_package` for the kernels defined in the files under ``root``.

    For cached ``@njit`` code outside the package that calls ebm's (the test
    suite's wrappers around the SIMD helpers): its cache then goes stale when
    any of ebm's Numba modules changes, not only when its own file does.
    Idempotent per folder; returns False when the guard trips.
    """
    try:
        from numba.core import caching

        classes = caching.CacheImpl._locator_classes
        classes[:]  # a list, as this code expects
    except (ImportError, AttributeError, TypeError):
        guard_tripped(
            "numba.core.caching.CacheImpl._locator_classes is missing: an edit of one of ebm's "
            "Numba modules may not refresh the JIT cache of the kernels that use it"
        )
        return False
    root = os.path.realpath(root) + os.sep
    if any(getattr(c, "_ebm_package", None) == root for c in classes):
        return True
    digest = package_digest()
    plain = [c for c in classes if not getattr(c, "_ebm_package", None)]
    classes[:0] = [_package_locator(base, root, digest) for base in plain]
    return True


def _package_locator(base, root, digest):
    """A subclass of the locator class ``base`` for kernels of files under ``root`` only,
    whose source stamp adds ``digest``."""

    class Locator(base):
        _ebm_package = root
        _ebm_digest = digest

        @classmethod
        def from_function(cls, py_func, py_file):
            if not os.path.realpath(py_file).startswith(cls._ebm_package):
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return super().get_source_stamp(), self._ebm_digest

    Locator.__name__ = Locator.__qualname__ = "EbmPackage" + base.__name__
    return Locator

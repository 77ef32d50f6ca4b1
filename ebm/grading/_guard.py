"""What student code may not do in the worker: reach ebm, the grader, classmates, or other processes.

:func:`install` runs in the worker before the submission loads.  It puts stand-in
modules ``ebm`` and ``ebm.grading`` in ``sys.modules`` (so a notebook's
``import ebm.grading`` and its ``ebm.grading.check(...)`` calls still run, and do
nothing), a meta-path finder that refuses every other ``ebm`` module, and an
audit hook (:pep:`578`; once added, it cannot be removed) that refuses:

- opening, listing or importing anything under a *protected* path (ebm's package,
  the other submissions, the grader's outputs), whatever the route: a symbolic
  link, ``..``, ``/proc/self/root``, an ``exec`` of a file's text;
- opening a directory as a descriptor (the route to ``dir_fd`` tricks);
- writing outside the submission's own folder;
- starting processes, sending signals to other processes, sockets, ``ctypes``,
  and the few native modules that read files behind the hook's back.

Every refusal is a ``PermissionError`` in the student's code, and is recorded as
``(kind, sentence)``.  The grader reports each one; an *attempt* (kind
``"attempt"``: opening or importing ebm, the grader, classmates' files or another
process's, starting processes, ``ctypes``) also costs the exercise whose function
made it, while a plain refusal (kind ``"refused"``: listing a protected folder,
writing outside the folder, the network) only fails that action.  When ebm is
allowed, ``ctypes`` is too (Numba needs it), and so are descriptors of the
submission's own folders: the Python-level wall is then only as strong as
``ctypes`` lets it be, and the operating system's walls (another user, the
hidden folders) carry the protection.  The hook resolves paths with functions it captured when it
was installed, so replacing ``os.path.realpath`` or ``os.lstat`` later changes
nothing.

This is the inner wall.  The outer one is the operating system's
(:mod:`ebm.grading._launcher`): another user id, namespaces, resource limits.
This module imports only the standard library: the worker runs it without ebm.
"""

from __future__ import annotations

import importlib.abc
import posix
import stat as _stat
import sys
import types

__all__ = ["install", "Refused", "NATIVE_READERS"]

#: Native modules that read files or start processes without an audit event.
NATIVE_READERS = (
    "_posixsubprocess",
    "_tkinter",
    "readline",
    "_sqlite3",
    "_dbm",
    "_gdbm",
    "_curses",
    "_ctypes",
    "_multiprocessing",
)

_SPAWN = {
    "os.fork",
    "os.forkpty",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.system",
    "subprocess.Popen",
    "os.startfile",
    "pty.spawn",
}
_PATH_WRITES = {
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.link": (1,),
    "os.symlink": (1,),
    "os.rename": (0, 1),
    "os.replace": (0, 1),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.chflags": (0,),
    "os.lchown": (0,),
    "os.lchmod": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.chown": (0,),
}
_WRITE_FLAGS = posix.O_WRONLY | posix.O_RDWR | posix.O_CREAT | posix.O_TRUNC | posix.O_APPEND


class Refused(PermissionError):
    """What the hook raises: the action is not allowed while grading."""


def _stub_modules(allow_ebm):
    """The stand-ins: ``ebm.grading.check`` and ``assert_check`` do nothing while grading."""
    grading = types.ModuleType("ebm.grading", "ebm.grading while grading: check() and assert_check() do nothing here.")
    grading.__path__ = []

    def check(*args, **kwargs):
        return None

    grading.check = check
    grading.assert_check = check  # nbgrader's test cells: the grader runs the checks itself
    if allow_ebm:
        return {"ebm.grading": grading}
    ebm = types.ModuleType("ebm", "ebm is not available while grading: write the exercise yourself.")
    ebm.__path__ = []
    ebm.grading = grading
    return {"ebm": ebm, "ebm.grading": grading}


class _Blocker(importlib.abc.MetaPathFinder):
    """Refuses the ebm modules the policy does not allow, and the native readers (``refuse`` records
    and raises).

    For a native reader the audit hook's ``import`` event is the wall that holds; this finder is
    the one that sees a module the interpreter has built in (Debian's Python builds
    ``_posixsubprocess`` in), which ``importlib.import_module`` loads without any audit event.
    A submission can remove a finder from ``sys.meta_path``: there, the operating system's walls
    (the process limit, the launcher's clean-up, and as root the other user and the namespaces)
    are what stop the processes it could start.
    """

    def __init__(self, refused, refuse):
        self.refused = refused  # name -> the sentence of its refusal, or None
        self.refuse = refuse

    def find_spec(self, name, path=None, target=None):
        what = self.refused(name)
        if what:
            self.refuse(what)
        return None


def install(*, protected, writable, allow_ebm=False, blocked_modules=(), allow_native=False, record=None):
    """Install the stand-ins, the import blocker and the audit hook (for the rest of the process).

    Parameters
    ----------
    protected : list of str
        Real paths (folders or files) that may not be opened, listed or imported.
    writable : list of str
        Real folders where writing is allowed (the submission's own folder); they
        stay readable even inside a protected folder.
    allow_ebm : bool
        Let the submission import ebm (never ``ebm.grading``, nor ``blocked_modules``).
    blocked_modules : list of str
        ebm modules refused even when ``allow_ebm`` (the ones that do the exercise).
    allow_native : bool
        Allow ``ctypes`` (Numba needs it when ebm's kernels are allowed).
    record : list, optional
        Each refusal is appended as ``(kind, sentence)``, kind ``"attempt"`` or ``"refused"``.
    """
    record = [] if record is None else record
    lstat, readlink, getcwd, fstat_stat = posix.lstat, posix.readlink, posix.getcwd, posix.stat
    is_link, is_dir = _stat.S_ISLNK, _stat.S_ISDIR
    getpid = posix.getpid
    prot = tuple(str(p).rstrip("/") for p in protected)
    wrt = tuple(str(p).rstrip("/") for p in writable) + ("/dev/null",)
    blocked = tuple(blocked_modules)
    native = tuple(m for m in NATIVE_READERS if not (allow_native and m == "_ctypes"))
    str_type, bytes_type, int_type = str, bytes, int

    def module_refused(name):
        if not (name == "ebm" or name.startswith("ebm.")):
            return False
        if name == "ebm.grading" or name.startswith("ebm.grading."):
            return True
        if not allow_ebm:
            return True
        return any(name == m or name.startswith(m + ".") for m in blocked)

    def resolve(path):
        """The real absolute path ``path`` names (``None`` if it loops)."""
        if type(path) is bytes_type:
            path = path.decode("utf-8", "surrogateescape")
        if path[:1] != "/":
            path = getcwd() + "/" + path
        out, todo, links = [], path.split("/")[::-1], 0
        while todo:
            part = todo.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if out:
                    out.pop()
                continue
            here = "/" + "/".join(out + [part])
            try:
                mode = lstat(here).st_mode
            except OSError:
                out.append(part)
                continue
            if is_link(mode):
                links += 1
                if links > 40:
                    return None
                target = readlink(here)
                if target[:1] == "/":
                    out = []
                todo.extend(target.split("/")[::-1])
            else:
                out.append(part)
        return "/" + "/".join(out)

    def under(real, roots):
        return any(real == r or real.startswith(r + "/") for r in roots)

    def other_process(real):
        parts = real.split("/")
        return len(parts) > 2 and parts[1] == "proc" and parts[2].isdigit() and parts[2] != str(getpid())

    def refuse(what, kind="attempt"):
        record.append((kind, what))
        raise Refused(f"not allowed while grading: {what}")

    def check_path(path, event, *, write=False, directory_ok=True, kind="attempt"):
        if type(path) is int_type or path is None:
            return
        if type(path) not in (str_type, bytes_type):
            refuse(f"{event} of a {type(path).__name__} path (use a str)", "refused")
        real = resolve(path)
        if real is None or (under(real, prot) and not under(real, wrt)) or other_process(real):
            refuse(f"{event} {path!r}" + (f" (which is {real})" if real and real != path else ""), kind)
        if write and not under(real, wrt):
            refuse(f"writing {path!r} outside the submission's folder", "refused")
        if not directory_ok and not (allow_native and under(real, wrt)):  # Numba's cache opens its folders
            try:
                directory = is_dir(fstat_stat(real).st_mode)
            except OSError:
                directory = False
            if directory:
                refuse(f"opening the directory {path!r} as a file descriptor", "refused")

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            write = (type(mode) is str_type and any(c in mode for c in "wax+")) or (
                type(flags) is int_type and bool(flags & _WRITE_FLAGS)
            )
            check_path(path, "opening", write=write, directory_ok=mode is not None)
        elif event in ("os.listdir", "os.scandir"):  # names only: refused, not an attempt
            check_path(args[0] if args else None, "listing", kind="refused")
        elif event == "import":
            name = args[0]
            if module_refused(name):
                refuse(f"importing {name}")
            if name in native:
                refuse(f"importing the native module {name}")
        elif event in _SPAWN:
            refuse(f"starting a process ({event})")
        elif event in ("os.kill", "os.killpg"):
            if args[0] != getpid():
                refuse(f"sending a signal to another process ({event} {args[0]})")
        elif event.startswith("ctypes.") and not allow_native:
            refuse(f"using ctypes ({event})")
        elif event.startswith("socket.") or event.startswith("sqlite3."):
            refuse(f"using the network or a database ({event})", "refused")
        elif event in ("sys.addaudithook", "resource.setrlimit", "resource.prlimit"):
            refuse(event)
        elif event in _PATH_WRITES:
            for k in _PATH_WRITES[event]:
                if k < len(args):
                    check_path(args[k], event, write=True)

    for name, module in _stub_modules(allow_ebm).items():
        sys.modules[name] = module
    if allow_ebm and "ebm" in sys.modules:
        sys.modules["ebm"].grading = sys.modules["ebm.grading"]

    def refusal(name):  # the sentence refusing an import of ``name``, or None
        if module_refused(name):
            return f"importing {name}"
        return f"importing the native module {name}" if name in native else None

    sys.meta_path.insert(0, _Blocker(refusal, refuse))
    sys.addaudithook(hook)
    return record

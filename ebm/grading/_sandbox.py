"""The grader's side of the sandbox: start a worker in a box, ask it for calls, take the box away.

One :class:`Sandbox` runs one submission::

    box = Sandbox(files={"alice.py": data}, functions=["softmax_backward"], ...)
    loaded = box.start(deadline)              # the worker loaded the submission
    reply = box.call("softmax_backward", args, kwargs, timeout=2.0, deadline=...)
    report = box.stop()                        # every process of the sandbox is dead

The worker (:mod:`ebm.grading._worker`) runs under the launcher
(:mod:`ebm.grading._launcher`), which applies the operating system's isolation;
this class decides it:

- **where**: a fresh private folder holding a copy of the one submission, not on
  ``sys.path`` (``python -I``);
- **who**: when the grader runs as root, an unprivileged user id that no other
  sandbox holds (:func:`claim_uid`: from ``EBM_GRADER_UID``, default 64400, on;
  two submissions graded at once, by one grader or two, never share a user);
- **what it cannot see**: ebm's package (or, when ebm is allowed, its grading
  package and the modules that do the exercise), a source checkout's other
  folders, the class's submissions, the outputs;
- **limits**: address space, CPU seconds, file size, open files, processes.

Everything the worker writes back is checked before it is believed
(:meth:`_validate`): the schema of each message, that it answers the request
that was asked (by a random id), that its values decode as plain data, and that
a line is not longer than :data:`MAX_LINE`.  Anything else is a
:class:`SandboxLost` of kind ``"malformed"``; no answer before the deadline is
``"timeout"``, a dead worker ``"exited"``.  Deadlines are fixed by the caller and
never move.
"""

from __future__ import annotations

import fcntl
import inspect
import json
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from ebm.grading import _wire

__all__ = ["Sandbox", "SandboxLost", "StopReport", "MAX_LINE", "GRACE", "describe_exit", "isolation_summary"]

#: Longest line (bytes) accepted from the worker.
MAX_LINE = 64 * 2**20
#: Seconds the grader waits beyond a timer before it kills the worker.
GRACE = 1.0
#: Limits besides the address space (soft = hard).
FILE_SIZE = 64 * 2**20
OPEN_FILES = 256
PROCESSES = 64

_ERROR_KEYS = {"type", "message", "where", "exit_code", "kind"}
_KINDS = {"NotImplementedError", "MemoryError", "RecursionError", "SystemExit", "KeyboardInterrupt"}


class SandboxLost(Exception):
    """The worker cannot answer: ``kind`` is ``"timeout"``, ``"exited"`` or ``"malformed"``."""

    def __init__(self, kind, detail, status=None):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status


@dataclass
class StopReport:
    """How the sandbox ended: the worker's exit ``status`` (a wait status or None), CPU seconds, survivors."""

    status: int | None = None
    cpu_seconds: float = 0.0
    survivors: int = 0
    isolation: dict = field(default_factory=dict)


def describe_exit(status):
    """A sentence for a wait status (``os.waitpid``'s second value)."""
    if status is None:
        return "the process stopped"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        extra = {
            "SIGKILL": " (killed: perhaps out of memory or CPU time)",
            "SIGSEGV": " (a segmentation fault)",
            "SIGXCPU": " (its CPU time ran out)",
        }
        return f"the process was ended by {name}{extra.get(name, '')}"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return f"the process exited with status {code} (os._exit() or a hard crash)"


def isolation_summary(report):
    """One line saying which walls the sandbox had."""
    if not report:
        return "not started"
    parts = [f"user {report['uid']}" if report.get("uid") is not None else "the grader's own user"]
    if report.get("namespaces"):
        parts.append("namespaces: " + ", ".join(report["namespaces"]))
    parts.append("subreaper" if report.get("subreaper") else "no subreaper")
    if report.get("hidden"):
        parts.append(f"{len(report['hidden'])} folder(s) hidden")
    parts.append("audit hook")
    return "; ".join(parts) + "".join(f" ({n})" for n in report.get("notes", []))


# --------------------------------------------------------------------------- what to hide


def _module_paths(names):
    import importlib.util

    out = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin:
            continue
        origin = os.path.realpath(spec.origin)
        out.append(os.path.dirname(origin) if spec.submodule_search_locations else origin)
    return out


def _interpreter_paths():
    import numpy

    paths = {
        os.path.realpath(sys.executable),
        os.path.realpath(sys.prefix),
        os.path.realpath(sys.base_prefix),
        os.path.realpath(sys.exec_prefix),
        os.path.dirname(os.path.realpath(os.__file__)),
        os.path.dirname(os.path.realpath(numpy.__file__)),
    }
    return sorted(paths)


def _seed_numba_cache(cache):
    """Copy the compiled kernels of ebm's in-tree Numba cache into ``cache``, laid out as Numba reads a
    ``NUMBA_CACHE_DIR``: a sandbox that may use ebm then loads the kernels the grader's machine has already
    compiled instead of compiling them (seconds each) under the exercise's time limit.  The grading
    package's own caches are not copied."""
    import ebm

    try:
        from numba.core.caching import _CacheLocator

        subpath = _CacheLocator.get_suitable_cache_subpath
    except (ImportError, AttributeError):
        from ebm._numba_cache import guard_tripped

        guard_tripped(
            "numba's _CacheLocator.get_suitable_cache_subpath is missing: a sandbox that may use "
            "ebm compiles its kernels itself"
        )
        return 0
    package = os.path.dirname(os.path.abspath(ebm.__file__))
    copied = 0
    for top, dirs, files in os.walk(package):
        dirs[:] = [d for d in dirs if d != "grading"]
        if os.path.basename(top) != "__pycache__":
            continue
        source_dir = os.path.dirname(top)
        target = os.path.join(cache, subpath(os.path.join(source_dir, "x.py")))
        for name in files:
            if name.endswith((".nbi", ".nbc")):
                os.makedirs(target, mode=0o700, exist_ok=True)
                shutil.copyfile(os.path.join(top, name), os.path.join(target, name))
                copied += 1
    return copied


def protected_paths(*, allow_ebm=False, blocked_modules=(), extra=()):
    """The real paths the worker may not read: ebm (or its grading part), a checkout's other folders, ``extra``."""
    import ebm

    package = os.path.dirname(os.path.realpath(ebm.__file__))
    if allow_ebm:
        out = [os.path.join(package, "grading")] + _module_paths(blocked_modules)
    else:
        out = [package]
    checkout = os.path.dirname(package)
    if os.path.isfile(os.path.join(checkout, "pyproject.toml")):  # a source checkout (editable install)
        keep = [p for p in _interpreter_paths() if p.startswith(checkout + os.sep)]
        for entry in sorted(os.listdir(checkout)):
            path = os.path.join(checkout, entry)
            if path == package or any(k == path or k.startswith(path + os.sep) for k in keep):
                continue
            out.append(path)
    out += [os.path.realpath(p) for p in extra]
    return sorted(set(out))


#: How many user ids the sandboxes may use, from EBM_GRADER_UID (default 64400) on.
UID_SPAN = 512


def _uid_in_use(uid):
    """Whether any process runs as ``uid`` (a real, effective or saved id)."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if str(uid) in line.split()[1:4]:
                            return True
                        break
        except OSError:
            continue
    return False


def _lock_dir():
    """A folder for the user-id claims that only root can write (``/run/ebm-grader``, else under the tmp dir)."""
    for path in ("/run/ebm-grader", os.path.join(tempfile.gettempdir(), "ebm-grader-uids")):
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o077:
            return path
    raise RuntimeError("no private folder for the sandbox's user-id claims (/run/ebm-grader or the tmp dir)")


def claim_uid(hint=0):
    """An unprivileged user id no other sandbox (of this or another grader) uses, and the lock that holds it.

    Each id from ``EBM_GRADER_UID`` on is claimed with an exclusive ``flock`` on a
    file in a root-only folder, and taken only if no process runs as it: two
    graders on one machine never share an id, so neither's clean-up (``kill(-1)``
    as that user) can reach the other's processes.  The lock is released when
    its descriptor closes (:meth:`Sandbox.stop`, or the grader's exit).
    """
    base = int(os.environ.get("EBM_GRADER_UID", "64400"))
    folder = _lock_dir()
    for k in range(UID_SPAN):
        uid = base + (hint + k) % UID_SPAN
        fd = os.open(os.path.join(folder, f"{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if _uid_in_use(uid):
            os.close(fd)
            continue
        return uid, fd
    raise RuntimeError(f"all {UID_SPAN} sandbox user ids from {base} are in use")


# --------------------------------------------------------------------------- the sandbox


class Sandbox:
    """One worker process for one submission (see the module docstring).

    Parameters
    ----------
    files : dict
        ``{file name: bytes}``: the submission (one file).
    functions : list of str
        The functions the grader will ask for.
    memory_mb : int or None
        Address-space cap (hard).
    cpu_seconds : float
        CPU-time cap of the worker (hard).
    statement_timeout, load_budget : float
        Seconds for one top-level statement, and for all of loading.
    allow_ebm : bool
        Let the submission import ebm (never its grading package).
    blocked_modules : sequence of str
        ebm modules refused even then.
    extra_protected : sequence of path
        More paths to hide (the class's submissions, the outputs).
    slot : int
        Which of the grader's parallel slots this is (picks the user id).
    parent : path, optional
        The folder to make the sandbox's private folder in (a class's sandboxes
        share one, which each of them may not read but its own box).
    isolation : {"auto", "process"}
        ``"process"`` skips the user switch and the namespaces (the launcher is
        still a subreaper, the limits and the audit hook still apply): the
        isolation a grader that is not root gets.
    """

    def __init__(
        self,
        files,
        *,
        functions,
        memory_mb=1024,
        cpu_seconds=60.0,
        statement_timeout=10.0,
        load_budget=30.0,
        allow_ebm=False,
        blocked_modules=(),
        extra_protected=(),
        slot=0,
        parent=None,
        isolation="auto",
    ):
        if isolation not in ("auto", "process"):
            raise ValueError(f"isolation must be 'auto' or 'process', got {isolation!r}")
        ((self.name, self.data),) = files.items()
        self.functions = list(functions)
        self.memory_mb = memory_mb
        self.cpu_seconds = cpu_seconds
        self.statement_timeout = statement_timeout
        self.load_budget = load_budget
        self.allow_ebm = bool(allow_ebm)
        self.blocked_modules = list(blocked_modules)
        self.extra_protected = [str(p) for p in extra_protected]
        self.slot = slot
        self.uid = None  # claimed in start() (root only): see claim_uid
        self.uid_lock = None
        self.drop_privileges = isolation == "auto" and os.geteuid() == 0
        self.namespaces = isolation == "auto" and os.geteuid() == 0
        self.parent = None if parent is None else os.path.realpath(parent)
        self.private = None
        self.proc = None
        self.buffer = b""
        self.launcher_buffer = b""
        self.isolation = {}
        self.exit_status = None
        self.exited = False
        self.stop_report = None

    # ------------------------------------------------------------------ start

    def _layout(self):
        self.private = tempfile.mkdtemp(prefix="ebm-sandbox-", dir=self.parent)  # 0700: the grader's
        os.chmod(self.private, 0o711)  # others may pass, not list
        box = os.path.join(self.private, "box")
        os.mkdir(box, 0o700)
        os.mkdir(os.path.join(box, "tmp"), 0o700)
        path = os.path.join(box, self.name)
        with open(path, "wb") as f:
            f.write(self.data)
        if self.uid is not None:
            for p in (box, os.path.join(box, "tmp"), path):
                os.chown(p, self.uid, self.uid)
        self.box = os.path.realpath(box)
        self.log_path = os.path.join(self.private, "worker-output.txt")
        if self.allow_ebm:
            cache = os.path.join(box, "numba-cache")
            os.mkdir(cache, 0o700)
            _seed_numba_cache(cache)
            if self.uid is not None:
                for top, dirs, files in os.walk(cache):
                    for name in [top] + [os.path.join(top, n) for n in files]:
                        os.chown(name, self.uid, self.uid)

    def _worker_config(self):
        protected = protected_paths(
            allow_ebm=self.allow_ebm,
            blocked_modules=self.blocked_modules,
            extra=self.extra_protected + [self.parent or self.private],
        )
        return {
            "submission": self.name,
            "functions": self.functions,
            "statement_timeout": self.statement_timeout,
            "load_budget": self.load_budget,
            "protected": protected,
            "writable": [self.box],
            "allow_ebm": self.allow_ebm,
            "blocked_modules": self.blocked_modules,
            "allow_native": self.allow_ebm,
            "preload": ["ebm", "numba"] if self.allow_ebm else [],
        }

    def _env(self):
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": self.box,
            "TMPDIR": os.path.join(self.box, "tmp"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": "1",
        }
        if self.allow_ebm:
            env["NUMBA_CACHE_DIR"] = os.path.join(self.box, "numba-cache")
        return env

    def start(self, deadline):
        """Start the worker and wait (until ``deadline``, a ``time.monotonic()``) for it to load the submission.

        Returns
        -------
        dict
            The validated ``loaded`` message.

        Raises
        ------
        SandboxLost
            The worker died, did not load in time, or said something malformed.
        RuntimeError
            The launcher itself failed (a fault of the grader, not the submission).
        """
        from ebm.grading import _capture, _guard, _launcher, _nbcode, _worker

        if self.drop_privileges:
            self.uid, self.uid_lock = claim_uid(self.slot)
        self._layout()
        config = self._worker_config()
        # The worker's modules as source, in dependency order: the bootstrap executes them in turn.
        modules = {
            "_" + m.__name__.rsplit("._", 1)[1]: inspect.getsource(m)
            for m in (_wire, _nbcode, _capture, _guard, _worker)
        }
        req_r, self.req_w = os.pipe()
        self.resp_r, resp_w = os.pipe()
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        limits = {
            "RLIMIT_CPU": max(1, int(self.cpu_seconds + 1)),
            "RLIMIT_FSIZE": FILE_SIZE,
            "RLIMIT_NOFILE": OPEN_FILES,
            "RLIMIT_CORE": 0,
        }
        if self.memory_mb:
            limits["RLIMIT_AS"] = int(self.memory_mb) * 2**20
        if self.uid is not None:
            limits["RLIMIT_NPROC"] = PROCESSES
        argv = [
            sys.executable,
            "-I",
            "-c",
            _worker.bootstrap_source(modules),
            str(req_r),
            str(resp_w),
            json.dumps(config),
        ]
        reach = _interpreter_paths() + [self.box]
        if self.allow_ebm:
            reach += _module_paths(["ebm", "numba", "llvmlite"])
        hide = [p for p in config["protected"] if not (self.box == p or self.box.startswith(p + os.sep))]
        launcher_config = {
            "parent": os.getpid(),
            "uid": self.uid,
            "namespaces": self.namespaces,
            "hide": hide,
            "reach": reach,
            "cwd": self.box,
            "python": sys.executable,
            "argv": argv,
            "env": self._env(),
            "log_fd": log,
            "pass_fds": [req_r, resp_w],
            "limits": limits,
        }
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", inspect.getsource(_launcher), json.dumps(launcher_config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                pass_fds=(req_r, resp_w, log),
                cwd=self.private,
                start_new_session=True,
            )
        finally:
            for fd in (req_r, resp_w, log):
                os.close(fd)
        os.set_blocking(self.req_w, False)
        started = self._launcher_event(time.monotonic() + 30.0)
        if started is None or started.get("event") != "started":
            self.stop()
            raise RuntimeError(f"the sandbox's launcher did not start: {started!r}")
        self.isolation = started["isolation"]
        message = self._receive(deadline)
        return self._validate_loaded(message)

    # ------------------------------------------------------------------ messages

    def _launcher_event(self, deadline):
        while b"\n" not in self.launcher_buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.launcher_buffer += chunk
        line, self.launcher_buffer = self.launcher_buffer.split(b"\n", 1)
        return json.loads(line)

    def _on_launcher(self):
        event = self._launcher_event(time.monotonic() + 5.0)
        if event is None:
            raise SandboxLost("exited", "the sandbox's launcher stopped")
        if event.get("event") == "exited":
            self.exited, self.exit_status = True, event["status"]
            raise SandboxLost("exited", describe_exit(event["status"]), event["status"])

    def _receive(self, deadline):
        """The next line from the worker, parsed (``SandboxLost`` when there is none)."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE:
                raise SandboxLost(
                    "malformed", f"the worker sent a malformed message: a line longer than {MAX_LINE} bytes"
                )
            if self.exited:
                raise SandboxLost("exited", describe_exit(self.exit_status), self.exit_status)
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxLost("timeout", "no answer before the deadline")
            watch = [self.resp_r, self.proc.stdout] if not self.exited else [self.resp_r]
            ready, _, _ = select.select(watch, [], [], left)
            if self.resp_r in ready:
                chunk = os.read(self.resp_r, 1 << 20)
                if not chunk:
                    self._wait_exit(deadline)
                    raise SandboxLost("exited", describe_exit(self.exit_status), self.exit_status)
                self.buffer += chunk
            elif self.proc.stdout in ready:
                self._on_launcher()
        line, self.buffer = self.buffer.split(b"\n", 1)
        if len(line) > MAX_LINE:
            raise SandboxLost("malformed", f"the worker sent a malformed message: a line longer than {MAX_LINE} bytes")
        try:
            return _wire.loads(line)
        except ValueError as exc:
            raise SandboxLost("malformed", f"the worker sent a malformed message: {exc}") from None

    def _wait_exit(self, deadline):
        """The pipe closed: wait briefly for the launcher to say how the worker ended."""
        end = min(deadline, time.monotonic() + 2.0)
        while not self.exited and time.monotonic() < end:
            try:
                self._on_launcher()
            except SandboxLost:
                return

    def _send(self, message, deadline):
        data = memoryview(_wire.dumps(message).encode("ascii"))
        while data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxLost("timeout", "the worker did not read its request before the deadline")
            _, ready, _ = select.select([], [self.req_w], [], left)
            if ready:
                try:
                    data = data[os.write(self.req_w, data) :]
                except BrokenPipeError:
                    self._wait_exit(deadline)
                    raise SandboxLost("exited", describe_exit(self.exit_status), self.exit_status) from None

    # ------------------------------------------------------------------ validation

    @staticmethod
    def _bad(detail):
        raise SandboxLost("malformed", f"the worker sent a malformed message: {detail}")

    def _refusals(self, value):
        if not isinstance(value, list) or len(value) > 10_000:
            self._bad("'refused' must be a list")
        out = []
        for item in value:
            if (
                not isinstance(item, list)
                or len(item) != 2
                or item[0] not in ("attempt", "refused")
                or not isinstance(item[1], str)
            ):
                self._bad("a refusal must be [kind, text]")
            out.append((item[0], _wire.clean_text(item[1], 300)))
        return out

    def _validate_loaded(self, m):
        keys = {"op", "problems", "output", "functions", "seconds", "refused"}
        if m.get("op") != "loaded" or set(m) != keys:
            self._bad(f"expected 'loaded' with keys {sorted(keys)}, got {sorted(m)[:10]}")
        if (
            not isinstance(m["problems"], list)
            or len(m["problems"]) > 10_000
            or not all(isinstance(p, str) for p in m["problems"])
        ):
            self._bad("'problems' must be a list of text")
        if not isinstance(m["output"], str):
            self._bad("'output' must be text")
        functions = m["functions"]
        if (
            not isinstance(functions, dict)
            or set(functions) != set(self.functions)
            or not all(v is None or isinstance(v, str) for v in functions.values())
        ):
            self._bad("'functions' must name each graded function")
        if isinstance(m["seconds"], bool) or not isinstance(m["seconds"], (int, float)):
            self._bad("'seconds' must be a number")
        return {
            "problems": [_wire.clean_text(p, 500) for p in m["problems"]][:200],
            "output": _wire.clean_text(m["output"]),
            "functions": {k: (None if v is None else _wire.clean_text(v, 100)) for k, v in functions.items()},
            "seconds": float(m["seconds"]),
            "refused": self._refusals(m["refused"]),
        }

    def _validate_result(self, m, call_id):
        keys = {"op", "id", "status", "value", "args", "error", "output", "warnings", "seconds", "refused"}
        if m.get("op") != "result" or set(m) != keys:
            self._bad(f"expected 'result' with keys {sorted(keys)}, got {sorted(m)[:10]}")
        if m["id"] != call_id:
            self._bad("an answer to a request that was not asked")
        if m["status"] not in ("ok", "error", "timeout", "missing"):
            self._bad(f"unknown status {str(m['status'])[:40]!r}")
        if (
            not isinstance(m["output"], str)
            or not isinstance(m["warnings"], list)
            or len(m["warnings"]) > 100
            or not all(isinstance(w, str) for w in m["warnings"])
        ):
            self._bad("'output' must be text and 'warnings' a list of text")
        if isinstance(m["seconds"], bool) or not isinstance(m["seconds"], (int, float)):
            self._bad("'seconds' must be a number")
        error = m["error"]
        if error is not None:
            if (
                not isinstance(error, dict)
                or not set(error) <= _ERROR_KEYS
                or not all(isinstance(v, str) for v in error.values())
                or error.get("kind", "SystemExit") not in _KINDS
            ):
                self._bad("'error' must describe an exception as text")
            error = {k: _wire.clean_text(v, 500) for k, v in error.items()}
        try:
            value = _wire.decode(m["value"]) if m["status"] == "ok" else None
            args = _wire.decode(m["args"]) if m["args"] is not None else None
        except (ValueError, TypeError, OverflowError) as exc:
            self._bad(f"a value that is not plain data ({exc})")
        if args is not None and not (
            isinstance(args, list) and len(args) == 2 and isinstance(args[0], list) and isinstance(args[1], dict)
        ):
            self._bad("'args' must be [positional, keyword]")
        return {
            "status": m["status"],
            "value": value,
            "args": args,
            "error": error,
            "output": _wire.clean_text(m["output"]),
            "warnings": [_wire.clean_text(w, 300) for w in m["warnings"]][:20],
            "seconds": float(m["seconds"]),
            "refused": self._refusals(m["refused"]),
        }

    # ------------------------------------------------------------------ calls

    def call(self, name, args, kwargs, *, timeout, deadline):
        """Call the student's ``name(*args, **kwargs)`` in the worker; return the validated answer.

        The worker's own timer is ``timeout`` seconds; the grader waits until
        ``deadline`` (``time.monotonic()``), then gives up (``SandboxLost``).
        """
        call_id = secrets.token_hex(8)
        self._send(
            {
                "op": "call",
                "id": call_id,
                "name": name,
                "args": _wire.encode(list(args)),
                "kwargs": _wire.encode(dict(kwargs)),
                "timeout": max(1e-3, float(timeout)),
            },
            deadline,
        )
        return self._validate_result(self._receive(deadline), call_id)

    # ------------------------------------------------------------------ stop

    def stop(self):
        """Kill every process of the sandbox, remove its folder; return a :class:`StopReport` (idempotent)."""
        if self.stop_report is not None:
            return self.stop_report
        report = StopReport(status=self.exit_status, isolation=self.isolation)
        if self.proc is not None:
            try:
                self.proc.stdin.write(b"stop\n")
                self.proc.stdin.flush()
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            end = time.monotonic() + 30.0
            while True:
                event = self._launcher_event(end)
                if event is None:
                    break
                if event.get("event") == "exited":
                    self.exited, self.exit_status = True, event["status"]
                    report.status = event["status"]
                elif event.get("event") == "stopped":
                    report.cpu_seconds = float(event["cpu"])
                    report.survivors = int(event["survivors"])
                    break
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            for fd in (self.req_w, self.resp_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self.private:
            self.log_tail = self._tail()
            shutil.rmtree(self.private, ignore_errors=True)
        if self.uid_lock is not None and report.survivors == 0:  # every process of that user is dead:
            os.close(self.uid_lock)  # free the id (else keep it held)
            self.uid_lock = None
        self.stop_report = report
        return report

    def _tail(self, limit=500):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - limit))
                return _wire.clean_text(f.read().decode("utf-8", "replace").strip(), limit)
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

"""The sandbox's launcher: puts one worker in a box, and takes the box away with everything in it.

The grader starts this file's code as ``python -I -c SOURCE CONFIG`` (it needs only
the standard library; see :class:`ebm.grading._sandbox.Sandbox`).  It runs with
the grader's privileges and is the only process of the sandbox that does:

1. It stops when the grader says so, when its stdin closes, or when the grader
   dies (``PR_SET_PDEATHSIG``), always by killing the whole sandbox first (4.);
   and it is a *child subreaper*: every process the worker starts,
   even a ``setsid`` daemon whose parent exited, is re-parented to it.
2. Where the kernel allows (root with ``CAP_SYS_ADMIN``), it moves into new PID,
   mount, network, IPC and UTS namespaces.  The worker is then PID 1 of its own
   PID namespace (killing it kills every process in the namespace), has no
   network, sees a fresh ``/proc``, and the paths in ``hide`` are covered by an
   empty read-only tmpfs: ebm's package, the other submissions, the outputs.
   When the worker's user cannot reach the Python interpreter (``/root`` is
   0700 and Python lives under it), the blocking directory is covered, in this
   namespace only, by a tmpfs into which only the needed entries are bound.
3. It forks the worker, which sets hard resource limits (soft = hard: address
   space, CPU seconds, file size, open files, processes, no core files), drops
   to the unprivileged ``uid`` when there is one (no supplementary groups,
   ``PR_SET_NO_NEW_PRIVS``), dies if the launcher dies, moves to its private
   folder, and execs Python.
4. On ``stop`` (or stdin's end), it kills every process of the sandbox: the PID
   namespace's init; every process of ``uid`` (``kill(-1)`` from that user); every
   descendant (a scan of ``/proc``), until none is left; then reaps them, counts
   survivors and reports the CPU time of all of them.

It writes JSON lines to stdout: ``started`` (the worker's PID and what isolation
was applied), ``exited`` (the worker's wait status) and ``stopped``.
"""

import ctypes
import json
import os
import resource
import select
import signal
import stat
import sys
import time

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38

_libc = ctypes.CDLL(None, use_errno=True)


def _call(name, *args):
    fn = getattr(_libc, name)
    if fn(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else os.fsencode(s)
    _call("mount", enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


def _emit(**event):
    os.write(1, (json.dumps(event) + "\n").encode())


# --------------------------------------------------------------------------- namespaces


def _others_can_reach(path):
    """True when a user who is neither owner nor group can reach ``path`` (x on every ancestor, r on the end)."""
    path = os.path.realpath(path)
    parts = path.split("/")
    for k in range(1, len(parts)):
        d = "/".join(parts[:k]) or "/"
        if not os.stat(d).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


def _blocking_ancestor(path):
    parts = os.path.realpath(path).split("/")
    for k in range(2, len(parts)):
        d = "/".join(parts[:k])
        if not os.stat(d).st_mode & stat.S_IXOTH:
            return d
    return None


def _expose(reach):
    """Make each path in ``reach`` reachable by others, in this mount namespace only.

    A directory ``D`` that others cannot traverse is covered by a tmpfs of mode
    755, and only the entries on the way to ``reach`` are bind-mounted back into
    it, from a descriptor of ``D`` opened before it was covered.
    """
    done = []
    for _ in range(8):
        blocked = {}
        for path in reach:
            d = _blocking_ancestor(path)
            if d is not None:
                child = os.path.realpath(path)[len(d) + 1 :].split("/")[0]
                blocked.setdefault(d, set()).add(child)
        if not blocked:
            return done
        for d, children in blocked.items():
            fd = os.open(d, os.O_PATH | os.O_DIRECTORY)
            try:
                _mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=64k")
                for child in sorted(children):
                    src, dst = f"/proc/self/fd/{fd}/{child}", os.path.join(d, child)
                    if os.path.isdir(src):
                        os.mkdir(dst)
                    else:
                        open(dst, "w").close()
                    _mount(src, dst, None, MS_BIND | MS_REC)
            finally:
                os.close(fd)
            done.append(d)
    raise OSError("could not expose the interpreter's folders")


def _hide(paths):
    hidden = []
    for path in paths:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=000,size=4k")
            hidden.append(path)
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND)
            hidden.append(path)
    return hidden


def _namespaces(cfg, report):
    try:
        _call("unshare", CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
    except OSError as exc:
        report["notes"].append(f"no namespaces ({exc.strerror})")
        return False
    report["namespaces"] = ["pid", "mount", "network", "ipc", "uts"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    if cfg["uid"] is not None and cfg["reach"]:
        try:
            report["exposed"] = _expose(cfg["reach"])
        except OSError as exc:
            report["notes"].append(f"could not expose the interpreter ({exc})")
    try:
        report["hidden"] = _hide(cfg["hide"])
    except OSError as exc:
        report["notes"].append(f"could not hide every protected folder ({exc}); the audit hook still refuses them")
    return True


# --------------------------------------------------------------------------- the worker


def _worker(cfg, in_pid_namespace):
    """In the forked child: limits, privileges, folder, descriptors; then exec. Never returns."""
    try:
        if in_pid_namespace:  # a /proc that shows only this namespace
            try:
                _call("unshare", CLONE_NEWNS)
                _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            except OSError:
                pass
        os.setsid()
        for name, value in cfg["limits"].items():
            limit = getattr(resource, name)
            resource.setrlimit(limit, (value, value))
        uid = cfg["uid"]
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the launcher died: so does the worker
        if os.getppid() == 1 and not in_pid_namespace:
            os._exit(127)
        os.chdir(cfg["cwd"])
        os.umask(0o077)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(cfg["log_fd"], 1)
        os.dup2(cfg["log_fd"], 2)
        keep = sorted({0, 1, 2, *cfg["pass_fds"]})
        for fd in cfg["pass_fds"]:
            os.set_inheritable(fd, True)
        start = 3
        for fd in keep[3:] + [65536]:
            os.closerange(start, fd)
            start = fd + 1
        os.execve(cfg["python"], cfg["argv"], cfg["env"])
    except BaseException as exc:  # report, then die: never run anything else
        try:
            os.write(2, f"the sandbox could not start the worker: {exc!r}\n".encode())
        finally:
            os._exit(127)


# --------------------------------------------------------------------------- the end


def _processes():
    """``{pid: (ppid, uid)}`` of every process this /proc shows."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            out[int(name)] = (int(fields["PPid"]), int(fields["Uid"].split()[0]))
        except (OSError, KeyError, ValueError):
            continue
    return out


def _descendants(root, table):
    found, frontier = set(), [root]
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kill_as(uid):
    """``kill(-1, SIGKILL)`` as ``uid``: every process of that user, until none is left."""
    try:
        pid = os.fork()
    except OSError:
        return
    if pid == 0:
        try:
            os.setresuid(uid, uid, uid)
            for _ in range(1000):
                os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            os._exit(0)
        except BaseException:
            os._exit(1)
        os._exit(0)
    os.waitpid(pid, 0)


def _kill_everything(worker, uid, in_pid_namespace):
    me = os.getpid()
    for _ in range(200):
        if in_pid_namespace:
            try:
                os.kill(worker, signal.SIGKILL)  # init of the namespace: the kernel kills the rest
            except ProcessLookupError:
                pass
        elif uid is not None:
            _kill_as(uid)
        table = _processes()
        left = _descendants(me, table)
        if uid is not None:
            left |= {pid for pid, (_, u) in table.items() if u == uid}
        left.discard(me)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reap()
        if not left:
            return 0
        time.sleep(0.005)
    table = _processes()
    return len(_descendants(me, table) | {p for p, (_, u) in table.items() if uid is not None and u == uid})


def main():
    cfg = json.loads(sys.argv[1])
    stop_requested = []
    signal.signal(signal.SIGTERM, lambda *a: stop_requested.append(True))
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)  # the grader died: stop (below), killing the box
    if os.getppid() != cfg["parent"]:  # the grader is already gone
        return 1
    report = {
        "uid": cfg["uid"],
        "namespaces": [],
        "notes": [],
        "subreaper": False,
        "hidden": [],
        "exposed": [],
        "limits": cfg["limits"],
    }
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
        report["subreaper"] = True
    in_pid_namespace = bool(cfg["namespaces"]) and _namespaces(cfg, report)
    if cfg["uid"] is not None and not in_pid_namespace and not all(_others_can_reach(p) for p in cfg["reach"]):
        report["notes"].append(
            "the Python interpreter is not readable by other users, and without a mount "
            "namespace it cannot be made so: student code runs as the grader's user"
        )
        cfg["uid"] = report["uid"] = None
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    worker = os.fork()
    if worker == 0:
        _worker(cfg, in_pid_namespace)
    _emit(event="started", pid=worker, isolation=report)
    exited = False
    while True:
        ready, _, _ = select.select([0, wake_r], [], [], 1.0)
        if wake_r in ready:
            os.read(wake_r, 4096)
        if not exited:
            try:
                pid, status = os.waitpid(worker, os.WNOHANG)
            except ChildProcessError:
                pid, status = worker, 0
            if pid == worker:
                exited = True
                _emit(event="exited", status=status)
        _reap()
        if stop_requested:
            break
        if 0 in ready:
            try:
                command = os.read(0, 4096)
            except OSError:
                command = b""
            if not command or b"stop" in command:
                break
    survivors = _kill_everything(worker, cfg["uid"], in_pid_namespace)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    _emit(event="stopped", survivors=survivors, cpu=usage.ru_utime + usage.ru_stime)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The sandbox's parts on their own: the wire format, the notebook reader, the guard, the launcher.

The launcher is tested with a program that is *not* the worker: it forks a
``setsid`` daemon, a double-forked orphan and a process group of its own (what
the audit hook refuses to Python code), so that each of the launcher's ways of
killing (the PID namespace's init, ``kill(-1)`` as the sandbox user, the
subreaper's sweep of descendants) is shown to leave nothing alive on its own.
"""

from __future__ import annotations

import inspect
import json
import os
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from ebm.grading import _launcher, _nbcode, _wire
from ebm.grading._sandbox import claim_uid

# unique to this test process: another test run on the same machine leaves its own marked processes alone
MARKER = f"EBM-LAUNCHER-TEST-{os.getpid()}-{secrets.token_hex(4)}"


# --------------------------------------------------------------------------- the wire


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -7,
        2**70,
        1.5,
        float("inf"),
        float("-inf"),
        1 + 2j,
        "text ünïcode",
        [],
        (),
        [1, (2.0, [None, "x"])],
        {"a": 1, 2: (3,)},
        np.arange(6.0).reshape(2, 3),
        np.array([True, False]),
        np.zeros((0, 3), np.float32),
        np.int16(-3),
        np.complex64(1 - 1j),
        np.arange(4, dtype=">f8"),
    ],
)
def test_plain_values_cross_the_wire_unchanged(value):
    back = _wire.decode(json.loads(_wire.dumps(_wire.encode(value))))
    assert type(back) is type(value) or isinstance(value, np.ndarray) and isinstance(back, np.ndarray)
    if isinstance(value, np.ndarray):
        assert back.shape == value.shape and back.dtype == value.dtype.newbyteorder("=")
        np.testing.assert_array_equal(back, value)
    else:
        assert back == value


def test_a_nan_and_objects_become_plain_stand_ins():
    assert np.isnan(_wire.decode(_wire.encode(float("nan"))))
    assert np.isnan(_wire.decode(_wire.encode(np.array([np.nan])))[0])

    class Thing:
        def __repr__(self):
            return "<a thing>"

    back = _wire.decode(_wire.encode([Thing(), np.array([object()], dtype=object)]))
    assert [type(v) for v in back] == [_wire.Opaque, _wire.Opaque]
    assert back[0].type_name == "Thing" and repr(back[0]) == "<a thing>"
    loop = []
    loop.append(loop)
    assert isinstance(_wire.decode(_wire.encode(loop)), list)  # cut at MAX_DEPTH, not a crash


@pytest.mark.parametrize(
    "data,message",
    [
        ({"a": ["|O8", [1], ""]}, "not a plain number type"),
        ({"a": ["<f8", [2], "AAAAAAAAAAA="]}, "needs 16"),
        ({"a": ["<f8", [-1], ""]}, "shape"),
        ({"a": ["V10", [1], ""]}, "not a plain number type"),
        ({"n": ["<f8", "!!!"]}, "base64|Incorrect padding|Non-base64|Only base64"),
        ({"zz": 1}, "unknown value tag"),
        ({"a": 1, "t": []}, "not an encoded value"),
        ({"f": "nan-ish"}, "expected a number"),
        ({"d": [[{"t": []}, 1], [[1], 2]]}, "cannot be a list"),
        ({"o": [1, 2]}, "expected a string"),
    ],
)
def test_the_judge_rejects_anything_but_the_encoding(data, message):
    with pytest.raises(ValueError, match=message):
        _wire.decode(data)


def test_the_judge_bounds_depth_and_size():
    deep = "x"
    for _ in range(40):
        deep = [deep]
    with pytest.raises(ValueError, match="nested more than"):
        _wire.decode(deep)
    with pytest.raises(ValueError, match="more than"):
        _wire.decode([0] * (_wire.MAX_NODES + 1))
    with pytest.raises(ValueError, match="nested too deeply"):
        _wire.loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="must be a JSON object"):
        _wire.loads("[1, 2]")


def test_text_from_the_worker_is_cleaned():
    text = _wire.clean_text("a\udcffb\x1b[31mc\x07d\ne\tf")
    text.encode("utf-8")
    assert text == "a?b?[31mc?d\ne\tf"
    assert _wire.clean_text("x" * 50, limit=10).startswith("x" * 10 + "[... 40 more")


# --------------------------------------------------------------------------- notebooks


@pytest.mark.parametrize(
    "text,problem",
    [
        ("{not json", "not a readable notebook"),
        ('{"cells": 3}', "no list of cells"),
        ("[1, 2]", "no list of cells"),
        (
            '{"cells": [1, {"cell_type": "code", "source": 7}, {"cell_type": "code", "source": ["a", 1]}]}',
            "its source is a int",
        ),
        ('{"cells": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
    ],
)
def test_malformed_notebooks_are_problems_not_exceptions(text, problem):
    cells, problems = _nbcode.notebook_code(text)
    assert any(problem in p for p in problems), problems


def test_undecodable_bytes_are_reported_and_replaced():
    sources, problems = _nbcode.submission_sources("a.py", b"x = 1  # \xff\n")
    assert sources[0][1].startswith("x = 1") and "not valid UTF-8" in problems[0]
    assert _nbcode.submission_sources("a.py", "y = 'é'".encode())[1] == []


# --------------------------------------------------------------------------- the guard (in a fresh process)


GUARDED = r"""
import json, os, sys, pathlib, importlib
sys.dont_write_bytecode = True
sys.path.insert(0, {here!r})
import _guard_under_test as guard
record = []
guard.install(protected=[{secret!r}], writable=[{box!r}], record=record)
os.chdir({box!r})
tries = {{
    "read_protected": lambda: open({secret!r} + "/answer.py").read(),
    "read_via_link": lambda: open("link/answer.py").read(),
    "read_via_dotdot": lambda: open({box!r} + "/../secret/answer.py").read(),
    "read_via_proc_root": lambda: open("/proc/self/root" + {secret!r} + "/answer.py").read(),
    "list_protected": lambda: os.listdir({secret!r}),
    "dir_fd": lambda: os.open("/", os.O_RDONLY),
    "write_outside": lambda: open({outside!r}, "w"),
    "pathlike": lambda: open(pathlib.Path({secret!r}) / "answer.py"),
    "import_ebm": lambda: importlib.import_module("ebm.reference"),
    "import_grading": lambda: importlib.import_module("ebm.grading.exercises"),
    "native": lambda: importlib.import_module("_posixsubprocess"),
    "fork": lambda: os.fork(),
    "signal": lambda: os.kill(os.getppid(), 0),
    "ctypes": lambda: __import__("ctypes").CDLL(None),
    "socket": lambda: __import__("socket").socket(),
    "rlimit": lambda: __import__("resource").setrlimit(__import__("resource").RLIMIT_AS, (-1, -1)),
    "patched_realpath": lambda: (setattr(os.path, "realpath", lambda p: {box!r}), setattr(os, "lstat", None),
                                 open({secret!r} + "/answer.py").read()),
}}
out = {{}}
for name, act in tries.items():
    try:
        act()
        out[name] = "allowed"
    except PermissionError as exc:
        out[name] = "refused"
    except Exception as exc:
        out[name] = type(exc).__name__
open("mine.txt", "w").write("mine")                        # its own folder stays writable and readable
out["own_folder"] = open("mine.txt").read()
import ebm.grading
ebm.grading.check("anything", None)                          # the stand-in: does nothing
out["stub"] = "ok"
out["record"] = record
print(json.dumps(out))
"""


def test_the_guard_refuses_every_route_to_a_protected_file(tmp_path):
    from ebm.grading import _guard

    (tmp_path / "_guard_under_test.py").write_text(inspect.getsource(_guard))
    secret, box = tmp_path / "secret", tmp_path / "box"
    secret.mkdir()
    box.mkdir()
    (secret / "answer.py").write_text("ANSWER = 42\n")
    (box / "link").symlink_to(secret)
    code = GUARDED.format(here=str(tmp_path), secret=str(secret), box=str(box), outside=str(tmp_path / "out.txt"))
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    record = out.pop("record")
    assert out.pop("own_folder") == "mine" and out.pop("stub") == "ok"
    assert out == {name: "refused" for name in out}, out
    kinds = {text.split(" ")[0]: kind for kind, text in record}
    assert kinds["writing"] == "refused" and kinds["importing"] == "attempt" and kinds["opening"] == "attempt"
    assert not (tmp_path / "out.txt").exists()


# --------------------------------------------------------------------------- the launcher, on its own


SPAWNER = f"""
import os, subprocess, sys, time
# a setsid daemon, an orphan whose parent exits at once, and a process that ignores SIGTERM
subprocess.Popen(["/bin/sh", "-c", "sleep 60; : {MARKER}"], start_new_session=True)
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid()
        os.execv("/bin/sh", ["/bin/sh", "-c", "trap '' TERM HUP; sleep 60; : {MARKER}"])
    os._exit(0)
os.write(int(sys.argv[1]), b"ready\\n")
time.sleep(60)
"""


def _marked():
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if MARKER.encode() in Path(f"/proc/{name}/cmdline").read_bytes():
                    found.append(int(name))
            except OSError:
                pass
    return found


def _launch(namespaces, uid, tmp_path):
    box = tmp_path / "box"
    box.mkdir(mode=0o777)
    os.chmod(tmp_path, 0o711)
    log = os.open(tmp_path / "log.txt", os.O_WRONLY | os.O_CREAT, 0o600)
    ready_r, ready_w = os.pipe()
    config = {
        "parent": os.getpid(),
        "uid": uid,
        "namespaces": namespaces,
        "hide": [],
        "reach": [os.path.realpath(sys.executable), sys.base_prefix, sys.prefix, str(box)],
        "cwd": str(box),
        "python": sys.executable,
        "argv": [sys.executable, "-I", "-c", SPAWNER, str(ready_w)],
        "env": {"PATH": "/usr/bin:/bin"},
        "log_fd": log,
        "pass_fds": [ready_w],
        "limits": {"RLIMIT_NOFILE": 256},
    }
    proc = subprocess.Popen(
        [sys.executable, "-I", "-c", inspect.getsource(_launcher), json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        pass_fds=(ready_w, log),
    )
    os.close(ready_w)
    os.close(log)
    return proc, ready_r


@pytest.mark.parametrize("mode", ["namespaces", "user", "subreaper"])
def test_the_launcher_leaves_no_process_alive(mode, tmp_path):
    root = os.geteuid() == 0
    if mode != "subreaper" and not root:
        pytest.skip("the user switch and the namespaces need root (the subreaper case runs without)")
    uid, lock = claim_uid() if mode != "subreaper" else (None, None)
    proc, ready = _launch(mode == "namespaces", uid, tmp_path)
    started = json.loads(proc.stdout.readline())
    assert started["event"] == "started", started
    if mode == "namespaces" and not started["isolation"]["namespaces"]:
        pytest.skip("this kernel refuses new namespaces here: " + "; ".join(started["isolation"]["notes"]))
    assert os.read(ready, 100) == b"ready\n"
    deadline = time.monotonic() + 10
    while len(_marked()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_marked()) >= 2  # the daemons are really running
    proc.stdin.write(b"stop\n")
    proc.stdin.flush()
    events = [json.loads(line) for line in proc.stdout.read().splitlines()]
    proc.wait(timeout=30)
    stopped = events[-1]
    assert stopped["event"] == "stopped" and stopped["survivors"] == 0, events
    assert _marked() == []
    if lock is not None:
        os.close(lock)


def test_the_launcher_dies_with_the_grader(tmp_path):
    """A grader that is killed takes the launcher and the sandbox with it (PR_SET_PDEATHSIG, then the sweep)."""
    script = tmp_path / "grader.py"
    script.write_text(
        textwrap.dedent(f"""
        import json, os, subprocess, sys, inspect, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from ebm.grading import _launcher
        config = {{"parent": os.getpid(), "uid": None, "namespaces": False, "hide": [],
                   "reach": [], "cwd": "/tmp", "python": sys.executable,
                   "argv": [sys.executable, "-I", "-c", "import time; time.sleep(60)  # {MARKER}"],
                   "env": {{}}, "log_fd": 2, "pass_fds": [], "limits": {{}}}}
        p = subprocess.Popen([sys.executable, "-I", "-c", inspect.getsource(_launcher), json.dumps(config)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        print(p.stdout.readline().decode(), flush=True)
        time.sleep(60)
    """)
    )
    grader = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    assert "started" in grader.stdout.readline().decode()
    deadline = time.monotonic() + 10
    while not _marked() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _marked()
    grader.kill()
    grader.wait()
    deadline = time.monotonic() + 10
    while _marked() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _marked() == []


def test_limits_are_hard(tmp_path):
    """Soft = hard: the worker cannot raise a limit (raising a soft limit up to the hard one gains nothing)."""
    code = (
        "import resource, json; print(json.dumps({n: resource.getrlimit(getattr(resource, n)) for n in "
        "('RLIMIT_AS', 'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_NOFILE', 'RLIMIT_CORE')}))"
    )
    log_path = tmp_path / "log.txt"
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT, 0o600)
    config = {
        "parent": os.getpid(),
        "uid": None,
        "namespaces": False,
        "hide": [],
        "reach": [],
        "cwd": str(tmp_path),
        "python": sys.executable,
        "argv": [sys.executable, "-I", "-c", code],
        "env": {},
        "log_fd": log,
        "pass_fds": [],
        "limits": {"RLIMIT_AS": 2**30, "RLIMIT_CPU": 30, "RLIMIT_FSIZE": 2**20, "RLIMIT_NOFILE": 64, "RLIMIT_CORE": 0},
    }
    proc = subprocess.Popen(
        [sys.executable, "-I", "-c", inspect.getsource(_launcher), json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        pass_fds=(log,),
    )
    os.close(log)
    assert json.loads(proc.stdout.readline())["event"] == "started"
    assert json.loads(proc.stdout.readline())["event"] == "exited"
    proc.stdin.close()
    proc.wait(timeout=30)
    limits = json.loads(log_path.read_text())
    assert limits == {
        "RLIMIT_AS": [2**30] * 2,
        "RLIMIT_CPU": [30] * 2,
        "RLIMIT_FSIZE": [2**20] * 2,
        "RLIMIT_NOFILE": [64] * 2,
        "RLIMIT_CORE": [0, 0],
    }


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="user ids are claimed only as root")
def test_two_graders_never_share_a_sandbox_user():
    """A claimed id stays taken until released, also for a second grader (another process); and an id
    that some process runs as is never claimed."""
    first, lock = claim_uid()
    code = "import json; from ebm.grading._sandbox import claim_uid; uid, fd = claim_uid(); print(uid)"
    other = int(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    )
    assert other != first
    os.close(lock)
    again, lock = claim_uid()
    assert again == first  # released: the same id is free again
    sleeper = subprocess.Popen(
        ["setpriv", f"--reuid={first + 1}", f"--regid={first + 1}", "--clear-groups", "sleep", "30"]
    )
    try:
        time.sleep(0.2)
        second, lock2 = claim_uid()
        assert second not in (first, first + 1)  # held by us, and in use by a process
        os.close(lock2)
    finally:
        sleeper.kill()
        sleeper.wait()
        os.close(lock)

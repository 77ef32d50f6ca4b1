"""The sandbox's worker: loads one submission and calls its functions when the grader asks.

It runs as ``python -I -c BOOTSTRAP`` inside the box the launcher built
(:mod:`ebm.grading._launcher`), in a private folder that holds a copy of this one
submission, with none of ebm: the bootstrap gives it this module and the three
it needs (:mod:`._wire`, :mod:`._nbcode`, :mod:`._capture`, :mod:`._guard`) as
source text, so no ebm file is imported or even opened.

It never sees an expected value, a check, a hint or a score.  It answers
requests, one JSON line each, on the descriptors it was given:

- first it writes ``{"op": "loaded", ...}``: the problems met while loading the
  submission (each top-level statement runs on its own, under a time limit, so a
  statement that raises, exits or loops costs only itself), what it printed,
  which of the graded functions exist, and the refused actions;
- then, for each ``{"op": "call", "id", "name", "args", "kwargs", "timeout"}``,
  it calls the student's function on the decoded arguments under a timer and
  writes ``{"op": "result", "id", "status", "value", "args", "error", "output",
  "warnings", "seconds", "refused"}``: the return value and the arguments after
  the call as plain data (an ``__array__`` or ``__repr__`` of the student's runs
  here), ``status`` one of ``ok``, ``error``, ``timeout`` and ``missing``.

Nothing it says is trusted: the grader validates every message and scores the
values itself (:mod:`ebm.grading._sandbox`).
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import re
import sys
import time
import traceback
import warnings

if globals().get("__package__"):  # imported as ebm.grading._worker (the grader, tests)
    from ebm.grading import _capture, _guard, _nbcode, _wire
else:  # the bootstrap: modules given as source, no ebm
    import _ebm_capture as _capture  # noqa: I001
    import _ebm_guard as _guard
    import _ebm_nbcode as _nbcode
    import _ebm_wire as _wire

#: Largest array sent back whole; a bigger one is described instead (its shape and dtype).
MAX_ARRAY_BYTES = 16 * 2**20

#: Exceptions the grader names (captured now: the student may rebind the builtins later).
_KINDS = tuple(
    (k, getattr(builtins, k))
    for k in ("NotImplementedError", "MemoryError", "RecursionError", "SystemExit", "KeyboardInterrupt")
)

_STATEMENT_START = re.compile(r"^(?![\s#)\]}]|else\b|elif\b|except\b|finally\b|case\b)\S")


def _chunks(source):
    """Split source that does not parse into top-level chunks (decorators stay with their def)."""
    lines = source.splitlines(keepends=True)
    starts = [
        n
        for n, line in enumerate(lines)
        if _STATEMENT_START.match(line) and not (n and lines[n - 1].lstrip().startswith("@"))
    ]
    if not starts or starts[0] != 0:
        starts = [0] + starts
    bounds = zip(starts, starts[1:] + [len(lines)])
    return [(a + 1, "".join(lines[a:b])) for a, b in bounds if "".join(lines[a:b]).strip()]


def _compile_all(tree, filename):
    return [(s.lineno, compile(ast.Module([s], []), filename, "exec"), "") for s in tree.body]


def units(source, filename):
    """``[(line, code or None, problem)]``: one compiled unit per top-level statement.

    When the whole source does not parse, it is split into top-level chunks and
    each chunk is compiled on its own, so a syntax error costs only its chunk.
    """
    try:
        return _compile_all(ast.parse(source, filename), filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    out = []
    for line, chunk in _chunks(source):
        try:
            out += _compile_all(ast.parse("\n" * (line - 1) + chunk, filename), filename)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            last = line + chunk.count("\n") - (1 if chunk.endswith("\n") else 0)
            msg = getattr(exc, "msg", None) or type(exc).__name__
            at = getattr(exc, "lineno", None) or line
            out.append((line, None, f"{filename}, line {at}: SyntaxError: {msg} (lines {line}-{last} skipped)"))
    return out


def _text_of(obj, fallback):
    """``str(obj)``, or ``fallback`` when the student's ``__str__`` raises or runs out of time."""
    try:
        with _capture.alarm(1.0):
            return _wire.clean_text(str(obj), 500)
    except BaseException:
        return fallback


def _where(exc, filenames):
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in filenames]
    except BaseException:
        return ""
    return f"{frames[-1].filename}, line {frames[-1].lineno}, in {frames[-1].name}" if frames else ""


def describe(exc, filenames):
    """The exception as plain data: its type, message, where in the submission, and an exit code."""
    info = {
        "type": _text_of(type(exc).__name__, "an exception"),
        "message": _text_of(exc, "<its message could not be printed>"),
        "where": _where(exc, filenames),
    }
    if isinstance(exc, SystemExit):
        info["exit_code"] = _text_of(repr(exc.code), "?")
    for kind, cls in _KINDS:
        if isinstance(exc, cls):
            info["kind"] = kind
    return info


def _encode(value):
    """The value as plain data, under a short timer (its ``__array__``/``__repr__`` are student code)."""
    try:
        with _capture.alarm(2.0):
            import numpy as np

            if isinstance(value, np.ndarray) and value.nbytes > MAX_ARRAY_BYTES:
                return {
                    "o": [
                        "ndarray",
                        f"<an array of shape {value.shape} and dtype {value.dtype}: "
                        f"{value.nbytes} bytes, too large to send>",
                    ]
                }
            return _wire.encode(value)
    except BaseException:
        return {"o": [_text_of(type(value).__name__, "object"), "<could not be sent>"]}


class Worker:
    """The submission's namespace and the loop that answers the grader."""

    def __init__(self, config, reply):
        self.config = config
        self.reply = reply
        self.refused = []
        self.reported = 0
        self.filenames = set()
        self.namespace = {"__name__": "submission", "__builtins__": builtins}

    def new_refusals(self):
        new = self.refused[self.reported :]
        self.reported = len(self.refused)
        return [[kind, _wire.clean_text(str(text), 300)] for kind, text in new]

    def load(self):
        cfg = self.config
        name = cfg["submission"]
        sink = _capture.BoundedText()
        started = time.monotonic()
        deadline = started + cfg["load_budget"]
        try:
            with open(name, "rb") as f:
                data = f.read()
            sources, problems = _nbcode.submission_sources(name, data)
        except OSError as exc:
            sources, problems = [], [f"the submission could not be read: {exc}"]
        for filename, source in sources:
            self.filenames.add(filename)
            for line, code, problem in units(source, filename):
                if code is None:
                    problems.append(problem)
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    problems.append(
                        f"{filename}, line {line}: not run: loading the submission took more than "
                        f"{cfg['load_budget']:g} s"
                    )
                    continue
                try:
                    with (
                        warnings.catch_warnings(),
                        _capture.captured(sink),
                        _capture.alarm(min(cfg["statement_timeout"], left)),
                    ):
                        warnings.simplefilter("ignore")
                        exec(code, self.namespace)
                except _capture.ExerciseTimeout:
                    problems.append(
                        f"{filename}, line {line}: the statement ran for more than "
                        f"{min(cfg['statement_timeout'], left):g} s and was stopped"
                    )
                except BaseException as exc:  # SystemExit and KeyboardInterrupt too
                    info = describe(exc, self.filenames)
                    where = info["where"].rsplit(", in ", 1)[0] or f"{filename}, line {line}"
                    if info.get("kind") == "SystemExit":
                        text = f"sys.exit({info['exit_code']}) while loading (the rest of that statement was skipped)"
                    else:
                        text = f"{info['type']}: {info['message']}"
                    problems.append(f"{where}: {text[:300]}")
        functions = {}
        for fn in cfg["functions"]:
            value = self.namespace.get(fn)
            functions[fn] = (
                None if value is None else ("" if callable(value) else _text_of(type(value).__name__, "object"))
            )
        self.reply(
            {
                "op": "loaded",
                "problems": [_wire.clean_text(p, 500) for p in problems],
                "output": _wire.clean_text(sink.text()),
                "functions": functions,
                "seconds": time.monotonic() - started,
                "refused": self.new_refusals(),
            }
        )

    def call(self, request):
        fn = self.namespace.get(request["name"])
        answer = {
            "op": "result",
            "id": request["id"],
            "status": "ok",
            "value": None,
            "args": None,
            "error": None,
            "output": "",
            "warnings": [],
            "seconds": 0.0,
            "refused": [],
        }
        if not callable(fn):
            answer.update(status="missing", refused=self.new_refusals())
            self.reply(answer)
            return
        args = _wire.decode(request["args"])
        kwargs = _wire.decode(request["kwargs"])
        sink = _capture.BoundedText()
        started = time.perf_counter()
        result = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with _capture.captured(sink), _capture.alarm(request["timeout"]):
                    result = fn(*args, **kwargs)
            except _capture.ExerciseTimeout:
                answer["status"] = "timeout"
            except BaseException as exc:
                answer["status"] = "error"
                answer["error"] = describe(exc, self.filenames)
        answer["seconds"] = time.perf_counter() - started
        answer["warnings"] = list(
            dict.fromkeys(_text_of(f"{w.category.__name__}: {w.message}", "a warning") for w in caught)
        )[:20]
        answer["output"] = _wire.clean_text(sink.text())
        if answer["status"] == "ok":
            answer["value"] = _encode(result)
        answer["args"] = _encode([list(args), kwargs])
        answer["refused"] = self.new_refusals()
        self.reply(answer)


def serve(config, requests, replies):
    """Load the submission, then answer requests until the pipe closes."""

    def reply(message):
        data = _wire.dumps(message).encode("ascii")
        view = memoryview(data)
        while view:
            view = view[os.write(replies, view) :]

    worker = Worker(config, reply)
    _guard.install(
        protected=config["protected"],
        writable=config["writable"],
        allow_ebm=config["allow_ebm"],
        blocked_modules=config["blocked_modules"],
        allow_native=config["allow_native"],
        record=worker.refused,
    )
    worker.load()
    stream = os.fdopen(requests, "rb", buffering=0)
    buffer = b""
    while True:
        chunk = stream.read(1 << 16)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            worker.call(json.loads(line))


def bootstrap_source(modules):
    """The ``python -c`` program: register ``modules`` ({name: source}) as ``_ebm_<name>`` and serve."""
    return (
        "import sys, types\n"
        "sys.dont_write_bytecode = True\n"
        f"_sources = {modules!r}\n"
        "for _name, _src in _sources.items():\n"
        "    _mod = types.ModuleType('_ebm' + _name)\n"
        "    sys.modules['_ebm' + _name] = _mod\n"
        "    exec(compile(_src, '<ebm sandbox ' + _name + '>', 'exec'), _mod.__dict__)\n"
        "del _name, _src, _mod, _sources\n"
        "import json\n"
        "sys.modules['_ebm_worker'].main(sys.argv)\n"
    )


def main(argv):
    """``argv``: [_, requests fd, replies fd, config JSON]."""
    import numpy  # noqa: F401  (before the guard: its import opens many files and maps memory)

    config = json.loads(argv[3])
    preloaded = []
    for name in config.get("preload", ()):  # ebm allowed: import it and Numba (which imports the
        try:  # subprocess module) and stamp the JIT cache, before
            __import__(name)  # the guard refuses those
            preloaded.append(name)
        except Exception:  # then the student's own import fails, and says why
            pass
    if "ebm" in preloaded and "numba" in preloaded:
        try:
            sys.modules["ebm._numba_cache"].stamp_package()
        except Exception:
            pass
    serve(config, int(argv[1]), int(argv[2]))
    return 0

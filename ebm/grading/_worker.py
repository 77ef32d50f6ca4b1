"""The grading worker: one process per submission, started by :mod:`ebm.grading.grader`.

Usage (internal)::

    python -m ebm.grading._worker JOB_JSON RESULT_FD

It loads the submission statement by statement (a statement that raises, exits or
loops costs only itself), then runs each requested exercise's checks under a
wall-clock timer, and writes one JSON line per event to the file descriptor
``RESULT_FD``: ``{"event": "loaded", ...}``, then ``{"event": "start", "exercise": name}``
and ``{"event": "result", ...}`` for each exercise, and ``{"event": "done"}``.
The parent kills this process when an exercise outlives its time limit or the
process dies, and starts a fresh one for the exercises that are left.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import sys
import time
import traceback


def _limit_memory(megabytes):
    """Cap the address space (POSIX); returns a note of what was applied."""
    if not megabytes:
        return "no memory limit"
    try:
        import resource

        limit = int(megabytes) * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        return f"address space capped at {limit // 2**20} MiB"
    except (ImportError, ValueError, OSError) as exc:     # e.g. Windows, or a container refusing it
        return f"memory limit not available here ({type(exc).__name__})"


def _limit_file_size(megabytes=64):
    try:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # a write past the cap fails instead of killing
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    except (ImportError, ValueError, OSError, AttributeError):
        pass


_STATEMENT_START = re.compile(r"^(?![\s#)\]}]|else\b|elif\b|except\b|finally\b|case\b)\S")


def _chunks(source):
    """Split source that does not parse into top-level chunks (decorators stay with their def)."""
    lines = source.splitlines(keepends=True)
    starts = [n for n, line in enumerate(lines)
              if _STATEMENT_START.match(line) and not (n and lines[n - 1].lstrip().startswith("@"))]
    if not starts or starts[0] != 0:
        starts = [0] + starts
    bounds = zip(starts, starts[1:] + [len(lines)])
    return [(a + 1, "".join(lines[a:b])) for a, b in bounds if "".join(lines[a:b]).strip()]


def _units(source, filename):
    """``[(line, code or None, problem)]``: one compiled unit per top-level statement.

    When the whole source does not parse, it is split into top-level chunks and
    each chunk is compiled on its own, so a syntax error costs only its chunk.
    """
    try:
        tree = ast.parse(source, filename)
    except SyntaxError:
        units = []
        for line, chunk in _chunks(source):
            try:
                tree = ast.parse("\n" * (line - 1) + chunk, filename)
            except SyntaxError as exc:
                last = line + chunk.count("\n") - (1 if chunk.endswith("\n") else 0)
                units.append((line, None, f"{filename}, line {exc.lineno}: SyntaxError: {exc.msg} "
                                          f"(lines {line}-{last} skipped)"))
                continue
            units += [(s.lineno, compile(ast.Module([s], []), filename, "exec"), "") for s in tree.body]
        return units
    return [(s.lineno, compile(ast.Module([s], []), filename, "exec"), "") for s in tree.body]


def _sources(path):
    """``[(filename, source)]`` of the submission: the file, or a notebook's code cells."""
    from ebm.grading.notebooks import notebook_code, read_notebook

    if path.endswith(".ipynb"):
        return [(f"<cell {k}>", src) for k, src in notebook_code(read_notebook(path))]
    with open(path, encoding="utf-8", errors="replace") as f:
        return [(os.path.basename(path), f.read())]


def _where(exc, filename):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return f"{filename}, line {frames[-1].lineno}" if frames else filename


def load(path, namespace, statement_timeout):
    """Execute the submission into ``namespace``; return ``(problems, output)``."""
    from ebm.grading._harness import BoundedText, ExerciseTimeout, _alarm, _captured

    problems = []
    sink = BoundedText()
    for filename, source in _sources(path):
        for line, code, problem in _units(source, filename):
            if code is None:
                problems.append(problem)
                continue
            try:
                with _captured(sink), _alarm(statement_timeout):
                    exec(code, namespace)
            except ExerciseTimeout:
                problems.append(f"{filename}, line {line}: the statement ran for more than "
                                f"{statement_timeout:g} s and was stopped")
            except SystemExit as exc:
                problems.append(f"{_where(exc, filename)}: sys.exit({exc.code!r}) while loading "
                                "(the rest of that statement was skipped)")
            except BaseException as exc:                     # KeyboardInterrupt too: it is theirs
                text = f"{type(exc).__name__}: {exc}"
                problems.append(f"{_where(exc, filename)}: {text[:300]}")
    return problems, sink.text()


def _guarded_modules():
    import builtins

    import numpy

    names = [n for n in list(sys.modules) if n == "numpy" or n.startswith(("numpy.linalg", "ebm.grading"))
             or n in ("ebm.reference", "ebm.gradcheck", "ebm._checks", "copy", "math")]
    return [builtins, numpy] + [sys.modules[n] for n in names if sys.modules.get(n) is not None]


def snapshot():
    """The identity of every attribute of the modules the checks rely on (numpy, builtins, ebm.grading...)."""
    return {(m.__name__, k): id(v) for m in _guarded_modules() for k, v in list(vars(m).items())}


def tampered(before):
    """``"numpy.isclose"``-style names of attributes replaced or deleted since ``before``."""
    now = snapshot()
    return [f"{mod}.{name}" for (mod, name), ident in before.items() if now.get((mod, name)) != ident
            and name not in ("__warningregistry__", "_")]


def main(argv):
    job = json.loads(argv[1])
    out = os.fdopen(int(argv[2]), "w", buffering=1, encoding="utf-8")

    def emit(**event):
        out.write(json.dumps(event) + "\n")
        out.flush()

    os.environ["EBM_GRADING_WORKER"] = "1"                 # ebm.grading.check does nothing here
    import numpy  # noqa: F401  (before the memory cap: its import maps a lot of address space)

    from ebm.grading import registry
    from ebm.grading._harness import run_exercise

    registry()                                            # import the exercise modules first
    memory_note = _limit_memory(job.get("memory_mb"))
    _limit_file_size()

    namespace = {"__name__": "submission", "__file__": job["path"], "__builtins__": __builtins__}
    guard = snapshot()
    start = time.perf_counter()
    try:
        problems, output = load(job["path"], namespace, job["timeout"])
    except ValueError as exc:                             # not a readable notebook
        problems, output = [str(exc)], ""
    emit(event="loaded", problems=problems, output=output, memory=memory_note,
         seconds=time.perf_counter() - start,
         defined=sorted(k for k, v in namespace.items() if callable(v) and not k.startswith("_")))
    changed = tampered(guard)
    for name in job["exercises"]:
        emit(event="start", exercise=name)
        fn = namespace.get(name)
        if not changed:
            try:
                result = run_exercise(name, fn, include_hidden=True, flag_ebm=job["flag_ebm"],
                                      timeout=job["timeout"])
            except KeyboardInterrupt:                   # raised by the student's code itself
                result = run_exercise(name, None, include_hidden=True)
                for c in result.checks:
                    c.status, c.message = "error", "the function raised KeyboardInterrupt"
            changed = tampered(guard)
        if changed:                          # the checks themselves can no longer be trusted
            result = run_exercise(name, None, include_hidden=True)
            for c in result.checks:
                c.status = "flagged"
                c.message = (f"the submission replaced {', '.join(changed[:3])}, which the grader relies "
                             "on: its results cannot be trusted")
        if fn is None and problems:
            for c in result.checks:
                c.message += f" (loading the submission had problems: {problems[0]})"
        emit(event="result", exercise=name, result=result.to_dict())
    emit(event="done")
    out.close()
    return 0


def _main_reporting_failures(argv):
    """``main``, but a failure of the grader itself is reported to the parent as such."""
    try:
        return main(argv)
    except Exception:
        try:
            with os.fdopen(int(argv[2]), "w", closefd=False) as out:
                out.write(json.dumps({"event": "internal_error", "traceback": traceback.format_exc()}) + "\n")
        except Exception:
            pass
        raise


if __name__ == "__main__":
    sys.exit(_main_reporting_failures(sys.argv))

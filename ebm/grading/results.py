"""What the grader writes: Gradescope's and PrairieLearn's ``results.json``, the class's CSVs and figure.

Every file is written atomically (a temporary file in the same folder, then
``os.replace``), after the sandbox it describes is gone, so a reader never
sees a half-written file and no process of the submission can touch it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from ebm.grading._exercise import registry
from ebm.grading._harness import STATUSES

__all__ = [
    "gradescope_results",
    "prairielearn_results",
    "write_results",
    "write_atomic",
    "hint_counts",
    "plot_hint_counts",
    "format_hint_table",
    "write_summary",
    "write_hints",
    "summary_rows",
    "HIDDEN_VISIBILITIES",
]

HIDDEN_VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def write_atomic(path, data):
    """Write ``data`` (str or bytes) to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _check_output(c):
    parts = [c.message] if c.message else []
    if c.tolerance and c.status == "failed":
        parts.append(f"tolerance: {c.tolerance}")
    parts += [f"hint: {m}" for _, m in c.hints]
    if c.warnings:
        parts.append("warnings: " + "; ".join(c.warnings))
    if c.output:
        parts.append("printed:\n" + c.output)
    return "\n".join(parts) or "passed"


def gradescope_results(sub, *, hidden_visibility="after_due_date"):
    """The submission as Gradescope's ``results.json`` (a dict).

    Top level: ``score``, ``max_score``, ``execution_time``, ``output`` (loading
    problems and flags), ``visibility`` and ``tests``.  One test per check:
    ``name`` is ``"<exercise>: <check>"``, ``score``/``max_score`` its points,
    ``status`` ``"passed"``/``"failed"``, ``output`` the message (expected against
    got, tolerance, hints, printed output), ``visibility`` ``"visible"`` for public
    checks and ``hidden_visibility`` for hidden ones, plus ``number``, ``tags`` and
    ``extra_data`` (the grader's own status and hint keys).
    """
    if hidden_visibility not in HIDDEN_VISIBILITIES:
        raise ValueError(
            f"hidden_visibility must be one of {', '.join(HIDDEN_VISIBILITIES)}; got {hidden_visibility!r}"
        )
    tests = []
    for k, ex in enumerate(sub.exercises, 1):
        for j, c in enumerate(ex.checks, 1):
            tests.append(
                {
                    "name": f"{ex.exercise}: {c.description}",
                    "number": f"{k}.{j}",
                    "score": c.points,
                    "max_score": c.max_points,
                    "status": "passed" if c.passed else "failed",
                    "output": _check_output(c),
                    "visibility": hidden_visibility if c.hidden else "visible",
                    "tags": [ex.chapter, ex.exercise],
                    "extra_data": {
                        "exercise": ex.exercise,
                        "status": c.status,
                        "hints": [h for h, _ in c.hints],
                        "hidden": c.hidden,
                    },
                }
            )
    lines = [f"{sub.student}: {sub.score:g} / {sub.max_score:g} points"]
    if sub.grader_error:
        lines.append(f"NOT GRADED: the grader failed ({sub.grader_error.splitlines()[0][:200]}); ask your instructor")
    lines += [f"problem while loading: {p}" for p in sub.problems]
    lines += [f"flagged: {f}" for f in sub.flags or []]
    if sub.isolation:
        lines.append(f"sandbox: {sub.isolation}")
    return {
        "score": sub.score,
        "max_score": sub.max_score,
        "execution_time": round(sub.seconds, 3),
        "output": "\n".join(lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def prairielearn_results(sub, *, hidden_visibility="after_due_date"):
    """The submission in PrairieLearn's external-grader format (a dict).

    ``score`` is the fraction ``score / max_score`` in [0, 1]; each test has ``name``,
    ``description`` (the grader's status), ``points``, ``max_points``, ``message`` and
    ``output``.  PrairieLearn shows every test, so unless ``hidden_visibility`` is
    ``"visible"`` a hidden check's message is only ``hidden check: passed/failed``.
    """
    gs = gradescope_results(sub, hidden_visibility=hidden_visibility)
    tests = []
    for t in gs["tests"]:
        message = t["output"]
        if t["extra_data"]["hidden"] and hidden_visibility != "visible":
            message = f"hidden check: {t['status']}"
        tests.append(
            {
                "name": t["name"],
                "description": t["extra_data"]["status"],
                "points": t["score"],
                "max_points": t["max_score"],
                "message": message,
                "output": "",
            }
        )
    return {
        "gradable": not sub.grader_error,
        "score": (sub.score / sub.max_score) if sub.max_score else 0.0,
        "message": gs["output"],
        "output": sub.output,
        "tests": tests,
    }


def write_results(sub, out, *, fmt="gradescope", hidden_visibility="after_due_date"):
    """Write ``results.json`` for one submission to ``out`` (a file path), atomically; return it."""
    if fmt not in ("gradescope", "prairielearn"):
        raise ValueError(f"fmt must be 'gradescope' or 'prairielearn', got {fmt!r}")
    data = (
        prairielearn_results(sub, hidden_visibility=hidden_visibility)
        if fmt == "prairielearn"
        else gradescope_results(sub, hidden_visibility=hidden_visibility)
    )
    return write_atomic(out, json.dumps(data, indent=2) + "\n")


# --------------------------------------------------------------------------- a class


def hint_counts(results):
    """``[(exercise, mistake, students)]``: how many students each mistake hit, most first.

    A mistake is a hint key, or a status that is not a plain pass/fail
    (``timeout``, ``crashed``, ``error``, ``not_implemented``, ``flagged``...); a
    student counts once per exercise however many checks it hit.
    """
    counts = {}
    for sub in results:
        if sub.grader_error:
            continue
        for ex in sub.exercises:
            keys = set(ex.hint_keys)
            keys |= {c.status for c in ex.checks if c.status not in ("passed", "failed")}
            for key in keys:
                counts[(ex.exercise, key)] = counts.get((ex.exercise, key), 0) + 1
    order = {ex.name: n for n, ex in enumerate(registry())}
    return sorted(((e, k, n) for (e, k), n in counts.items()), key=lambda r: (order.get(r[0], 0), -r[2], r[1]))


#: The statuses that are a mistake of their own (not a plain pass or fail): drawn hatched.
_STATUS_KINDS = frozenset(STATUSES) - {"passed", "failed"}


def plot_hint_counts(results, path=None):
    """A horizontal bar chart of :func:`hint_counts` (one bar per exercise and mistake)."""
    import matplotlib.pyplot as plt

    rows = hint_counts(results)
    n_students = len(results)
    height = max(2.5, 0.32 * len(rows) + 1.2)
    fig, ax = plt.subplots(figsize=(8, height))
    if not rows:
        ax.text(0.5, 0.5, "no mistakes recognised: every check passed", ha="center", va="center")
        ax.set_axis_off()
    else:
        from matplotlib.patches import Patch
        from matplotlib.ticker import MaxNLocator

        exercises = list(dict.fromkeys(r[0] for r in rows))
        colors = plt.get_cmap("tab10")
        rows = rows[::-1]  # the first exercise on top
        for y, (e, k, n) in enumerate(rows):
            status = k in _STATUS_KINDS
            ax.barh(
                y,
                n,
                color=colors(exercises.index(e) % 10),
                alpha=0.45 if status else 1.0,
                hatch="//" if status else None,
                edgecolor="0.3" if status else "none",
            )
            ax.text(n + 0.01 * max(n_students, 1), y, str(n), va="center", fontsize=8)
        ax.set_yticks(range(len(rows)), [f"{e}: {k}" for e, k, _ in rows], fontsize=8)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlim(0, max(n_students, 1) * 1.05)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(f"students (of {n_students}) with this mistake on this exercise")
        ax.legend(
            handles=[
                Patch(color="0.5", label="a recognised mistake (hint)"),
                Patch(
                    facecolor="0.5",
                    alpha=0.45,
                    hatch="//",
                    edgecolor="0.3",
                    label="how the code failed (error, timeout, crash...)",
                ),
            ],
            loc="lower right",
            fontsize=8,
            framealpha=0.9,
        )
    ax.set_title("What to re-teach: recognised mistakes per exercise", fontsize=10)
    fig.tight_layout()
    if path is not None:
        buffer = io.BytesIO()
        fig.savefig(buffer, dpi=120, format="png")
        plt.close(fig)
        write_atomic(path, buffer.getvalue())
    return fig


def summary_rows(results, names):
    """The rows of ``summary.csv`` (a header, then one row per student)."""
    rows = [["student", "folder", "file", "score", "max_score", *names, "flags", "problems", "seconds", "cpu_seconds"]]
    for sub in results:
        by_name = {e.exercise: e for e in sub.exercises}
        problems = sub.problems + ([f"GRADER FAILED: {sub.grader_error}"] if sub.grader_error else [])
        rows.append(
            [
                sub.student,
                sub.folder,
                os.path.basename(sub.path),
                f"{sub.score:g}",
                f"{sub.max_score:g}",
                *[f"{by_name[n].score:g}" if n in by_name else "" for n in names],
                "; ".join(sub.flags or []),
                "; ".join(problems),
                f"{sub.seconds:.2f}",
                f"{sub.cpu_seconds:.2f}",
            ]
        )
    return rows


def _csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def write_summary(results, names, path):
    """``summary.csv``: one row per student (total, each exercise, flags, problems, seconds)."""
    return write_atomic(path, _csv_text(summary_rows(results, names)))


def write_hints(results, path):
    """``hints.csv``: how many students each mistake hit, with the hint's text."""
    messages = {(ex.name, h.key): h.message for ex in registry() for h in ex.hints}
    rows = [["exercise", "mistake", "students", "of", "hint"]]
    rows += [
        [exercise, key, n, len(results), messages.get((exercise, key), "")] for exercise, key, n in hint_counts(results)
    ]
    return write_atomic(path, _csv_text(rows))


def format_hint_table(results):
    """The class-wide table of :func:`hint_counts` as text."""
    rows = hint_counts(results)
    if not rows:
        return "no mistakes recognised: every check passed"
    w1 = max(len("exercise"), *(len(r[0]) for r in rows))
    w2 = max(len("mistake"), *(len(r[1]) for r in rows))
    lines = [f"{'exercise':{w1}s}  {'mistake':{w2}s}  students", f"{'-' * w1}  {'-' * w2}  --------"]
    lines += [f"{e:{w1}s}  {k:{w2}s}  {n} of {len(results)}" for e, k, n in rows]
    return "\n".join(lines)

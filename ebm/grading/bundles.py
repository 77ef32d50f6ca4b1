"""Autograders for the engines courses already run: Gradescope and PrairieLearn.

Both run one container per submission, so neither needs a scheduler from us:
each bundle installs ebm from a wheel it carries (no package index needed for
ebm; NumPy comes from the image, or from PyPI when the image lacks it), makes
ebm's files unreadable to other users, and grades the one upload with
``python -m ebm grade --upload``, which runs the student's code as an
unprivileged user when the container runs it as root (both do).

``python -m ebm grade --gradescope-bundle autograder.zip --chapter softmax_loss``
writes Gradescope's autograder zip::

    setup.sh          run once when Gradescope builds the image: installs ebm
    run_autograder    grades /autograder/submission into /autograder/results/results.json
    assignment.txt    the exercises to grade
    wheels/ebm-*.whl  ebm itself

``--prairielearn-bundle grader.zip`` writes the files of a PrairieLearn question's
external grader: ``tests/grade.sh`` (the entry point; grades ``/grade/student``
into ``/grade/results/results.json`` in PrairieLearn's format), ``tests/assignment.txt``,
``tests/wheels/ebm-*.whl``, and ``info-externalGradingOptions.json`` to paste
into the question's ``info.json``.

Every path in the scripts starts at ``$AUTOGRADER_ROOT`` (default ``/autograder``)
or ``$GRADE_ROOT`` (default ``/grade``), and Python is ``$EBM_PYTHON`` (default
``python3``), so the bundles can be tried in a temporary folder.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ebm.grading._exercise import get

__all__ = ["build_wheel", "write_gradescope_bundle", "write_prairielearn_bundle", "pick_upload"]

_INSTALL = r"""
PYTHON=${EBM_PYTHON:-python3}
"$PYTHON" -I -c 'import sys; assert sys.version_info >= (3, 11), "ebm needs Python 3.11 or newer"' || exit 1
"$PYTHON" -I -m pip install --quiet --no-index --no-deps --force-reinstall "$WHEELS"/ebm-*.whl
"$PYTHON" -I -c 'import numpy' 2>/dev/null || "$PYTHON" -I -m pip install --quiet "numpy>=1.26"
# Only the grader (root) may read ebm: its reference solutions must stay out of the sandbox's reach.
"$PYTHON" -I - <<'PY'
import importlib.util, os, sys
root = os.path.dirname(importlib.util.find_spec("ebm").origin)
if os.path.exists(os.path.join(os.path.dirname(root), "pyproject.toml")):
    sys.exit(f"refusing to lock {root}: it is a source checkout, not the installed wheel")
for rel in LOCKED:
    top = os.path.normpath(os.path.join(root, rel))
    if os.path.isfile(top):
        os.chmod(top, 0o600)
        continue
    for here, dirs, files in os.walk(top):
        for name in dirs:
            os.chmod(os.path.join(here, name), 0o700)
        for name in files:
            os.chmod(os.path.join(here, name), 0o600)
    os.chmod(top, 0o700)
PY
"""


def _install(locked):
    return _INSTALL.replace("for rel in LOCKED:", f"for rel in {list(locked)!r}:")


_SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WHEELS="$HERE/wheels"
"""

_RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission, as root; the student's code runs as another user.
set -uo pipefail
ROOT=${{AUTOGRADER_ROOT:-/autograder}}
PYTHON=${{EBM_PYTHON:-python3}}
mkdir -p "$ROOT/results"
"$PYTHON" -I -m ebm grade --upload "$ROOT/submission" --assignment "$ROOT/source/assignment.txt" \\
    --timeout {timeout} --memory-mb {memory_mb} --hidden-visibility {hidden}{allow} \\
    --json "$ROOT/results/results.json"
exit 0   # the score is in results.json; a non-zero status would hide it
"""

_GRADE_SH = """#!/usr/bin/env bash
# PrairieLearn's external grader runs this (the question's entrypoint), as root, in a fresh container.
set -uo pipefail
ROOT=${{GRADE_ROOT:-/grade}}
WHEELS="$ROOT/tests/wheels"
INSTALL
mkdir -p "$ROOT/results"
"$PYTHON" -I -m ebm grade --upload "$ROOT/student" --assignment "$ROOT/tests/assignment.txt" \\
    --format prairielearn --timeout {timeout} --memory-mb {memory_mb} --hidden-visibility {hidden}{allow} \\
    --json "$ROOT/results/results.json"
exit 0
"""


def _checkout():
    import ebm

    root = Path(ebm.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise RuntimeError(
            f"building ebm's wheel needs its source checkout (pyproject.toml next to the ebm package); {root} has none"
        )
    return root


def build_wheel(dest):
    """Build ebm's wheel from its source checkout into ``dest``; return its path.

    Uses ``pip wheel --no-deps`` (with build isolation, so pip may fetch the
    build backend, setuptools, from the package index or its cache).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ebm-wheel-") as build:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", build, str(_checkout())],
            capture_output=True,
            text=True,
        )
        wheels = sorted(Path(build).glob("ebm-*.whl"))
        if done.returncode != 0 or not wheels:
            raise RuntimeError(f"pip wheel failed: {(done.stderr or done.stdout).strip()[-800:]}")
        target = dest / wheels[0].name
        target.write_bytes(wheels[0].read_bytes())
    return target


def _assignment_text(names):
    return (
        "# the exercises this autograder grades (python -m ebm exercises --list)\n"
        + "\n".join(get(n).name for n in names)
        + "\n"
    )


def _options(timeout, memory_mb, allow_ebm, hidden_visibility):
    return dict(
        timeout=f"{float(timeout):g}",
        memory_mb=int(memory_mb or 0),
        hidden=hidden_visibility,
        allow=" --allow-ebm" if allow_ebm else "",
    )


def _lock_paths(names, allow_ebm):
    """The package paths (relative to ebm/) only root may read: all of ebm, or its grading package alone
    when an exercise of the assignment allows ebm (the modules that do an exercise are then refused by the
    sandbox's guard, and hidden where it gets a mount namespace)."""
    if allow_ebm or any(get(n).allow_ebm for n in names):
        return ["grading"]
    return ["."]


def _add(zf, name, text, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, text)


def _write_zip(path, files, wheel):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, (text, executable) in files.items():
            _add(zf, name, text, executable)
        for name in (wheel[0],):
            _add(zf, name, Path(wheel[1]).read_bytes())
    return path


def write_gradescope_bundle(
    path, names, *, timeout=10.0, memory_mb=1024, allow_ebm=False, hidden_visibility="after_due_date", wheel=None
):
    """Write Gradescope's autograder zip for the exercises ``names``; return its path.

    ``wheel`` is a built ebm wheel to use (default: build one, :func:`build_wheel`).
    """
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(wheel) if wheel else build_wheel(tmp)
        opts = _options(timeout, memory_mb, allow_ebm, hidden_visibility)
        files = {
            "setup.sh": (_SETUP + _install(_lock_paths(names, allow_ebm)), True),
            "run_autograder": (_RUN_AUTOGRADER.format(**opts), True),
            "assignment.txt": (_assignment_text(names), False),
        }
        return _write_zip(path, files, (f"wheels/{wheel.name}", wheel))


def write_prairielearn_bundle(
    path, names, *, timeout=10.0, memory_mb=1024, allow_ebm=False, hidden_visibility="after_due_date", wheel=None
):
    """Write a PrairieLearn external grader (a zip of the question's ``tests/`` and the options); return its path."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(wheel) if wheel else build_wheel(tmp)
        opts = _options(timeout, memory_mb, allow_ebm, hidden_visibility)
        info = {
            "externalGradingOptions": {
                "enabled": True,
                "image": "prairielearn/grader-python",
                "entrypoint": "/grade/tests/grade.sh",
                "timeout": int(60 + 2 * float(timeout) * len(names)),
            }
        }
        grade = _GRADE_SH.format(**opts).replace("INSTALL\n", _install(_lock_paths(names, allow_ebm)))
        files = {
            "tests/grade.sh": (grade, True),
            "tests/assignment.txt": (_assignment_text(names), False),
            "info-externalGradingOptions.json": (json.dumps(info, indent=2) + "\n", False),
        }
        return _write_zip(path, files, (f"tests/wheels/{wheel.name}", wheel))


def pick_upload(folder, names=()):
    """The file to grade in one student's upload folder, and a note when there was a choice.

    One ``.py``/``.ipynb`` file: that one.  Several: the one named like the
    assignment's exercise notebook (``05_softmax_loss.ipynb``), else the only
    notebook, else none (``ValueError`` naming the files).
    """
    from ebm.grading._exercise import CHAPTER_ORDER
    from ebm.grading.grader import SUFFIXES

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no upload folder at {folder}")
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in SUFFIXES
        and not p.is_symlink()
        and p.is_file()
        and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
    )
    if len(files) == 1:
        return files[0], ""
    if not files:
        raise ValueError(f"the upload holds no .py or .ipynb file ({', '.join(os.listdir(folder))[:200]})")
    chapters = {get(n).chapter for n in names}
    wanted = {f"{CHAPTER_ORDER.get(ch, 990) // 10:02d}_{ch}.ipynb" for ch in chapters}
    named = [p for p in files if p.name in wanted]
    notebooks = [p for p in files if p.suffix == ".ipynb"]
    chosen = named[0] if len(named) == 1 else (notebooks[0] if len(notebooks) == 1 else None)
    listed = ", ".join(p.name for p in files)
    if chosen is None:
        raise ValueError(f"the upload holds several files ({listed}); upload one notebook or .py file")
    return chosen, f"the upload holds several files ({listed}); graded {chosen.name}"

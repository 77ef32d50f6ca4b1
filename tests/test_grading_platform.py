"""The grader is POSIX-only: off POSIX, `python -m ebm grade` and `import ebm.grading.grader` stop at
once with one sentence naming the requirement (tested by taking the POSIX parts away)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ebm.cli import main
from ebm.grading import _platform

ROOT = Path(__file__).resolve().parent.parent


def test_this_machine_has_everything_the_grader_needs():
    assert _platform.posix_problems() == []
    _platform.require_posix()  # does not raise


@pytest.mark.parametrize("missing", [("fork",), ("setsid", "killpg")])
def test_grade_without_the_posix_calls_fails_first_naming_the_requirement(missing, monkeypatch, capsys, tmp_path):
    for name in missing:
        monkeypatch.delattr(os, name)
    # a submission that does not exist: the POSIX check comes before anything looks at it
    code = main(["grade", str(tmp_path / "absent.py"), "--chapter", "softmax_loss"])
    err = capsys.readouterr().err
    assert code == 1
    assert "python -m ebm grade cannot run here: the grader needs a POSIX system (Linux or macOS)" in err
    assert all(f"no os.{name}" in err for name in missing)
    assert "absent.py" not in err


def test_the_check_does_not_fire_on_posix(capsys, tmp_path):
    # the same command with POSIX intact gets past the check, to the missing file
    code = main(["grade", str(tmp_path / "absent.py"), "--chapter", "softmax_loss"])
    err = capsys.readouterr().err
    assert code == 1 and "absent.py" in err and "POSIX" not in err


def test_importing_the_grader_without_fcntl_and_resource_raises_runtime_error():
    code = (
        "import sys\n"
        "sys.modules['fcntl'] = sys.modules['resource'] = None      # as on Windows\n"
        "try:\n"
        "    import ebm.grading.grader\n"
        "except RuntimeError as exc:\n"
        "    print('RuntimeError:', exc)\n"
        "import ebm.grading, numpy as np\n"
        "from ebm import reference\n"
        "r = ebm.grading.run_exercise('softmax_backward', lambda t, d: reference.softmax_backward(t, d))\n"
        "print('check still runs:', r.max_score > 0)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "RuntimeError: ebm.grading.grader cannot run here: the grader needs a POSIX system" in out.stdout
    assert "no module resource; no module fcntl" in out.stdout
    assert "ModuleNotFoundError" not in out.stdout + out.stderr
    assert "check still runs: True" in out.stdout

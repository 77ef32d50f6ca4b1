"""The Gradescope and PrairieLearn bundles, run as each platform runs them, in a temporary folder.

Each platform's directories are laid out under a temporary root (the scripts
take ``$AUTOGRADER_ROOT`` / ``$GRADE_ROOT``), ebm is installed from the bundle's
wheel into a fresh virtual environment (which borrows NumPy from this one), and
the bundle's own scripts grade one upload: the instructor notebook of chapter 05
(full marks) and a wrong ``.py`` (its mistake found).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import ebm.grading as grading
from ebm.grading import bundles, notebooks
from ebm.grading.demo import GALLERY

pytestmark = pytest.mark.xdist_group("bundles")  # one worker: its module/session fixtures run once

CHAPTER = "softmax_loss"
NAMES = [e.name for e in grading.registry(CHAPTER)]
MAX = sum(e.max_score for e in grading.registry(CHAPTER))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A built wheel and a fresh venv whose python sees this environment's packages, but not its ebm."""
    root = tmp_path_factory.mktemp("bundles")
    wheel = bundles.build_wheel(root / "wheel")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # numpy, pip; not ebm
    return {"root": root, "wheel": wheel, "python": python}


def _unzip(bundle, where):
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            zf.extract(info, where)
            mode = info.external_attr >> 16
            if mode:
                os.chmod(Path(where) / info.filename, mode & 0o777)


def _run(script, **env):
    done = subprocess.run(
        [str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=script.parent,
        env=dict(os.environ, **{k: str(v) for k, v in env.items()}),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _uploads(folder, kind):
    folder.mkdir(parents=True)
    if kind == "solution":
        nb = notebooks.instructor_notebook(CHAPTER)
        (folder / "05_softmax_loss.ipynb").write_text(json.dumps(nb))
    else:
        (folder / "mine.py").write_text(GALLERY["forgot_one"][0])
        (folder / "notes.txt").write_text("not graded")


def test_gradescope_bundle(env, tmp_path):
    bundle = bundles.write_gradescope_bundle(tmp_path / "autograder.zip", NAMES, timeout=5, wheel=env["wheel"])
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
    assert {"setup.sh", "run_autograder", "assignment.txt", f"wheels/{env['wheel'].name}"} <= names
    root = tmp_path / "autograder"
    _unzip(bundle, root / "source")
    _run(root / "source" / "setup.sh", EBM_PYTHON=env["python"])
    installed = subprocess.run(
        [str(env["python"]), "-I", "-c", "import ebm, os; print(os.path.dirname(ebm.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert installed.startswith(str(env["root"]))
    locked = lambda rel: (os.stat(os.path.join(installed, rel)).st_mode & 0o077) == 0
    # chapter 05's lecture exercises allow ebm, so only the grading package (the solutions) is locked to root
    assert locked("grading") and locked("grading/exercises/softmax_loss.py")
    assert not locked(".") and not locked("softmax_loss.py")
    for kind, expected in (("solution", MAX), ("wrong", None)):
        sub = root / "submission"
        if sub.exists():
            import shutil

            shutil.rmtree(sub)
        _uploads(sub, kind)
        (root / "results").mkdir(exist_ok=True)
        _run(root / "source" / "run_autograder", AUTOGRADER_ROOT=root, EBM_PYTHON=env["python"])
        data = json.loads((root / "results" / "results.json").read_text())
        assert data["max_score"] == MAX and {t["name"].split(":")[0] for t in data["tests"]} == set(NAMES)
        if expected is not None:
            assert data["score"] == expected, data["output"]
        else:
            assert 0 < data["score"] < MAX, data["output"] + json.dumps(data["tests"][:3])
            assert any("label_not_subtracted" in t["extra_data"]["hints"] for t in data["tests"])
        if os.geteuid() == 0:
            assert "sandbox: user 644" in data["output"], data["output"]


def test_prairielearn_bundle(env, tmp_path):
    bundle = bundles.write_prairielearn_bundle(tmp_path / "grader.zip", NAMES, timeout=5, wheel=env["wheel"])
    root = tmp_path / "grade"
    _unzip(bundle, root)
    info = json.loads((root / "info-externalGradingOptions.json").read_text())
    assert info["externalGradingOptions"]["entrypoint"] == "/grade/tests/grade.sh"
    _uploads(root / "student", "wrong")
    _run(root / "tests" / "grade.sh", GRADE_ROOT=root, EBM_PYTHON=env["python"])
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["gradable"] is True and 0 < data["score"] < 1
    assert sum(t["max_points"] for t in data["tests"]) == MAX
    assert "several files" not in data["message"]  # notes.txt is not a candidate


def test_an_upload_with_several_files_picks_the_assignment_notebook(tmp_path):
    up = tmp_path / "up"
    up.mkdir()
    (up / "scratch.py").write_text("x = 1\n")
    (up / "05_softmax_loss.ipynb").write_text("{}")
    path, note = bundles.pick_upload(up, NAMES)
    assert path.name == "05_softmax_loss.ipynb" and "several files" in note
    (up / "05_softmax_loss.ipynb").unlink()
    (up / "other.ipynb").write_text("{}")
    assert bundles.pick_upload(up, NAMES)[0].name == "other.ipynb"  # the only notebook
    (up / "another.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="upload one notebook"):
        bundles.pick_upload(up, NAMES)
    with pytest.raises(FileNotFoundError):
        bundles.pick_upload(tmp_path / "absent", NAMES)


def test_the_upload_command_always_leaves_a_results_file(tmp_path, capsys):
    from ebm.cli import main

    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "results.json"
    assert main(["grade", "--upload", str(empty), "--chapter", CHAPTER, "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["score"] == 0 and data["max_score"] == MAX and "no .py or .ipynb" in data["output"]


def test_the_bundle_locks_all_of_ebm_unless_an_exercise_allows_it():
    assert bundles._lock_paths([e.name for e in grading.registry("rbm")], False) == ["."]
    assert bundles._lock_paths([e.name for e in grading.registry("rbm")], True) == ["grading"]
    assert bundles._lock_paths(["nll_beta_grad"], False) == ["grading"]  # lecture 05's: allows ebm

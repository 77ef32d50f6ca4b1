"""tools/build_exercises.py regenerates the repository's exercise files from the registry, and the
user's command line no longer writes into the repository."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ebm.cli import main

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "build_exercises.py"


def _copy_tree(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "grading.md", tmp_path / "docs" / "grading.md")
    return sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())


def _run(*args):
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=300)


def test_the_tool_restores_every_generated_file_of_a_damaged_copy(tmp_path):
    files = _copy_tree(tmp_path)
    # damage one file of each kind: a missing exercise notebook, a lecture without its
    # nbgrader test cells, a wrong number in the docs table
    (tmp_path / "notebooks" / "exercises" / "05_softmax_loss.ipynb").unlink()
    lecture = tmp_path / "notebooks" / "01_hopfield.ipynb"
    nb = json.loads(lecture.read_text())
    tests = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    assert tests, "the lecture has autograded test cells to remove"
    nb["cells"] = [c for c in nb["cells"] if c not in tests]
    lecture.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    doc = tmp_path / "docs" / "grading.md"
    text = doc.read_text()
    assert "| 2, 2 pt |" in text
    doc.write_text(text.replace("| 2, 2 pt |", "| 2, 99 pt |", 1))
    changed = [p for p in files if (tmp_path / p).exists() and (tmp_path / p).read_bytes() != (ROOT / p).read_bytes()]
    assert len(changed) == 2  # the check below can see a difference

    done = _run("--root", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "1 notebook(s) changed" in done.stdout
    for rel in files:
        assert (tmp_path / rel).read_bytes() == (ROOT / rel).read_bytes(), f"{rel} differs from the stored file"


def test_the_tool_writes_only_what_it_is_asked_for(tmp_path):
    _copy_tree(tmp_path)
    doc = tmp_path / "docs" / "grading.md"
    doc.write_text(doc.read_text().replace("| 2, 2 pt |", "| 2, 99 pt |", 1))
    (tmp_path / "notebooks" / "exercises" / "01_hopfield.ipynb").unlink()
    done = _run("--root", str(tmp_path), "--notebooks")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "notebooks" / "exercises" / "01_hopfield.ipynb").exists()
    assert "| 2, 99 pt |" in doc.read_text()  # --notebooks leaves the docs alone
    done = _run("--root", str(tmp_path), "--docs")
    assert done.returncode == 0 and "| 2, 99 pt |" not in doc.read_text()


def test_a_docs_page_without_the_markers_is_an_error(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "grading.md").write_text("# no table here\n")
    done = _run("--root", str(tmp_path), "--docs")
    assert done.returncode == 1 and "no exercise-table markers" in done.stderr


@pytest.mark.parametrize("option", ["--update-docs", "--build-notebooks", "--nbgrader"])
def test_the_user_command_line_has_no_maintainer_options(option, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["exercises", option])
    assert exc.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err

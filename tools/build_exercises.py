"""Regenerate what the exercise registry writes into the repository (maintainers only).

The registry (``ebm/grading/exercises/``) is the one place an exercise's statement,
reference solution, checks and points live.  Three kinds of stored files are made
from it, and the test suite fails while any of them differs from what it would make:

- ``notebooks/exercises/NN_<chapter>.ipynb``, the instructor notebooks
  (``tests/test_grading_notebooks.py``);
- nbgrader's cell metadata and one autograded test cell per check, on every notebook
  with solutions under ``notebooks/``: the exercise notebooks and the lectures
  (``tests/test_grading_nbgrader.py``);
- the exercise table in ``docs/grading.md`` (``tests/test_grading_grader.py``).

Run it from a clone after changing an exercise, a check's points or a lecture's
exercise cells::

    python tools/build_exercises.py                # all three, in that order
    python tools/build_exercises.py --notebooks    # only the instructor notebooks
    python tools/build_exercises.py --nbgrader     # only the nbgrader stamps
    python tools/build_exercises.py --docs         # only the table in docs/grading.md

It writes into the checkout it sits in (``--root`` names another), whichever ebm is
installed: the registry is imported from that checkout too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/build_exercises.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", action="store_true", help="write notebooks/exercises/NN_<chapter>.ipynb")
    parser.add_argument(
        "--nbgrader",
        action="store_true",
        help="stamp nbgrader's metadata and test cells onto every notebook with solutions",
    )
    parser.add_argument("--docs", action="store_true", help="regenerate the exercise table in docs/grading.md")
    parser.add_argument(
        "--root",
        type=Path,
        default=ROOT,
        metavar="DIR",
        help="the tree holding notebooks/ and docs/ (default: this checkout)",
    )
    args = parser.parse_args(argv)
    every = not (args.notebooks or args.nbgrader or args.docs)

    sys.path.insert(0, str(ROOT))  # this checkout's ebm, not another installed one
    from ebm.grading import notebooks
    from ebm.grading.cli import docs_with_table
    from ebm.grading.nbgrader import stamp_notebooks

    folder = args.root / "notebooks"
    if every or args.notebooks:
        for path in notebooks.write_instructor_notebooks(folder / "exercises"):
            print(f"wrote {path}")
    if every or args.nbgrader:
        try:
            changed = stamp_notebooks(folder)
        except (ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for path in changed:
            print(f"stamped {path}")
        print(f"nbgrader metadata and test cells up to date in {folder} ({len(changed)} notebook(s) changed)")
    if every or args.docs:
        doc = args.root / "docs" / "grading.md"
        try:
            doc.write_text(docs_with_table(doc.read_text(encoding="utf-8")), encoding="utf-8")
        except (ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"updated the exercise table in {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Exercises and an autograder that students and instructors can trust.

Students
--------
Write the function, then check it in the notebook::

    import ebm.grading
    ebm.grading.check("softmax_loss_backward", softmax_loss_backward)

prints one line per public check (PASS/FAIL, expected against got at the first
differing index, the tolerance, a hint naming the mistake) and says how many
hidden checks remain for grading.  It never writes to stderr.

Instructors
-----------
``python -m ebm exercises --student OUTDIR`` writes student notebooks (each
``### BEGIN SOLUTION`` ... ``### END SOLUTION`` becomes ``raise NotImplementedError``;
the repository's notebooks hold the solutions, so hand out these);
``python -m ebm grade SUBMISSION --chapter KEY`` or ``python -m ebm grade DIR --chapter KEY
--out OUTDIR`` grades ``.py``/``.ipynb`` submissions into Gradescope (or PrairieLearn)
``results.json`` files (:mod:`ebm.grading.grader`).  Each runs in a sandbox that only
calls the student's functions (:mod:`ebm.grading._sandbox`); every expected value,
comparison and point is computed here.  POSIX only.

Exercise authors
----------------
A chapter's exercises live in ``ebm/grading/exercises/<chapter>.py``; each is made
with :func:`exercise` and given checks (``@ex.check``) and hints (``@ex.hint``).
The module is found by its file.  See ``docs/grading.md``, "Adding an exercise".
"""

from __future__ import annotations

from ebm.grading._exercise import CHAPTER_ORDER, Attempt, Check, Exercise, Hint, chapters, exercise, get, registry
from ebm.grading._feedback import assert_check, check, format_result, verify
from ebm.grading._harness import STATUSES, CheckResult, ExerciseResult, run_exercise
from ebm.grading.compare import Mismatch, expect_close, expect_gradient, expect_true, expect_tuple, fail, is_close

__all__ = [
    # students, and nbgrader's test cells
    "check",
    "assert_check",
    # the registry
    "exercise",
    "registry",
    "get",
    "chapters",
    "Exercise",
    "Check",
    "Hint",
    "Attempt",
    "CHAPTER_ORDER",
    # writing checks
    "expect_close",
    "expect_gradient",
    "expect_tuple",
    "expect_true",
    "fail",
    "is_close",
    "Mismatch",
    # running checks
    "run_exercise",
    "verify",
    "format_result",
    "CheckResult",
    "ExerciseResult",
    "STATUSES",
]

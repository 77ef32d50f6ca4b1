"""``python -m ebm``: the tour, the benchmarks, the chapter list, exercises, grading and the book."""

from __future__ import annotations

import argparse
import sys


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m ebm",
        description="ebm: energy-based models from Hopfield 1982 to the softmax-with-loss core.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    tour = sub.add_parser("tour", help="run every chapter's demonstration, narrated, writing figures/")
    _chapters_argument(tour)
    tour.add_argument("--figures", default="figures", help="where to write the figures (default: figures)")

    bench = sub.add_parser(
        "bench",
        help="time the Numba core against the NumPy reference and PyTorch",
        description="The Hopfield sweep, then the core's table (see ebm.bench); absolute "
        "times are noisy, the ratios measured side by side are what to read.",
    )
    bench.add_argument("--repeat", type=int, default=7, help="timed runs per case; the median is reported")
    bench.add_argument("--quick", action="store_true", help="small shapes only, no Hopfield sweep (a smoke run)")
    bench.add_argument("--float64", action="store_true", help="the table in float64 (cases that fix no dtype)")
    bench.add_argument("--no-torch", action="store_true", help="leave PyTorch's columns empty")
    bench.add_argument(
        "--startup", action="store_true", help="only the first call in a fresh process, against a trivial cached @njit"
    )
    bench.add_argument("--runs", type=int, default=11, help="with --startup: interleaved process pairs")
    bench.add_argument(
        "--cold",
        action="store_true",
        help="only first calls and the tour with an empty JIT cache, against a trivial @njit and "
        "the warm run (with --quick: two cases, no tour)",
    )

    warm = sub.add_parser(
        "warmup",
        help="compile the kernels the lectures and the tour use, once (for a lab)",
        description="Compile every kernel of the core in float32 and float64, run the tour's "
        "chapters silently, and compile the core's parallel twins, into Numba's "
        "on-disk cache, so that later processes start without compiling (see "
        "ebm.warmup). A warm cache makes it take seconds.",
    )
    _chapters_argument(warm)
    warm.add_argument("--no-progress", action="store_true", help="no progress bar")

    sub.add_parser("chapters", help="list the tour's chapters")
    _exercises_parser(sub)
    _grade_parser(sub)

    book = sub.add_parser(
        "book",
        help="build the lectures, executed, as a static HTML book that needs no network",
        description="Execute the five lectures and write them, with an index, the article and "
        "the exercises guide, as a static HTML book (needs the 'book' extra: "
        'python -m pip install -e ".[book]"). Open OUT/index.html, or copy OUT to '
        "any static host.",
    )
    book.add_argument(
        "--out",
        default="build/book",
        metavar="DIR",
        help="where to write the book (default: build/book); an earlier book there is replaced",
    )
    book.add_argument(
        "--solutions",
        action="store_true",
        help="keep the exercises' solutions (an instructor's copy); by default they appear as "
        "students get them, so the book can be published to a class",
    )
    return parser


def _chapters_argument(parser):
    """The tour's chapter keys, as ``tour`` and ``warmup`` take them."""
    parser.add_argument("chapters", nargs="*", help="chapter keys to run (default: all; see 'chapters')")


def _exercises_parser(sub):
    ex = sub.add_parser(
        "exercises",
        help="list the exercises, write student versions, verify the references",
        description="Without options (or with --list): the table of exercises (name, chapter, "
        "signature, points).  Maintainers regenerate the repository's exercise "
        "notebooks, nbgrader stamps and docs table with tools/build_exercises.py.",
    )
    ex.add_argument("--list", action="store_true", help="print the table of exercises (the default)")
    ex.add_argument(
        "--student",
        metavar="OUTDIR",
        help="write student versions of every notebook with solutions, as nbgrader "
        "generate_assignment makes them (### BEGIN/END SOLUTION becomes '# YOUR CODE HERE' and "
        "raise NotImplementedError(), hidden tests are removed), keeping the folder structure; "
        "refuses to replace existing files unless --force",
    )
    ex.add_argument("--force", action="store_true", help="with --student: replace files that already exist")
    ex.add_argument(
        "--source", metavar="DIR", help="with --student: where the notebooks are (default: the repository's notebooks/)"
    )
    ex.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ex.add_argument(
        "--verify",
        action="store_true",
        help="run every reference solution through all checks (exit 1 unless all earn full marks)",
    )
    ex.add_argument(
        "--demo-class",
        metavar="DIR",
        help="write 20 demonstration submissions (right, wrong and hostile) to try the grader on",
    )


def _grade_parser(sub):
    gr = sub.add_parser(
        "grade",
        help="grade a submission (.py or .ipynb) or a directory of them",
        description="Grade one submission, or every .py/.ipynb file in a directory (then --out "
        "is required). Each submission runs in its own sandbox; the scores are "
        "computed outside it. Say what to grade with --chapter, --exercise or "
        "--assignment (a single exercise notebook NN_<chapter>.ipynb names its "
        "chapter). Exit status 0 whenever grading succeeded, whatever the score; "
        "1 when it could not grade; 2 for a usage error.",
    )
    gr.add_argument("submission", nargs="?", help="a .py or .ipynb file, or a directory of them (one per student)")
    gr.add_argument("--json", metavar="PATH", help="write the results.json of a single submission here")
    upload = (  # the platforms' upload folders
        "grade the one .py/.ipynb file in a student's upload folder (Gradescope's "
        "/autograder/submission, PrairieLearn's /grade/student); with --json, a results.json "
        "is written even when grading fails"
    )
    gr.add_argument("--upload", metavar="DIR", help=upload)
    gr.add_argument(
        "--out",
        metavar="OUTDIR",
        help="for a directory: write <student>/results.json, summary.csv, hints.csv and hints.png here",
    )
    gr.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="wall-clock seconds of calls per exercise, and per top-level statement while loading (default 10)",
    )
    gr.add_argument(
        "--load-timeout",
        type=float,
        metavar="SECONDS",
        help="wall-clock seconds for loading a whole submission (default: 30, or 3 x --timeout); a "
        "lecture handed in whole runs its demonstrations while loading: give it a few minutes",
    )
    gr.add_argument(
        "--memory-mb",
        type=int,
        default=1024,
        metavar="MB",
        help="address-space cap per submission process, 0 for none (default 1024)",
    )
    gr.add_argument("--chapter", action="append", metavar="KEY", help="grade this chapter's exercises (repeatable)")
    gr.add_argument("--exercise", action="append", metavar="NAME", help="grade this exercise (repeatable)")
    gr.add_argument(
        "--assignment", metavar="FILE", help="a text file naming the exercises or chapters to grade, one per line"
    )
    gr.add_argument(
        "--allow-ebm",
        action="store_true",
        help="let the graded functions import ebm (never ebm.grading); by default the sandbox has "
        "no ebm, except for exercises that allow it",
    )
    gr.add_argument("--jobs", type=int, metavar="N", help="submissions graded at once (default: CPU count)")
    gr.add_argument(
        "--format",
        choices=("gradescope", "prairielearn"),
        default="gradescope",
        help="results.json format (default gradescope)",
    )
    gr.add_argument(
        "--hidden-visibility",
        default="after_due_date",
        choices=("hidden", "after_due_date", "after_published", "visible"),
        help="Gradescope visibility of hidden checks (default after_due_date)",
    )
    gr.add_argument("--no-progress", action="store_true", help="no progress bar")
    gr.add_argument(
        "--gradescope-bundle",
        metavar="ZIP",
        help="write Gradescope's autograder zip for the assignment (setup.sh, run_autograder, "
        "ebm's wheel) instead of grading",
    )
    gr.add_argument(
        "--prairielearn-bundle",
        metavar="ZIP",
        help="write a PrairieLearn external grader for the assignment (grade.sh, ebm's wheel) instead of grading",
    )


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "tour":
        from ebm.chapters import registry, run_tour

        known = [c.key for c in registry()]
        unknown = [k for k in args.chapters if k not in known]
        if unknown:
            print(f"error: unknown chapter(s) {unknown}; choose from {known}", file=sys.stderr)
            return 2
        run_tour(args.chapters or None, figures=args.figures)
    elif args.command == "bench":
        import numpy as np

        from ebm.bench import run_bench, run_hopfield_bench, run_startup_bench

        if args.repeat < 1 or args.runs < 1:
            print("error: --repeat and --runs must be at least 1", file=sys.stderr)
            return 2
        if args.startup:
            run_startup_bench(runs=args.runs)
            return 0
        if args.cold:
            from ebm.bench.cold import QUICK, run_cold_bench

            run_cold_bench(cases=QUICK if args.quick else None, tour=not args.quick)
            return 0
        if not args.quick:  # first: PyTorch's threads (if any) would slow it
            run_hopfield_bench(repeat=min(args.repeat, 3))
            print()
        run_bench(
            repeat=args.repeat,
            quick=args.quick,
            dtype=np.float64 if args.float64 else np.float32,
            torch=not args.no_torch,
        )
    elif args.command == "warmup":
        from ebm.warmup import warmup

        try:
            warmup(args.chapters or None, progress=not args.no_progress)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    elif args.command == "chapters":
        from ebm.chapters import registry

        for ch in registry():
            print(f"{ch.key:16s} {ch.title}")
    elif args.command == "exercises":
        from ebm.grading.cli import exercises_command

        return exercises_command(args)
    elif args.command == "grade":
        from ebm.grading.cli import grade_command

        return grade_command(args)
    elif args.command == "book":
        from ebm.book import BookError, build_book

        try:
            result = build_book(args.out, solutions=args.solutions, progress=True)
        except BookError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for line in result.warnings:
            print(f"warning: {line}", file=sys.stderr)
        print(
            f"book written to {result.index} ({len(result.lectures)} lectures, {result.size_mb:.1f} MB, "
            f"{result.seconds:.0f} s); open it in a browser, or copy {result.out} to any static host"
        )
    return 0

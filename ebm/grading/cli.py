"""The ``exercises`` and ``grade`` commands of ``python -m ebm`` (parsers in :mod:`ebm.cli`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ebm.grading._exercise import registry

__all__ = ["exercises_command", "grade_command", "exercise_table"]


def _err(message):
    print(f"error: {message}", file=sys.stderr)


def exercise_table(markdown=False):
    """The table of exercises: chapter, name and signature, public and hidden points."""
    rows = [(ex.chapter, ex.name, ex.signature, sum(c.points for c in ex.public_checks),
             len(ex.public_checks), sum(c.points for c in ex.hidden_checks), len(ex.hidden_checks))
            for ex in registry()]
    if markdown:
        lines = ["| chapter | exercise | signature | public checks (points) | hidden checks (points) |",
                 "|---|---|---|---|---|"]
        lines += [f"| {ch} | `{name}` | `{sig}` | {npub} ({pub:g}) | {nhid} ({hid:g}) |"
                  for ch, name, sig, pub, npub, hid, nhid in rows]
        return "\n".join(lines)
    w = max(len(r[2]) for r in rows)
    lines = [f"{'chapter':13s} {'signature':{w}s}  public  hidden"]
    lines += [f"{ch:13s} {sig:{w}s}  {pub:4g} pt {hid:4g} pt" for ch, _, sig, pub, _, hid, _ in rows]
    return "\n".join(lines)


def exercises_command(args):
    from ebm.grading import notebooks

    did = False
    if args.verify:
        from ebm.grading import format_result, verify

        bad = verify()
        for result in bad:
            print(format_result(result))
        n = len(registry())
        print(f"{n - len(bad)} of {n} reference solutions earn full marks")
        if bad:
            return 1
        did = True
    if args.build_notebooks is not None:
        outdir = Path(args.build_notebooks or notebooks.repo_notebooks() / "exercises")
        for path in notebooks.write_instructor_notebooks(outdir):
            print(f"wrote {path}")
        did = True
    if args.student:
        source = Path(args.source) if args.source else notebooks.repo_notebooks()
        if not source.is_dir():
            _err(f"no notebooks at {source}; pass --source DIR")
            return 1
        try:
            written = notebooks.write_student_versions(source, args.student)
        except (ValueError, OSError) as exc:
            _err(str(exc))
            return 1
        for path in written:
            print(f"wrote {path}")
        print(f"{len(written)} student notebook(s) in {args.student}: each solution is now "
              "'raise NotImplementedError'")
        did = True
    if args.demo_class:
        from ebm.grading.demo import write_demo_class

        paths = write_demo_class(args.demo_class)
        print(f"wrote {len(paths)} demonstration submissions to {args.demo_class}; grade them with\n"
              f"  python -m ebm grade {args.demo_class} --out grading-results")
        did = True
    if args.markdown or not did:
        print(exercise_table(markdown=args.markdown))
    return 0


def _print_submission(sub):
    print(f"{sub.student}: {sub.score:g} / {sub.max_score:g} points ({sub.seconds:.1f} s)")
    for p in sub.problems:
        print(f"  problem while loading: {p}")
    for ex in sub.exercises:
        passed = sum(c.passed for c in ex.checks)
        print(f"  {ex.exercise:24s} {ex.score:4g} / {ex.max_score:g}   {passed} of {len(ex.checks)} checks passed")
        not_run, last = 0, None
        for c in ex.checks:
            if c.passed:
                continue
            if c.message.startswith("not run:") or c.message == last:
                not_run += 1
                continue
            last = c.message
            tag = " (hidden)" if c.hidden else ""
            print(f"      {c.status.upper()}{tag} {c.description}: {c.message[:300]}")
            for _, message in c.hints:
                print(f"        hint: {message}")
        if not_run:
            print(f"      ... and {not_run} more check(s) not run or failing the same way")


def grade_command(args):
    from ebm.grading import grader

    if args.timeout <= 0:
        _err("--timeout must be positive")
        return 2
    if args.jobs is not None and args.jobs < 1:
        _err("--jobs must be at least 1")
        return 2
    options = dict(exercises=args.exercise, chapters=args.chapter, timeout=args.timeout,
                   memory_mb=args.memory_mb or None, flag_ebm=not args.allow_ebm)
    target = Path(args.submission)
    try:
        if target.is_dir():
            if not args.out:
                _err("grading a directory needs --out OUTDIR")
                return 2
            start = time.perf_counter()
            results = grader.grade_directory(target, args.out, jobs=args.jobs, progress=not args.no_progress,
                                             fmt=args.format, hidden_visibility=args.hidden_visibility, **options)
            wall = time.perf_counter() - start
            print(f"graded {len(results)} submission(s) in {wall:.1f} s "
                  f"(worker CPU {sum(r.cpu_seconds for r in results):.1f} s)")
            for sub in results:
                flags = f"  [{'; '.join(sub.flags)}]" if sub.flags else ""
                print(f"  {sub.student:24s} {sub.score:5g} / {sub.max_score:g}{flags}")
            print()
            print("Which mistakes fired how often (what to re-teach):")
            print(grader.format_hint_table(results))
            print(f"\nwrote {args.out}/<student>/results.json, summary.csv, hints.csv, hints.png")
            return 0
        sub = grader.grade_submission(target, **options)
        _print_submission(sub)
        if args.json:
            grader.write_results(sub, args.json, fmt=args.format, hidden_visibility=args.hidden_visibility)
            print(f"wrote {args.json}")
        return 0
    except (FileNotFoundError, ValueError, KeyError, OSError) as exc:
        _err(f"could not grade: {exc}")
        return 1

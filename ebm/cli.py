"""``python -m ebm``: the tour, the benchmarks, and the chapter list."""

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
    tour.add_argument("chapters", nargs="*", help="chapter keys to run (default: all; see 'chapters')")
    tour.add_argument("--figures", default="figures", help="where to write the figures (default: figures)")

    bench = sub.add_parser("bench", help="time the Numba core against the NumPy reference")
    bench.add_argument("--repeat", type=int, default=7, help="timed runs per case; the median is reported")
    bench.add_argument("--quick", action="store_true", help="small shapes only, no Hopfield sweep (a smoke run)")

    sub.add_parser("chapters", help="list the tour's chapters")
    return parser


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
        from ebm.bench import run_bench, run_hopfield_bench

        if args.repeat < 1:
            print("error: --repeat must be at least 1", file=sys.stderr)
            return 2
        if not args.quick:                    # first: PyTorch's threads (if any) would slow it
            run_hopfield_bench(repeat=min(args.repeat, 3))
            print()
        run_bench(repeat=args.repeat, quick=args.quick)
    elif args.command == "chapters":
        from ebm.chapters import registry

        for ch in registry():
            print(f"{ch.key:16s} {ch.title}")
    return 0

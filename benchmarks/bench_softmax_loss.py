"""Benchmark the Numba softmax-with-loss core against the NumPy reference and PyTorch.

Run from the repository root::

    python benchmarks/bench_softmax_loss.py            # float32, full table
    python benchmarks/bench_softmax_loss.py --float64  # every case that does not fix its dtype in float64
    python benchmarks/bench_softmax_loss.py --no-torch

Same table as ``python -m ebm bench`` (without the Hopfield sweep), with a dtype
switch.  PyTorch is timed when installed: ``pip install -e '.[bench]'``.
"""

import argparse

import numpy as np

from ebm.bench import run_bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--float64", action="store_true")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    run_bench(repeat=args.repeat, quick=args.quick, dtype=np.float64 if args.float64 else np.float32,
              torch=not args.no_torch)

"""The Hopfield chapter's speed: the capacity sweep, and the Numba recall against a Python loop."""

from __future__ import annotations

import statistics
import time

import numpy as np

from ebm.bench._timing import time_median


def run_hopfield_bench(repeat=3, seed=0, out=print):
    """Time the Hopfield capacity sweep and the Numba recall against the Python ``run`` loop.

    The sweep is the Hopfield chapter's capacity curve: Hebb, N = 500, 20 loads x 10
    seeds.  The ratio compares the parallel Numba ``recall`` with relaxing the same
    probes one by one through :meth:`HopfieldNetwork.run` (plain NumPy and Python), on
    one load, in the same run.

    Returns
    -------
    dict with "sweep_s", "recall_ms", "run_loop_ms", "speedup"
    """
    from ebm import hopfield
    from ebm.datasets import random_patterns

    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    loads = np.linspace(0.0125, 0.25, 20)
    hopfield.capacity_sweep(100, [0.1], n_seeds=1)  # compile outside the timing
    sweeps = []
    for _ in range(repeat):
        start = time.perf_counter()
        hopfield.capacity_sweep(500, loads, rule="hebb", n_seeds=10, seed=seed)
        sweeps.append(time.perf_counter() - start)
    xi = random_patterns(50, 500, seed)  # alpha = 0.1
    rng = np.random.default_rng(seed)
    probes = xi.copy()
    probes[rng.random(probes.shape) < 0.1] *= -1
    net = hopfield.HopfieldNetwork.from_patterns(xi)
    t_recall = time_median(lambda: net.recall(probes, seed=1), repeat)
    t_loop = time_median(lambda: [net.run(p, seed=1) for p in probes], repeat)
    result = dict(
        sweep_s=statistics.median(sweeps), recall_ms=t_recall * 1e3, run_loop_ms=t_loop * 1e3, speedup=t_loop / t_recall
    )
    out(
        f"hopfield: capacity sweep N=500, 20 loads x 10 seeds (Hebb): median {result['sweep_s']:.2f} s "
        f"over {repeat} runs (target <= 10 s)"
    )
    out(
        f"hopfield: recall of 50 noisy probes at N=500: Numba {result['recall_ms']:.2f} ms, "
        f"Python run() loop {result['run_loop_ms']:.1f} ms, speedup {result['speedup']:.0f}x"
    )
    return result

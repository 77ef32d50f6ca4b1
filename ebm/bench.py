"""``python -m ebm bench``: the Numba core against the NumPy reference, same run, same data.

Each case is timed as the median of ``repeat`` runs (each run loops enough calls
to last a few milliseconds), and reported with the ratio reference / core
(higher is better for the core).  Absolute times on a shared 2-core machine are
noisy; the ratios, measured side by side in one run, are what to read.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from ebm import reference, softmax_loss

#: (name, shape, axis) of the benchmark cases; the quick set is the first three.
CASES = [
    ("Caffe test blob", (10, 5, 2, 3), 1),
    ("MNIST batch", (64, 10), 1),
    ("ImageNet batch", (256, 1000), 1),
    ("FCN image 300x500, 21 classes", (1, 21, 300, 500), 1),
    ("FCN batch 8x21x64x64", (8, 21, 64, 64), 1),
]
QUICK = 3


def _time(fn, repeat):
    """Median seconds per call of ``fn`` over ``repeat`` runs."""
    fn()                                                  # warm (and JIT-compile) first
    number, elapsed = 1, 0.0
    while True:                                           # calls per run: at least ~5 ms
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= 5e-3 or number >= 1 << 16:
            break
        number *= 2
    runs = [elapsed / number]
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def _ops(module, x, label, top_diff, axis):
    prob = module.softmax_forward(x, axis)
    return {
        "softmax_forward": lambda: module.softmax_forward(x, axis),
        "softmax_backward": lambda: module.softmax_backward(prob, top_diff, axis),
        "softmax_loss_forward": lambda: module.softmax_loss_forward(x, label, axis=axis, ignore_label=0),
        "softmax_loss_backward": lambda: module.softmax_loss_backward(prob, label, axis=axis, ignore_label=0),
    }


def _torch_ops(x, label, axis):
    """PyTorch's softmax and cross-entropy on the same data, or {} without torch.

    ``F.cross_entropy(..., ignore_index=0)`` averages over the kept positions: Caffe's
    VALID normalization, so it doubles as an independent oracle for the loss.
    """
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return {}
    tx = torch.from_numpy(np.moveaxis(x, axis, 1).copy())            # classes on dim 1
    tl = torch.from_numpy(label.astype(np.int64))
    return {
        "softmax_forward": lambda: torch.softmax(tx, dim=1),
        "softmax_loss_forward": lambda: F.cross_entropy(tx, tl, ignore_index=0),
    }


def run_bench(repeat=7, quick=False, dtype=np.float32, seed=0, out=print):
    """Time every core function against :mod:`ebm.reference`; print and return the rows.

    Parameters
    ----------
    repeat : int, default 7
        Timed runs per case; the median is reported.
    quick : bool, default False
        Only the small cases.
    dtype : float32 or float64, default float32
    seed : int, default 0
    out : callable, default print

    Returns
    -------
    list of dict
        One row per (case, function): ``case``, ``shape``, ``function``,
        ``reference_ms``, ``core_ms``, ``speedup`` (reference / core), and, when
        PyTorch is installed, ``torch_ms`` for the two forward functions.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    rng = np.random.default_rng(seed)
    cases = CASES[:QUICK] if quick else CASES
    rows = []
    header = f"{'case':32s} {'function':22s} {'reference ms':>13s} {'core ms':>10s} {'speedup':>8s}"
    out(f"ebm bench: median of {repeat} runs, dtype {np.dtype(dtype).name}; speedup = reference / core")
    out(header)
    out("-" * len(header))
    data = []
    for name, shape, axis in cases:
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        label_shape = shape[:axis] + shape[axis + 1:]
        label = rng.integers(0, shape[axis], size=label_shape)
        top_diff = rng.standard_normal(shape).astype(dtype)
        data.append((name, shape, axis, x, label, top_diff))
    for name, shape, axis, x, label, top_diff in data:
        ref_ops = _ops(reference, x, label, top_diff, axis)
        core_ops = _ops(softmax_loss, x, label, top_diff, axis)
        for fname in ref_ops:
            t_ref = _time(ref_ops[fname], repeat)
            t_core = _time(core_ops[fname], repeat)
            row = dict(case=name, shape=shape, function=fname, reference_ms=t_ref * 1e3,
                       core_ms=t_core * 1e3, speedup=t_ref / t_core)
            rows.append(row)
            out(f"{name:32s} {fname:22s} {row['reference_ms']:13.4f} {row['core_ms']:10.4f} "
                f"{row['speedup']:7.1f}x")
    # PyTorch last: its OpenMP threads keep spinning after each call and would
    # slow the Numba kernels timed next to them.
    torch_rows = [(d, _torch_ops(d[3], d[4], d[2])) for d in data]
    if torch_rows and torch_rows[0][1]:
        out("")
        out("PyTorch on the same data (its own threads), and the loss as an independent oracle:")
        for (name, shape, axis, x, label, top_diff), torch_ops in torch_rows:
            for fname, fn in torch_ops.items():
                row = next(r for r in rows if r["case"] == name and r["function"] == fname)
                row["torch_ms"] = _time(fn, repeat) * 1e3
                out(f"{name:32s} {fname:22s} torch {row['torch_ms']:9.4f} ms, core {row['core_ms']:9.4f} ms "
                    f"(torch / core {row['torch_ms'] / row['core_ms']:.2f})")
            ours = softmax_loss.softmax_loss_forward(x, label, axis=axis, ignore_label=0)[0]
            theirs = float(torch_ops["softmax_loss_forward"]())
            out(f"{'':32s} loss: core {ours:.6f}, torch cross_entropy {theirs:.6f}, "
                f"relative difference {abs(ours - theirs) / abs(theirs):.1e}")
    speedups = [r["speedup"] for r in rows]
    geo = float(np.exp(np.mean(np.log(speedups))))
    out(f"geometric-mean speedup of the core over the reference: {geo:.2f}x over {len(rows)} cases")
    return rows


def run_hopfield_bench(repeat=3, seed=0, out=print):
    """Time the Hopfield capacity sweep and the Numba recall against the Python ``run`` loop.

    The sweep is issue 3's benchmark: Hebb, N = 500, 20 loads x 10 seeds (target
    <= 10 s).  The ratio compares the parallel Numba ``recall`` with relaxing the
    same probes one by one through :meth:`HopfieldNetwork.run` (plain NumPy and
    Python), on one load, in the same run.

    Returns
    -------
    dict with "sweep_s", "recall_ms", "run_loop_ms", "speedup"
    """
    from ebm import hopfield
    from ebm.datasets import random_patterns

    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    loads = np.linspace(0.0125, 0.25, 20)
    hopfield.capacity_sweep(100, [0.1], n_seeds=1)                    # compile outside the timing
    sweeps = []
    for _ in range(repeat):
        start = time.perf_counter()
        hopfield.capacity_sweep(500, loads, rule="hebb", n_seeds=10, seed=seed)
        sweeps.append(time.perf_counter() - start)
    xi = random_patterns(50, 500, seed)                                # alpha = 0.1
    rng = np.random.default_rng(seed)
    probes = xi.copy()
    probes[rng.random(probes.shape) < 0.1] *= -1
    net = hopfield.HopfieldNetwork.from_patterns(xi)
    t_recall = _time(lambda: net.recall(probes, seed=1), repeat)
    t_loop = _time(lambda: [net.run(p, seed=1) for p in probes], repeat)
    result = dict(sweep_s=statistics.median(sweeps), recall_ms=t_recall * 1e3,
                  run_loop_ms=t_loop * 1e3, speedup=t_loop / t_recall)
    out(f"hopfield: capacity sweep N=500, 20 loads x 10 seeds (Hebb): median {result['sweep_s']:.2f} s "
        f"over {repeat} runs (target <= 10 s)")
    out(f"hopfield: recall of 50 noisy probes at N=500: Numba {result['recall_ms']:.2f} ms, "
        f"Python run() loop {result['run_loop_ms']:.1f} ms, speedup {result['speedup']:.0f}x")
    return result

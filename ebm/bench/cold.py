"""A student's first run: each kernel family's first call, and the tour, with an empty JIT cache.

Run::

    python -m ebm bench --cold               # every case and the tour (a few minutes)
    python -m ebm bench --cold --quick       # two cases, no tour

Every measurement is a fresh process (:func:`ebm.bench.startup.run_fresh`) with its own
empty ``NUMBA_CACHE_DIR``, removed afterwards: what a fresh install compiles.  The
"warm" column runs the same process again on the cache the cold one left (median of
``warm_runs``).  The floor is the first call of a trivial ``@njit(cache=True)`` with
an empty cache, import included (median of three runs: at the start, the middle and
the end); a first call cannot start faster.

A case is the first ``softmax_loss_forward`` + ``softmax_loss_backward`` (``loss``)
or ``softmax_forward`` + ``softmax_backward`` (``softmax``) on a small input of one
kernel family (:mod:`ebm._kernels`: narrow rows, wide rows, spatial tiles) and one
dtype, timed from before ``import numpy`` to the end of the backward.  The process
also records every compilation Numba does, through its event API
(``numba.core.event``, the ``"numba:compile"`` event): per dispatcher, the CPU seconds
spent compiling it, without the nested compilations of the functions it calls (CPU
rather than wall-clock seconds, which other work on a shared machine inflates).
That table shows where a cold first call spends its time, and which kernels it
compiled (:func:`first_call`).

The tour is ``python -m ebm tour`` run as a user runs it, timed from outside
(figures into a temporary directory), first with an empty cache, then again.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from ebm.bench.startup import fresh_env, run_fresh, write_trivial_module

#: (pass, family, shape, dtype): one small input per kernel family (ebm._kernels) and dtype.  The
#: first is a student's first call: MNIST's batch of 64 rows of 10 classes, below
#: ``ebm.softmax_loss.SMALL_SIZE``, takes the plain rows kernels; 128 rows take the narrow ones,
#: and the spatial inputs have at least SMALL_SIZE elements, so that they take the tiles.
CASES = [
    ("loss", "rows", (64, 10), "float32"),
    ("loss", "narrow", (128, 10), "float32"),
    ("loss", "narrow", (128, 10), "float64"),
    ("loss", "rows", (64, 100), "float32"),
    ("loss", "rows", (64, 100), "float64"),
    ("loss", "tiles", (2, 5, 16, 16), "float32"),
    ("loss", "tiles", (2, 5, 16, 16), "float64"),
    ("softmax", "narrow", (128, 10), "float32"),
    ("softmax", "rows", (64, 100), "float32"),
    ("softmax", "tiles", (2, 5, 16, 16), "float32"),
]
QUICK = [CASES[0], CASES[1]]

# The child: a listener on Numba's compile events, then the first calls.  Its clock starts
# before anything is imported; it prints one JSON line.
CHILD = textwrap.dedent("""
    import time; t0 = time.perf_counter()
    import json, sys
    spec = json.loads(sys.argv[1])
    from numba.core import event
    stack, compiled = [], {}

    class Compiles(event.Listener):
        def on_start(self, e):
            stack.append([time.process_time(), 0.0])

        def on_end(self, e):
            start, nested = stack.pop()
            seconds = time.process_time() - start       # CPU: compiling is this thread's work
            if stack:
                stack[-1][1] += seconds
            f = e.data["dispatcher"].py_func
            name = f"{f.__module__}.{f.__qualname__}"
            row = compiled.setdefault(name, [0, 0.0, 0.0])
            row[0] += 1
            row[1] += seconds - nested                  # its own time
            row[2] += seconds if not stack else 0.0     # top-level compilations: their whole time

    event.register("numba:compile", Compiles())
    import numpy as np
    if spec["pass"] == "floor":
        sys.path.insert(0, spec["dir"])
        import ebm_trivial_njit
        ebm_trivial_njit.f(1.0)
    else:
        import ebm
        shape = tuple(spec["shape"])
        rng = np.random.default_rng(0)
        x = rng.normal(size=shape).astype(spec["dtype"])
        t1 = time.perf_counter()
        if spec["pass"] == "loss":
            label = rng.integers(0, shape[1], size=shape[:1] + shape[2:])
            loss, prob = ebm.softmax_loss_forward(x, label)
            ebm.softmax_loss_backward(prob, label)
        else:
            top = ebm.softmax_forward(x)
            ebm.softmax_backward(top, x)
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time(), "compiled": compiled}))
""")


def _name(case):
    kind, family, shape, dtype = case
    return f"{kind} {family} {tuple(shape)} {dtype}"


def first_call(case, cache_dir, floor_dir=None):
    """Run ``case`` (a row of :data:`CASES`, or ``("floor",)``) in a fresh process on ``cache_dir``.

    Returns ``{"seconds": ..., "compiled": {dispatcher: [compilations, own seconds, top-level seconds]}}``:
    the process's time from before ``import numpy`` to the end of its calls, and what Numba compiled.
    """
    if case[0] == "floor":
        spec = {"pass": "floor", "dir": floor_dir}
    else:
        kind, family, shape, dtype = case
        spec = {"pass": kind, "family": family, "shape": list(shape), "dtype": dtype}
    stdout = run_fresh(CHILD, json.dumps(spec), env=fresh_env(NUMBA_CACHE_DIR=str(cache_dir)))
    return json.loads(stdout.strip().splitlines()[-1])


def _tour_seconds(cache_dir):
    with tempfile.TemporaryDirectory(prefix="ebm-cold-figures-") as figures:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ebm", "tour", "--figures", figures],
            check=True,
            env=fresh_env(NUMBA_CACHE_DIR=str(cache_dir)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        return time.perf_counter() - start


def _short(name):
    return name.removeprefix("ebm.").replace(".<locals>.", ":")


def run_cold_bench(cases=None, tour=True, warm_runs=3, top=6, out=print):
    """Cold and warm first calls of ``cases`` (default :data:`CASES`) and of the tour, against the floor.

    Returns ``{"floor": seconds, "cases": [{case, cold, warm, compiled, warm_compiled, ...}], "tour": (cold, warm)
    or None}``: ``compiled`` is what the cold process compiled (see :func:`first_call`), ``warm_compiled`` the
    dispatchers any warm process compiled (none of ebm's when the cache works).
    """
    from ebm.bench._timing import machine_description

    cases = CASES if cases is None else cases
    if warm_runs < 1:
        raise ValueError(f"warm_runs must be at least 1, got {warm_runs}")
    out(f"ebm bench --cold on {machine_description()}")
    out(f"each row: a fresh process; cold = an empty NUMBA_CACHE_DIR, warm = the cache it left (median of {warm_runs})")
    floors, rows = [], []
    with tempfile.TemporaryDirectory(prefix="ebm-cold-") as tmp:
        write_trivial_module(tmp)

        def floor():
            with tempfile.TemporaryDirectory(prefix="cache-", dir=tmp) as cache:
                floors.append(first_call(("floor",), cache, tmp))

        floor()
        for n, case in enumerate(cases):
            if n == len(cases) // 2 and n:
                floor()
            with tempfile.TemporaryDirectory(prefix="cache-", dir=tmp) as cache:
                cold = first_call(case, cache)
                warm = [first_call(case, cache) for _ in range(warm_runs)]
            rows.append(
                {
                    "case": case,
                    "name": _name(case),
                    "cold": cold["seconds"],
                    "cold_cpu": cold["cpu"],
                    "warm": statistics.median(w["seconds"] for w in warm),
                    "compiled": cold["compiled"],
                    "warm_compiled": sorted({name for w in warm for name in w["compiled"]}),
                }
            )
            out(
                f"  {rows[-1]['name']}: cold {cold['seconds']:.2f} s ({cold['cpu']:.2f} s of CPU), "
                f"warm {rows[-1]['warm']:.2f} s"
            )
        floor()
        tour_times = None
        if tour:
            with tempfile.TemporaryDirectory(prefix="cache-", dir=tmp) as cache:
                tour_times = (_tour_seconds(cache), _tour_seconds(cache))
            out(f"  python -m ebm tour: cold {tour_times[0]:.1f} s, warm {tour_times[1]:.1f} s")
    floor_s = statistics.median(f["seconds"] for f in floors)
    floor_cpu = statistics.median(f["cpu"] for f in floors)
    out(
        f"floor: a trivial cached @njit's first call, import included: {floor_s:.2f} s, {floor_cpu:.2f} s of CPU "
        f"(medians of {len(floors)}, empty cache)"
    )
    out("(CPU seconds count only this process's work: on a shared machine they vary less than the wall clock)")
    out("")
    out(
        f"{'first call':36s} {'cold s':>7s} {'warm s':>7s} {'cold/warm':>9s} {'cold-floor':>10s} "
        f"{'cold/floor':>10s} {'CPU-floor':>9s} {'compiling':>9s}"
    )
    # compiling: the CPU seconds of the top-level compilations (the rest is importing, loading and running)
    for r in rows:
        compiling = sum(v[2] for v in r["compiled"].values())
        r.update(compiling=compiling, over_floor=r["cold"] - floor_s, cpu_over_floor=r["cold_cpu"] - floor_cpu)
        out(
            f"{r['name']:36s} {r['cold']:7.2f} {r['warm']:7.2f} {r['cold'] / r['warm']:8.1f}x "
            f"{r['over_floor']:+10.2f} {r['cold'] / floor_s:9.1f}x {r['cpu_over_floor']:+9.2f} {compiling:8.2f}s"
        )
    if tour_times:
        cold, warm = tour_times
        out(
            f"{'python -m ebm tour':36s} {cold:7.1f} {warm:7.1f} {cold / warm:8.1f}x {cold - floor_s:+10.1f} "
            f"{cold / floor_s:9.1f}x"
        )
    out("")
    out(
        f"where each cold first call compiles (CPU seconds per dispatcher, without the compilations nested in "
        f"it; top {top}; xN = N signatures):"
    )
    for r in rows:
        ranked = sorted(r["compiled"].items(), key=lambda kv: -kv[1][1])
        parts = [f"{_short(k)} {v[1]:.2f}" + (f" x{v[0]}" if v[0] > 1 else "") for k, v in ranked[:top]]
        rest = sum(v[1] for _, v in ranked[top:])
        out(f"  {r['name']}: " + ", ".join(parts) + (f", {len(ranked) - top} more {rest:.2f}" if rest else ""))
    return {"floor": floor_s, "floor_cpu": floor_cpu, "cases": rows, "tour": tour_times}

"""A first run with an empty JIT cache: what it compiles, the cold bench, and ``python -m ebm warmup``.

Each test runs fresh processes on a private ``NUMBA_CACHE_DIR``, empty at first (a few seconds of
compiling each).  No timing is asserted: the cold-start cost is measured by ``python -m ebm bench --cold``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from ebm.bench import cold
from ebm.bench.startup import fresh_env

KERNELS = ("forward_loss", "loss_backward", "forward_softmax", "softmax_backward")


def _ebm_kernels(compiled):
    """The core's kernel functions a child compiled (not Numba's own overloads, np.empty, min, ..., nor
    the one-element exp and log of ebm._fastexp, which every kernel shares)."""
    return {name.removeprefix("ebm.") for name in compiled if name.startswith("ebm._kernels.")}


def test_a_first_call_compiles_its_two_kernels_and_nothing_else_and_the_cold_bench_reports_it(tmp_path, monkeypatch):
    # wide rows, float64, the loss: the forward and backward serial kernels and the task function each
    # one calls (its helpers inlined), each one compilation; no softmax kernel, no narrow rows, no parallel
    # twin.  The cold bench's own processes are the ones checked: a cold one on an empty cache, then a
    # warm one on what it left.
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where its cache directories go
    lines = []
    result = cold.run_cold_bench(
        cases=[("loss", "rows", (8, 20), "float64")], tour=False, warm_runs=1, out=lines.append
    )
    (row,) = result["cases"]
    assert _ebm_kernels(row["compiled"]) == {
        "_kernels.rows._forward_loss_serial",
        "_kernels.rows._forward_loss_task",
        "_kernels.rows._loss_backward_serial",
        "_kernels.rows._loss_backward_task",
    }
    assert all(row["compiled"][f"ebm.{k}"][0] == 1 for k in _ebm_kernels(row["compiled"]))
    assert _ebm_kernels(row["warm_compiled"]) == set()  # a second process loads them
    # what the bench reports
    assert result["floor"] > 0 and result["tour"] is None
    assert row["cold"] > 0 and row["warm"] > 0 and row["compiling"] > 0
    assert abs(row["over_floor"] - (row["cold"] - result["floor"])) < 1e-12
    assert lines[0].startswith("ebm bench --cold on ") and "logical cores" in lines[0]
    assert any(line.startswith("loss rows (8, 20) float64") for line in lines)
    assert any("_kernels.rows._forward_loss_serial" in line for line in lines)  # the breakdown
    assert list(tmp_path.iterdir()) == []  # and they were removed


CHECK = textwrap.dedent("""
    import json, numpy as np
    from numba.core import event
    compiled = []

    class Compiles(event.Listener):
        def on_start(self, e):
            f = e.data["dispatcher"].py_func
            compiled.append(f"{f.__module__}.{f.__qualname__}")

        def on_end(self, e):
            pass

    event.register("numba:compile", Compiles())
    from ebm.warmup import warmup
    from ebm._kernels import narrow, rows, tiles
    if __import__("sys").argv[1] == "warmup":
        warmup(chapters=[], core=("float64",), parallel=False, progress=False, out=None)
    else:
        import ebm
        for shape in ((128, 10), (5, 30), (2, 4, 128)):
            x = np.random.default_rng(1).normal(size=shape)
            label = np.zeros(shape[:1] + shape[2:], dtype=np.int64)
            _, prob = ebm.softmax_loss_forward(x, label)
            ebm.softmax_loss_backward(prob, label)
            ebm.softmax_backward(ebm.softmax_forward(x), x)
    hits = sum(sum(k.stats.cache_hits.values()) for m in (narrow, rows, tiles)
               for k in (m.forward_loss[0], m.loss_backward[0], m.forward_softmax[0], m.softmax_backward[0]))
    print(json.dumps({"compiled": [c for c in compiled if c.startswith("ebm._kernels.")], "hits": hits}))
""")


def test_after_warmup_a_fresh_process_loads_every_core_kernel_from_the_cache(tmp_path):
    """One cache, three fresh processes: a first call of the narrow rows' plain softmax compiles its own
    kernels and not the loss's; warmup then compiles the rest of the core; a last process compiles nothing."""
    cache = tmp_path / "cache"
    first = cold.first_call(("softmax", "narrow", (128, 10), "float64"), cache)
    kernels = _ebm_kernels(first["compiled"])
    assert kernels == {
        "_kernels.narrow._forward_softmax_serial",
        "_kernels.narrow._forward_softmax_task",
        "_kernels.narrow._rows_vector",
        "_kernels.narrow._softmax_backward_serial",
        "_kernels.narrow._softmax_backward_task",
    }, kernels
    assert first["compiled"]["ebm._kernels.narrow._rows_vector"][0] == 1  # the softmax variant only

    env = fresh_env(NUMBA_CACHE_DIR=str(cache))

    def run(what):
        done = subprocess.run(
            [sys.executable, "-c", CHECK, what], env=env, capture_output=True, text=True, timeout=900, check=False
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    warm = run("warmup")
    # the two narrow softmax kernels were loaded (their task functions inside them); the other ten
    # compiled with theirs, and the loss's variant of the narrow rows' vector code and the kept-label count
    kernels = {
        f"_kernels.{m}._{k}_{twin}" for m in ("narrow", "rows", "tiles") for k in KERNELS for twin in ("serial", "task")
    }
    kernels -= {
        f"_kernels.narrow._{k}_{twin}" for k in ("forward_softmax", "softmax_backward") for twin in ("serial", "task")
    }
    kernels |= {"_kernels.narrow._rows_vector", "_kernels.common._count_labels_serial", "_kernels.common._count_task"}
    assert warm["hits"] == 2 and _ebm_kernels(warm["compiled"]) == kernels
    later = run("use")
    assert later["compiled"] == [] and later["hits"] == 12  # 3 families x 4 kernels, all loaded

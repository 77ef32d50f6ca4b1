"""A first run with an empty JIT cache: what it compiles, the cold bench, and ``python -m ebm warmup``.

Each test runs fresh processes with a private, empty ``NUMBA_CACHE_DIR`` (a few seconds of compiling
each).  No timing is asserted: the cold-start cost is measured by ``python -m ebm bench --cold``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from ebm.bench import cold
from ebm.bench.startup import fresh_env


def _ebm_kernels(compiled):
    """The core's kernel functions a child compiled (not Numba's own overloads, np.empty, min, ..., nor
    the one-element exp and log of ebm._fastexp, which every kernel shares)."""
    return {name.removeprefix("ebm.") for name in compiled if name.startswith("ebm._kernels.")}


def test_a_first_call_compiles_its_two_kernels_and_nothing_else(tmp_path):
    # wide rows, float64, the loss: the forward and backward serial kernels, each one compilation (their
    # per-task helpers are inlined); no softmax kernel, no narrow rows, no parallel twin
    case = ("loss", "rows", (8, 20), "float64")
    first = cold.first_call(case, tmp_path)
    assert _ebm_kernels(first["compiled"]) == {
        "_kernels.rows._forward_loss_serial",
        "_kernels.rows._loss_backward_serial",
    }
    assert all(first["compiled"][f"ebm.{k}"][0] == 1 for k in _ebm_kernels(first["compiled"]))
    again = cold.first_call(case, tmp_path)  # a second process loads them
    assert _ebm_kernels(again["compiled"]) == set()


def test_the_plain_softmax_of_narrow_rows_compiles_apart_from_the_loss(tmp_path):
    first = cold.first_call(("softmax", "narrow", (8, 10), "float64"), tmp_path)
    kernels = _ebm_kernels(first["compiled"])
    assert kernels == {
        "_kernels.narrow._forward_softmax_serial",
        "_kernels.narrow._rows_vector",
        "_kernels.narrow._softmax_backward_serial",
    }, kernels
    assert first["compiled"]["ebm._kernels.narrow._rows_vector"][0] == 1  # the softmax variant only


def test_cold_bench_runs_on_a_tiny_config(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where its cache directories go
    lines = []
    result = cold.run_cold_bench(
        cases=[("loss", "rows", (8, 20), "float64")], tour=False, warm_runs=1, out=lines.append
    )
    assert result["floor"] > 0 and result["tour"] is None
    (row,) = result["cases"]
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
        for shape in ((5, 10), (5, 30), (2, 4, 3)):
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
    env = fresh_env(NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def run(what):
        done = subprocess.run(
            [sys.executable, "-c", CHECK, what], env=env, capture_output=True, text=True, timeout=900, check=False
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    warm = run("warmup")
    assert warm["compiled"] and warm["hits"] == 0  # an empty cache: everything compiled
    later = run("use")
    assert later["compiled"] == [] and later["hits"] == 12  # 3 families x 4 kernels, all loaded

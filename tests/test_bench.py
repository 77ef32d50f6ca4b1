"""The bench's table: its rows and columns (no timing is asserted; speed lives in the bench)."""

import numpy as np

from ebm import bench


def test_quick_bench_rows_have_every_column_and_consistent_ratios():
    lines = []
    rows = bench.run_bench(repeat=1, quick=True, torch=False, out=lines.append)
    assert [(r["case"], r["pass"]) for r in rows] == [
        (name, p) for name, *_ in bench.CASES[: bench.QUICK] for p in ("loss", "softmax")
    ]
    for r in rows:
        assert r["ebm_ms"] > 0 and r["reference_ms"] > 0 and r["copy_ms"] > 0
        assert r["torch_ms"] is None and r["torch_ratio"] is None
        assert np.isclose(r["speedup"], r["reference_ms"] / r["ebm_ms"])
        x_bytes = np.prod(r["shape"]) * np.dtype(r["dtype"]).itemsize
        label_bytes = 8 * np.prod(r["shape"]) // r["shape"][1]
        moved = 4 * x_bytes + 2 * label_bytes if r["pass"] == "loss" else 5 * x_bytes
        assert np.isclose(r["gbps"], moved / (r["ebm_ms"] / 1e3) / 1e9)
        assert np.isclose(r["copy_fraction"], r["gbps"] / (2 * x_bytes / (r["copy_ms"] / 1e3) / 1e9))
    assert lines[0].startswith("ebm bench on ") and "logical cores" in lines[0]
    assert any(simd in lines[0] for simd in ("AVX-512", "AVX2", "SSE/NEON", "unknown SIMD"))
    assert "numba" in lines[1] and "torch" in lines[1]


def test_bench_cases_include_the_readme_table_shapes():
    shapes = {(name, shape, dtype) for name, shape, _, dtype, *_ in bench.CASES}
    assert ("A wide", (4096, 1000), None) in shapes
    assert ("B narrow", (65536, 10), None) in shapes
    assert ("C spatial, 10% ignored", (4, 21, 256, 256), None) in shapes
    assert ("A wide, float64", (4096, 1000), np.float64) in shapes
    c = next(case for case in bench.CASES if case[0].startswith("C spatial"))
    assert c[4] == 255 and c[5] == 0.1  # ignore_label 255 on 10% of the labels

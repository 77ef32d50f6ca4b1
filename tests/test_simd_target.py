"""Which SIMD code the 16-row kernels get follows the target machine Numba compiles for
(NUMBA_CPU_NAME and NUMBA_CPU_FEATURES), not the machine the tests run on.

The AVX-512 targets are compiled, never run, so these tests pass on a machine without AVX-512:
what is checked is the emitted code (16-lane float32 vectors in the LLVM IR, zmm registers in
the assembly), not its execution."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ebm._rowvec import target_has_avx512

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "cpu, features, avx512",
    [
        ("skylake-avx512", "", True),  # the CPU's own features decide ...
        ("icelake-server", "", True),
        ("haswell", "", False),
        ("znver3", "", False),
        ("haswell", "+avx2,+avx512f", True),  # ... unless the feature string names avx512f
        ("skylake-avx512", "-avx512f", False),
        ("skylake-avx512", "+avx2,+fma,-avx512f,-avx512vl", False),
    ],
)
def test_target_has_avx512_reads_the_feature_string_then_the_cpu(cpu, features, avx512):
    assert target_has_avx512(cpu, features) is avx512


# Compiles the 16-row softmax for float32 (never calls it) and reports what was emitted.
_COMPILE = """
import json
from numba import njit, types
from numba.core.registry import cpu_target
from ebm._rowvec import rows_softmax

@njit
def f(x, top, b, C, m, s, j):
    rows_softmax(x, top, b, C, m, s, j, 16)

a32, a64 = types.Array(types.float32, 1, "C"), types.Array(types.float64, 1, "C")
sig = (a32, a32, types.int64, types.int64, a32, a64, types.int64)
f.compile(sig)
ir, asm = f.inspect_llvm(sig), f.inspect_asm(sig)
print(json.dumps({"cpu": cpu_target.target_context.codegen()._get_host_cpu_name(),
                  "lanes16": "<16 x float>" in ir, "lanes8": "<8 x float>" in ir, "zmm": "zmm" in asm}))
"""


@pytest.mark.parametrize(
    "cpu, features, avx512",
    [
        ("skylake-avx512", "", True),  # AVX-512 by the CPU's defaults
        ("haswell", "-avx512f", False),  # the AVX2-only pass of .ci/run
        ("skylake-avx512", "-avx512f", False),  # AVX-512 turned off by the features
    ],
)
def test_the_sixteen_row_kernel_is_compiled_for_the_named_target(cpu, features, avx512, tmp_path):
    env = dict(
        os.environ,
        NUMBA_CPU_NAME=cpu,
        NUMBA_CPU_FEATURES=features,
        PYTHONPATH=str(ROOT),
        NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"),
    )  # never mix with the host's cache
    out = subprocess.run([sys.executable, "-c", _COMPILE], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["cpu"] == cpu
    # the AVX-512 branch does the arithmetic of 16 rows in 16-lane vectors; the other in 8-lane ones
    assert got["lanes16"] is avx512
    assert got["lanes8"]
    assert got["zmm"] is avx512  # and LLVM compiled for the same target

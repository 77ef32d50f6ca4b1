"""Timing that survives a shared machine: calibrated runs, alternating rounds, medians."""

from __future__ import annotations

import os
import platform
import statistics
import time

MIN_RUN_SECONDS = 5e-3  # each timed run loops calls for at least this long
TORCH_SETTLE_SECONDS = 5e-3  # idle time after PyTorch's calls, so its spinning threads sleep


def machine_description():
    """One line naming the CPU model, its core count and its widest SIMD registers."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                if model and flags:
                    break
    except OSError:
        pass
    simd = (
        "AVX-512 (512-bit)"
        if "avx512f" in flags
        else "AVX2 (256-bit)"
        if "avx2" in flags
        else "SSE/NEON (128-bit)"
        if flags or platform.machine() in ("arm64", "aarch64")
        else "unknown SIMD"
    )
    return f"{model}; {os.cpu_count()} logical cores; {simd}"


def calibrate(fn):
    """Calls per timed run so that one run lasts at least MIN_RUN_SECONDS (fn is warmed first)."""
    fn()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= MIN_RUN_SECONDS or number >= 1 << 16:
            return number
        number *= 2


def time_interleaved(fns, repeat, settle=()):
    """Median seconds per call of each of ``fns`` (a dict), timed in alternating rounds.

    The keys in ``settle`` are followed by an idle pause, outside the timing.
    """
    numbers = {k: calibrate(fn) for k, fn in fns.items()}
    runs = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            number = numbers[k]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            runs[k].append((time.perf_counter() - start) / number)
            if k in settle:
                time.sleep(TORCH_SETTLE_SECONDS)
    return {k: statistics.median(v) for k, v in runs.items()}


def time_median(fn, repeat):
    """Median seconds per call of ``fn`` over ``repeat`` runs."""
    return time_interleaved({"fn": fn}, repeat)["fn"]

"""The core's table: the Numba kernels against the NumPy reference and PyTorch, same run, same data.

Every row times one forward + backward pass -- of the softmax-with-loss, or of the
softmax -- for the core (``ebm``), :mod:`ebm.reference` and, when PyTorch is
installed (the ``bench`` extra), PyTorch's CPU ``F.cross_entropy`` (or
``torch.softmax``) with ``.backward()``, on all of the machine's cores.  Each
implementation is timed in rounds that alternate between them (``repeat`` rounds;
in each, enough calls to last a few milliseconds), and the medians are reported
with the ratios torch / ebm and reference / ebm (higher is better for ebm).

The last columns compare ebm with memory bandwidth: the bytes a forward + backward
pass must move at the least (the loss: read the logits, write ``prob``, read it
back, write ``bottom_diff``, read the labels twice; the softmax: five arrays),
divided by ebm's time, against the bandwidth of ``np.copyto`` between two arrays
of the data's size, timed in the same rounds (one thread, so a multi-threaded
kernel can exceed 100%).  Each timed copy call makes two copies over as many
distinct arrays as the pass touches (the softmax: the logits and ``top_diff`` into
two arrays, four in all; the loss: the logits into two, three in all), so that the
copy gets no more help from the cache than the pass can: copying one pair over
and over, a pair that just fits the last-level cache (two 16 MB arrays in a 32 MB
L3) is copied from the cache, 2-3x faster than from memory, while the pass's four
arrays are not.

Absolute times on a shared machine are noisy; the ratios, measured side by side
in one run, are what to read.
"""

from __future__ import annotations

import os

import numpy as np

from ebm import reference, softmax_loss
from ebm.bench._timing import machine_description, time_interleaved

#: (name, shape, axis, dtype or None for the run's dtype, ignore_label, fraction ignored)
CASES = [
    ("Caffe test blob", (10, 5, 2, 3), 1, None, 0, 0.0),
    ("MNIST batch", (64, 10), 1, None, 0, 0.0),
    ("ImageNet batch", (256, 1000), 1, None, 0, 0.0),
    ("FCN image 300x500, 21 classes", (1, 21, 300, 500), 1, None, 0, 0.0),
    ("FCN batch 8x21x64x64", (8, 21, 64, 64), 1, None, 0, 0.0),
    ("A wide", (4096, 1000), 1, None, None, 0.0),
    ("B narrow", (65536, 10), 1, None, None, 0.0),
    ("C spatial, 10% ignored", (4, 21, 256, 256), 1, None, 255, 0.1),
    ("A wide, float64", (4096, 1000), 1, np.float64, None, 0.0),
]
QUICK = 3  # the quick set: the first three cases


def _passes(module, x, label, top_diff, axis, ignore_label):
    """The two timed passes of ``module`` (ebm or ebm.reference): loss and softmax, forward + backward."""

    def loss():
        _, prob = module.softmax_loss_forward(x, label, axis=axis, ignore_label=ignore_label)
        return module.softmax_loss_backward(prob, label, axis=axis, ignore_label=ignore_label)

    def softmax():
        top = module.softmax_forward(x, axis)
        return module.softmax_backward(top, top_diff, axis)

    return {"loss": loss, "softmax": softmax}


def _torch_passes(x, label, top_diff, axis, ignore_label):
    """PyTorch's loss and softmax passes on the same data (classes on dim 1), or None.

    ``F.cross_entropy(..., ignore_index=...)`` averages over the kept positions:
    Caffe's VALID normalization, so its loss doubles as an independent oracle.
    """
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count())
    tx = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, axis, 1)))
    tl = torch.from_numpy(label.astype(np.int64))
    tg = torch.from_numpy(np.ascontiguousarray(np.moveaxis(top_diff, axis, 1)))
    ignore_index = -100 if ignore_label is None else ignore_label

    def loss():
        leaf = tx.detach().requires_grad_(True)
        value = F.cross_entropy(leaf, tl, ignore_index=ignore_index)
        value.backward()
        return value

    def softmax():
        leaf = tx.detach().requires_grad_(True)
        torch.softmax(leaf, dim=1).backward(tg)
        return leaf.grad

    return {"loss": loss, "softmax": softmax}


def _case_data(rng, shape, axis, dtype, ignore_label, ignored):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    label_shape = shape[:axis] + shape[axis + 1 :]
    label = rng.integers(0, shape[axis], size=label_shape)
    if ignore_label is not None and ignored > 0:
        label[rng.random(label_shape) < ignored] = ignore_label
    top_diff = rng.standard_normal(shape).astype(dtype)
    return x, label, top_diff


def _copies(x, top_diff):
    """Per pass, a call making two ``np.copyto`` of ``x``'s size over as many distinct arrays as the pass touches."""
    a, b = np.empty_like(x), np.empty_like(x)

    def softmax():  # x, top_diff -> a, b: the pass's x, top_diff, top_data, bottom_diff
        np.copyto(a, x)
        np.copyto(b, top_diff)

    def loss():  # x -> a, b: the pass's x, prob, bottom_diff
        np.copyto(a, x)
        np.copyto(b, x)

    return {"loss": loss, "softmax": softmax}


def _min_bytes(pass_name, x, label):
    """The fewest bytes a forward + backward pass reads and writes (see the module docstring)."""
    if pass_name == "loss":
        return 4 * x.nbytes + 2 * label.nbytes
    return 5 * x.nbytes


def run_bench(repeat=7, quick=False, dtype=np.float32, seed=0, torch=True, out=print):
    """Time forward + backward of the loss and of the softmax; print and return the rows.

    Parameters
    ----------
    repeat : int, default 7
        Timed rounds per case; the median of each implementation is reported.
    quick : bool, default False
        Only the small cases.
    dtype : float32 or float64, default float32
        The dtype of every case that does not fix its own.
    seed : int, default 0
    torch : bool, default True
        Include PyTorch when it is installed.
    out : callable, default print

    Returns
    -------
    list of dict
        One row per (case, pass): ``case``, ``shape``, ``dtype``, ``pass``
        ("loss" or "softmax", each forward + backward), ``ebm_ms``,
        ``reference_ms``, ``torch_ms`` (None without PyTorch), ``copy_ms``,
        ``speedup`` (reference / ebm), ``torch_ratio`` (torch / ebm or None),
        ``gbps`` (the pass's fewest bytes / ebm's time) and ``copy_fraction``
        (gbps / the copy's bandwidth).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    rng = np.random.default_rng(seed)
    cases = CASES[:QUICK] if quick else CASES
    have_torch = (
        torch
        and _torch_passes(np.zeros((1, 2), np.float32), np.zeros(1, np.int64), np.zeros((1, 2), np.float32), 1, None)
        is not None
    )
    out(f"ebm bench on {machine_description()}")
    try:
        import numba

        threads = f"numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads"
    except ImportError:  # pragma: no cover - numba is a dependency
        threads = "numba missing"
    torch_note = "not installed (pip install 'ebm[bench]')"
    if have_torch:
        import torch as _torch

        torch_note = f"{_torch.__version__}, {os.cpu_count()} threads"
    out(f"{threads}; torch {torch_note}")
    out(
        f"forward + backward per call, median of {repeat} interleaved rounds; "
        "ratios > 1 mean ebm is faster; GB/s = fewest bytes moved / ebm time, "
        "copy% = that against np.copyto of the data's size over the pass's arrays (1 thread)"
    )
    header = (
        f"{'case':30s} {'dtype':7s} {'pass':7s} {'ebm ms':>9s} {'ref ms':>9s} {'torch ms':>9s} "
        f"{'torch/ebm':>9s} {'ref/ebm':>8s} {'GB/s':>6s} {'copy%':>6s}"
    )
    out(header)
    out("-" * len(header))
    rows = []
    for name, shape, axis, case_dtype, ignore_label, ignored in cases:
        dt = np.dtype(case_dtype or dtype)
        x, label, top_diff = _case_data(rng, shape, axis, dt, ignore_label, ignored)
        ebm_passes = _passes(softmax_loss, x, label, top_diff, axis, ignore_label)
        ref_passes = _passes(reference, x, label, top_diff, axis, ignore_label)
        torch_passes = _torch_passes(x, label, top_diff, axis, ignore_label) if have_torch else None
        copies = _copies(x, top_diff)
        for pass_name in ("loss", "softmax"):
            fns = {"ebm": ebm_passes[pass_name], "copy": copies[pass_name], "reference": ref_passes[pass_name]}
            if torch_passes is not None:
                fns["torch"] = torch_passes[pass_name]
            t = time_interleaved(fns, repeat, settle=("torch",))
            gbps = _min_bytes(pass_name, x, label) / t["ebm"] / 1e9
            copy_s = t["copy"] / 2  # per copy of one array
            copy_gbps = 2 * x.nbytes / copy_s / 1e9
            row = dict(
                case=name,
                shape=shape,
                dtype=dt.name,
                pass_=pass_name,
                ebm_ms=t["ebm"] * 1e3,
                reference_ms=t["reference"] * 1e3,
                torch_ms=t["torch"] * 1e3 if "torch" in t else None,
                copy_ms=copy_s * 1e3,
                speedup=t["reference"] / t["ebm"],
                torch_ratio=t["torch"] / t["ebm"] if "torch" in t else None,
                gbps=gbps,
                copy_fraction=gbps / copy_gbps,
            )
            row["pass"] = row.pop("pass_")
            rows.append(row)
            torch_ms = f"{row['torch_ms']:9.3f}" if row["torch_ms"] is not None else f"{'-':>9s}"
            torch_ratio = f"{row['torch_ratio']:9.2f}" if row["torch_ratio"] is not None else f"{'-':>9s}"
            out(
                f"{name:30s} {dt.name:7s} {pass_name:7s} {row['ebm_ms']:9.3f} {row['reference_ms']:9.3f} "
                f"{torch_ms} {torch_ratio} {row['speedup']:8.2f} {gbps:6.1f} {100 * row['copy_fraction']:5.0f}%"
            )
        if torch_passes is not None and (ignore_label is None or (label != ignore_label).any()):
            ours = softmax_loss.softmax_loss_forward(x, label, axis=axis, ignore_label=ignore_label)[0]
            theirs = float(torch_passes["loss"]().detach())
            if abs(ours - theirs) > 1e-4 * max(1.0, abs(theirs)):
                out(f"  WARNING: loss differs from torch cross_entropy: ebm {ours:.7g}, torch {theirs:.7g}")
    speedups = [r["speedup"] for r in rows]
    out(
        f"geometric-mean reference / ebm over {len(rows)} rows: "
        f"{float(np.exp(np.mean(np.log(speedups)))):.2f}; slowest row {min(speedups):.2f}"
    )
    torch_ratios = [r["torch_ratio"] for r in rows if r["torch_ratio"] is not None]
    if torch_ratios:
        out(f"torch / ebm: slowest row {min(torch_ratios):.2f}")
    return rows

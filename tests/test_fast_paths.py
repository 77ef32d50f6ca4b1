"""Every fast path of the Numba core equals the NumPy reference (no timing here).

The core picks a kernel family by shape (:func:`ebm.softmax_loss._family`):

* tiles -- ``inner_num > 1`` (spatial data), TILE positions per task;
* rows -- ``inner_num == 1`` and ``C >= NARROW`` (sums in x's dtype over blocks of
  ``ROW_SUM_BLOCK`` classes, the blocks' sums in float64);
* narrow rows -- ``inner_num == 1`` and ``C < NARROW``: SIMD vectors of rows
  (:mod:`ebm._rowvec`), sixteen or eight rows at a time, then one, then scalar
  code.  With the narrow path switched off (``EBM_NARROW_ROWS=0``) the same
  shapes take the rows kernels: every narrow family is also run that way.

and each kernel has a serial and a parallel twin (:func:`ebm._parallel.launch_twin`,
by input size).  Each test below forces one twin by moving ``PARALLEL_MIN_WORK``,
checks that the shape takes the path it is meant to, and compares the four public
functions with :mod:`ebm.reference` in float32 and float64, with and without
``ignore_label``, in all four normalizations, for contiguous, non-contiguous and
read-only inputs.  The two twins must agree bit for bit.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import ebm
from ebm import _parallel
from ebm import reference as ref
from ebm import softmax_loss as core
from ebm._kernels import common

RTOL = {np.float64: 1e-12, np.float32: 2e-5}
NORMALIZATIONS = ("valid", "full", "batch_size", "none")
TILE, NARROW = common.TILE, common.NARROW

# (id, shape, axis, path): every shape family, each on the path it must take
FAMILIES = [
    ("1d-axis0", (7,), 0, "narrow"),  # one column of 7 classes
    ("1d-axis0-wide", (40,), 0, "rows"),
    ("NC", (37, 5), 1, "narrow"),
    ("NC-C1", (9, 1), 1, "narrow"),
    ("NC-C1-many", (100, 1), 1, "narrow"),
    ("NC-C2", (33, 2), 1, "narrow"),
    ("NC-C3", (23, 3), 1, "narrow"),
    ("NC-C8", (41, 8), 1, "narrow"),  # a row fills its 8-lane vector
    ("NC-C10", (53, 10), 1, "narrow"),  # 16 lanes, 6 of them masked
    ("NC-C10-one-row", (1, 10), 1, "narrow"),  # no row fits its vector: all scalar
    ("NC-C10-30-rows", (30, 10), 1, "narrow"),  # 16 rows, 8 rows, 5 one by one, 1 scalar
    ("NC-C10-many-tasks", (2000, 10), 1, "narrow"),  # rows spill across task borders
    ("NC-C15", (31, 15), 1, "narrow"),
    ("NC-wide", (6, NARROW), 1, "rows"),
    ("NC-largeC", (3, 1500), 1, "rows"),
    ("NC-wider-than-ROW_SUM_BLOCK", (2, 4 * common.ROW_SUM_BLOCK + 3), 1, "rows"),  # five blocks' sums
    ("NCHW", (2, 5, 3, 4), 1, "tiles"),
    ("NCHW-inner-not-multiple-of-tile", (2, 3, 1, TILE + 37), 1, "tiles"),
    ("axis-middle", (3, 4, 6, 2), 2, "tiles"),
    ("negative-axis", (2, 3, 4, 5), -3, "tiles"),
    ("negative-axis-last", (4, 3, 6), -1, "narrow"),
    ("C1-spatial", (2, 1, 5), 1, "tiles"),
]


def _path(shape, axis):
    axis %= len(shape)
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1 :], dtype=np.int64))
    return core._family(outer, shape[axis], inner).__name__.rsplit(".", 1)[1]


@pytest.fixture(params=["serial", "parallel", "serial-no-narrow"])
def twin(request, monkeypatch):
    """Force the serial (threshold above any input) or the parallel twin (threshold 0); the third runs
    the serial twin with the narrow path switched off (narrow shapes then take the rows kernels)."""
    parallel = request.param == "parallel"
    monkeypatch.setattr(_parallel, "PARALLEL_MIN_WORK", 0 if parallel else 1 << 62)
    monkeypatch.setattr(_parallel, "machine_is_busy", lambda: False)  # a loaded machine would go serial
    monkeypatch.setattr(core, "NARROW_ROWS", request.param != "serial-no-narrow")
    monkeypatch.setattr(core, "SMALL_SIZE", 0)  # the small shapes below take the narrow and tiles kernels too
    return request.param


def assert_close(actual, desired, rtol):
    """Elementwise rtol plus atol = rtol * max(1, max|desired|) (entries from cancellations)."""
    desired = np.asarray(desired, dtype=np.float64)
    atol = rtol * max(1.0, float(np.max(np.abs(desired), initial=0.0)))
    np.testing.assert_allclose(np.asarray(actual, np.float64), desired, rtol=rtol, atol=atol)


def _case(rng, shape, axis, dtype, ignore_label):
    x = (rng.normal(scale=4.0, size=shape)).astype(dtype)
    ax = axis % len(shape)
    label_shape = shape[:ax] + shape[ax + 1 :]
    label = rng.integers(0, shape[ax], size=label_shape)
    if ignore_label is not None:
        label = np.where(rng.random(label_shape) < 0.3, ignore_label, label)
    return x, label


def _variants(x):
    """The same logits contiguous, non-contiguous (a strided view) and read-only."""
    strided = np.repeat(x, 2, axis=-1)[..., ::2]
    assert not strided.flags.c_contiguous and np.array_equal(strided, x)
    readonly = x.copy()
    readonly.flags.writeable = False
    return {"contiguous": x, "non-contiguous": strided, "read-only": readonly}


#: Inputs below SMALL_SIZE elements (shape, axis): they take the rows kernels, spatial ones transposed.
SMALL = [((102, 10), 1), ((2, 5, 3, 4), 1), ((3, 4, 7, 2), 2), ((2, 1, 5), 1), ((1, 40, 5, 5), 1), ((2, 3, 2, 2, 2), 1)]


def test_a_small_input_takes_the_rows_kernels_from_below_small_size_elements():
    n = core.SMALL_SIZE // 10  # 102 rows of 10 classes: 1020 elements; a row more: 1030
    assert _path((n, 10), 1) == "rows" and _path((n + 1, 10), 1) == "narrow"
    assert _path((1, 4, 255), 1) == "rows" and _path((1, 4, 256), 1) == "tiles"  # 1020 and 1024 elements
    assert _path((n + 1, 16), 1) == "rows"  # 16 classes are never narrow


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape,axis", SMALL, ids=[str(s) for s, _ in SMALL])
def test_a_small_input_matches_the_reference_through_the_rows_kernels(rng, shape, axis, dtype):
    """A small spatial input goes through the rows kernels as a transposed copy, and back: the softmax,
    the loss (its normalizer counts the original outer_num and inner_num) and both backwards."""
    assert _path(shape, axis) == "rows"
    rtol = RTOL[dtype]
    for ignore_label in (None, 255):
        x, label = _case(rng, shape, axis, dtype, ignore_label)
        x_before = x.copy()
        for normalization in NORMALIZATIONS:
            opts = dict(axis=axis, ignore_label=ignore_label, normalization=normalization)
            loss_c, prob_c = ebm.softmax_loss_forward(x, label, **opts)
            loss_r, prob_r = ref.softmax_loss_forward(x, label, **opts)
            assert prob_c.shape == x.shape and prob_c.dtype == dtype and prob_c.flags.c_contiguous
            assert_close(prob_c, prob_r, rtol)
            assert abs(loss_c - loss_r) <= rtol * (abs(loss_r) + max(1.0, float(np.abs(x).max()))), normalization
            g_c = ebm.softmax_loss_backward(prob_c, label, top_diff=0.7, **opts)
            assert g_c.shape == x.shape and g_c.flags.c_contiguous
            assert_close(g_c, ref.softmax_loss_backward(prob_c, label, top_diff=0.7, **opts), rtol)
        np.testing.assert_array_equal(x, x_before)
    top_diff = rng.normal(size=shape).astype(dtype)
    top_c = ebm.softmax_forward(x, axis)
    assert_close(top_c, ref.softmax_forward(x, axis), rtol)
    assert_close(ebm.softmax_backward(top_c, top_diff, axis), ref.softmax_backward(top_c, top_diff, axis), rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("family,shape,axis,path", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_loss_path_matches_reference(rng, twin, family, shape, axis, path, dtype):
    if twin == "serial-no-narrow":
        path = "rows" if path == "narrow" else path
    assert _path(shape, axis) == path
    rtol = RTOL[dtype]
    for ignore_label in (None, 255):
        x, label = _case(rng, shape, axis, dtype, ignore_label)
        lab32 = np.asarray(label, dtype=np.int32)
        lab32.flags.writeable = False
        x_variants = _variants(x)
        pairs = [
            ("contiguous", "int64", label),
            ("non-contiguous", "int32 read-only", lab32),
            ("read-only", "int64", label),
        ]
        for kind, lkind, lab in pairs:
            xv = x_variants[kind]
            x_before, lab_before = xv.copy(), lab.copy()
            for normalization in NORMALIZATIONS:
                opts = dict(axis=axis, ignore_label=ignore_label, normalization=normalization)
                loss_c, prob_c = ebm.softmax_loss_forward(xv, lab, **opts)
                loss_r, prob_r = ref.softmax_loss_forward(x, label, **opts)
                assert prob_c.dtype == dtype and prob_c.shape == x.shape, (kind, normalization)
                assert_close(prob_c, prob_r, rtol)
                scale = max(1.0, float(np.abs(x).max()))  # a term is logsumexp - x_k
                assert abs(loss_c - loss_r) <= rtol * (abs(loss_r) + scale), (kind, lkind, normalization)
                g_c = ebm.softmax_loss_backward(prob_c, lab, top_diff=0.7, **opts)
                g_r = ref.softmax_loss_backward(prob_c, label, top_diff=0.7, **opts)
                assert g_c.dtype == dtype
                assert_close(g_c, g_r, rtol)
                if ignore_label is not None:  # exactly 0 at ignored positions
                    ignored = np.expand_dims(label == ignore_label, axis % x.ndim)
                    assert np.all(np.where(np.broadcast_to(ignored, x.shape), g_c, 0.0) == 0.0)
            np.testing.assert_array_equal(xv, x_before)  # inputs untouched
            np.testing.assert_array_equal(lab, lab_before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("family,shape,axis,path", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_softmax_path_matches_reference(rng, twin, family, shape, axis, path, dtype):
    rtol = RTOL[dtype]
    x, _ = _case(rng, shape, axis, dtype, None)
    top_diff = rng.normal(size=shape).astype(dtype)
    top_r = ref.softmax_forward(x, axis)
    bd_r = ref.softmax_backward(top_r, top_diff, axis)
    for kind, xv in _variants(x).items():
        top_c = ebm.softmax_forward(xv, axis)
        assert top_c.dtype == dtype
        assert_close(top_c, top_r, rtol)
        for gkind, gv in _variants(top_diff).items():
            assert_close(ebm.softmax_backward(top_r, gv, axis), bd_r, rtol)


@pytest.mark.parametrize("family,shape,axis,path", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_serial_and_parallel_twins_agree_bit_for_bit(rng, monkeypatch, family, shape, axis, path):
    x, label = _case(rng, shape, axis, np.float32, 255)
    monkeypatch.setattr(_parallel, "machine_is_busy", lambda: False)
    results = []
    for threshold in (1 << 62, 0):
        monkeypatch.setattr(_parallel, "PARALLEL_MIN_WORK", threshold)
        loss, prob = ebm.softmax_loss_forward(x, label, axis=axis, ignore_label=255)
        grad = ebm.softmax_loss_backward(prob, label, axis=axis, ignore_label=255)
        results.append((loss, prob, grad, ebm.softmax_backward(prob, grad, axis=axis)))
    (l0, *arrays0), (l1, *arrays1) = results
    assert l0 == l1
    for a, b in zip(arrays0, arrays1):
        np.testing.assert_array_equal(a, b)


def test_the_comparisons_reject_plausible_wrong_answers(rng):
    """The tolerances above are tight enough to catch half a gradient or a wrong normaliser."""
    x, label = _case(rng, (2, 5, 3, 4), 1, np.float32, 255)
    _, prob = ref.softmax_loss_forward(x, label, ignore_label=255)
    right = ref.softmax_loss_backward(prob, label, ignore_label=255)
    with pytest.raises(AssertionError):
        assert_close(0.5 * right, right, RTOL[np.float32])
    full = ref.softmax_loss_backward(prob, label, ignore_label=255, normalization="full")
    with pytest.raises(AssertionError):  # FULL divides by more than VALID
        assert_close(full, right, RTOL[np.float32])


BAD_INPUT_FAMILIES = [f for f in FAMILIES if f[0] in ("NC", "NC-largeC", "NCHW-inner-not-multiple-of-tile")]


@pytest.mark.parametrize("family,shape,axis,path", BAD_INPUT_FAMILIES, ids=[f[0] for f in BAD_INPUT_FAMILIES])
def test_bad_input_is_reported_by_every_twin(rng, twin, family, shape, axis, path):
    x, label = _case(rng, shape, axis, np.float64, None)
    bad_x = x.copy()
    bad_x.flat[-1] = np.nan
    with pytest.raises(ValueError, match="nan"):
        ebm.softmax_loss_forward(bad_x, label, axis=axis)
    with pytest.raises(ValueError, match="nan"):
        ebm.softmax_forward(bad_x, axis=axis)
    bad_label = np.array(label)
    bad_label.flat[-1] = x.shape[axis]  # one past the last class
    with pytest.raises(ValueError, match=f"is {x.shape[axis]}, outside the valid classes"):
        ebm.softmax_loss_forward(x, bad_label, axis=axis)
    _, prob = ebm.softmax_loss_forward(x, label, axis=axis)
    with pytest.raises(ValueError, match=f"is {x.shape[axis]}, outside the valid classes"):
        ebm.softmax_loss_backward(prob, bad_label, axis=axis)
    prob.flat[0] = np.inf
    with pytest.raises(ValueError, match="prob"):
        ebm.softmax_loss_backward(prob, label, axis=axis)


def test_vectorisable_log_matches_numpy_log(log_ge1_array):
    rng = np.random.default_rng(3)
    s = np.concatenate(
        [
            1 + rng.random(20_000) * 3,
            np.exp(rng.random(20_000) * 700),
            [1.0, np.sqrt(2), np.nextafter(np.sqrt(2), 3), 2.0, 1e308],
        ]
    )
    got, want = log_ge1_array(s), np.log(s)
    assert got[0] == 0.0 or s[0] != 1.0
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(float).eps, atol=4 * np.finfo(float).eps)
    # ... and the check is tight enough to reject log computed in float32
    small = s < 1e30  # within float32's range
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(
            np.log(s[small].astype(np.float32)).astype(float),
            want[small],
            rtol=4 * np.finfo(float).eps,
            atol=4 * np.finfo(float).eps,
        )


def test_vectorisable_log_in_float32_is_within_two_ulp(log_ge1_array):
    """The narrow rows take log s in float32 for float32 data (ebm._rowvec)."""
    rng = np.random.default_rng(4)
    s = np.concatenate(
        [1 + rng.random(50_000) * 15, np.exp(rng.random(20_000) * 88), [1.0, np.sqrt(2), 2.0, 3e38]]
    ).astype(np.float32)
    s = np.concatenate([s, [np.nextafter(np.float32(np.sqrt(2)), np.float32(3))]])
    got, want = log_ge1_array(s).astype(np.float64), np.log(s.astype(np.float64))
    assert got[-5] == 0.0
    ulp = np.spacing(np.maximum(np.abs(want), np.finfo(np.float32).tiny).astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(got - want) <= 2 * ulp)
    # ... and the check is tight enough to reject ln 2 without its low part (e * 0.693145751953125)
    e = np.floor(np.log2(s.astype(np.float64)) + 0.5)
    short = (e * 0.693145751953125 + np.log(s.astype(np.float64) / 2.0**e)).astype(np.float32)
    assert not np.all(np.abs(short - want) <= 2 * ulp)


@pytest.mark.parametrize("runnable,expected", [(1, "parallel"), (2, "parallel"), (3, "serial"), (9, "serial")])
def test_launch_twin_goes_serial_on_small_work_or_a_busy_machine(monkeypatch, runnable, expected):
    monkeypatch.setattr(_parallel, "_runnable_now", lambda: runnable)
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: 2)
    pick = lambda *args: _parallel.launch_twin(lambda: "serial", lambda: "parallel", *args)  # noqa: E731
    assert pick(_parallel.PARALLEL_MIN_WORK) == expected  # 2 cores: busy from 3 runnable
    assert pick(_parallel.PARALLEL_MIN_WORK - 1) == "serial"  # small work: always serial


@pytest.mark.parametrize("busy,work_over_min,threads", [(False, 1, 2), (True, 1, 1), (False, -1, 1)])
def test_launch_follows_the_same_rule_as_launch_twin(monkeypatch, busy, work_over_min, threads):
    # ``launch`` (kernels compiled once: Hopfield recall, the RBM's exact log Z) runs on
    # one thread for small work *and* on a busy machine, like ``launch_twin``.
    import numba

    monkeypatch.setattr(_parallel, "machine_is_busy", lambda: busy)
    previous = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        work = _parallel.PARALLEL_MIN_WORK + (0 if work_over_min > 0 else -1)
        assert _parallel.launch(numba.get_num_threads, work) == threads
        assert numba.get_num_threads() == 2  # restored afterwards
    finally:
        numba.set_num_threads(previous)


@pytest.mark.parametrize("load,expected", [(0.5, False), (3.9, False), (4.0, True)])
def test_without_proc_loadavg_the_load_average_decides(monkeypatch, load, expected):
    monkeypatch.setattr(_parallel, "_runnable_now", lambda: None)
    monkeypatch.setattr(_parallel.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: 2)
    assert _parallel.machine_is_busy() is expected


def test_runnable_now_reads_linux_loadavg():
    runnable = _parallel._runnable_now()
    if not os.path.exists("/proc/loadavg"):
        assert runnable is None
    else:
        assert isinstance(runnable, int) and runnable >= 1  # this thread is running

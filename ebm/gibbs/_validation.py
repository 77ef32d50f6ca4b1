"""Input checks shared by the chapter's modules (bookkeeping, not mathematics).

Each raises TypeError for a wrong type and ValueError for a wrong value, naming the
argument and, for an array, the position of the first bad entry.
"""

from __future__ import annotations

import numbers

import numpy as np

from ebm import _checks


def _real_scalar(value, name):
    """A finite real scalar as float (TypeError / ValueError naming ``name``)."""
    if isinstance(value, np.ndarray) and value.size != 1:
        raise TypeError(f"{name} must be a real scalar, got an array of shape {value.shape}")
    return _checks.check_loss_weight(value, name)


def _check_beta(beta, *, positive=False):
    """``beta`` as a float; ValueError if negative (or zero when ``positive``)."""
    beta = _real_scalar(beta, "beta")
    if beta < 0:
        raise ValueError(f"beta must be >= 0 (an inverse temperature), got {beta}")
    if positive and beta == 0:
        raise ValueError("beta must be > 0 here: at beta = 0 the term (1/beta) log sum exp(-beta E) "
                         "diverges like log(C)/beta")
    return beta


def _nonneg_param(value, name, *, positive=False):
    """A finite real scalar ``>= 0`` (``> 0`` when ``positive``) as float."""
    value = _real_scalar(value, name)
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value}")
    return value


def _check_sizes(sizes):
    """Each ``name: (value, low)`` of ``sizes`` must be an integer ``>= low``."""
    for name, (value, low) in sizes.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")


def _finite_energies(energies, name="energies"):
    """``energies`` as float64 (a copy only when needed), ValueError at the first non-finite value."""
    arr = _checks.as_float_array(energies, name).astype(np.float64, copy=False)
    _checks.check_finite(arr, name)
    return arr


def _betas(betas):
    """``betas`` as a flat float64 array, each finite and ``>= 0``; at least one."""
    arr = _checks.as_float_array(betas, "betas").astype(np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError("betas is empty")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        n = int(np.argmax(bad))
        raise ValueError(f"betas[{n}] is {arr[n]}: every beta must be finite and >= 0")
    return arr


def _logits(E, beta):
    """``-beta E``, checked in one pass: ValueError naming a non-finite energy or an overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        logits = -beta * E
    if not np.isfinite(logits).all():
        _checks.check_finite(E, "energies")                 # NaN or inf in the input itself
        pos = tuple(int(k) for k in np.unravel_index(int(np.argmin(np.isfinite(logits))), E.shape))
        raise ValueError(f"beta * energies{list(pos)} = {beta:g} * {E[pos]:g} overflows float64")
    return logits


def _batch(energies, correct):
    """Validate a loss's input: ``(E (N, C) float64, c (N,) int64, squeeze)``.

    ``energies`` is (N, C) with ``correct`` of shape (N,), or one vector (C,) with a
    scalar ``correct`` (then ``squeeze`` is true and the gradient is returned as (C,)).
    """
    E = _finite_energies(energies)
    squeeze = E.ndim == 1
    if squeeze:
        E = E[None, :]
    if E.ndim != 2:
        raise ValueError(f"energies must have shape (N, C) or (C,), got {np.shape(energies)}")
    N, C = E.shape
    if N == 0:
        raise ValueError(f"energies has no samples (shape {np.shape(energies)}): a loss needs at least one")
    if C < 2:
        raise ValueError(f"energies must hold at least 2 answers per sample (one correct, one "
                         f"incorrect), got C = {C}")
    c = np.asarray(correct)
    expected = () if squeeze else (N,)
    if c.shape != expected:
        raise ValueError(f"correct has shape {c.shape} but energies has shape {np.shape(energies)}: "
                         f"expected correct of shape {expected}")
    if c.dtype.kind == "f":
        bad = ~(np.isfinite(c) & (c == np.round(c)))
        if bad.any():
            pos = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), c.shape))
            where = str(list(pos)) if c.ndim else ""
            raise ValueError(f"correct{where} is {c[pos]}, which is not an integer")
    elif c.dtype.kind not in "iu":
        raise TypeError(f"correct must hold integer indices, got dtype {c.dtype}")
    c = c.reshape(-1)
    out = (c < 0) | (c >= C)
    if out.any():
        n = int(np.argmax(out))
        where = "" if squeeze else f"[{n}]"
        raise ValueError(f"correct{where} is {c[n]:g}, outside the valid answers [0, {C})")
    return E, c.astype(np.int64), squeeze

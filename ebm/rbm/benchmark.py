"""Timings for the RBM chapter: training against scikit-learn, exact log Z, the 2^n wall.

Speed is measured here, never asserted in tests.  Every function warms the JIT first and
reports medians over ``repeats``; comparisons are measured side by side in one run.

    python -c "from ebm.rbm.benchmark import report; report()"
"""

from __future__ import annotations

import time

import numpy as np

from ebm._checks import check_int

__all__ = ["time_training", "time_exact_log_z", "enumeration_cost", "sklearn_curve", "independent_pixels", "report"]


def independent_pixels(X_train, X_eval, smoothing=0.5):
    """Mean log-likelihood (nats) of ``X_eval`` under independent pixels fitted to ``X_train``.

    Each pixel is on with probability ``(count + smoothing) / (N + 2 smoothing)`` (half a
    count each way by default, so no probability is 0 or 1): the baseline an RBM must beat.
    On the binarised digits' split it is -24.65 nats; uniform pixels give ``-n ln 2``.

    Parameters
    ----------
    X_train : array_like of 0/1, shape (n_train, n_pixels)
    X_eval : array_like of 0/1, shape (n_eval, n_pixels)
    smoothing : float > 0, default 0.5
        Pseudo-count added to each pixel's on and off counts.

    Returns
    -------
    float
    """
    from ebm._checks import binary_rows, check_float

    X_train = np.asarray(X_train)
    if X_train.ndim != 2:
        raise ValueError(f"X_train must be 2-D (N, n_pixels), got shape {X_train.shape}")
    X_train, _ = binary_rows(X_train, X_train.shape[1], "X_train", allow_1d=False)
    X_eval, _ = binary_rows(X_eval, X_train.shape[1], "X_eval", allow_1d=False)
    if X_train.shape[0] == 0 or X_eval.shape[0] == 0:
        raise ValueError("X_train and X_eval must each hold at least one row")
    smoothing = check_float(smoothing, "smoothing", low=0.0, low_open=True)
    p = (X_train.sum(axis=0) + smoothing) / (X_train.shape[0] + 2 * smoothing)
    return float((X_eval @ np.log(p) + (1 - X_eval) @ np.log1p(-p)).mean())


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), times


def time_training(epochs=50, n_hidden=16, repeats=3, seed=0):
    """Median seconds of ``RBM.fit`` and of scikit-learn's ``BernoulliRBM.fit`` (if installed).

    Same data (the binarised digits' 1,437 training images), size, epochs, batch 10 and
    learning rate 0.05.

    Parameters
    ----------
    epochs, n_hidden : int, default 50 and 16
    repeats : int, default 3
        Timed runs of each (the median is reported).
    seed : int, default 0

    Returns
    -------
    dict
        ``"ebm"``, ``"sklearn"`` (None without scikit-learn), ``"ratio"`` (sklearn / ebm:
        above 1 means ebm is faster), ``"ebm_test_ll"`` and ``"sklearn_test_ll"`` (exact
        mean test log-likelihoods, nats).
    """
    from ebm.datasets import load_digits
    from ebm.rbm import RBM

    epochs, n_hidden, repeats = (
        check_int(v, n) for v, n in ((epochs, "epochs"), (n_hidden, "n_hidden"), (repeats, "repeats"))
    )
    X_train, X_test, _, _ = load_digits()
    RBM(64, n_hidden).fit(X_train[:20], epochs=1, seed=seed)  # warm the JIT cache
    holder = {}

    def ours():
        holder["ebm"] = RBM(64, n_hidden).fit(X_train, epochs=epochs, seed=seed)

    t_ebm, _ = _median_time(ours, repeats)
    out = {
        "ebm": t_ebm,
        "sklearn": None,
        "ratio": None,
        "ebm_test_ll": float(holder["ebm"].log_likelihood(X_test).mean()),
        "sklearn_test_ll": None,
    }
    try:
        from sklearn.neural_network import BernoulliRBM
    except ImportError:
        return out

    def theirs():
        holder["sk"] = BernoulliRBM(
            n_components=n_hidden, learning_rate=0.05, batch_size=10, n_iter=epochs, random_state=seed
        ).fit(X_train)

    t_sk, _ = _median_time(theirs, repeats)
    sk = RBM(64, n_hidden)
    sk.W, sk.b, sk.c = holder["sk"].components_.T, holder["sk"].intercept_visible_, holder["sk"].intercept_hidden_
    out.update(sklearn=t_sk, ratio=t_sk / t_ebm, sklearn_test_ll=float(sk.log_likelihood(X_test).mean()))
    return out


def time_exact_log_z(n_visible=64, n_hidden=20, repeats=5, seed=0):
    """Median seconds of the exact ``log Z`` (the JIT warmed first) of a random RBM.

    Parameters
    ----------
    n_visible, n_hidden : int, default 64 and 20
        The smaller layer is enumerated: ``2**min(n_visible, n_hidden)`` states.
    repeats : int, default 5
    seed : int, default 0
        Draws ``W`` from N(0, 0.5^2).

    Returns
    -------
    float
    """
    from ebm.rbm import RBM

    rbm = RBM(n_visible, n_hidden, seed=seed)
    rbm.W = np.random.default_rng(seed).normal(0.0, 0.5, (n_visible, n_hidden))
    RBM(4, 3).log_partition()
    median, _ = _median_time(rbm.log_partition, repeats)
    return median


def enumeration_cost(sizes=(8, 10, 12, 14, 16, 18, 20), n_visible=64, seed=0):
    """Seconds of the exact ``log Z`` against the number of enumerated (hidden) units: the 2^n wall.

    One run per size, the JIT warmed first.

    Parameters
    ----------
    sizes : sequence of int, default (8, 10, ..., 20)
        Numbers of hidden units (each at most 25).
    n_visible : int, default 64
    seed : int, default 0

    Returns
    -------
    sizes : ndarray of int64, shape (n_sizes,)
    seconds : ndarray of float64, shape (n_sizes,)
    """
    from ebm.rbm import RBM

    RBM(4, 3).log_partition()
    sizes = np.asarray(sizes, dtype=np.int64)
    seconds = np.empty(sizes.size)
    for n, size in enumerate(sizes):
        rbm = RBM(n_visible, int(size), seed=seed)
        start = time.perf_counter()
        rbm.log_partition(layer="hidden")
        seconds[n] = time.perf_counter() - start
    return sizes, seconds


def sklearn_curve(X_train, X_test, epochs=50, n_hidden=16, seed=0):
    """Exact test log-likelihood per epoch of scikit-learn's ``BernoulliRBM`` (needs scikit-learn).

    The model is initialised and updated exactly as ``fit(n_iter=epochs)`` does it
    (``learning_rate=0.05``, minibatches of 10 in ``fit``'s own order -- consecutive slices, no
    shuffling -- and one random stream), but epoch by epoch, so that after each epoch its
    parameters can be copied into an :class:`ebm.rbm.RBM` and scored exactly.  The updates
    call the estimator's per-minibatch step ``_fit`` (private; its public wrapper
    ``partial_fit`` re-validates its input on every call, ~10 ms per minibatch); when a
    version lacks it, ``partial_fit`` is used.  ``tests/test_rbm_plots.py`` checks that the
    last epoch equals ``fit``'s result.

    Parameters
    ----------
    X_train : array_like of 0/1, shape (n_train, n_visible)
    X_test : array_like of 0/1, shape (n_test, n_visible)
    epochs, n_hidden : int, default 50 and 16
    seed : int, default 0
        BernoulliRBM's ``random_state``.

    Returns
    -------
    ndarray of float64, shape (epochs,)
        Mean exact test log-likelihood (nats) after each epoch.
    """
    from sklearn.neural_network import BernoulliRBM
    from sklearn.utils import check_random_state

    from ebm.rbm import RBM

    X_train = np.asarray(X_train, dtype=np.float64)
    model = BernoulliRBM(n_components=n_hidden, learning_rate=0.05, batch_size=10, n_iter=epochs, random_state=seed)
    n, n_v = X_train.shape
    edges = np.append(np.arange(0, n, 10), n)  # fit's slices: 10 each, the last shorter
    step = getattr(model, "_fit", None)
    if step is not None:  # what fit does before its loop
        rng = check_random_state(seed)
        model.components_ = np.asarray(rng.normal(0, 0.01, (n_hidden, n_v)), order="F")
        model._n_features_out = n_hidden
        model.intercept_hidden_ = np.zeros(n_hidden)
        model.intercept_visible_ = np.zeros(n_v)
        model.h_samples_ = np.zeros((10, n_hidden))
    rbm = RBM(n_v, n_hidden)
    out = np.empty(epochs)
    for epoch in range(epochs):
        for a, b in zip(edges[:-1], edges[1:]):
            if step is not None:
                step(X_train[a:b], rng)
            else:
                model.partial_fit(X_train[a:b])
        rbm.W, rbm.b, rbm.c = model.components_.T, model.intercept_visible_, model.intercept_hidden_
        out[epoch] = rbm.log_likelihood(X_test).mean()
    return out


def report(repeats=3):
    """Print the chapter's benchmark numbers: training against scikit-learn, and the exact ``log Z``.

    Parameters
    ----------
    repeats : int, default 3
        Timed runs per measurement (medians are printed).
    """
    res = time_training(repeats=repeats)
    print(
        f"50 epochs, 16 hidden, batch 10, lr 0.05 on 1437 digits: ebm {res['ebm']:.3f} s "
        f"(test LL {res['ebm_test_ll']:.2f})",
        end="",
    )
    if res["sklearn"] is not None:
        print(
            f", sklearn BernoulliRBM {res['sklearn']:.3f} s (test LL {res['sklearn_test_ll']:.2f}); "
            f"sklearn / ebm = {res['ratio']:.1f}x"
        )
    else:
        print("; scikit-learn not installed")
    t = time_exact_log_z(repeats=max(3, repeats))
    print(f"exact log Z, 64 visible x 20 hidden (2**20 states): median {t:.3f} s ({t / 1.0:.2f} of the 1 s budget)")

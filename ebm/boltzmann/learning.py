"""Learning with the 1985 rule, the 4-2-4 encoder and 3-bit parity.

``dw_ij = eps (p_ij - p'_ij)``: clamped minus free co-occurrences, steepest descent
on ``G = KL(data || model)`` (``dG/dw_ij = -(p_ij - p'_ij) / T``).  The statistics come
from :mod:`ebm.boltzmann.phases` (enumeration, a few exact samples, or annealing with
the Gibbs sampler; its public names can be imported from here too); :func:`learn` steps
with the gradient or the paper's sign-only step, and clamping can be noisy.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from ebm._checks import as_rng, check_int, kernel_seed
from ebm._progress import progress_bar
from ebm._states import all_states
from ebm.boltzmann.machine import SEED_HIGH, BoltzmannMachine, _energies, state_index
from ebm.boltzmann.phases import (
    PAPER_SCHEDULE,
    _as_data,
    _check_schedule,
    _collecting_temps,
    _noisy,
    _sampled_statistics,
    clamped_statistics,
    free_statistics,
    kl_divergence,
    paper_schedule,
)

__all__ = [
    "LearningResult",
    "STATISTICS",
    "STEPS",
    "learn",
    "encoder_network",
    "encoder_patterns",
    "encoder_codes",
    "ENCODER_REGIMES",
    "train_encoder",
    "encoder_experiment",
    "parity_data",
    "parity_experiment",
    # re-exported from ebm.boltzmann.phases
    "PAPER_SCHEDULE",
    "paper_schedule",
    "clamped_statistics",
    "free_statistics",
    "kl_divergence",
]

# --------------------------------------------------------------------------- learning


@dataclass
class LearningResult:
    """What :func:`learn` returns.

    Attributes
    ----------
    machine : BoltzmannMachine
        The trained machine (a new object; the one passed in is unchanged).
    G : ndarray of float64, shape (cycles,)
        ``KL(data || model)`` after each cycle (NaN where not computed).
    history : list
        Whatever ``callback(cycle, machine)`` returned, when it returned something.
    cycles : int
        Cycles run (fewer than asked when ``callback`` returned ``"stop"``).
    """

    machine: BoltzmannMachine
    G: np.ndarray
    history: list = field(default_factory=list)
    cycles: int = 0


STATISTICS = ("exact", "exact_samples", "gibbs_sampling")
STEPS = ("gradient", "sign")


def learn(
    bm,
    data,
    *,
    n_cycles=100,
    lr=0.5,
    step="gradient",
    statistics="exact",
    noise=None,
    n_clamped=5,
    n_free=20,
    schedule=None,
    collect=10,
    track_G=True,
    callback=None,
    seed=None,
    progress=False,
):
    """Train with the 1985 rule: ``dw_ij = eps (p_ij - p'_ij)``, thresholds with the opposite sign.

    Each cycle measures the clamped statistics (visible units on the data,
    hidden in equilibrium) and the free ones, then steps every existing
    connection (``bm.mask``) and every threshold.

    Parameters
    ----------
    bm : BoltzmannMachine
        The starting point (not modified).
    data : array_like of {0,1}, shape (n_samples, n_visible)
        The training vectors, equally likely (repeat a row to weight it).
    n_cycles : int, default 100
    lr : float > 0, default 0.5
        ``eps`` for ``step="gradient"``; the fixed step size for ``step="sign"``.
    step : {"gradient", "sign"}
        ``eps (p - p')`` (steepest descent on G, times T), or the paper's
        ``lr * sign(p - p')``, which leaves a weight unchanged when the two
        statistics tie.
    statistics : {"exact", "exact_samples", "gibbs_sampling"}
        ``"exact"``: expectations by enumeration (one noisy copy of each row per
        cycle when ``noise`` is set).  ``"exact_samples"``: ``n_clamped`` samples
        per row and ``n_free`` free samples, drawn exactly from the enumerated
        distributions.  ``"gibbs_sampling"``: the paper's procedure -- anneal with
        ``schedule`` and collect ``collect`` sweeps at its last temperature, for
        each clamped and free sample (the only choice for nets past enumeration).
    schedule : sequence of (T, sweeps), optional
        For ``"gibbs_sampling"``: the annealing schedule, which must end at ``bm.T`` (the
        statistics are those of the machine at its own temperature; ValueError
        otherwise).  Default :func:`paper_schedule` ``(bm.T)``, the paper's
        schedule scaled to end at ``bm.T``.
    collect : int >= 1, default 10
        For ``"gibbs_sampling"``: sweeps recorded at the last temperature, per sample.
    noise : (p_off, p_on) or None
        Noisy clamping: an on unit is clamped off with ``p_off``, an off unit on
        with ``p_on``, redrawn at every clamping.  The paper used (0.15, 0.05).
    track_G : bool, default True
        Compute ``G`` after every cycle (needs enumeration).
    callback : callable, optional
        ``callback(cycle, machine)`` after each cycle; return ``"stop"`` to end,
        anything else not None is appended to ``history``.
    seed : int or numpy.random.Generator, optional
    progress : bool, default False
        A tqdm progress bar over the cycles.

    Returns
    -------
    LearningResult
    """
    n_cycles = check_int(n_cycles, "n_cycles", 0)
    if step not in STEPS:
        raise ValueError(f"step must be one of {STEPS}, got {step!r}")
    if statistics not in STATISTICS:
        raise ValueError(f"statistics must be one of {STATISTICS}, got {statistics!r}")
    if not (isinstance(lr, numbers.Real) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if noise is not None:
        noise = tuple(float(x) for x in noise)
        if len(noise) != 2 or not all(0 <= x < 1 for x in noise):
            raise ValueError(f"noise must be (p_off, p_on) with both in [0, 1), got {noise!r}")
    n_clamped = check_int(n_clamped, "n_clamped", 1)
    n_free = check_int(n_free, "n_free", 1)
    collect = check_int(collect, "collect", 1)
    schedule = _check_schedule(schedule, bm.T)
    v = _as_data(bm, data)
    rng = as_rng(seed)
    W, theta = bm.W.copy(), bm.theta.copy()
    mask = bm.mask
    G = np.full(n_cycles, np.nan)
    history = []
    machine = bm.copy()
    done = 0
    with progress_bar(progress, n_cycles, f"Boltzmann learning ({statistics}, {step})") as bar:
        for cycle in range(n_cycles):
            if statistics == "exact":
                pi, pij = clamped_statistics(machine, _noisy(v, noise, rng))
                qi, qij = free_statistics(machine)
            else:
                noisy = _noisy(np.repeat(v, n_clamped, axis=0), noise, rng)
                pi, pij, qi, qij = _sampled_statistics(machine, noisy, 1, n_free, statistics, schedule, collect, rng)
            dW, dth = pij - qij, pi - qi
            if step == "sign":
                dW, dth = np.sign(dW), np.sign(dth)
            W = W + lr * np.where(mask, dW, 0.0)
            theta = theta - lr * dth
            W = 0.5 * (W + W.T)  # exact symmetry against rounding
            machine = machine._with_params(W, theta)
            if track_G:
                G[cycle] = kl_divergence(machine, v)
            done = cycle + 1
            bar.update()
            if callback is not None:
                out = callback(cycle, machine)
                if isinstance(out, str) and out == "stop":
                    break
                if out is not None:
                    history.append(out)
    return LearningResult(machine, G[:done], history, done)


# --------------------------------------------------------------------------- the encoder


def encoder_network(n_visible=4, n_hidden=2, T=1.0):
    """An n-h-n encoder at zero weights: V1 (units 0..n-1), H, V2 (the last n units).

    Connections: within V1, within V2, and every visible unit to every hidden
    unit; none between V1 and V2 (the message must go through H), and none
    between the hidden units (our reading of the paper's Fig. 3).

    Parameters
    ----------
    n_visible : int >= 2, default 4
        Units in each of V1 and V2.
    n_hidden : int >= 1, default 2
    T : float > 0, default 1.0

    Returns
    -------
    BoltzmannMachine
        ``2 n_visible + n_hidden`` units, ``hidden`` the middle ``n_hidden``.
    """
    nv = check_int(n_visible, "n_visible", 2)
    nh = check_int(n_hidden, "n_hidden", 1)
    n = 2 * nv + nh
    v1, h, v2 = np.arange(nv), np.arange(nv, nv + nh), np.arange(nv + nh, n)
    mask = np.zeros((n, n), dtype=bool)
    for a, b in ((v1, v1), (v2, v2), (v1, h), (v2, h)):
        mask[np.ix_(a, b)] = True
        mask[np.ix_(b, a)] = True
    np.fill_diagonal(mask, False)
    return BoltzmannMachine(np.zeros((n, n)), np.zeros(n), T, mask=mask, hidden=h)


def encoder_patterns(n_visible=4):
    """The training vectors ``(V1, V2) = (e_i, e_i)``.

    Parameters
    ----------
    n_visible : int >= 2, default 4

    Returns
    -------
    ndarray of int8, shape (n_visible, 2 * n_visible)
    """
    eye = np.eye(check_int(n_visible, "n_visible", 2), dtype=np.int8)
    return np.concatenate([eye, eye], axis=1)


def encoder_codes(bm, n_visible=4):
    """For each pattern, with V1 clamped cleanly: the most probable hidden code and V2.

    Parameters
    ----------
    bm : BoltzmannMachine
        An encoder laid out as :func:`encoder_network` makes it.
    n_visible : int, default 4

    Returns
    -------
    dict
        ``"codes"`` (n_visible, n_hidden) int8, ``"v2"`` (n_visible, n_visible) int8,
        ``"distinct"`` (bool: all codes differ), ``"correct"`` (bool: every V2 equals its
        V1), ``"success"`` (both), ``"p_code"`` (n_visible, 2**n_hidden): ``p(h | V1 = e_i)``.
    """
    nv = n_visible
    nh = bm.hidden.size
    rest = np.concatenate([bm.hidden, np.arange(nv + nh, 2 * nv + nh)])
    R = all_states(rest.size)
    S = np.zeros((nv, R.shape[0], bm.n_units))
    S[:, :, :nv] = np.eye(nv)[:, None, :]
    S[:, :, rest] = R[None]
    a = -_energies(S, bm.W, bm.theta) / bm.T
    p = np.exp(a - a.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    h_idx, v2_idx = state_index(R[:, :nh]), state_index(R[:, nh:])
    p_code = np.stack([np.bincount(h_idx, weights=row, minlength=2**nh) for row in p])
    p_v2 = np.stack([np.bincount(v2_idx, weights=row, minlength=2**nv) for row in p])
    codes = all_states(nh)[p_code.argmax(axis=1)]
    v2 = all_states(nv)[p_v2.argmax(axis=1)]
    distinct = np.unique(state_index(codes)).size == nv
    correct = bool((v2 == np.eye(nv, dtype=np.int8)).all())
    return {
        "codes": codes,
        "v2": v2,
        "distinct": bool(distinct),
        "correct": correct,
        "success": bool(distinct and correct),
        "p_code": p_code,
    }


#: The encoder regimes of :func:`encoder_experiment`, named for what they do.  Sign steps of
#: 0.2 at T = 1 are the paper's steps of 2 at T = 10; noisy clamping is the paper's (0.15, 0.05).
ENCODER_REGIMES = {
    # the paper's procedure: annealed Gibbs statistics (paper_schedule(1): 2@2, 2@1.5, 2@1.2,
    # 4@1, then 10 sweeps collected at T = 1), 5 clamped samples per pattern and 20 free ones,
    # sign steps, noisy clamping
    "annealed": dict(
        step="sign",
        lr=0.2,
        statistics="gibbs_sampling",
        noise=(0.15, 0.05),
        n_clamped=5,
        n_free=20,
        schedule=None,
        collect=10,
    ),
    # the same steps and clamping, but each statistic from ONE exact sample (drawn from the
    # enumerated distribution) per clamped pattern copy and per free sample
    "single_samples": dict(step="sign", lr=0.2, statistics="exact_samples", noise=(0.15, 0.05), n_clamped=5, n_free=20),
    # single samples without noisy clamping
    "single_samples_clean": dict(step="sign", lr=0.2, statistics="exact_samples", noise=None, n_clamped=5, n_free=20),
    # the deterministic gradient with exact expectations and clean clamping
    # (zero weights would keep the two hidden units identical for ever: start from small random ones)
    "exact": dict(step="gradient", lr=0.5, statistics="exact", noise=None, init_scale=0.1),
    # the exact gradient with noisy clamping (one noisy copy of each pattern per cycle)
    "exact_noisy": dict(step="gradient", lr=0.5, statistics="exact", noise=(0.15, 0.05), init_scale=0.1),
}


def _regime_options(regime):
    """A regime's :func:`learn` options (a copy), from its name or a dict."""
    if isinstance(regime, str):
        if regime not in ENCODER_REGIMES:
            raise ValueError(f"regime must be one of {tuple(ENCODER_REGIMES)} or a dict, got {regime!r}")
        return dict(ENCODER_REGIMES[regime])
    if not isinstance(regime, dict):
        raise TypeError(f"regime must be a name from ENCODER_REGIMES or a dict, got {type(regime).__name__}")
    known = {"step", "lr", "statistics", "noise", "n_clamped", "n_free", "schedule", "collect", "init_scale"}
    unknown = set(regime) - known
    if unknown:
        raise ValueError(f"regime has unknown option(s) {sorted(unknown)}; known: {sorted(known)}")
    return dict(regime)


def _initial_weights(bm, scale, rng):
    """Zero weights, or small random ones on the existing connections."""
    if not scale:
        return bm.W.copy()
    W = np.triu(rng.normal(0, scale, bm.W.shape), 1)
    return np.where(bm.mask, W + W.T, 0.0)


def _encoder_runs(regime, seeds, max_cycles, stop_at_success, progress, desc):
    """Train one 4-2-4 encoder per seed in the Numba kernel; (first, held, final W, final theta)."""
    from concurrent.futures import ThreadPoolExecutor

    import numba

    from ebm._parallel import use_parallel
    from ebm.boltzmann import _encoder_kernel as K

    opts = _regime_options(regime)
    scale = float(opts.pop("init_scale", 0.0))
    bm = encoder_network()
    # learn's own checks (and defaults) for these options, on one cycle of nothing
    step, lr = opts.get("step", "gradient"), opts.get("lr", 0.5)
    statistics, noise = opts.get("statistics", "exact"), opts.get("noise")
    learn(bm, encoder_patterns(), n_cycles=0, **opts)
    schedule = _check_schedule(opts.get("schedule"), bm.T)
    collect = int(opts.get("collect", 10))
    temps = _collecting_temps(schedule, collect)
    n_clamped, n_free = int(opts.get("n_clamped", 5)), int(opts.get("n_free", 20))
    noise = (0.0, 0.0) if noise is None else tuple(float(x) for x in noise)
    rngs = [np.random.default_rng(child) for child in seeds]
    W = np.stack([_initial_weights(bm, scale, rng) for rng in rngs])
    kseeds = np.array([kernel_seed(rng, high=SEED_HIGH) for rng in rngs], dtype=np.int64)
    first, held = np.empty(len(rngs), np.int64), np.empty(len(rngs), np.bool_)
    setup = K.EncoderSetup(
        T=bm.T,
        mask=bm.mask,
        mode=K.MODES[statistics],
        sign_step=step == "sign",
        lr=float(lr),
        noise_off=noise[0],
        noise_on=noise[1],
        noisy=noise != (0.0, 0.0),
        n_clamped=n_clamped,
        n_free=n_free,
        temps=temps,
        collect=collect,
        patterns=encoder_patterns(),
        visible=bm.visible,
        hidden=bm.hidden,
        max_cycles=max_cycles,
        stop_at_success=stop_at_success,
        S=all_states(bm.n_units, np.float64),
    )
    chunks = [(a, min(a + 4, len(rngs))) for a in range(0, len(rngs), 4)]

    def run(chunk):  # the kernel releases the GIL: threads run in parallel
        a, b = chunk
        K.encoder_trials(W[a:b], setup, kseeds[a:b], first[a:b], held[a:b])
        return b - a

    workers = numba.get_num_threads() if use_parallel(len(rngs) * max_cycles * 1000) else 1
    with progress_bar(progress, len(rngs), desc) as bar, ThreadPoolExecutor(workers) as pool:
        for done in pool.map(run, chunks):
            bar.update(done)
    return first, held, W


def train_encoder(regime="annealed", *, max_cycles=2000, seed=None, stop_at_success=True):
    """Train one 4-2-4 encoder (see :func:`encoder_experiment` for the regimes and the success test).

    Parameters
    ----------
    regime : str or dict, default "annealed"
        A name from :data:`ENCODER_REGIMES` or a dict of :func:`learn` options (and
        ``init_scale``).
    max_cycles : int >= 1, default 2000
    seed : int or numpy.random.Generator, optional
    stop_at_success : bool, default True
        End at the first success.

    Returns
    -------
    first_success : int or None
        The first cycle at which the encoder succeeded (None: not within ``max_cycles``).
    machine : BoltzmannMachine
        The trained encoder (at ``first_success`` when ``stop_at_success``).
    """
    max_cycles = check_int(max_cycles, "max_cycles", 1)
    opts = _regime_options(regime)
    rng = as_rng(seed)
    bm = encoder_network()
    start = bm.copy(W=_initial_weights(bm, opts.pop("init_scale", 0.0), rng))
    first = []

    def watch(cycle, machine):
        if not first and encoder_codes(machine)["success"]:
            first.append(cycle + 1)
            return "stop" if stop_at_success else None
        return None

    res = learn(start, encoder_patterns(), n_cycles=max_cycles, track_G=False, callback=watch, seed=rng, **opts)
    return (first[0] if first else None), res.machine


def encoder_experiment(
    n_seeds=10, *, regime="annealed", max_cycles=2000, seed=0, stop_at_success=False, progress=False
):
    """The 4-2-4 encoder from zero weights (or small random ones), over ``n_seeds`` seeds.

    Success at a cycle: with V1 clamped to each pattern, the four most probable
    hidden codes differ and the most probable V2 is the right one (exact, by
    enumeration).  The paper (Ackley et al. 1985) reports 250/250 successes and a
    median of 110 learning cycles.  The runs go through a Numba kernel that
    performs :func:`learn`'s cycle for the encoder (the tests check it against
    ``learn``), one seed per thread.

    Parameters
    ----------
    n_seeds : int >= 1, default 10
        Independent runs, seeded from ``SeedSequence(seed).spawn(n_seeds)``.
    regime : str or dict of :func:`learn` options (and ``init_scale``)
        A name from :data:`ENCODER_REGIMES`: ``"annealed"`` (the paper's procedure:
        annealed Gibbs statistics, sign steps, noisy clamping), ``"single_samples"``
        (one exact sample per statistic instead of annealing),
        ``"single_samples_clean"`` (the same without noisy clamping), ``"exact"``
        (the exact gradient, clean clamping), ``"exact_noisy"``.
    max_cycles : int >= 1, default 2000
    seed : int, default 0
    stop_at_success : bool, default False
        End each run at its first success (faster; ``held`` is then not measured).
    progress : bool, default False
        A progress bar over the seeds.

    Notes
    -----
    Measured with ``n_seeds=100, max_cycles=2000, seed=2026,
    stop_at_success=True``: annealed solved 96% of the seeds (median 103.5
    cycles), single samples 87% (median 206), single samples without noisy
    clamping 27% (median 42), the exact gradient 16% (median 147), the exact
    gradient with noisy clamping 54% (median 425).  Lecture 02 and the tour
    print the same experiment at ``max_cycles=1000``.

    Returns
    -------
    dict
        ``"first_success"`` (list of n_seeds: the cycle per seed, or None),
        ``"success_rate"``, ``"median_cycles"`` (over the successful seeds), ``"held"``
        (fraction still successful at ``max_cycles``, None when stopping early),
        ``"paper"`` (the paper's numbers), ``"regime"``, ``"max_cycles"``.
    """
    n_seeds = check_int(n_seeds, "n_seeds", 1)
    max_cycles = check_int(max_cycles, "max_cycles", 1)
    name = regime if isinstance(regime, str) else "custom"
    first, held, _ = _encoder_runs(
        regime,
        np.random.SeedSequence(seed).spawn(n_seeds),
        max_cycles,
        bool(stop_at_success),
        progress,
        f"4-2-4 encoder ({name})",
    )
    firsts = [int(f) if f > 0 else None for f in first]
    hits = [f for f in firsts if f is not None]
    return {
        "first_success": firsts,
        "success_rate": len(hits) / n_seeds,
        "median_cycles": float(np.median(hits)) if hits else None,
        "held": None if stop_at_success else float(np.mean(held)),
        "paper": {"success": "250/250", "median_cycles": 110, "max_cycles": 1810},
        "regime": regime,
        "max_cycles": max_cycles,
    }


# --------------------------------------------------------------------------- parity


def parity_data(n_bits=3):
    """The ``2**(n_bits - 1)`` vectors of ``n_bits`` bits whose last bit is the parity of the others.

    Parameters
    ----------
    n_bits : int >= 2, default 3

    Returns
    -------
    ndarray of int8, shape (2**(n_bits - 1), n_bits)
    """
    n = check_int(n_bits, "n_bits", 2)
    x = all_states(n - 1)
    return np.concatenate([x, (x.sum(axis=1) % 2)[:, None].astype(np.int8)], axis=1)


def parity_experiment(n_hidden=(0, 1), *, n_cycles=600, lr=2.0, init_scale=1.0, seed=0, trace=False, progress=False):
    """Learn 3-bit parity with exact statistics, with and without hidden units; G per cycle.

    Without hidden units every mean is 1/2 and every pair statistic 1/4 in the
    data -- the same as the uniform distribution over 8 states -- so the best
    pairwise model is uniform and ``G = ln 2`` (G is convex there: no better
    optimum exists).  A hidden unit can add the missing third-order interaction.
    Learning starts from weights and thresholds drawn from ``N(0, init_scale^2)``
    (not from near zero) and, with one hidden unit, first sits on a plateau near
    ``G = ln 2``: there the statistics learning compares, ``p_ij`` and ``p'_ij``,
    differ by a few thousandths although the weights are of order 1, so each
    step is tiny; G falls once the hidden unit's three weights have become equal
    in size (the symmetry of parity).  With ``trace=True`` the ``"trace"`` entry
    records this (it costs a second enumeration per cycle).

    Parameters
    ----------
    n_hidden : sequence of int, default (0, 1)
        Numbers of hidden units to try.
    n_cycles : int, default 600
    lr : float, default 2.0
    init_scale : float, default 1.0
        Standard deviation of the initial weights and thresholds.
    seed : int or numpy.random.Generator, default 0
    trace : bool, default False
    progress : bool, default False

    Returns
    -------
    dict
        ``{n_hidden: ndarray of G per cycle, shape (n_cycles,)}``, plus ``"ln2"`` and
        ``"trace"`` (empty unless ``trace``): ``{n_hidden: dict}`` with
        ``"max_hidden_weight"`` (the largest ``|w|`` between a hidden and a visible
        unit), ``"max_statistics_gap"`` (``max |p_ij - p'_ij|``, the size of the step
        before the learning rate) and ``"hidden_weights"`` (n_cycles, n_hidden, 3), each
        after every cycle.
    """
    data = parity_data(3)
    out = {"ln2": math.log(2.0), "trace": {}}
    rng = as_rng(seed)
    for nh in n_hidden:
        nh = check_int(nh, "n_hidden", 0)
        n = 3 + nh
        W = rng.normal(0, init_scale, (n, n))
        W = np.triu(W, 1)
        W = W + W.T
        bm = BoltzmannMachine(W, rng.normal(0, init_scale, n), hidden=np.arange(3, n))

        def record(cycle, machine):
            pi, pij = clamped_statistics(machine, data)
            qi, qij = free_statistics(machine)
            w_hv = machine.W[3:, :3]
            return (np.abs(w_hv).max() if nh else 0.0, float(np.abs(pij - qij).max()), w_hv.copy())

        res = learn(bm, data, n_cycles=n_cycles, lr=lr, seed=rng, progress=progress, callback=record if trace else None)
        out[nh] = res.G
        if not trace:
            continue
        out["trace"][nh] = {
            "max_hidden_weight": np.array([h[0] for h in res.history]),
            "max_statistics_gap": np.array([h[1] for h in res.history]),
            "hidden_weights": np.array([h[2] for h in res.history]),
        }
    return out

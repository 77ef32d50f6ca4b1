r"""Figures for the Boltzmann chapter and lecture (article §2).

The numbers all come from :mod:`ebm.boltzmann`; these functions only draw, and
**return** the figure.

* :func:`plot_temperature_sigmoids` -- ``sigma(net / T)`` at several temperatures,
  converging to Hopfield's step as ``T -> 0``.
* :func:`plot_annealing_trace` -- energy per sweep with the temperature schedule
  overlaid (and greedy descent for comparison).
* :func:`animate_annealing` -- the same run as a step-through of the state.
* :func:`plot_sampler_vs_exact` -- sampled state frequencies against the
  enumerated Boltzmann distribution, and the total-variation distance as the
  chain grows.
* :func:`plot_encoder_codes` -- the 4-2-4 encoder's hidden codes, ``p(h | V1)``.
* :func:`plot_parity_learning` -- ``G`` per cycle on 3-bit parity, with ``ln 2``.
* :func:`plot_encoder_success` -- the share of seeds solved by each cycle, per regime.
"""

from __future__ import annotations

import math

import numpy as np

from ebm.plotting._style import LABEL_COLOUR, OTHER_COLOUR, _real_array

__all__ = [
    "plot_temperature_sigmoids",
    "plot_annealing_trace",
    "animate_annealing",
    "plot_sampler_vs_exact",
    "plot_encoder_codes",
    "plot_parity_learning",
    "plot_encoder_success",
]

_NOTE = dict(fontsize=8.5, bbox=dict(boxstyle="round", facecolor="white", alpha=0.85, edgecolor="0.7"))


def _anneal_result(result, name="result"):
    from ebm.boltzmann import AnnealResult

    if not isinstance(result, AnnealResult):
        raise TypeError(
            f"{name} must be an AnnealResult (from BoltzmannMachine.anneal or .descend), got {type(result).__name__}"
        )
    return result


def plot_temperature_sigmoids(temperatures=(5.0, 2.0, 1.0, 0.5, 0.1), net_range=(-6.0, 6.0)):
    """``P(s = 1) = sigma(net / T)`` for each temperature, and the ``T -> 0`` step.

    Parameters
    ----------
    temperatures : sequence of float > 0
    net_range : (low, high)

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from ebm.boltzmann import deterministic_unit, unit_probability

    temps = _real_array(temperatures, "temperatures").reshape(-1)
    if temps.size == 0 or (temps <= 0).any() or not np.isfinite(temps).all():
        raise ValueError(f"temperatures must be positive and finite, got {temps.tolist()}")
    lo, hi = (float(v) for v in net_range)
    if not lo < hi:
        raise ValueError(f"net_range must be (low, high) with low < high, got {net_range!r}")
    net = np.linspace(lo, hi, 601)
    fig, ax = plt.subplots(figsize=(7, 4))
    cmap = plt.get_cmap("plasma")  # dark to bright, no pale middle
    order = np.argsort(-temps)
    for rank, k in enumerate(order):
        T = temps[k]
        one = T == 1.0
        ax.plot(
            net,
            unit_probability(net, T),
            color=cmap(0.85 * rank / max(len(temps) - 1, 1)),
            lw=3 if one else 2,
            label=f"T = {T:g}" + (" (the sigmoid)" if one else ""),
        )
    step = deterministic_unit(net)
    ax.plot(net[net < 0], step[net < 0], "k--", lw=1.5, label="T → 0 (step)")
    ax.plot(net[net > 0], step[net > 0], "k--", lw=1.5)
    ax.plot([0], [0.5], "ko", ms=5)
    ax.set_xlabel("energy gap  ΔE_k = Σ_j W_kj s_j − θ_k")
    ax.set_ylabel("P(s_k = 1)")
    ax.set_ylim(-0.04, 1.04)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8.5)
    ax.set_title("A stochastic unit: σ(ΔE / T) hesitates when hot, decides when cold", fontsize=10)
    ax.text(
        0.98,
        0.05,
        "as T → 0: 1 if ΔE > 0, 0 if ΔE < 0\n(at ΔE = 0 it stays 1/2 at every T)",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        **_NOTE,
    )
    fig.tight_layout()
    return fig


def plot_annealing_trace(result, greedy=None, global_min=None, runs=None):
    """Energy after each sweep of an annealing run, with its temperature schedule overlaid.

    Parameters
    ----------
    result : AnnealResult
        From :meth:`ebm.boltzmann.BoltzmannMachine.anneal`.
    greedy : AnnealResult, optional
        A greedy descent (:meth:`~ebm.boltzmann.BoltzmannMachine.descend`) to compare.
    global_min : float, optional
        The lowest energy (from enumeration), drawn as a line.
    runs : dict, optional
        The result of :func:`ebm.boltzmann.anneal_vs_greedy`: a second panel shows the
        final energy of every run of both methods, and how many reached ``global_min``
        (one trace can be lucky or unlucky; the runs are the claim).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    result = _anneal_result(result)
    if runs is not None:
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2.2, 1]})
    else:
        fig, ax = plt.subplots(figsize=(7.5, 4))
    sweeps = np.arange(1, result.energies.size + 1)
    ax.plot(sweeps, result.energies, "-", color=OTHER_COLOUR, lw=1.8, label="annealing: E after each sweep")
    if greedy is not None:
        greedy = _anneal_result(greedy, "greedy")
        g = np.arange(1, greedy.energies.size + 1)
        ax.plot(g, greedy.energies, "-", color="0.4", lw=1.5, label="greedy descent (T = 0)")
    if global_min is not None:
        ax.axhline(float(global_min), color="green", ls=":", lw=1.5, label=f"global minimum {global_min:.2f}")
    ax.set_xlabel("sweep (every unit updated once, random order)")
    ax.set_ylabel("energy E(s)")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.step(sweeps, result.temperatures, where="mid", color=LABEL_COLOUR, lw=1.5, alpha=0.8)
    ax2.set_ylabel("temperature T", color=LABEL_COLOUR)
    ax2.tick_params(axis="y", colors=LABEL_COLOUR)
    ax2.set_ylim(0, 1.1 * result.temperatures.max())
    lines, labels = ax.get_legend_handles_labels()
    lines.append(plt.Line2D([], [], color=LABEL_COLOUR, lw=1.5))
    labels.append("temperature schedule (right axis)")
    ax.legend(lines, labels, loc="upper right", fontsize=8)
    ax.set_title("One run from one random start: high T explores, falling T settles", fontsize=10)
    if runs is not None:
        try:
            finals = {"annealing": np.asarray(runs["anneal"]), "greedy": np.asarray(runs["greedy"])}
            gmin = runs["global_min"]
        except (TypeError, KeyError):
            raise TypeError("runs must be the dict returned by ebm.boltzmann.anneal_vs_greedy") from None
        rng = np.random.default_rng(0)  # horizontal jitter only, for visibility
        for k, (name, e) in enumerate(finals.items()):
            hit = np.isclose(e, gmin) if gmin is not None else np.zeros(e.size, bool)
            x = k + rng.uniform(-0.18, 0.18, e.size)
            bx.plot(x, e, "o", ms=4, alpha=0.7, color=[OTHER_COLOUR, "0.4"][k])
            bx.annotate(
                f"{int(hit.sum())}/{e.size} at the\nglobal minimum",
                (k, e.max()),
                xytext=(0, 8),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
        if gmin is not None:
            bx.axhline(float(gmin), color="green", ls=":", lw=1.5)
        bx.set_xticks([0, 1])
        bx.set_xticklabels(list(finals))
        bx.set_xlim(-0.6, 1.6)
        lo, hi = bx.get_ylim()
        bx.set_ylim(lo, hi + 0.15 * (hi - lo))
        bx.set_ylabel("final energy of each run")
        bx.set_title(f"All {finals['annealing'].size} runs of each", fontsize=10)
        bx.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def animate_annealing(result, shape=None, max_frames=30):
    """Step through an annealing run: the state grid and a marker on the energy trace.

    Parameters
    ----------
    result : AnnealResult
    shape : (rows, cols), optional
        How to lay the units out (default: one row).
    max_frames : int, default 30
        Frames are spread evenly over the sweeps.

    Returns
    -------
    matplotlib.animation.FuncAnimation
        Render with :func:`ebm.plotting.animation_html`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    result = _anneal_result(result)
    n = result.states.shape[1]
    shape = (1, n) if shape is None else tuple(shape)
    if len(shape) != 2 or shape[0] * shape[1] != n:
        raise ValueError(f"shape must be (rows, cols) with rows*cols = {n}, got {shape!r}")
    frames = np.unique(np.linspace(0, result.energies.size - 1, min(max_frames, result.energies.size)).astype(int))
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8.6, 3.2), dpi=72, gridspec_kw={"width_ratios": [1, 1.6]})
    img = ax0.imshow(result.states[0].reshape(shape), cmap="Greys", vmin=0, vmax=1)
    ax0.set_xticks([])
    ax0.set_yticks([])
    sweeps = np.arange(1, result.energies.size + 1)
    ax1.plot(sweeps, result.energies, color=OTHER_COLOUR, lw=1.2)
    (dot,) = ax1.plot([], [], "o", color=LABEL_COLOUR, ms=8)
    ax1.set_xlabel("sweep")
    ax1.set_ylabel("E(s)")
    ax1.grid(alpha=0.3)
    fig.tight_layout()

    def draw(f):
        img.set_data(result.states[f].reshape(shape))
        ax0.set_title(f"sweep {f + 1}, T = {result.temperatures[f]:g}", fontsize=10)
        dot.set_data([sweeps[f]], [result.energies[f]])
        return img, dot

    return FuncAnimation(fig, draw, frames=frames, interval=200, blit=False)


def plot_sampler_vs_exact(convergence):
    """Sampled frequencies against the exact Boltzmann distribution, and TV against chain length.

    Parameters
    ----------
    convergence : dict
        From :func:`ebm.boltzmann.sampler_convergence`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    try:
        exact, emp = np.asarray(convergence["exact"]), np.asarray(convergence["empirical"])
        cps, tv = np.asarray(convergence["checkpoints"]), np.asarray(convergence["tv"])
    except (TypeError, KeyError):
        raise TypeError("convergence must be the dict returned by ebm.boltzmann.sampler_convergence") from None
    n = int(round(math.log2(exact.size)))
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [2.2, 1]})
    idx = np.arange(exact.size)
    ax0.bar(idx, exact, color=OTHER_COLOUR, alpha=0.55, label="exact (enumeration)")
    ax0.plot(idx, emp, "_", color=LABEL_COLOUR, ms=9, mew=2.2, label=f"Gibbs, {cps[-1]:,} sweeps")
    ax0.set_xlabel(f"state index (unit i = bit i), {n} units")
    ax0.set_ylabel("probability")
    ax0.set_xlim(-0.8, exact.size - 0.2)
    ax0.legend(fontsize=8.5, loc="upper right")
    ax0.set_title("The sampler's histogram against exp(−E/T)/Z", fontsize=10)
    ax1.loglog(cps, tv, "o-", color=LABEL_COLOUR, label="TV(sampled, exact)")
    ref = tv[0] * np.sqrt(cps[0] / cps)
    ax1.loglog(cps, ref, "k:", label="∝ 1/√(samples)")
    ax1.set_xlabel("samples (one per sweep)")
    ax1.set_ylabel("total-variation distance")
    ax1.grid(alpha=0.3, which="both")
    ax1.legend(fontsize=8.5)
    ax1.set_title(f"TV = {tv[-1]:.4f} after {cps[-1]:,}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_encoder_codes(bm, n_visible=4):
    """``p(hidden code | V1 = pattern)`` for each pattern of an n-h-n encoder.

    Parameters
    ----------
    bm : BoltzmannMachine
        An encoder (from :func:`ebm.boltzmann.encoder_network`, trained or not).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from ebm.boltzmann import BoltzmannMachine, all_states, encoder_codes

    if not isinstance(bm, BoltzmannMachine):
        raise TypeError(f"bm must be a BoltzmannMachine, got {type(bm).__name__}")
    out = encoder_codes(bm, n_visible)
    p = out["p_code"]
    nh = bm.hidden.size
    codes = ["(" + ", ".join(map(str, c)) + ")" for c in all_states(nh)]
    fig, ax = plt.subplots(figsize=(1.2 * p.shape[1] + 2.5, 0.6 * p.shape[0] + 1.6))
    im = ax.imshow(p, cmap="Blues", vmin=0, vmax=1)
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            ax.text(
                j,
                i,
                f"{p[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if p[i, j] > 0.6 else "black",
            )
    ax.set_xticks(range(p.shape[1]))
    ax.set_xticklabels(codes)
    ax.set_xlabel("hidden code (" + ", ".join(f"h{k + 1}" for k in range(nh)) + ")", fontsize=9)
    ax.set_yticks(range(p.shape[0]))
    ax.set_yticklabels([f"V1 = e{i}" for i in range(p.shape[0])])
    verdict = (
        "four distinct codes, right V2"
        if out["success"]
        else ("codes not distinct" if not out["distinct"] else "codes distinct, wrong V2")
    )
    ax.set_title(f"Hidden codes with V1 clamped (exact):\n{verdict}", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="p(h | V1)")
    fig.tight_layout()
    return fig


def plot_parity_learning(result):
    """``G`` per learning cycle on 3-bit parity, with and without hidden units, and ``ln 2``.

    Parameters
    ----------
    result : dict
        From :func:`ebm.boltzmann.parity_experiment`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if not isinstance(result, dict) or "ln2" not in result:
        raise TypeError("result must be the dict returned by ebm.boltzmann.parity_experiment")
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for nh in sorted(k for k in result if isinstance(k, int)):
        G = np.asarray(result[nh])
        ax.plot(np.arange(1, G.size + 1), G, lw=2, label=f"{nh} hidden unit{'s' if nh != 1 else ''}")
    ax.axhline(result["ln2"], color="k", ls=":", label="ln 2: the best without hidden units")
    ax.set_xlabel("learning cycle (exact statistics)")
    ax.set_ylabel("G = KL(data ‖ model)  [nats]")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8.5, loc="lower left")
    ax.set_title("3-bit parity: pairwise statistics alone cannot see it", fontsize=10)
    fig.tight_layout()
    return fig


def plot_encoder_success(results):
    """Share of seeds whose encoder has succeeded by each cycle, one curve per regime.

    Parameters
    ----------
    results : dict {label: dict}
        Each value from :func:`ebm.boltzmann.encoder_experiment`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict {label: encoder_experiment(...) result}")
    fig, ax = plt.subplots(figsize=(7.5, 4))
    max_cycles = 0
    for label, r in results.items():
        firsts = np.array([f if f is not None else np.inf for f in r["first_success"]], dtype=float)
        cycles = np.arange(0, r["max_cycles"] + 1)
        max_cycles = max(max_cycles, r["max_cycles"])
        share = (firsts[None, :] <= cycles[:, None]).mean(axis=1)
        med = "" if r.get("median_cycles") is None else f", median {r['median_cycles']:.0f}"
        ax.plot(cycles, share, lw=2, label=f"{label}: {r['success_rate']:.0%} of {len(firsts)} seeds{med}")
    paper = next(iter(results.values())).get("paper")
    if paper:
        ax.plot(
            [paper["median_cycles"]],
            [0.5],
            "k*",
            ms=11,
            label=f"the paper: {paper['success']} solved, half by cycle {paper['median_cycles']}",
        )
    ax.set_xlabel("learning cycle")
    ax.set_ylabel("share of seeds solved")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max_cycles)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center right", bbox_to_anchor=(1.0, 0.42), framealpha=0.95)
    ax.set_title("4-2-4 encoder: first cycle with four distinct codes and the right V2", fontsize=10)
    fig.tight_layout()
    return fig

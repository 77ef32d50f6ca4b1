"""Chapter 10: Hopfield 1982 -- an energy that goes down (article §1).

The article opens the story with Hopfield's energy, but the energy it writes is
a *label* energy, ``E(x|Label) = -1/2 (W x)(y - label)``, and its "always
decreases" argument does not hold as stated.  This chapter checks the three cases
numerically, shows which way descent must go (the perceptron rule), then turns to
the classic energy ``E(s) = -1/2 s^T W s - b^T s``: it descends one flip at a time,
fails with a negative diagonal, cycles when updated synchronously, stores a
limited number of patterns (``alpha_c ~ 0.138``), has spurious minima -- and,
in its modern form, *is* a softmax: the bridge to the core.

Every number comes from :mod:`ebm.hopfield` (and :mod:`ebm` for the softmax and
:func:`ebm.gradcheck`), every figure from :mod:`ebm.plotting`; the chapter only
narrates.

Figures written: ``hopfield_label_energy.png``, ``hopfield_label_energy_training.png``,
``hopfield_energy_descent.png``, ``hopfield_recall.png``, ``hopfield_capacity.png`` and
``hopfield_one_step_error.png``.
"""

from __future__ import annotations

import math
import time

import numpy as np

import ebm
from ebm import hopfield as hf
from ebm.chapters import chapter
from ebm.datasets import LETTER_SHAPE, letters

#: Capacity sweep: small enough to take a few seconds (both rules together).
CAPACITY_N = 200
CAPACITY_LOADS = (0.05, 0.08, 0.11, 0.13, 0.15, 0.18, 0.22, 0.27, 0.33, 0.4, 0.5)
CAPACITY_SEEDS = 4
#: One-step error: loads and size.
ONE_STEP_N = 1000
ONE_STEP_LOADS = (0.06, 0.08, 0.1, 0.138, 0.185, 0.25, 0.37, 0.5)


def _noisy(patterns, fraction, rng):
    """Flip ``fraction`` of the bits of every pattern (exactly round(fraction*N) each)."""
    out = np.array(patterns, dtype=np.int8)
    k = int(round(fraction * out.shape[1]))
    for row in out:
        row[rng.choice(out.shape[1], size=k, replace=False)] *= -1
    return out


@chapter("hopfield", "Hopfield 1982: an energy that goes down (article §1)", 10)
def run(tour):
    """Narrate article §1 and the classic/modern Hopfield network; write five figures."""
    from ebm import plotting

    rng = np.random.default_rng(1982)

    # ------------------------------------------------------------------ the article's label energy
    tour.say("""
        The article starts the story with Hopfield (1982), who brought the physicist's energy
        into neural networks: the network's best state is the lowest-energy, most stable state.
        But the energy it writes down carries a label (bias omitted): E(x|Label) = -1/2 (W x) dY,
        with dY = y - label and y = sign(W x), the perceptron's step. It claims the energy
        "always decreases, even if W is all positive", from three cases: I (y = +1 wrong, dY =
        +2, "dY E negative"), II (y = -1 wrong, dY = -2, "again negative"), III (right, dY = 0,
        dE = 0). Check them on 200 samples with labels from a hidden linear teacher and an
        all-positive W, as the article allows:""")
    n_in = 5
    teacher = rng.normal(size=n_in)
    x = rng.normal(size=(200, n_in))
    label = np.where(x @ teacher >= 0, 1, -1)
    W = np.abs(rng.normal(size=n_in))
    tour.show("W (all positive)", W)
    cases = hf.label_energy_cases(W, x, label)
    for case, info in cases.items():
        tour.out(
            f"  case {case:3s}: {info['count']:3d} samples, dY = {info['delta_y']}, "
            f"E in [{info['min_E']:+.4f}, {info['max_E']:+.4f}], "
            f"dY*E in [{info['min_dYE']:+.4f}, {info['max_dYE']:+.4f}]"
        )
    E = hf.label_energy(W, x, label)
    gap = float(np.abs(E + hf.perceptron_criterion(W, x, label)).max())
    tour.show("max |E(x|Label) + perceptron criterion| over the samples", gap)
    tour.show("max E over the samples", float(E.max()))
    tour.out("")
    tour.say("""
        What is true: on a right answer E = 0; on a wrong one dY = 2y, so E = -(W x) y = -|W x|
        < 0, in case I and case II alike. So E <= 0 always, with equality iff the answer is
        right: the article's energy is MINUS Rosenblatt's perceptron criterion sum_errors |W x|.
        The three cases describe the sign of E, not a decrease. And case II's "dY E again
        negative" is false: there dY = -2 and E = -|W x|, so dY E = +2|W x| > 0 (the range
        above).""")
    tour.save(plotting.plot_label_energy_cases(W, x, label), "hopfield_label_energy")

    tour.say("""
        Which way must descent go? Stepping W down the gradient of E as written, W += lr/2 (y -
        label) x, pushes every error further towards the wrong answer. Descending +1/2 (W x) dY
        -- the perceptron criterion -- gives W += lr/2 (label - y) x, the perceptron rule.
        Misclassified samples (of 200) before training and after each epoch, from the same W:""")
    histories = {}
    for rule in ("article", "perceptron"):
        _, errors, energy = hf.train_label_energy(
            x, label, rule=rule, epochs=10, lr=0.1, seed=0, W0=W, return_energy=True
        )
        histories[rule] = (errors, energy)
        tour.out(f"  rule={rule!r:13s} errors per epoch: {errors.tolist()}")
        tour.out(f"  {'':18s} total E per epoch: {np.round(energy, 1).tolist()}")
    tour.out("")
    tour.say("""
        Under the article's rule E does "always decrease" -- towards minus infinity, because E is
        minus the summed size of the errors, and every step makes the errors larger and more
        numerous: here they double. A falling energy is the goal only when its minimum is the
        answer you want.""")
    tour.save(plotting.plot_label_energy_training(histories, n_samples=len(x)), "hopfield_label_energy_training")

    tour.say("""
        The article also says this energy "only finds local minima", and that SVMs replaced it
        with a quadratic programme to reach the global one. Not quite: the perceptron criterion
        sum_errors |W x| is convex (a sum of max(0, -label W x) terms), so it has no bad local
        minima -- its trouble is the trivial global minimiser W = 0, where every |W x| is 0. What
        the SVM adds is a margin: it minimises |W|^2 subject to label W x >= 1, a convex QP whose
        answer is unique and not 0. The local minima in Hopfield's story belong to the classic
        energy below: the spurious states.""")

    # ------------------------------------------------------------------ the classic energy
    tour.say("""
        The classic Hopfield energy has no label: states s in {-1, +1}^N, symmetric weights W,
        biases b, and E(s) = -1/2 s^T W s - b^T s. Asynchronously, one unit i at a time takes
        the sign of its field h_i = sum_{j != i} W_ij s_j + b_i (plus W_ii s_i). With a symmetric
        W, a flip to s_i' changes E by exactly -2 s_i' h_i; when W_ii >= 0 a unit flips only
        towards its field, so that is -2|h_i|: E never increases and the run ends at a fixed
        point. (The recorded energies below are E(s) evaluated afresh at every state, so the
        identity is checked, not assumed.) Store the eight built-in 10x10 letters with the
        pseudo-inverse rule and relax four probes, each with 18 of 100 pixels flipped:""")
    pats = letters()
    names = "ACEHLOTX"
    net = hf.HopfieldNetwork.from_patterns(pats, "pseudoinverse")
    chosen = [0, 2, 3, 6]  # A, E, H, T
    probes = _noisy(pats[chosen], 0.18, rng)
    runs = [net.run(p, seed=n) for n, p in enumerate(probes)]
    worst = 0.0
    for tr in runs:  # every drop is -2|h_i| of the unit that flipped
        fields = net.local_field(tr.states[:-1])
        drops = np.diff(tr.energies)
        worst = max(worst, float(np.abs(drops + 2 * np.abs(fields[np.arange(drops.size), tr.units])).max()))
    for n, tr in zip(chosen, runs):
        tour.out(
            f"  probe '{names[n]}': {tr.energies.size - 1:2d} flips, E {tr.energies[0]:8.3f} -> "
            f"{tr.energies[-1]:8.3f}, converged={tr.converged}, overlap with '{names[n]}' = "
            f"{hf.overlap(tr.final, pats[n]):.2f}"
        )
    tour.show("max |dE + 2|h_i|| over every flip", worst)
    tour.out("")
    tour.save(plotting.plot_energy_descent(runs, [f"noisy '{names[n]}'" for n in chosen]), "hopfield_energy_descent")

    tour.say("""
        The non-negative diagonal matters. One unit with W = [[-1]] and b = [0.1]: from s = +1
        the unit sees W s + b = -0.9 < 0 and flips against its field h = b = 0.1, so E rises by
        +2|h| = 0.2: E(+1) = 0.4 < E(-1) = 0.6. It then flips back, and the energy goes up and
        down for ever:""")
    neg, s0 = hf.negative_diagonal_counterexample()
    tr = neg.run(s0, max_sweeps=3)
    tour.show("states", tr.states[:, 0])
    tour.show("energies", tr.energies)
    tour.show("converged", tr.converged)
    tour.say("""
        recall returns whatever state such a probe is in when max_sweeps runs out -- +1 after an
        even number of sweeps, -1 after an odd one -- so it says so: a RuntimeWarning, or the
        per-probe mask with return_converged=True:""")
    for max_sweeps in (3, 4):
        final, settled = neg.recall(s0, max_sweeps=max_sweeps, return_converged=True)
        tour.out(f"  recall(max_sweeps={max_sweeps}) -> {final.tolist()}, converged = {settled}")
    tour.out("")

    tour.say("""
        Synchronous updates (every unit at once) end at a fixed point or a 2-cycle. With W =
        [[0, -1], [-1, 0]] and b = 0 they cycle (-1, -1) <-> (1, 1) at equal energy, while
        asynchronous updates from the same start settle:""")
    two, s0 = hf.two_cycle_network()
    sync, asyn = two.run(s0, mode="sync"), two.run(s0, mode="async", seed=0)
    tour.out(f"  sync : {sync.states.tolist()}  period={sync.period}, E = {sync.energies.tolist()}")
    tour.out(f"  async: {asyn.states.tolist()}  period={asyn.period}, E = {asyn.energies.tolist()}")
    tour.out("")

    # ------------------------------------------------------------------ storage rules
    tour.say("""
        Storing patterns. Hebb's rule W = (1/N) sum_mu xi xi^T (zero diagonal) assumes nearly
        orthogonal patterns; letters are not (mostly white background). Mean |overlap| between
        two different letters, then recall from 10 % noise with each rule:""")
    m = pats @ pats.T / pats.shape[1]  # overlaps of every pair of letters
    tour.show("mean |m| between different letters", round(float(np.abs(m[~np.eye(8, dtype=bool)]).mean()), 3))
    noisy = _noisy(pats, 0.10, rng)
    recalled = []
    for rule in ("hebb", "storkey", "pseudoinverse"):
        r_net = hf.HopfieldNetwork.from_patterns(pats, rule)
        # one sweep that flips nothing = a fixed point: recall's converged mask
        _, unchanged = r_net.recall(pats, max_sweeps=1, order="sequential", return_converged=True)
        fixed = int(unchanged.sum())
        final = r_net.recall(noisy, seed=0)
        recalled.append(final)
        ov = hf.overlap(final, pats)
        tour.out(
            f"  {rule:13s}: {fixed}/8 letters are fixed points; recalled exactly: "
            f"{int(np.isclose(ov, 1).sum())}/8; overlaps {np.round(ov, 2).tolist()}"
        )
    proj = hf.pseudoinverse_weights(pats)
    tour.show("pseudo-inverse: max |W xi - xi| over the letters", float(np.abs(pats @ proj.T - pats).max()))
    tour.out("")
    tour.save(
        plotting.plot_recall_grid(
            pats,
            noisy,
            np.stack(recalled),
            LETTER_SHAPE,
            titles=("pattern", "10% noise", "Hebb", "Storkey", "pseudo-inverse"),
            title="Recall of the 8 letters from 10% noise, three rules",
        ),
        "hopfield_recall",
    )

    # ------------------------------------------------------------------ capacity
    N = CAPACITY_N
    tour.say(f"""
        Capacity. For random patterns Hebb's recall collapses near alpha = p/N ~ 0.138 (Amit,
        Gutfreund & Sompolinsky 1985); just below it the retrieved state still has overlap ~0.967.
        Perfect recall with high probability needs p < N/(2 ln N) = {N / (2 * math.log(N)):.1f}
        at N = {N}; Storkey's rule reaches about N/sqrt(2 ln N) = {N / math.sqrt(2 * math.log(N)):.0f}.
        Sweep {len(CAPACITY_LOADS)} loads x {CAPACITY_SEEDS} seeds at N = {N}, starting at each
        stored pattern:""")
    sweeps = []
    for rule in ("hebb", "storkey"):
        tour.out(f"  capacity_sweep(N={N}, rule={rule!r}) ...")
        start = time.perf_counter()
        res = hf.capacity_sweep(N, CAPACITY_LOADS, rule=rule, n_seeds=CAPACITY_SEEDS, seed=0)
        tour.out(
            f"    took {time.perf_counter() - start:.1f} s; mean overlap per load: {np.round(res['mean'], 3).tolist()}"
        )
        sweeps.append(res)
    tour.out("")
    tour.save(plotting.plot_capacity(sweeps), "hopfield_capacity")

    tour.say(f"""
        Why 0.138 is about where trouble starts: from a stored pattern, a bit's field is the signal
        1 plus crosstalk from the other p - 1 patterns, roughly normal with variance alpha; one
        update flips it with probability Phi(-1/sqrt(alpha)) -- 0.36 % at 0.138, 1 % at 0.185, 5 %
        at 0.37. Measured at N = {ONE_STEP_N}, 5 seeds:""")
    start = time.perf_counter()
    measured = [hf.one_step_error(ONE_STEP_N, a, n_seeds=5, seed=1) for a in ONE_STEP_LOADS]
    for a, res in zip(ONE_STEP_LOADS, measured):
        tour.out(
            f"  alpha = {a:5.3f}: measured {res['rate']:.5f} +- {res['stderr']:.5f}, "
            f"Phi(-1/sqrt(alpha)) = {res['theory']:.5f}"
        )
    tour.out(f"  ({time.perf_counter() - start:.1f} s)")
    tour.out("")
    tour.save(plotting.plot_one_step_error(ONE_STEP_LOADS, measured), "hopfield_one_step_error")

    # ------------------------------------------------------------------ spurious states
    tour.say("""
        Spurious minima. With b = 0, E(s) = E(-s): every reversed pattern is a minimum too. And
        the symmetric mixture sgn(xi1 + xi2 + xi3) is a fixed point with overlap ~1/2 to each of
        its three patterns, at E/N ~ -3/8 against ~ -1/2 for a stored pattern (N = 1000, p = 5,
        20 draws):""")
    res = hf.spurious_states(n_units=1000, p=5, n_draws=20, seed=0)
    tour.out(
        f"  E/N stored pattern {res['energy_pattern'].mean():+.4f}, reversed "
        f"{res['energy_reversed'].mean():+.4f}, 3-mixture {res['energy_mixture'].mean():+.4f} "
        f"+- {res['energy_mixture'].std():.4f}  (-3/8 = -0.375)"
    )
    tour.out(
        f"  mixture overlaps with xi1..xi3: {np.round(res['mixture_overlaps'].mean(axis=0), 3).tolist()}; "
        f"fixed points: mixtures {int(res['mixture_stable'].sum())}/20, "
        f"reversed patterns {int(res['reversed_stable'].sum())}/20"
    )
    tour.out("")

    # ------------------------------------------------------------------ the bridge
    tour.say("""
        The bridge. The modern Hopfield network (Ramsauer et al. 2020) keeps the patterns as the
        columns of X (d x N) and updates a continuous query xi <- X softmax(beta X^T xi), with
        energy E = -lse(beta, X^T xi) + 1/2 xi^T xi + log(N)/beta + 1/2 M^2 that never increases.
        The softmax is the core's ebm.softmax_forward. Query: the letter 'E' with 20 % noise;
        weights on the 8 letters after one step, for three inverse temperatures:""")
    X = pats.T.astype(np.float64)
    q = _noisy(pats[2:3], 0.20, rng)[0].astype(np.float64)
    for beta in (0.001, 0.05, 1.0):
        p = ebm.softmax_forward(beta * (X.T @ q), axis=0)
        new = hf.modern_update(X, q, beta)
        tour.out(f"  beta = {beta:5g}: softmax = {np.round(p, 3).tolist()}")
        tour.out(
            f"      |X softmax - modern_update| = {np.abs(X @ p - new).max():.1e}, "
            f"max |new - 'E'| = {np.abs(new - X[:, 2]).max():.4f}, energy "
            f"{hf.modern_energy(X, q, beta):.3f} -> {hf.modern_energy(X, new, beta):.3f}"
        )
    tour.say("""
        At small beta the update lands near the average of all eight letters -- at small beta that
        average is the one global fixed point, not a metastable state. Metastable states are the
        fixed points that average a *subset* of similar patterns, at intermediate beta; at large
        beta each well-separated pattern is a fixed point, and 'E' is retrieved in one step
        (Ramsauer et al. 2020). With beta = 1/sqrt(d) it is a transformer's attention. Retrieval is then a
        classification: the logits are beta X^T xi, the label is the index of the pattern to
        retrieve, and its loss is the core's softmax-with-loss. Its derivative with respect to
        the query, beta X bottom_diff, checked by central differences:""")
    beta = 0.05
    loss, bottom_diff, grad = hf.modern_retrieval_loss(X, q, 2, beta)
    tour.show("loss (label 'E' = 2)", round(loss, 6))
    tour.show("bottom_diff = prob - onehot(2)", bottom_diff)
    check = ebm.gradcheck(lambda z: hf.modern_retrieval_loss(X, z, 2, beta)[0], q, grad)
    tour.out("  d loss / d xi: " + str(check))
    tour.out("")

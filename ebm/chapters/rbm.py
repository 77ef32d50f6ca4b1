"""Chapter 30: the RBM (1986) -- a partition function you can hold (article §3).

The article says the RBM's probability is ``P(x) = exp(-E(x)) / Z`` with
``Z = sum_i exp(-E(i))``, "the notorious thing whose computation delayed deep learning by
20 years".  This chapter computes Z exactly for a tiny RBM (a table of every state, one
softmax by the core), shows the 2^n wall, estimates Z by annealed importance sampling
and checks it against the exact value, trains an RBM on the 8x8 digits measured by its
*real* log-likelihood (beside scikit-learn's BernoulliRBM when installed), and ends at the
class RBM, whose ``p(y|x)`` is a softmax over free energies trained by the core.

Every number comes from :mod:`ebm.rbm`, every figure from :mod:`ebm.plotting`.

Figures written: ``rbm_partition_function.png``, ``rbm_enumeration_cost.png``,
``rbm_training.png``, ``rbm_filters.png``, ``rbm_samples.png``, ``rbm_free_energy_gap.png``.
"""

from __future__ import annotations

import time

import numpy as np

import ebm
from ebm.chapters import chapter
from ebm.datasets import load_digits

#: Digits RBM: hidden units, epochs, seeds.
N_HIDDEN, EPOCHS, SEEDS = 16, 50, (0, 1, 2)
#: AIS: numbers of betas and seeds per number.
AIS_BETAS, AIS_SEEDS = (10, 30, 100, 300, 1000), (0, 1, 2)
#: Hidden-layer sizes timed for the 2^n wall (64 visible units).
ENUM_SIZES = (8, 10, 12, 14, 16, 18, 20)
#: Class RBM: hidden units and epochs.
CLASS_HIDDEN, CLASS_EPOCHS = 100, 30


def _duration(seconds):
    """``seconds`` in the largest unit that keeps it at least 1: "2.4 s", "40 min", "9 h", "2 days".

    >>> _duration(2.4), _duration(2400.0), _duration(32400.0), _duration(2 * 86400.0)
    ('2.4 s', '40 min', '9 h', '2 days')
    """
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.2g} s"


@chapter("rbm", "The RBM (1986): a partition function you can hold (article §3)", 30)
def run(tour):
    """Narrate article §3 with exact Z, AIS, training by the real likelihood, and the class RBM."""
    from ebm import plotting
    from ebm.rbm import RBM, ClassRBM, joint_distribution, joint_energies
    from ebm.rbm.benchmark import enumeration_cost

    # ------------------------------------------------------------------ Z as a table
    tour.say("""
        The article's §3: fold the Hopfield output back and many outputs appear; their joint
        probability is P(x) = exp(-E(x)) / Z with Z = sum_i exp(-E(i)). For an RBM the state is
        x = (v, h) and E(v, h) = -b^T v - c^T h - v^T W h. A 3x2 RBM has 2^5 = 32 joint states;
        here are the four most probable, with P computed as ONE softmax over the 32 values of -E
        by the core (ebm.softmax_forward):""")
    rng = np.random.default_rng(1986)
    tiny = RBM(3, 2)
    tiny.W, tiny.b, tiny.c = rng.normal(0, 1.5, (3, 2)), rng.normal(0, 1, 3), rng.normal(0, 1, 2)
    V, H, energy = joint_energies(tiny)
    _, _, prob = joint_distribution(tiny)
    for k in np.argsort(-prob)[:4]:
        tour.out(
            f"  v = {V[k].astype(int).tolist()}, h = {H[k].astype(int).tolist()}: "
            f"E = {energy[k]:+.4f}, P = {prob[k]:.4f}"
        )
    log_z = tiny.log_partition()
    tour.show("log Z by enumeration", round(log_z, 10))
    tour.show("max |softmax(-E) - exp(-E - log Z)|", float(np.abs(prob - np.exp(-energy - log_z)).max()))
    tour.show("sum of P over the 32 states", round(float(prob.sum()), 12))
    tour.out("")

    # ------------------------------------------------------------------ the 2^n wall
    tour.say("""
        Summing one layer out analytically leaves 2^n terms for the other: log Z = logsumexp_h
        [c^T h + sum_i softplus(b_i + (W h)_i)]. ebm enumerates the smaller layer in a Numba
        kernel (Gray-code order, chunked, streaming log-sum-exp). Each extra hidden unit doubles
        the cost; at 64 visible units:""")
    sizes, seconds = enumeration_cost(ENUM_SIZES)
    for n, s in zip(sizes, seconds):
        tour.out(f"  {n:2d} hidden units (2^{n} = {2**n:>9,d} states): {s * 1000:8.1f} ms")
    tour.say(f"""
        Doubling from there, 25 units would take ~{_duration(seconds[-1] * 2.0 ** (25 - sizes[-1]))} and
        40 units ~{_duration(seconds[-1] * 2.0 ** (40 - sizes[-1]))}: this is the wall the
        article means. ebm stops at 25 units and suggests AIS.""")
    tour.save(plotting.plot_enumeration_cost(sizes, seconds), "rbm_enumeration_cost")

    # ------------------------------------------------------------------ training
    X_train, X_test, y_train, y_test = load_digits()
    from ebm.rbm.benchmark import independent_pixels

    uniform, pixels = -64 * np.log(2.0), independent_pixels(X_train, X_test)
    tour.say(f"""
        Training, measured by the real log-likelihood. The binarised 8x8 digits (UCI, CC BY 4.0;
        1,437 train / 360 test images) ship with ebm. RBM(64, {N_HIDDEN}).fit(X, epochs={EPOCHS},
        seed=s) uses Hinton's practical-guide recipe: CD-1, batches of 10, lr 0.05 decaying to 0,
        momentum 0.5 then 0.9, visible biases at the data's log-odds. With 16 hidden units log Z is
        exact (2^16 states), so the test log-likelihood below is exact, every epoch. Baselines on
        the test images: uniform {uniform:.2f} nats, independent pixels {pixels:.2f} (each pixel's
        training frequency, smoothed by half a count each way).""")
    start = time.perf_counter()
    rbms = [RBM(64, N_HIDDEN).fit(X_train, epochs=EPOCHS, seed=s, eval_data=X_test) for s in SEEDS]
    lls = [r.history_["eval_log_likelihood"][-1] for r in rbms]
    tour.out(
        f"  exact test log-likelihood after {EPOCHS} epochs, seeds {list(SEEDS)}: "
        f"{np.round(lls, 3).tolist()}, mean {np.mean(lls):.3f} nats "
        f"({time.perf_counter() - start:.1f} s with the evaluation)"
    )
    sk_curves = None
    try:
        from ebm.rbm.benchmark import sklearn_curve

        start = time.perf_counter()
        sk_curves = [sklearn_curve(X_train, X_test, epochs=EPOCHS, seed=s) for s in SEEDS[:1]]
        tour.out(
            f"  scikit-learn's BernoulliRBM, same size and budget (PCD-1, lr 0.05, batch 10), "
            f"seed 0: {sk_curves[0][-1]:.3f} nats "
            f"({time.perf_counter() - start:.1f} s)"
        )
    except ImportError:
        tour.out("  (scikit-learn is not installed: no BernoulliRBM comparison)")
    tour.out("")
    tour.save(
        plotting.plot_training_curves(
            [r.history_ for r in rbms],
            sk_curves,
            baselines={"independent pixels": pixels},
            title=f"Exact log-likelihood per epoch: RBM(64, {N_HIDDEN}) on the "
            "binarised digits (1,437 train / 360 test)",
        ),
        "rbm_training",
    )
    rbm = rbms[0]
    tour.say("""
        Hinton's guide warns that reconstruction error is a poor progress measure and suggests
        the free-energy gap: mean F(test) - mean F(train). log Z cancels in it, so it is exactly
        the train minus test log-likelihood, at any size:""")
    tour.show("reconstruction error (test)", round(rbm.reconstruction_error(X_test), 4))
    tour.show("free-energy gap (test - train)", round(rbm.free_energy_gap(X_train, X_test), 4))
    tour.show(
        "train LL - test LL (exact)",
        round(float(rbm.log_likelihood(X_train).mean() - rbm.log_likelihood(X_test).mean()), 4),
    )
    tour.out("")
    tour.save(plotting.plot_free_energy_gap(rbm.history_), "rbm_free_energy_gap")
    tour.save(plotting.plot_filters(rbm.W), "rbm_filters")
    samples = rbm.sample(30, n_steps=1000, seed=0)
    tour.save(
        plotting.plot_digit_grid(
            np.vstack([X_test[:10], samples]),
            labels=["test"] * 10 + [f"sample {k + 1}" for k in range(30)],
            title="Top row: 10 test images. Below: 30 samples after 1,000 Gibbs sweeps from noise",
        ),
        "rbm_samples",
    )

    # ------------------------------------------------------------------ AIS
    exact = rbm.log_partition()
    tour.say(f"""
        Beyond 25 units Z must be estimated. Annealed importance sampling (Neal 2001;
        Salakhutdinov & Murray 2008) starts runs at a base-rate model (W = 0, visible biases =
        log-odds of the pixel means), whose Z is known, and anneals to the RBM through inverse
        temperatures 0 = beta_0 < ... < beta_K = 1, accumulating importance weights. On the
        digits RBM above (exact log Z = {exact:.4f}), 100 runs each:""")
    estimates = []
    start = time.perf_counter()
    for nb in AIS_BETAS:
        group = [rbm.log_partition("ais", n_betas=nb, n_runs=100, seed=s) for s in AIS_SEEDS]
        estimates.append(group)
        errs = [float(e) - exact for e in group]
        tour.out(
            f"  {nb:5d} betas: errors {np.round(errs, 4).tolist()} nats; 99.73% interval width "
            f"{np.mean([e.upper - e.lower for e in group]):.3f}, holds: "
            f"{[bool(e.lower <= exact <= e.upper) for e in group]}"
        )
    tour.out(f"  ({time.perf_counter() - start:.1f} s)")
    tour.say("""
        E[w] is exactly Z / Z_A, but the log of a mean is biased low (Jensen): AIS tends to
        underestimate log Z, so log-likelihoods computed with it look better than they are.""")
    tour.save(plotting.plot_log_z_estimates(AIS_BETAS, estimates, exact), "rbm_partition_function")

    # ------------------------------------------------------------------ the bridge
    tour.say("""
        The bridge. Add a one-hot label layer y (Larochelle & Bengio 2008): the free energy
        F(x, y) = -b^T x - d_y - sum_j softplus(c_j + (x^T W)_j + U_yj) sums h out exactly,
        and with only 10 labels the 'partition function' over y is a 10-term sum:
        p(y|x) = exp(-F(x, y)) / sum_y' exp(-F(x, y')) = softmax_y(-F(x, y)). The article's
        prototype of the softmax, literally: -F is the core's bottom_data, the loss is the
        core's softmax_loss_forward, and bottom_diff = prob - onehot(label) flows back into W,
        U, c, d by the chain rule. (The article hedges: the partition-function form "seems to be"
        the softmax's prototype; here it is one, exactly.)""")
    start = time.perf_counter()
    crbm = ClassRBM(64, CLASS_HIDDEN, 10).fit(X_train, y_train, epochs=CLASS_EPOCHS, seed=0)
    tour.out(
        f"  ClassRBM(64, {CLASS_HIDDEN}, 10), {CLASS_EPOCHS} epochs: test accuracy "
        f"{crbm.score(X_test, y_test):.4f} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    x, y = X_test[:8], y_test[:8]
    o = (crbm.c + x @ crbm.W)[:, None, :] + crbm.U[None, :, :]  # -F(x, y) from scratch, in NumPy
    minus_F = (x @ crbm.b)[:, None] + crbm.d[None, :] + np.logaddexp(0.0, o).sum(axis=2)
    p = np.exp(minus_F - minus_F.max(axis=1, keepdims=True))
    tour.show(
        "max |predict_proba - exp(-F) / sum_y exp(-F)| (NumPy)",
        float(np.abs(crbm.predict_proba(x) - p / p.sum(axis=1, keepdims=True)).max()),
    )
    _, grads = crbm.loss_and_gradients(x, y, normalization="none")

    def loss_at(d):
        old, crbm.d = crbm.d, d
        try:
            return crbm.loss_and_gradients(x, y, normalization="none")[0]
        finally:
            crbm.d = old

    tour.out("  d loss / d d (label biases): " + str(ebm.gradcheck(loss_at, crbm.d.copy(), grads["d"])))
    tour.out("  and with half that gradient:  " + str(ebm.gradcheck(loss_at, crbm.d.copy(), 0.5 * grads["d"])))
    tour.out("")

"""Chapter 40: LeCun et al. 2006 -- energy-based models, the Gibbs distribution, softmax at beta = 1 (article §4).

The article quotes the tutorial's Gibbs distribution ``exp(-beta E)/sum exp(-beta E)``
and a complaint about maximum likelihood, "there are too many bad answers" (from LeCun's
tutorial slides, not the 2006 paper).
This chapter sweeps beta from the uniform distribution to the argmin, shows the
NLL turning into the perceptron loss, checks the two-class identities (logistic
regression, SVM), trains a free-form energy table with each of LeCun's loss
functionals -- and ends at beta = 1, where the Gibbs distribution is the core's
softmax and the NLL its softmax-with-loss.

Every number comes from :mod:`ebm.gibbs`, every figure from :mod:`ebm.plotting`.

Figures written: ``gibbs_beta.png``, ``gibbs_nll_perceptron.png``,
``ebm_losses.png`` and ``ebm_energy_tables.png``.
"""

from __future__ import annotations

import math

import numpy as np

import ebm
from ebm import gibbs as gb
from ebm.chapters import chapter

#: The energy vector of the sweeps: answers 1 and 3 tie at the minimum.
ENERGIES = np.array([1.0, 0.3, 2.0, 0.3, 1.2])


@chapter("gibbs", "LeCun 2006: energy-based models and the Gibbs distribution (article §4)", 40)
def run(tour):
    """Narrate article §4 and LeCun's loss functionals; write four figures."""
    from ebm import plotting

    E = ENERGIES
    tour.say("""
        An energy-based model gives every answer y to an input x an energy E(y, x) and answers
        with the lowest. To talk about probabilities, the article quotes LeCun's tutorial: the
        Gibbs distribution P(y|x) = exp(-beta E(y,x)) / sum_y' exp(-beta E(y',x)), with beta an
        inverse temperature. (The article's LaTeX prints e^{-beta}E(Y,X): the parenthesis is
        misplaced; beta multiplies the energy inside the exponent.) It is softmax(-beta E),
        computed here by the core. Five answers, two tied at the lowest energy:""")
    tour.show("E", E)
    for beta in (0.0, 0.5, 1.0, 5.0, 1e6):
        tour.show(f"P at beta = {beta:g}", gb.gibbs_distribution(E, beta))
    w = np.exp(-(E - E.min()))  # the Gibbs distribution at beta = 1, in NumPy
    tour.show(
        "max |gibbs_distribution(E, 1) - exp(-E) / sum exp(-E)|",
        float(np.abs(gb.gibbs_distribution(E, 1.0) - w / w.sum()).max()),
    )
    tour.out("")
    tour.say("""
        beta = 0 is exactly uniform (1/C); large beta is the one-hot of the argmin with ties split
        evenly -- exactly, once beta times every gap above the minimum passes about 708 (float64's
        exp underflows); before that it is the true softmax. beta = 1 is the plain softmax of
        the logits -E. The free energy F = -(1/beta) log sum exp(-beta E) goes to min E as beta
        grows: marginalising becomes minimising.""")
    for beta in (1.0, 10.0, 1e3, 1e6):
        F = float(gb.free_energy(E, beta))
        tour.out(f"  beta = {beta:8g}: F = {F:.9f}, min E - log(2)/beta = {E.min() - math.log(2) / beta:.9f}")
    tour.out("")
    tour.save(plotting.plot_gibbs_beta(E), "gibbs_beta")

    tour.say("""
        Learning shapes the energy with a loss functional of E_C (the correct answer's energy) and
        E_I (the most offending incorrect answer's). The NLL loss E_C + (1/beta) log sum exp(-beta E)
        is -(1/beta) log P_beta(C): the core's softmax-with-loss on the logits -beta E, divided by
        beta. Its derivative is onehot(C) - P_beta per sample (the core's prob - onehot times the
        chain-rule factor -beta, times 1/beta). As beta grows it becomes the perceptron loss
        E_C - min E, at the rate log(#ties)/beta:""")
    res = gb.nll_perceptron_gap(E, 2, [1.0, 10.0, 100.0, 1e4, 1e6])
    for b, gap, lim in zip(res["betas"], res["gap"], res["limit"]):
        tour.out(f"  beta = {b:8g}: NLL - perceptron = {gap:.6e}   log(2)/beta = {lim:.6e}")
    tour.out("")
    tour.save(plotting.plot_nll_to_perceptron(E, 2), "gibbs_nll_perceptron")

    tour.say("""
        Two classes, Y in {-1, +1}, with the energy E(y) = -y G(X): then E_C - E_I = -2YG, the
        NLL at beta = 1 is log(1 + exp(-2YG)) -- logistic regression -- and the hinge loss is
        max(0, m - 2YG) -- a linear SVM. Checked on 200 random scores:""")
    rng = np.random.default_rng(2006)
    g = rng.normal(scale=2.0, size=200)
    Y = rng.choice([-1, 1], size=200)
    energies, correct = gb.two_class_energies(g, Y)
    nll_err = max(
        abs(gb.nll_loss(energies[n], correct[n])[0] - math.log1p(math.exp(-2 * Y[n] * g[n]))) for n in range(200)
    )
    hinge_err = max(
        abs(gb.hinge_loss(energies[n], correct[n], m=1.0)[0] - max(0.0, 1 - 2 * Y[n] * g[n])) for n in range(200)
    )
    tour.show("max |NLL - log(1 + exp(-2YG))|", nll_err)
    tour.show("max |hinge - max(0, 1 - 2YG)|", hinge_err)
    tour.out("")

    tour.say("""
        All nine loss functionals of the tutorial, each with its derivative, for two answers.
        Every derivative is checked against central differences (ebm.gradcheck) in the tests;
        here one batch per loss, with the objective scaled so Caffe's rule is a relative test:""")
    Eb = rng.uniform(0.2, 3.0, size=(4, 5))
    cb = np.array([0, 2, 4, 1])
    for name, fn in gb.LOSSES.items():
        loss, grad = fn(Eb, cb)
        scale = 10.0 / max(np.abs(grad).max(), 1e-12)
        check = ebm.gradcheck(lambda z: scale * fn(z, cb)[0], Eb, scale * grad, step=1e-3, tol=1e-3)
        tour.out(f"  {name:14s} loss = {loss:8.4f}   gradcheck: {'passed' if check else 'FAILED'}")
    tour.out("")
    tour.save(plotting.plot_loss_functionals(), "ebm_losses")

    tour.say("""
        "There are too many bad answers" (the article quotes LeCun's tutorial slides; the 2006
        paper makes the point as a condition on losses). A loss must push the correct energy down AND pull the
        bad answers up; with many answers, most of them bad, a loss that only does the first has
        nothing to stop the energy surface from going flat. Train a free-form energy table (6
        inputs x 5 answers, every entry its own parameter, entries kept >= 0, starting nearly flat
        in [0, 0.05]) with each loss. gap = E_I - E_C per input:""")
    results = [gb.train_energy_table(name, steps=300, seed=3) for name in gb.LOSSES]
    for r in results:
        gaps = r["gaps"][-1]
        tour.out(
            f"  {r['loss_name']:14s} final loss {r['loss'][-1]:7.4f}   gap min {gaps.min():+.4f}  max {gaps.max():+.4f}"
        )
    tour.out("")
    energy = results[0]
    wrong = np.ones_like(energy["final"], dtype=bool)
    wrong[np.arange(len(energy["correct"])), energy["correct"]] = False
    wide = gb.train_energy_table("energy", steps=300, seed=3, init_scale=2.0)
    tour.say(f"""
        The energy loss reached its minimum 0, but it did not collapse anything: its gradient at
        every incorrect entry is exactly 0, so the bad answers stayed where they started
        (incorrect entries unchanged: {bool(np.array_equal(energy["final"][wrong], energy["initial"][wrong]))}),
        and its final gaps are just their initial energies -- small ({energy["gaps"][-1].min():.4f}
        to {energy["gaps"][-1].max():.4f}) only because the table started nearly flat. Started
        from [0, 2] instead (init_scale=2), the same loss ends with gaps from
        {wide["gaps"][-1].min():.3f} to {wide["gaps"][-1].max():.3f}. The loss is blind to the
        gaps; the collapse comes with shared parameters, below. (Without the floor at 0, E_C
        would instead fall without end.) The perceptron stops at a zero margin.
        The hinge stops exactly when every gap is >= m = 1. Log and NLL keep a gap, and keep
        widening it. LVQ2 leaves rows that started badly wrong saturated (zero gradient) and
        divides by E_I, so tiny energies give huge steps.""")
    tour.save(plotting.plot_energy_tables(results), "ebm_energy_tables")
    tour.say("""
        The other extreme: every energy shares one parameter, E[x, y] = s D[x, y] with a fixed,
        GOOD distance table D (correct answers at 0.5, the others in [1, 2]; every gap starts
        >= 0.5) and s >= 0 learned from s = 1. Now lowering E_C drags every bad answer down
        with it:""")
    for name in ("energy", "hinge", "nll", "square_square"):
        r = gb.train_shared_scale(name, steps=300, seed=3)
        tour.out(
            f"  {name:14s} s: 1 -> {r['scale'][-1]:.4f}   gap min {r['gaps'][0].min():.3f} -> {r['gaps'][-1].min():.4f}"
        )
    tour.out("")
    tour.say("""
        Here the energy loss does collapse a good table, to E = 0 everywhere (s -> 0): the
        collapse LeCun warns about for architectures with shared parameters, and the only run of
        this chapter that collapses. The hinge scales the table until
        every gap is >= m; the NLL keeps scaling. Square-square trades E_C**2 against its margin
        and settles with smaller gaps than it started with.""")

    tour.say("""
        The bridge. At beta = 1 the Gibbs distribution is softmax(-E) and the NLL loss is the
        softmax-with-loss on the logits -E: the next chapter's core, Caffe's SoftmaxWithLossLayer,
        derived the way the article does.""")
    loss, grad = gb.nll_loss(-np.array([1.0, 2.0, 3.0]), 2, beta=1.0)
    core_loss, prob = ebm.softmax_loss_forward(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
    tour.show("NLL (beta = 1, E = -[1, 2, 3], C = 2)", round(loss, 6))
    tour.show("core softmax loss, logits [1, 2, 3], label 2", round(core_loss, 6))
    tour.show("dNLL/dE = onehot - p", grad)
    tour.show("core bottom_diff = p - onehot", ebm.softmax_loss_backward(prob, np.array([2]))[0])
    tour.out("")

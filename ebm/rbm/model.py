r"""The model: a binary-binary restricted Boltzmann machine (Smolensky 1986; Hinton 2002).

Visible units ``v in {0,1}^n_v``, hidden units ``h in {0,1}^n_h``, weights ``W`` of shape
(n_v, n_h), visible bias ``b``, hidden bias ``c``::

    E(v, h) = -b^T v - c^T h - v^T W h
    P(v, h) = exp(-E(v, h)) / Z,        Z = sum_{v, h} exp(-E(v, h))
    F(v)    = -log sum_h exp(-E(v, h)) = -b^T v - sum_j softplus(c_j + (v^T W)_j)
    log p(v) = -F(v) - log Z

The free energy sums the hidden layer out exactly (no edges inside a layer), so ``p(v)``
is known up to the one number ``Z``: the source article's "notorious" partition
function.  :meth:`RBM.log_partition` computes it exactly (enumeration, up to 25 units in
the smaller layer) or estimates it (AIS); :meth:`RBM.log_likelihood` is then exact.
"""

from __future__ import annotations

import inspect

import numpy as np

from ebm._checks import as_rng, binary_rows, check_int, check_real_array
from ebm._docs import with_sections
from ebm._math import sigmoid, softplus
from ebm._states import MAX_ENUMERATED_UNITS
from ebm.rbm import ais as _ais
from ebm.rbm import partition as _partition
from ebm.rbm import samplers as _samplers
from ebm.rbm import trainer as _trainer

__all__ = ["RBM"]


def _signature_with_self(function):
    """``function``'s signature with its first parameter (the model) renamed ``self``."""
    sig = inspect.signature(function)
    first, *rest = sig.parameters.values()
    return sig.replace(parameters=[first.replace(name="self"), *rest])


def _layer_to_layer(given, sample=False):
    """Parameters and Returns of a method from rows of layer ``given`` ("v" or "h") to the other layer."""
    X, n_in, n_out = ("V", "n_visible", "n_hidden") if given == "v" else ("H", "n_hidden", "n_visible")
    seed = "\n    seed : int or numpy.random.Generator, optional" if sample else ""
    kind, what = ("float64 0/1", "A binary sample") if sample else ("float64", "Probabilities in [0, 1]")
    return f"""
    Parameters
    ----------
    {X} : array_like of 0/1, shape ({n_in},) or (n_samples, {n_in}){seed}

    Returns
    -------
    ndarray of {kind}, shape ({n_out},) or (n_samples, {n_out})
        {what}; 1-D when ``{X}`` is.
    """


#: Parameters and Returns of the methods that give one value in nats per visible row.
_PER_VISIBLE_ROW = """
    Parameters
    ----------
    V : array_like of 0/1, shape (n_visible,) or (n_samples, n_visible)

    Returns
    -------
    float or ndarray of shape (n_samples,)
        In nats; a float for one state of shape (n_visible,), else one value per row.
    """


class RBM:
    """A binary-binary restricted Boltzmann machine.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes (positive).
    seed : int or numpy.random.Generator, optional
        Draws the initial ``W`` from N(0, 0.01^2) (Hinton's guide); ``b`` and ``c`` start at 0.
        :meth:`fit` re-initialises from its own seed unless ``warm_start=True``.

    Attributes
    ----------
    W : ndarray (n_visible, n_hidden)
    b : ndarray (n_visible,)
        Visible bias.
    c : ndarray (n_hidden,)
        Hidden bias.
    history_ : TrainingHistory
        Set by :meth:`fit`.

    Plain NumPy attributes: set them to any float arrays of the right shape.

    Examples
    --------
    >>> import math
    >>> from ebm.rbm import RBM
    >>> rbm = RBM(3, 2)
    >>> rbm.W[:] = 0.0                       # at zero parameters every state is equally likely
    >>> round(rbm.log_partition(), 6), round(5 * math.log(2), 6)      # (n_v + n_h) ln 2
    (3.465736, 3.465736)
    """

    def __init__(self, n_visible, n_hidden, seed=None):
        self.n_visible = check_int(n_visible, "n_visible")
        self.n_hidden = check_int(n_hidden, "n_hidden")
        rng = as_rng(seed)
        self.W = rng.normal(0.0, 0.01, size=(self.n_visible, self.n_hidden))
        self.b = np.zeros(self.n_visible)
        self.c = np.zeros(self.n_hidden)
        self.base_biases_ = None

    def __repr__(self):
        return f"RBM(n_visible={self.n_visible}, n_hidden={self.n_hidden})"

    # ------------------------------------------------------------------ parameters

    def _params(self):
        """The current parameters, validated (a user may have set them)."""
        W = check_real_array(self.W, "W", (self.n_visible, self.n_hidden))
        b = check_real_array(self.b, "b", (self.n_visible,))
        c = check_real_array(self.c, "c", (self.n_hidden,))
        return W, b, c

    @property
    def tractable(self):
        """True when the smaller layer has at most 25 units (exact ``log Z`` is feasible)."""
        return min(self.n_visible, self.n_hidden) <= MAX_ENUMERATED_UNITS

    # ------------------------------------------------------------------ energies

    def energy(self, v, h):
        """``E(v, h) = -b^T v - c^T h - v^T W h`` for one pair or row by row.

        Parameters
        ----------
        v : array_like of 0/1, shape (n_visible,) or (n_samples, n_visible)
        h : array_like of 0/1, shape (n_hidden,) or (n_samples, n_hidden)
            The same number of rows as ``v``, or one row (paired with every row of ``v``;
            likewise one row of ``v`` with every row of ``h``).

        Returns
        -------
        float or ndarray of shape (n_samples,)
            A float when ``v`` and ``h`` are both 1-D, else one energy per row.

        Raises
        ------
        ValueError
            For values other than 0 and 1, the wrong number of columns, or row counts that
            differ (neither being 1).
        """
        W, b, c = self._params()
        V, single_v = binary_rows(v, self.n_visible, "v")
        H, single_h = binary_rows(h, self.n_hidden, "h")
        if V.shape[0] != H.shape[0] and 1 not in (V.shape[0], H.shape[0]):
            raise ValueError(f"v has {V.shape[0]} rows but h has {H.shape[0]}: they must match")
        e = -(V @ b) - (H @ c) - np.einsum("ni,ij,nj->n", V, W, H)
        return float(e[0]) if single_v and single_h else e

    @with_sections(_PER_VISIBLE_ROW)
    def free_energy(self, V):
        """``F(v) = -b^T v - sum_j softplus(c_j + (v^T W)_j)``, so that ``p(v) = exp(-F(v)) / Z``."""
        W, b, c = self._params()
        X, single = binary_rows(V, self.n_visible, "V")
        f = -(X @ b) - softplus(c + X @ W).sum(axis=1)
        return float(f[0]) if single else f

    # ------------------------------------------------------------------ conditionals and sampling

    @with_sections(_layer_to_layer("v"))
    def prob_h_given_v(self, V):
        """``P(h_j = 1 | v) = sigmoid(c_j + (v^T W)_j)``, one row per row of ``V``."""
        W, _, c = self._params()
        X, single = binary_rows(V, self.n_visible, "V")
        p = sigmoid(c + X @ W)
        return p[0] if single else p

    @with_sections(_layer_to_layer("h"))
    def prob_v_given_h(self, H):
        """``P(v_i = 1 | h) = sigmoid(b_i + (W h)_i)``, one row per row of ``H``."""
        W, b, _ = self._params()
        X, single = binary_rows(H, self.n_hidden, "H")
        p = sigmoid(b + X @ W.T)
        return p[0] if single else p

    @with_sections(_layer_to_layer("v"))
    def transform(self, V):
        """:meth:`prob_h_given_v`: the hidden features, as scikit-learn's ``BernoulliRBM.transform``."""
        return self.prob_h_given_v(V)

    @staticmethod
    def _draw(p, rows, seed):
        """0/1 draws with probabilities ``p`` (one row, or one per row), shaped as ``p``; ``rows``: 1-D or not."""
        p = np.atleast_2d(p)
        out = (as_rng(seed).random(p.shape) < p).astype(np.float64)
        return out[0] if np.ndim(rows) == 1 else out

    @with_sections(_layer_to_layer("v", sample=True))
    def sample_h(self, V, seed=None):
        """A binary sample of ``h ~ P(h | v)`` for each row of ``V``."""
        return self._draw(self.prob_h_given_v(V), V, seed)

    @with_sections(_layer_to_layer("h", sample=True))
    def sample_v(self, H, seed=None):
        """A binary sample of ``v ~ P(v | h)`` for each row of ``H``."""
        return self._draw(self.prob_v_given_h(H), H, seed)

    def gibbs_sampling(self, V, k=1, seed=None, return_trace=False):
        """``k`` block Gibbs sampling sweeps (v -> h -> v) from each row of ``V``.

        Parameters
        ----------
        V : array_like of 0/1, shape (n_visible,) or (n_samples, n_visible)
            Starting states (not modified).
        k : int, default 1
            Number of sweeps (0 returns a copy of ``V``).
        seed : int or numpy.random.Generator, optional
        return_trace : bool, default False
            Also return every visible state, shape (k, n_samples, n_visible) int8.

        Returns
        -------
        ndarray of float64 0/1, shape (n_visible,) or (n_samples, n_visible)
            The visible states after ``k`` sweeps, the shape of ``V``; with
            ``return_trace``, ``(V_k, trace)``.
        """
        W, b, c = self._params()
        X, single = binary_rows(V, self.n_visible, "V")
        k = check_int(k, "k", low=0)
        out = _samplers.sampling_chains(W, b, c, X, k, as_rng(seed), keep=return_trace)
        final = out[0][0] if single else out[0]
        return (final, out[2]) if return_trace else final

    def sample(self, n_samples, n_steps=1000, seed=None, init=None):
        """``n_samples`` visible states from independent Gibbs chains of ``n_steps`` sweeps.

        The chains start from ``init`` (rows; cycled if fewer than ``n_samples``) or from
        uniformly random states.  After enough sweeps the states are (close to) samples of
        ``p(v)``; how many is enough depends on the model -- compare with the exact ``p(v)``
        on small models (:func:`ebm.rbm.visible_distribution`).

        Parameters
        ----------
        n_samples : int
            Number of chains (positive).
        n_steps : int, default 1000
            Sweeps per chain (0 returns the starting states).
        seed : int or numpy.random.Generator, optional
        init : array_like of 0/1, shape (n_visible,) or (n_init, n_visible), optional
            Starting states; chain ``m`` starts from row ``m % n_init``.

        Returns
        -------
        ndarray of float64 0/1, shape (n_samples, n_visible)
        """
        n_samples = check_int(n_samples, "n_samples")
        n_steps = check_int(n_steps, "n_steps", low=0)
        rng = as_rng(seed)
        if init is None:
            start = (rng.random((n_samples, self.n_visible)) < 0.5).astype(np.float64)
        else:
            X, _ = binary_rows(init, self.n_visible, "init")
            start = X[np.arange(n_samples) % X.shape[0]]
        return self.gibbs_sampling(start, n_steps, seed=rng)

    # ------------------------------------------------------------------ Z and likelihoods

    def log_partition(
        self,
        method="exact",
        *,
        n_betas=1000,
        n_runs=100,
        seed=None,
        layer="auto",
        base_data=None,
        base_biases=None,
        progress=False,
    ):
        """``log Z``: exactly by enumeration, or estimated by annealed importance sampling.

        Parameters
        ----------
        method : {"exact", "ais"}, default "exact"
            "exact" enumerates the smaller layer (at most 25 units; otherwise ValueError);
            "ais" anneals from the base-rate model (:func:`ebm.rbm.log_partition_ais`).
        n_betas, n_runs, seed, base_data, base_biases
            AIS only: inverse temperatures (or the schedule), runs, randomness, and the
            base model's visible biases or the data to compute them from (see
            :func:`ebm.rbm.log_partition_ais`).
        layer : {"auto", "hidden", "visible"}
            Exact only: which layer to enumerate.
        progress : bool, default False

        Returns
        -------
        float or AISEstimate
            A float for "exact"; for "ais" an :class:`~ebm.rbm.AISEstimate` (``float()`` of
            it is the estimate; it carries a 99.73% interval and the effective sample size).
        """
        self._params()
        if method == "exact":
            return _partition.log_partition_exact(self, layer=layer, progress=progress)
        if method == "ais":
            return _ais.log_partition_ais(
                self,
                n_betas=n_betas,
                n_runs=n_runs,
                seed=seed,
                base_data=base_data,
                base_biases=base_biases,
                progress=progress,
            )
        raise ValueError(f"method must be 'exact' or 'ais', got {method!r}")

    def log_likelihood(self, V, log_z=None):
        """``log p(v) = -F(v) - log Z`` in nats, one value per row of ``V``.

        Exact when ``log Z`` is (the smaller layer has at most 25 units).  Beyond that, pass
        ``log_z`` (e.g. an AIS estimate); the result is then only as good as that estimate
        (AIS tends to underestimate ``log Z``, making the likelihood look better).

        Parameters
        ----------
        V : array_like of 0/1, shape (n_visible,) or (n_samples, n_visible)
        log_z : float or AISEstimate, optional
            ``log Z`` when already known or estimated; by default the exact value.

        Returns
        -------
        float or ndarray of shape (n_samples,)
            A float for one state of shape (n_visible,).

        Raises
        ------
        ValueError
            Without ``log_z`` when the smaller layer has more than 25 units.
        """
        if log_z is None:
            if not self.tractable:
                raise ValueError(
                    f"exact log Z needs at most {MAX_ENUMERATED_UNITS} units in the smaller layer, this "
                    f"RBM has {min(self.n_visible, self.n_hidden)}; pass log_z=rbm.log_partition("
                    "method='ais', ...) to use an estimate"
                )
            log_z = self.log_partition()
        log_z = float(log_z)
        f = self.free_energy(V)
        return -f - log_z

    @with_sections(_PER_VISIBLE_ROW)
    def pseudo_likelihood(self, V):
        """``sum_i log P(v_i | v_-i)`` per row: the log pseudo-likelihood, over every unit.

        ``P(v_i | v_-i) = sigmoid(F(v with unit i flipped) - F(v))``.  Needs no ``Z``; it
        costs ``n_visible`` free energies per row.  (scikit-learn's ``score_samples`` flips
        one random unit and multiplies by ``n_visible``: an unbiased but noisy version.)
        """
        X, single = binary_rows(V, self.n_visible, "V")
        f = self.free_energy(X)
        total = np.zeros(X.shape[0])
        for i in range(self.n_visible):
            flipped = X.copy()
            flipped[:, i] = 1.0 - flipped[:, i]
            total -= softplus(f - self.free_energy(flipped))  # log sigmoid(F_flip - F)
        return float(total[0]) if single else total

    def reconstruction_error(self, V):
        """Mean over rows of ``sum_i (v_i - P(v_i = 1 | h = P(h | v)))^2`` (mean-field, no sampling).

        A cheap progress signal; Hinton's guide warns it is a poor one (it is not what
        training optimises) -- prefer the exact log-likelihood or the free-energy gap.

        Parameters
        ----------
        V : array_like of 0/1, shape (n_visible,) or (n_samples, n_visible)

        Returns
        -------
        float
        """
        X, _ = binary_rows(V, self.n_visible, "V")
        W, b, c = self._params()
        recon = sigmoid(b + sigmoid(c + X @ W) @ W.T)
        return float(np.mean(np.sum((X - recon) ** 2, axis=1)))

    def free_energy_gap(self, V_train, V_valid):
        """``mean F(V_valid) - mean F(V_train)``: Hinton's over-fitting monitor.

        ``log Z`` cancels, so this is ``mean log p(train) - mean log p(valid)``, exactly,
        at any size.  It grows when the model starts to prefer its training data.

        Parameters
        ----------
        V_train : array_like of 0/1, shape (n_train, n_visible)
        V_valid : array_like of 0/1, shape (n_valid, n_visible)

        Returns
        -------
        float
            In nats.
        """
        return float(np.mean(self.free_energy(V_valid)) - np.mean(self.free_energy(V_train)))

    # ------------------------------------------------------------------ training

    def fit(self, V, **options):
        """Train on binary data by CD-k or PCD-k; returns ``self``.

        ``rbm.fit(V, epochs=20, seed=0)`` is ``ebm.rbm.trainer.fit(rbm, V, epochs=20, seed=0)``:
        the trainer's signature is the one place where the options and their defaults
        (Hinton's practical-guide recipe) are written, and its docstring describes them.
        ``help(RBM.fit)`` and ``inspect.signature(RBM.fit)`` show that signature.

        Parameters
        ----------
        V : array_like of 0/1, shape (n_samples, n_visible)
            Training data (not modified).
        **options
            Keyword arguments of :func:`ebm.rbm.trainer.fit`: ``method``, ``k``, ``lr``,
            ``lr_schedule``, ``momentum``, ``initial_momentum``, ``momentum_warmup``,
            ``weight_decay``, ``batch_size``, ``epochs``, ``seed``, ``eval_data``,
            ``callback``, ``warm_start``, ``progress``.  An unknown name raises TypeError.

        Returns
        -------
        self
            With ``W``, ``b``, ``c`` trained and ``history_`` a :class:`TrainingHistory`.
        """
        return _trainer.fit(self, V, **options)

    # The trainer's keyword options, shown as this method's own (help, Jupyter's ``?``).
    fit.__signature__ = _signature_with_self(_trainer.fit)

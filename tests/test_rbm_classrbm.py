"""The bridge: the class RBM's p(y|x) = softmax_y(-F(x, y)) through the core."""

import numpy as np
import pytest

import ebm
from ebm.datasets import load_digits
from ebm.rbm import ClassRBM, all_states


def small_model(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    m = ClassRBM(6, 4, 3)
    m.W = rng.normal(0, scale, (6, 4))
    m.U = rng.normal(0, scale, (3, 4))
    m.b, m.c, m.d = rng.normal(0, scale, 6), rng.normal(0, scale, 4), rng.normal(0, scale, 3)
    X = (rng.random((8, 6)) < 0.5).astype(float)
    y = rng.integers(0, 3, 8)
    return m, X, y


def test_p_y_given_x_matches_enumerating_the_hidden_layer():
    m, X, _ = small_model()
    H = all_states(4)
    expected = np.empty((len(X), 3))
    for n, x in enumerate(X):
        for y in range(3):  # sum_h exp(-E(x, y, h)), E = -b.x - c.h - d_y - x W h - U_y.h
            neg_e = m.b @ x + H @ m.c + m.d[y] + H @ (x @ m.W) + H @ m.U[y]
            expected[n, y] = np.log(np.exp(neg_e).sum())
    expected = np.exp(expected - expected.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(m.predict_proba(X), expected, rtol=1e-12)
    np.testing.assert_allclose(m.predict_proba(X), ebm.reference.softmax_forward(m.logits(X)), rtol=1e-12)
    np.testing.assert_array_equal(m.predict(X), expected.argmax(axis=1))


def test_the_loss_is_the_cores_softmax_loss_of_minus_free_energy():
    m, X, y = small_model(1)
    loss, _ = m.loss_and_gradients(X, y)
    ref, _ = ebm.reference.softmax_loss_forward(-m.free_energy(X), y)
    assert loss == pytest.approx(ref, rel=1e-12)
    assert loss == pytest.approx(-np.mean(np.log(m.predict_proba(X)[np.arange(8), y])), rel=1e-12)


@pytest.mark.parametrize("name", ["W", "U", "c", "d", "b"])
@pytest.mark.parametrize("normalization", ["valid", "none"])
def test_gradients_pass_gradcheck(name, normalization):
    m, X, y = small_model(2)
    _, grads = m.loss_and_gradients(X, y, normalization=normalization)

    def loss_at(value):
        old = getattr(m, name)
        setattr(m, name, value)
        try:
            return m.loss_and_gradients(X, y, normalization=normalization)[0]
        finally:
            setattr(m, name, old)

    result = ebm.gradcheck(loss_at, getattr(m, name).copy(), grads[name])
    assert result, str(result)


@pytest.mark.parametrize("name", ["W", "U", "c", "d"])
def test_half_the_gradient_is_rejected(name):
    # Caffe's rule divides by max(|a|, |b|, 1): with a summed loss ("none") the gradients are
    # large enough that half of them fails; a check that cannot fail would prove nothing.
    m, X, y = small_model(2)
    _, grads = m.loss_and_gradients(X, y, normalization="none")
    assert np.abs(grads[name]).max() > 0.1

    def loss_at(value):
        old = getattr(m, name)
        setattr(m, name, value)
        try:
            return m.loss_and_gradients(X, y, normalization="none")[0]
        finally:
            setattr(m, name, old)

    assert not ebm.gradcheck(loss_at, getattr(m, name).copy(), 0.5 * grads[name])


def test_the_visible_bias_cancels_in_p_y_given_x():
    m, X, y = small_model(3)
    _, grads = m.loss_and_gradients(X, y)
    np.testing.assert_allclose(grads["b"], 0.0, atol=1e-12)
    p = m.predict_proba(X)
    m.b = m.b + 5.0
    np.testing.assert_allclose(m.predict_proba(X), p, rtol=1e-12)


def test_reaches_90_percent_on_the_digits():
    X_train, X_test, y_train, y_test = load_digits()
    # 50 hidden units and 20 epochs keep the suite fast; the defaults (100, 30) reach ~94 %
    m = ClassRBM(64, 50, 10).fit(X_train, y_train, epochs=20, seed=0, eval_data=(X_test, y_test))
    acc = m.score(X_test, y_test)
    assert acc >= 0.90, acc
    assert m.history_["eval_accuracy"][-1] == acc
    assert m.history_["loss"][-1] < m.history_["loss"][0]


def test_history_is_a_training_history_from_epoch_0():
    from ebm.rbm import TrainingHistory

    m, X, y = small_model(4)
    m.fit(X, y, epochs=3, seed=0, eval_data=(X, y))
    h = m.history_
    assert type(h) is TrainingHistory  # the same record as RBM.fit's
    assert h["epoch"] == [0, 1, 2, 3]
    assert {k: len(v) for k, v in h.items()} == dict.fromkeys(["epoch", "seconds", "loss", "eval_accuracy"], 4)
    fresh = ClassRBM(m.n_visible, m.n_hidden, m.n_classes)
    fresh._init(np.random.default_rng(0), 0.1)  # fit's initialisation for seed=0
    assert h["loss"][0] == pytest.approx(fresh.loss_and_gradients(X, y)[0], rel=1e-12)
    assert h["eval_accuracy"][0] == fresh.score(X, y)
    assert h["seconds"] == sorted(h["seconds"]) and h["seconds"][0] == 0.0


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.zeros((3, 6)), np.array([0, 1, 3]), r"y\[2\] is 3: labels must be integers in \[0, 3\)"),
        (np.zeros((3, 6)), np.array([0, 1]), "y must be 3 integer class labels"),
        (np.zeros((3, 6)), np.array([0, 1.5, 2]), r"y\[1\] is 1.5"),
        (np.full((3, 6), 0.3), np.array([0, 1, 2]), "binarise"),
        (np.zeros((3, 5)), np.array([0, 1, 2]), "X has 5 columns but the model has 6"),
    ],
)
def test_bad_input_is_named(X, y, match):
    m = ClassRBM(6, 4, 3, seed=0)
    with pytest.raises(ValueError, match=match):
        m.loss_and_gradients(X, y)

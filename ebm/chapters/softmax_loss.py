"""Chapter 50: the core -- Caffe's softmax-with-loss and its derivative (article §5-§8).

Every number printed here comes from :mod:`ebm` (the Numba core, the NumPy
reference in :mod:`ebm.reference`, :func:`ebm.gradcheck`) and every figure from
:mod:`ebm.plotting`; the chapter only narrates.

Figures written: ``softmax_loss_steps.png`` (the recipe ①②③ on the article's
3-class example), ``softmax_jacobian.png`` (§7) and ``softmax_spatial_layout.png`` (§8).
"""

from __future__ import annotations

import numpy as np

import ebm
from ebm import reference
from ebm.chapters import chapter
from ebm.gradient_check import caffe_loss_gradient_test, caffe_test_blob

#: The article's single sample: N = 3 classes (0, 1, 2), the hit label k = 2.
ARTICLE_LOGITS = np.array([1.0, 2.0, 3.0])
ARTICLE_LABEL = 2


@chapter("softmax_loss", "The core: Caffe's softmax-with-loss and its derivative (article §5-§8)", 50)
def run(tour):
    """Narrate the article's §5-§8 with the library's functions and write three figures."""
    from ebm import plotting

    x, k = ARTICLE_LOGITS, ARTICLE_LABEL
    bottom_data, label = x[None, :], np.array([k])

    # ------------------------------------------------------------------ §5-§6: one column
    tour.say("""
        The Hopfield chapter ended at a softmax: the modern update X softmax(beta X^T xi), with
        retrieval as a softmax-with-loss. Learning a softmax means that loss, the negative
        log-likelihood NLL = -log Softmax(x)_k = log sum_i e^{x_i} - x_k. The
        article works one sample with N = 3 classes (0, 1, 2) and the label k = 2, using Caffe's
        names: bottom_data in, prob_data (the softmax) kept, bottom_diff back down.""")
    tour.show("bottom_data", bottom_data)
    tour.show("label k", k)
    loss, prob = ebm.softmax_loss_forward(bottom_data, label)
    tour.show("prob_data = softmax(bottom_data)", prob)
    tour.show("NLL from the Numba core", round(loss, 6))
    tour.show(
        "log sum e^x - x_k (ebm.reference, exact log-sum-exp)",
        round(reference.softmax_loss_forward(bottom_data, label)[0], 6),
    )
    tour.out("")

    tour.say("""
        The derivative, straight from NLL(x) without going through the softmax: dNLL/dx_i =
        Softmax(x)_i - 1 if i = k, Softmax(x)_i if i != k, and 0 if the position is ignored.
        Caffe's recipe: (1) copy prob_data into bottom_diff, then subtract 1 at k; (2) the other
        units keep the copied prob_data; (3) at an ignored position set every unit to 0.""")
    bottom_diff = ebm.softmax_loss_backward(prob, label)
    tour.show("(1)+(2) bottom_diff = prob_data, minus 1 at k", bottom_diff)
    ignored = ebm.softmax_loss_backward(prob, np.array([255]), ignore_label=255)
    tour.show("(3) same column with label == ignore_label = 255", ignored)
    tour.out("")
    tour.save(plotting.plot_softmax_loss_steps(x, k, ignore=True), "softmax_loss_steps")

    # ------------------------------------------------------------------ the erratum
    tour.say("""
        Erratum. The article's displayed formula swaps the two cases (and writes e^{x_K} for
        e^{x_i}): it gives p_k - 1 for i != k and p_k for i = k. Its programming recipe above is
        right. Central differences decide (Caffe's rule: step 1e-2, pass when |numeric -
        analytic| <= 1e-2 * max(|numeric|, |analytic|, 1)):""")
    nll = lambda z: ebm.softmax_loss_forward(z[None, :], label)[0]  # noqa: E731  (a closure, no math)
    printed = reference.article_printed_loss_gradient(x, k)
    correct = bottom_diff[0]
    tour.show("as printed", printed)
    tour.show("correct   ", correct)
    tour.out("  printed: " + str(ebm.gradcheck(nll, x, printed)))
    tour.out("  correct: " + str(ebm.gradcheck(nll, x, correct)))
    tour.out("")

    # ------------------------------------------------------------------ Caffe's gradient test
    tour.say("""
        Caffe's own test of SoftmaxWithLossLayer: data of shape (10, 5, 2, 3) drawn with std 10,
        labels (10, 1, 2, 3) uniform in [0, 5), gradient checked at every one of the 300 logits
        (tol 1e-2). A check has to be able to fail. Under Caffe's default VALID normalization
        every gradient element is at most 1/60, below the rule's absolute floor of 0.01: half the
        true gradient passes too. So run it on the un-normalised loss (normalization="none"),
        whose gradient prob - onehot is of order 1 -- with and without an ignored label, and with
        two wrong gradients that must fail:""")
    data, labels = caffe_test_blob(1701)  # Caffe's test seed
    for ignore_label in (None, 0):
        result = caffe_loss_gradient_test(ignore_label=ignore_label)
        tour.out(f"  SoftmaxWithLoss(ignore_label={ignore_label}, normalization='none'): {result}")
    right = lambda prob, lab: ebm.softmax_loss_backward(prob, lab, normalization="none")  # noqa: E731
    for name, wrong in (
        ("half the gradient", lambda p_, l_: 0.5 * right(p_, l_)),
        ("a normaliser off by 1/60", lambda p_, l_: right(p_, l_) * 60 / 61),
    ):
        tour.out(f"  {name}: {caffe_loss_gradient_test(wrong)}")
    layer = ebm.SoftmaxWithLoss()  # VALID, for comparison
    layer.forward(data, labels)
    half_valid = ebm.gradcheck(lambda z: layer.forward(z, labels), data, 0.5 * layer.backward())
    tour.out(f"  (under VALID, half the gradient: {half_valid})")
    rng = np.random.default_rng(1702)
    top_diff = rng.normal(size=data.shape)
    softmax_f = lambda z: float(np.sum(top_diff * ebm.softmax_forward(z)))  # noqa: E731
    result = ebm.gradcheck(softmax_f, data, ebm.softmax_backward(ebm.softmax_forward(data), top_diff), tol=1e-3)
    tour.out(f"  Softmax: {result}")
    half = ebm.gradcheck(softmax_f, data, 0.5 * ebm.softmax_backward(ebm.softmax_forward(data), top_diff), tol=1e-3)
    tour.out(f"  Softmax, half the gradient (must fail): {half}")
    tour.out("")

    # ------------------------------------------------------------------ §7: the Softmax layer
    tour.say("""
        Without a loss on top, the Softmax layer gets top_diff and must return bottom_diff(i) =
        sum_j top_diff(j) dSoftmax_j/dx_i: every input touches every output, the Jacobian
        diag(p) - p p^T is dense. Collecting terms gives Caffe's formula top_data * (top_diff -
        top_data . top_diff): one dot per column, then a broadcast subtraction, then one multiply
        over the whole batch.""")
    tour.show("Jacobian dSoftmax_j/dx_i at the article's x (rows j, columns i)", reference.softmax_jacobian(x))
    tour.out("")
    tour.save(plotting.plot_softmax_jacobian(x), "softmax_jacobian")  # the same x as printed

    # ------------------------------------------------------------------ §8: spatial softmax
    N, C, H, W = 2, 3, 2, 2
    outer_num, inner_num = N, H * W
    tour.say(f"""
        Fully convolutional nets keep the spatial axes: the softmax runs over C at every pixel.
        For an (N, C, H, W) = ({N}, {C}, {H}, {W}) blob with axis 1, outer_num = N = {outer_num},
        inner_num = H*W = {inner_num}, dim = C*inner_num = {C * inner_num}; class c of pixel j of
        sample i sits at flat index i*dim + c*inner_num + j, so each softmax column is a strided
        slice with increment inner_num, and N images become N*H*W = {outer_num * inner_num}
        pixel samples.""")
    spatial = np.arange(N * C * H * W, dtype=np.float64).reshape(N, C, H, W) % 5 - 2.0
    spatial_label = np.array([[[[0, 1], [2, 255]]], [[[255, 2], [1, 0]]]])  # (N, 1, H, W)
    tour.show("flat_index(i=1, c=2, j=3)", reference.flat_index(1, 2, 3, C, inner_num))
    tour.show("label (N, 1, H, W), 255 = ignore_label", spatial_label[:, 0])
    for normalization in ("valid", "full"):
        layer = ebm.SoftmaxWithLoss(ignore_label=255, normalization=normalization)
        loss = layer.forward(spatial, spatial_label)
        tour.show(f"loss, normalization={normalization!r}", round(loss, 6))
    grad = layer.backward()
    tour.show("bottom_diff[0, :, 1, 1] (ignored pixel)", grad[0, :, 1, 1])
    tour.show("bottom_diff[0, :, 0, 0] (kept pixel, label 0)", grad[0, :, 0, 0])

    prob = ebm.softmax_forward(spatial)
    top_diff = np.linspace(-1.0, 1.0, prob.size).reshape(prob.shape)
    dots = reference.strided_dots(prob, top_diff)
    tour.show("strided dots, shape (outer_num, inner_num)", dots)
    caffe = reference.softmax_backward_blas(prob, top_diff)
    tour.show(
        "strided dots + GEMM broadcast, bottom_diff[1, :, 2] (column (i, j) = (1, 2))",
        caffe.reshape(N, C, inner_num)[1, :, 2],
    )
    tour.show(
        "max |BLAS-view backward - ebm.softmax_backward|",
        float(np.abs(caffe - ebm.softmax_backward(prob, top_diff)).max()),
    )
    tour.out("")
    tour.say("""
        The article passes on the FCN authors' view that for pixel tasks one image per batch is
        enough, its 150,000 pixel losses acting like a batch of 150,000. Treat it as an opinion of
        its time: neighbouring pixels are strongly correlated, so they are far fewer than 150,000
        independent samples, and later segmentation nets with batch normalisation train on
        several images per batch.""")
    tour.save(plotting.plot_spatial_layout(N, C, H, W, column=(1, 2)), "softmax_spatial_layout")

"""Small built-in data: no download, no network.

* :func:`letters` -- 10x10 bitmap letters as ±1 patterns, for the Hopfield recall demos
  (the bitmaps are written in this file);
* :func:`random_patterns` -- uniformly random ±1 patterns, for the capacity experiments;
* :func:`load_digits` -- the UCI 8x8 handwritten digits with a fixed train/test split, for
  the RBM chapter (shipped as ``ebm/data/digits_8x8.npz``; ``ebm/data/README.md`` gives
  the source and licence).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LETTER_SHAPE", "letters", "random_patterns", "Digits", "load_digits"]

#: Height and width of the built-in letter bitmaps.
LETTER_SHAPE = (10, 10)

_LETTERS = {
    "A": """
    ....##....
    ...####...
    ..##..##..
    .##....##.
    .##....##.
    .########.
    .##....##.
    .##....##.
    .##....##.
    ..........""",
    "C": """
    ..######..
    .##....##.
    ##........
    ##........
    ##........
    ##........
    ##........
    .##....##.
    ..######..
    ..........""",
    "E": """
    ########..
    ##........
    ##........
    ##........
    #######...
    ##........
    ##........
    ##........
    ########..
    ..........""",
    "H": """
    ##.....##.
    ##.....##.
    ##.....##.
    ##.....##.
    #########.
    ##.....##.
    ##.....##.
    ##.....##.
    ##.....##.
    ..........""",
    "L": """
    ##........
    ##........
    ##........
    ##........
    ##........
    ##........
    ##........
    ##........
    #########.
    ..........""",
    "O": """
    ..#####...
    .##...##..
    ##.....##.
    ##.....##.
    ##.....##.
    ##.....##.
    ##.....##.
    .##...##..
    ..#####...
    ..........""",
    "T": """
    ##########
    ....##....
    ....##....
    ....##....
    ....##....
    ....##....
    ....##....
    ....##....
    ....##....
    ..........""",
    "X": """
    ##......##
    .##....##.
    ..##..##..
    ...####...
    ....##....
    ...####...
    ..##..##..
    .##....##.
    ##......##
    ..........""",
}


def letters(names="ACEHLOTX"):
    """Built-in 10x10 letter bitmaps as bipolar patterns.

    Parameters
    ----------
    names : str, default "ACEHLOTX"
        Which letters, in order; each must be one of "ACEHLOTX".

    Returns
    -------
    ndarray of int8, shape (len(names), 100)
        ``+1`` for ink, ``-1`` for background; reshape a row to
        :data:`LETTER_SHAPE` to draw it.
    """
    if not isinstance(names, str) or not names:
        raise TypeError(f"names must be a non-empty string of letters, got {names!r}")
    unknown = sorted(set(names) - set(_LETTERS))
    if unknown:
        raise ValueError(f"no built-in bitmap for {unknown}; available: {''.join(_LETTERS)}")
    rows = []
    for name in names:
        grid = [line.strip() for line in _LETTERS[name].strip().splitlines()]
        rows.append([1 if ch == "#" else -1 for line in grid for ch in line])
    return np.array(rows, dtype=np.int8)


def random_patterns(p, n_units, seed=None):
    """``p`` independent, uniformly random ±1 patterns of ``n_units`` units.

    Parameters
    ----------
    p, n_units : int
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray of int8, shape (p, n_units)
    """
    for name, value in (("p", p), ("n_units", n_units)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=(int(p), int(n_units)))


# --------------------------------------------------------------------------- digits (RBM chapter)


class Digits:
    """The 8x8 handwritten digits with their fixed train/test split (see :func:`load_digits`).

    Attributes
    ----------
    images : ndarray of float64, shape (1797, 64)
        One image per row, in reading order (reshape a row to ``(8, 8)``).
    labels : ndarray of int64, shape (1797,)
    train_index, test_index : ndarray of int64, shape (1437,) and (360,)
        The fixed split; ``X_train``, ``y_train``, ``X_test``, ``y_test`` index with them.
    """

    shape = (8, 8)

    def __init__(self, images, labels, train_index, test_index):
        self.images, self.labels = images, labels
        self.train_index, self.test_index = train_index, test_index

    X_train = property(lambda self: self.images[self.train_index])
    X_test = property(lambda self: self.images[self.test_index])
    y_train = property(lambda self: self.labels[self.train_index])
    y_test = property(lambda self: self.labels[self.test_index])

    def __iter__(self):
        """Unpack as ``X_train, X_test, y_train, y_test`` (scikit-learn's order)."""
        return iter((self.X_train, self.X_test, self.y_train, self.y_test))

    def __repr__(self):
        return f"Digits({len(self.images)} images of 8x8, {len(self.train_index)} train / {len(self.test_index)} test)"


def load_digits(binarize=True):
    """The 1,797 UCI 8x8 handwritten digits, shipped with ebm (no download, no scikit-learn).

    Source: "Optical Recognition of Handwritten Digits", Alpaydin & Kaynak (1998), UCI
    Machine Learning Repository, https://doi.org/10.24432/C50P49, CC BY 4.0 -- the images
    as ``sklearn.datasets.load_digits()`` ships them (see ``ebm/data/README.md``).

    Parameters
    ----------
    binarize : bool, default True
        True: pixels are 1 where ``grey / 16 > 0.5`` and 0 elsewhere (29.3 % ink), the
        RBM chapter's data.  False: the grey levels scaled to ``[0, 1]`` (``grey / 16``).

    Returns
    -------
    Digits
        ``images`` (1797, 64) float64, ``labels`` (1797,), the fixed split
        ``train_index`` (1,437) / ``test_index`` (360) -- the indices of scikit-learn's
        ``train_test_split(arange(1797), test_size=360, random_state=0)`` -- and
        ``X_train``, ``X_test``, ``y_train``, ``y_test``.  Fresh arrays on every call.

    Examples
    --------
    >>> from ebm.datasets import load_digits
    >>> X_train, X_test, y_train, y_test = load_digits()
    >>> X_train.shape, X_test.shape, np.unique(X_train).tolist()
    ((1437, 64), (360, 64), [0.0, 1.0])
    """
    if not isinstance(binarize, (bool, np.bool_)):
        raise TypeError(f"binarize must be True or False, got {binarize!r}")
    from importlib.resources import files

    with files("ebm").joinpath("data", "digits_8x8.npz").open("rb") as fh, np.load(fh) as npz:
        pixels = npz["pixels"].astype(np.float64) / 16.0
        labels = npz["label"].astype(np.int64)
        train_index = npz["train_index"].astype(np.int64)
        test_index = npz["test_index"].astype(np.int64)
    images = (pixels > 0.5).astype(np.float64) if binarize else pixels
    return Digits(images, labels, train_index, test_index)

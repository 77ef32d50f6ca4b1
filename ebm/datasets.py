"""Small built-in data: bitmap letters for recall demos, random patterns for capacity.

Everything here is generated or shipped in this file: no download, no network.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LETTER_SHAPE", "letters", "random_patterns"]

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

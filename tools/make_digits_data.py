"""Regenerate ``ebm/data/digits_8x8.npz`` from scikit-learn's copy of the UCI digits.

Run once, by a maintainer, with scikit-learn installed (it is *not* needed at run time)::

    python tools/make_digits_data.py

Source: "Optical Recognition of Handwritten Digits" (Alpaydin & Kaynak, 1998), UCI Machine
Learning Repository, https://doi.org/10.24432/C50P49, licensed CC BY 4.0; the 1797 8x8 images of
its test part, as ``sklearn.datasets.load_digits()`` ships them (pixel values 0..16).

Written: the grey levels (``pixels``, uint8 (1797, 64), values 0..16; ``ebm.datasets.load_digits``
binarises them as ``pixels / 16 > 0.5``), the labels (uint8 (1797,)), and the fixed split of
``train_test_split(arange(1797), test_size=360, random_state=0)`` as index arrays
(``train_index`` 1437, ``test_index`` 360), so the split needs no scikit-learn either.
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

OUT = Path(__file__).resolve().parent.parent / "ebm" / "data" / "digits_8x8.npz"


def main():
    digits = load_digits()
    binary = (digits.data / 16.0 > 0.5).astype(np.uint8)  # (1797, 64)
    train_index, test_index = train_test_split(np.arange(len(binary)), test_size=360, random_state=0)
    np.savez_compressed(
        OUT,
        pixels=digits.data.astype(np.uint8),
        label=digits.target.astype(np.uint8),
        train_index=train_index.astype(np.int16),
        test_index=test_index.astype(np.int16),
    )
    print(
        f"wrote {OUT} ({OUT.stat().st_size} bytes): {binary.shape[0]} images, "
        f"{len(train_index)} train / {len(test_index)} test, ink fraction {binary.mean():.4f}"
    )


if __name__ == "__main__":
    main()

"""A dependency-free text progress bar for anything that takes more than a few seconds.

>>> bar = ProgressBar("capacity sweep", stream=None)   # stream=None: silent
>>> for done in range(1, 4):
...     bar(done, 3)
>>> bar.done
3
"""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar", "as_progress"]


class ProgressBar:
    """Call it as ``bar(done, total)``; it redraws one line on ``stream`` (stderr).

    Parameters
    ----------
    label : str
    stream : file-like or None, default sys.stderr
        ``None`` keeps count without printing.
    width : int, default 30
    """

    def __init__(self, label, stream=sys.stderr, width=30):
        self.label, self.stream, self.width = str(label), stream, int(width)
        self.start = time.perf_counter()
        self.done = 0
        self._drawn = -1

    def __call__(self, done, total):
        if total <= 0:
            raise ValueError(f"total must be positive, got {total}")
        self.done = int(done)
        if self.stream is None:
            return
        filled = int(self.width * self.done / total)
        if filled == self._drawn and self.done < total:
            return                                  # redraw only when the bar grows
        self._drawn = filled
        elapsed = time.perf_counter() - self.start
        end = "\n" if self.done >= total else ""
        self.stream.write(f"\r  {self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{self.done}/{total} {elapsed:5.1f} s{end}")
        self.stream.flush()


def as_progress(progress, label):
    """``None``/``False`` -> None, ``True`` -> a :class:`ProgressBar`, a callable -> itself."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return ProgressBar(label)
    if callable(progress):
        return progress
    raise TypeError(f"progress must be None, a bool or a callable(done, total), got {progress!r}")

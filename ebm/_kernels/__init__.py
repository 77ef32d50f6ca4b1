"""The core's Numba kernels, one module per family of the (outer_num, C, inner_num) view.

:mod:`ebm.softmax_loss` picks the family from the shape and calls its kernels;
nothing here validates or reshapes input.  Each family is compiled only when an
input of its shape is met (and only in the dtype met):

- :mod:`.tiles`: spatial data (``inner_num > 1``).  A task is up to ``TILE``
  neighbouring positions ``j`` of one sample ``i``.  A column's classes are
  ``inner_num`` apart, but a tile reads each class row ``x[i, c, j0:j1]``
  contiguously, so every loop runs over ``j`` in SIMD.
- :mod:`.rows`: an (N, C) batch (``inner_num == 1``) with ``C >= NARROW``, and any
  small input (see below). A task is a block of rows; each row's C classes are
  contiguous, and its max and sums are reductions over ``c`` that ``max_num`` and
  ``add_reassoc`` let LLVM split into SIMD lanes.
- :mod:`.narrow`: rows of fewer than ``NARROW`` classes (10 for MNIST).  A loop
  over 10 classes is too short for LLVM to vectorise, and so is a loop over rows;
  :mod:`ebm._rowvec` writes the vectors as LLVM IR instead (eight or sixteen rows
  transposed in registers, so that each vector holds one class of many rows).
  It is imported and compiled only when a batch of such rows with at least
  ``ebm.softmax_loss.SMALL_SIZE`` elements is met, and ``EBM_NARROW_ROWS=0`` in the
  environment sends all of them to :mod:`.rows`.

An input of fewer than ``SMALL_SIZE`` elements takes :mod:`.rows` whatever its shape
(spatial data as a transposed copy): for it the other families would save microseconds
a call and cost seconds to compile.

Each kind of task (a tile, a block of rows) is one ``@njit`` function, and the helpers
it calls are ``@njit(inline="always")``: Numba inlines them before typing, so a task is
one compilation rather than a tree of them (each of which LLVM would optimise again
when linked into its caller), and a forward task's constant ``with_loss`` prunes the
half it does not run.  A first call compiles only the tasks and kernels of its family,
dtype and pass.

Every kernel is a loop written once with ``prange`` over its tasks and compiled twice
(:func:`ebm._parallel.twins`): a parallel twin for large inputs, a serial one
that never starts Numba's thread pool.  Both call the same compiled task function
(its index passed as int64: a parfor's own is unsigned, which would be a second
compilation), so they run the same arithmetic and the result does not depend on
which ran; and the parallel twin's parfor holds only a call, a fraction of the
compile time of a parfor around the whole task (1.8 s instead of 6.5 s of CPU for
the tiles' forward, first parallel kernel of a process, on the 2-core AVX2 machine).

Every kernel uses Numba's "numpy" error model: a float division never branches to raise
``ZeroDivisionError``, which would keep LLVM from vectorising the loop (the
divisors are column sums, >= 1 unless the column is reported as bad anyway).

The forward kernels return, summed over all columns in task order: the loss (in
float64), the number of kept labels, the number of columns whose sum of
exponentials is not >= 1 (it fails exactly when the column held NaN, +inf, or
only -inf), and the number of labels outside [0, C) that are not ignore_label.
The backward kernels return the same four counts, with a non-finite ``prob`` or
dot in the third.  The wrappers word an error, with the NumPy checks of
:mod:`ebm._checks`, only when a count is not 0: valid input pays nothing extra
for validation.
"""

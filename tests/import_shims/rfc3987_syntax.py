"""Stands in for the ``rfc3987_syntax`` package in the test suite's nbgrader processes.

jsonschema imports ``rfc3987_syntax``, when it is installed, only to offer an optional
``iri`` format check; no notebook schema (nbformat's, nbgrader's) uses that format.  At
import the package builds some forty Earley parsers, about 4 s of CPU in every process that
imports nbformat.  Raising ImportError here is what jsonschema expects of a package that is
absent: it skips that one checker and validates everything else as before.  The suite puts
this folder first on ``PYTHONPATH`` for the nbgrader commands it runs; its own processes
set ``sys.modules["rfc3987_syntax"] = None`` (tests/conftest.py), which has the same effect.
"""

raise ImportError("rfc3987_syntax is left out of ebm's test processes (see tests/import_shims)")

r"""The code of a submission: a ``.py`` file's text, or a notebook's code cells.

A notebook is read as plain JSON (nbformat 4), with no Jupyter package: its code
cells in order, a cell magic (``%%time``...) skipping its cell, and a line magic
or ``!cmd`` line becoming ``pass`` (keeping indentation and line numbers).

Submissions are untrusted, so nothing here assumes the JSON is a well-formed
notebook: a cell that is not an object, a source that is not text, undecodable
bytes and JSON nested too deeply for the parser each become a *problem* (a
sentence), never an exception.  The sandbox's worker runs this module without
ebm (it imports only the standard library).

>>> cells, problems = notebook_code('{"cells": [{"cell_type": "code", "source": ["%time x = 1\\n", "y = 2"]}, 7]}')
>>> cells, problems
([(1, 'pass\ny = 2')], ['cell 2 is not a notebook cell (a int): skipped'])
"""

from __future__ import annotations

import json
import re

__all__ = ["notebook_code", "submission_sources", "MAGIC"]

MAGIC = re.compile(r"^\s*[%!]")


def _source(cell, k, problems):
    src = cell.get("source", "")
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    if isinstance(src, str):
        return src
    problems.append(f"cell {k}: its source is a {type(src).__name__}, not text: skipped")
    return None


def notebook_code(text):
    """``([(k, source)], problems)``: the code cells of notebook JSON ``text`` (k counts code cells from 1).

    ``text`` may also be an already parsed notebook (a dict).
    """
    problems = []
    if isinstance(text, dict):
        nb = text
    else:
        try:
            nb = json.loads(text)
        except RecursionError:
            return [], ["not a readable notebook: its JSON is nested too deeply"]
        except (ValueError, TypeError) as exc:
            return [], [f"not a readable notebook (JSON): {str(exc)[:200]}"]
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        return [], ["not a Jupyter notebook: it has no list of cells"]
    out, k = [], 0
    for n, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            problems.append(f"cell {n} is not a notebook cell (a {type(cell).__name__}): skipped")
            continue
        if cell.get("cell_type") != "code":
            continue
        k += 1
        src = _source(cell, k, problems)
        if src is None or src.lstrip().startswith("%%"):
            continue
        lines = [re.sub(r"^(\s*).*$", r"\1pass", line) if MAGIC.match(line) else line for line in src.splitlines()]
        out.append((k, "\n".join(lines)))
    return out, problems


def submission_sources(name, data):
    """``([(filename, source)], problems)`` of a submission file called ``name`` with bytes ``data``."""
    text = data.decode("utf-8", errors="replace")
    problems = []
    if "\ufffd" in text and b"\xef\xbf\xbd" not in data:
        problems.append(f"{name} is not valid UTF-8: undecodable bytes were replaced by U+FFFD")
    if name.endswith(".ipynb"):
        cells, more = notebook_code(text)
        return [(f"<cell {k}>", src) for k, src in cells], problems + more
    return [(name, text)], problems

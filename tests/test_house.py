"""The house for more chapters (issue 6, item 6): lazy submodules, a cheap ``import ebm``,
the plotting package, and tqdm progress bars.

The import checks run in a fresh interpreter: in this process pytest and the other
tests have long since imported numba and matplotlib.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import ebm
from ebm import hopfield as hf


def _fresh_python(code):
    """Run ``code`` in a new interpreter and return what it prints as JSON."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_ebm_imports_neither_numba_nor_matplotlib():
    loaded = _fresh_python(
        "import sys, json, ebm\n"
        "from ebm import plotting\n"                     # the plotting package itself is cheap too
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numba', 'matplotlib', 'tqdm', 'llvmlite'))))")
    assert loaded == []


def test_numba_loads_with_the_first_kernel_and_matplotlib_with_the_first_figure():
    loaded = _fresh_python(
        "import sys, json, numpy as np, ebm\n"
        "ebm.softmax_forward(np.zeros((1, 2)))\n"
        "a = 'numba' in sys.modules and 'matplotlib' not in sys.modules\n"
        "import matplotlib; matplotlib.use('Agg')\n"
        "ebm.plotting.plot_softmax_jacobian([0.0, 1.0])\n"
        "print(json.dumps([a, 'matplotlib.pyplot' in sys.modules]))")
    assert loaded == [True, True]


def test_every_submodule_is_an_attribute_of_a_fresh_ebm():
    names = sorted(m.name for m in pkgutil.iter_modules(ebm.__path__) if not m.name.startswith("_"))
    assert {"hopfield", "reference", "plotting", "layers", "datasets", "chapters"} <= set(names)
    got = _fresh_python(
        "import json, types, ebm\n"
        f"names = {names!r}\n"
        "kinds = {n: type(getattr(ebm, n)).__name__ for n in names}\n"
        "kinds['reference.softmax_forward'] = type(ebm.reference.softmax_forward).__name__\n"
        "kinds['in dir'] = all(n in dir(ebm) for n in names)\n"
        "print(json.dumps(kinds))")
    assert got.pop("in dir") is True
    assert got.pop("reference.softmax_forward") == "function"
    assert got.pop("gradcheck") == "function"           # ebm.gradcheck is the function, as documented
    assert set(got.values()) == {"module"}, got
    with pytest.raises(AttributeError, match="no attribute 'no_such_module'"):
        ebm.no_such_module


def test_plot_capacity_is_reachable_from_the_plotting_package():
    from ebm import plotting
    from ebm.plotting import hopfield as hopfield_plots

    assert plotting.plot_capacity is hopfield_plots.plot_capacity
    assert "plot_capacity" in dir(plotting)
    res = hf.capacity_sweep(20, [0.1, 0.3], n_seeds=2, seed=0)
    fig = plotting.plot_capacity(res)
    assert fig.axes and fig.axes[0].get_xlabel().startswith("load alpha")


# --------------------------------------------------------------------------- progress bars


def test_capacity_sweep_progress_on_and_off(capsys, monkeypatch):
    kwargs = dict(n_units=20, loads=[0.1, 0.2], n_seeds=3, seed=4)
    quiet = hf.capacity_sweep(**kwargs, progress=False)
    assert capsys.readouterr().err == ""                 # off: nothing drawn
    loud = hf.capacity_sweep(**kwargs, progress=True)
    err = capsys.readouterr().err
    assert "capacity sweep (hebb, N=20)" in err and "/6 [" in err   # tqdm's text bar of 6 steps
    np.testing.assert_array_equal(loud["overlap"], quiet["overlap"])   # the bar changes nothing

    import tqdm.auto

    made = []

    class Recorder:
        def __init__(self, total, desc, **kw):
            made.append({"total": total, "desc": desc, "updates": 0, "closed": False})

        def update(self, n=1):
            made[-1]["updates"] += n

        def close(self):
            made[-1]["closed"] = True

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)    # progress_bar imports tqdm.auto.tqdm when on
    hf.capacity_sweep(**kwargs, progress=True)
    assert made == [{"total": 6, "desc": "capacity sweep (hebb, N=20)", "updates": 6, "closed": True}]
    with pytest.raises(TypeError, match="progress must be True or False"):
        hf.capacity_sweep(**kwargs, progress="yes")

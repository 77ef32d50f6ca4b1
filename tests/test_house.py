"""The house for more chapters: lazy submodules, a cheap ``import ebm``,
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
        "from ebm import plotting\n"  # the plotting package itself is cheap too
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numba', 'matplotlib', 'tqdm', 'llvmlite'))))"
    )
    assert loaded == []


def test_numba_loads_with_the_first_kernel_and_matplotlib_with_the_first_figure():
    loaded = _fresh_python(
        "import sys, json, numpy as np, ebm\n"
        "ebm.softmax_forward(np.zeros((1, 2)))\n"
        "a = 'numba' in sys.modules and 'matplotlib' not in sys.modules\n"
        "import matplotlib; matplotlib.use('Agg')\n"
        "ebm.plotting.plot_softmax_jacobian([0.0, 1.0])\n"
        "print(json.dumps([a, 'matplotlib.pyplot' in sys.modules]))"
    )
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
        "print(json.dumps(kinds))"
    )
    assert got.pop("in dir") is True
    assert got.pop("reference.softmax_forward") == "function"
    assert set(got.values()) == {"module"}, got
    assert type(ebm.gradcheck).__name__ == "function"  # the function, as documented (its module: gradient_check)
    with pytest.raises(AttributeError, match="no attribute 'no_such_module'"):
        ebm.no_such_module


def test_import_of_every_submodule_gives_the_module():
    """``import ebm.X as m`` binds ``m`` to the parent's attribute ``X``: no attribute (a function
    re-exported under a module's name) may hide a submodule, at any depth."""
    got = _fresh_python(
        "import importlib, json, pkgutil, sys, types, ebm\n"
        "names = [m.name for m in pkgutil.walk_packages(ebm.__path__, 'ebm.') if m.name != 'ebm.__main__']\n"
        "hidden = {}\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "    ns = {}\n"
        "    exec(f'import {name} as m', ns)\n"
        "    if not isinstance(ns['m'], types.ModuleType) or ns['m'] is not sys.modules[name]:\n"
        "        hidden[name] = type(ns['m']).__name__\n"
        "print(json.dumps([len(names), hidden]))"
    )
    n, hidden = got
    assert n > 60 and hidden == {}, hidden


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
    assert capsys.readouterr().err == ""  # off: nothing drawn
    loud = hf.capacity_sweep(**kwargs, progress=True)
    err = capsys.readouterr().err
    assert "capacity sweep (hebb, N=20)" in err and "/6 [" in err  # tqdm's text bar of 6 steps
    np.testing.assert_array_equal(loud["overlap"], quiet["overlap"])  # the bar changes nothing

    import tqdm.auto

    made = []

    class Recorder:
        def __init__(self, total, desc, **kw):
            made.append({"total": total, "desc": desc, "updates": 0, "closed": False})

        def update(self, n=1):
            made[-1]["updates"] += n

        def close(self):
            made[-1]["closed"] = True

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)  # progress_bar imports tqdm.auto.tqdm when on
    hf.capacity_sweep(**kwargs, progress=True)
    assert made == [{"total": 6, "desc": "capacity sweep (hebb, N=20)", "updates": 6, "closed": True}]
    with pytest.raises(TypeError, match="progress must be True or False"):
        hf.capacity_sweep(**kwargs, progress="yes")


# --------------------------------------------------------------------------- the JIT cache and Numba's private parts


def test_every_cached_kernel_is_stamped_with_the_package_digest_and_no_guard_tripped():
    """Every ``@njit(cache=True)`` dispatcher of the package uses ebm's locator (its cache key holds the
    digest of all of ebm's Numba modules), and on the Numba this project pins no guard on its private
    APIs found them missing."""
    got = _fresh_python(
        "import importlib, json, pkgutil, warnings\n"
        "warnings.simplefilter('error', RuntimeWarning)\n"
        "import numpy as np, ebm\n"
        "from numba.core.registry import CPUDispatcher\n"
        "mods = [m.name for m in pkgutil.walk_packages(ebm.__path__, 'ebm.') if 'plotting' not in m.name\n"
        "        and 'chapters' not in m.name and 'grading' not in m.name and m.name not in ('ebm.__main__',)]\n"
        "for m in mods: importlib.import_module(m)\n"
        "import sys\n"
        "found = {}\n"
        "for name, mod in list(sys.modules.items()):\n"
        "    if not name.startswith('ebm'): continue\n"
        "    for attr, v in vars(mod).items():\n"
        "        for d in (v if isinstance(v, tuple) else (v,)):\n"
        "            if isinstance(d, CPUDispatcher) and d._cache.__class__.__name__ == 'FunctionCache':\n"
        "                found[f'{name}.{attr}'] = type(d._cache._impl._locator).__name__\n"
        "ebm.softmax_loss_forward(np.zeros((20, 10), np.float32), np.zeros(20, int))   # the AVX-512 guard runs\n"
        "from ebm import _numba_cache\n"
        "print(json.dumps([found, _numba_cache.tripped_guards()]))"
    )
    found, tripped = got
    assert len(found) >= 15, found  # softmax kernels, RBM, Boltzmann, Hopfield...
    assert {k for k, v in found.items() if not v.startswith("EbmPackage")} == set()
    assert tripped == []


def test_a_missing_private_api_warns_and_is_recorded(monkeypatch):
    from numba.core import caching

    from ebm import _numba_cache

    monkeypatch.setattr(_numba_cache, "_TRIPPED", [])
    monkeypatch.delattr(caching.CacheImpl, "_locator_classes")
    with pytest.warns(RuntimeWarning, match="_locator_classes is missing"):
        assert _numba_cache.stamp_package() is False
    assert len(_numba_cache.tripped_guards()) == 1


def test_the_hand_written_simd_code_is_needed_only_by_narrow_rows():
    """With ebm._rowvec broken, every other shape still works: the narrow rows are their own kernels,
    imported and compiled only when a batch of such rows of at least SMALL_SIZE elements is met (a
    smaller one takes the plain rows kernels); and EBM_NARROW_ROWS=0 avoids them entirely."""
    code = (
        "import json, sys, numpy as np\n"
        "sys.modules['ebm._rowvec'] = None                    # importing it now raises ImportError\n"
        "import ebm\n"
        "out = {}\n"
        "for shape in [(8, 100), (2, 10, 3, 3), (8, 10), (103, 10)]:\n"
        "    x = np.random.default_rng(0).normal(size=shape)\n"
        "    try:\n"
        "        loss, prob = ebm.softmax_loss_forward(x, np.zeros((shape[0],) + shape[2:], int))\n"
        "        ebm.softmax_backward(prob, prob)\n"
        "        out[str(shape)] = 'ok'\n"
        "    except ImportError:\n"
        "        out[str(shape)] = 'ImportError'\n"
        "print(json.dumps(out))"
    )
    assert ebm.softmax_loss.SMALL_SIZE == 1024  # (8, 10) is below it, (103, 10) above
    assert _fresh_python(code) == {"(8, 100)": "ok", "(2, 10, 3, 3)": "ok", "(8, 10)": "ok", "(103, 10)": "ImportError"}
    off = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "EBM_NARROW_ROWS": "0"},
    )
    assert json.loads(off.stdout.splitlines()[-1])["(103, 10)"] == "ok", off.stderr

"""The JIT cache in awkward places: a read-only install, and two first builds at once.

Each test runs ebm in fresh subprocesses (a cold Numba cache compiles the small
serial kernels: a few seconds each).  No timing is asserted here; the startup cost
is measured by ``python -m ebm bench --startup``.

Read-only is made real even for root (CI runs as root, and root ignores file
modes): the child is started through ``setpriv`` with the capabilities that
override file permissions removed from its bounding set.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ebm

pytestmark = pytest.mark.xdist_group("startup")  # one worker: its module/session fixtures run once

PACKAGE_DIR = Path(ebm.__file__).parent

# a first call: forward + backward of the loss on a small float64 batch (two kernels to compile
# when the cache is cold).  20 classes take the plain rows kernels, which compile in ~2 s; the
# narrow rows' SIMD kernels would take ~14 s, and where the cache goes is the same for both.
SNIPPET = textwrap.dedent("""
    import os, sys, warnings
    warnings.simplefilter("error")                  # any warning fails the child
    import numpy as np
    import ebm
    assert ebm.__file__.startswith(sys.argv[1]), ebm.__file__
    rng = np.random.default_rng(0)
    for shape, dtype in (((4, 20), np.float64),):
        x = rng.normal(size=shape).astype(dtype)
        label = rng.integers(0, shape[1], size=shape[:1] + shape[2:])
        loss, prob = ebm.softmax_loss_forward(x, label)
        grad = ebm.softmax_loss_backward(prob, label)
        want_loss, want_prob = ebm.reference.softmax_loss_forward(x, label)
        assert abs(loss - want_loss) < 1e-5 * max(1, abs(want_loss)), (loss, want_loss)
        assert np.allclose(grad, ebm.reference.softmax_loss_backward(prob, label), atol=1e-6)
    print("NUMBA_CACHE_DIR=" + os.environ.get("NUMBA_CACHE_DIR", ""))
""")


def _without_write_override():
    """argv prefix that runs a child unable to write read-only files, or None if impossible."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []  # file modes already bind a normal user
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


def _run(argv_prefix, env, package_root, timeout=600):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "PYTEST"))}
    clean.pop("PYTHONDONTWRITEBYTECODE", None)
    clean.update(env, PYTHONPATH=str(package_root))
    return subprocess.Popen(
        [*argv_prefix, sys.executable, "-c", SNIPPET, str(package_root)],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=package_root,
    )


def _read_only_copy(tmp_path):
    """ebm copied to tmp_path/site (no __pycache__), every file and directory read-only."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE_DIR, site / "ebm", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [site, *site.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return site


def _make_writable(root):
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.fixture
def read_only_site(tmp_path):
    prefix = _without_write_override()
    if prefix is None:
        pytest.skip("running as root without setpriv: a read-only directory cannot be made binding")
    site = _read_only_copy(tmp_path)
    yield prefix, site
    _make_writable(tmp_path)


def test_read_only_install_falls_back_to_a_private_cache(tmp_path, read_only_site):
    prefix, site = read_only_site
    home = tmp_path / "home"  # the user cache dir is read-only too
    home.mkdir()
    home.chmod(0o555)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), TMPDIR=str(tmp))
    proc = _run(prefix, env, site)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert err == ""  # no error and no warning in the user's face
    cache_dir = out.strip().splitlines()[-1].removeprefix("NUMBA_CACHE_DIR=")
    assert cache_dir.startswith(str(tmp)), out
    assert any(Path(cache_dir).rglob("*.nbi"))  # the kernels really were cached there
    assert not any(site.rglob("*.nbi"))  # and nothing was written into the package
    # a second process loads them: still silent
    proc = _run(prefix, env, site)
    out2, err2 = proc.communicate(timeout=600)
    assert proc.returncode == 0 and err2 == "", err2
    home.chmod(0o755)


def test_read_only_install_with_a_writable_user_cache_changes_nothing(tmp_path, read_only_site):
    """Numba's own fallback (the user cache directory) works there; ebm leaves it alone."""
    prefix, site = read_only_site
    home = tmp_path / "home"
    home.mkdir()
    code = "import os, ebm; print(repr(os.environ.get('NUMBA_CACHE_DIR')))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PYTHONPATH=str(site))
    done = subprocess.run(
        [*prefix, sys.executable, "-W", "error", "-c", code],
        env=env,
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.strip() == "None"


def test_a_user_numba_cache_dir_is_respected(tmp_path, monkeypatch):
    from ebm import _numba_cache

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert _numba_cache.configure(str(tmp_path / "anything")) is None
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")


def test_fallback_refuses_a_directory_someone_else_can_write(tmp_path, monkeypatch):
    """Numba loads pickled code from its cache: a group/world-writable directory is not used."""
    from ebm import _numba_cache

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    shared = Path(_numba_cache.fallback_cache_dir())
    assert shared.parent == tmp_path and shared.is_dir()
    shared.chmod(0o777)
    other = Path(_numba_cache.fallback_cache_dir())
    assert other != shared and other.parent == tmp_path
    assert not other.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def test_two_concurrent_first_builds_do_not_crash(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(PACKAGE_DIR, site / "ebm", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    procs = [_run([], env, site) for _ in range(2)]  # both start with an empty cache
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err
        assert err == "", err
    assert any((tmp_path / "cache").rglob("*.nbi"))
    proc = _run([], env, site)  # and the cache they left loads
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and err == "", err


STATS = textwrap.dedent("""
    import numpy as np
    from ebm.rbm import samplers
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 4))
    V0 = (rng.random((5, 6)) < 0.5).astype(float)
    V, H = samplers.sampling_chains(W, np.zeros(6), np.zeros(4), V0, 20, np.random.default_rng(1))
    stats = samplers._sampling_kernel.stats
    print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()), int(V.sum() + H.sum()))
""")


def test_an_edited_helper_in_another_file_makes_the_cache_stale(tmp_path):
    """Numba keys a cache on the kernel's own file; ebm adds a digest of every module of the package that
    uses Numba.  The trap: the RBM's Gibbs kernel calls ``sigmoid_jit``, compiled from ebm/_math.py; editing
    it used to leave the old machine code in use (the same samples) until __pycache__ was cleared."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE_DIR, site / "ebm", ignore=shutil.ignore_patterns("__pycache__"))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "PYTEST"))}
    clean.update(PYTHONPATH=str(site), NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def run():
        done = subprocess.run(
            [sys.executable, "-c", STATS], env=clean, cwd=site, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        return tuple(int(v) for v in done.stdout.split())

    def edit(name, old="", new="\n# edited\n"):
        path = site / "ebm" / name
        text = path.read_text()
        if old:
            assert text.count(old) == 1, old
            path.write_text(text.replace(old, new))
        else:
            path.write_text(text + new)

    hits, misses, before = run()
    assert (hits, misses) == (0, 1)  # a cold cache compiles
    assert run() == (1, 0, before)  # then loads
    edit("datasets.py")
    assert run() == (1, 0, before)  # a module without Numba: still loads
    edit("_math.py", "        return 1.0 / (1.0 + math.exp(-x))", "        return 0.5")
    edit("_math.py", "    return e / (1.0 + e)", "    return 0.5")
    hits, misses, after = run()
    assert (hits, misses) == (0, 1) and after != before  # recompiled: the new sigmoid is used
    assert run() == (1, 0, after)
    edit("_fastexp.py")  # any module with Numba code
    assert run() == (0, 1, after)

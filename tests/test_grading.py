"""The exercise registry, its checks and hints, and in-notebook feedback.

Every registered exercise -- including the ones other chapters add later -- is
checked here: its reference earns full marks, every hint's example loses points
and fires that hint, and the student version (``raise NotImplementedError``)
scores 0 without crashing.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import ebm.grading as grading
from ebm.grading import Mismatch, expect_close, expect_gradient

EXERCISES = grading.registry()
HINTS = [(ex.name, h.key) for ex in EXERCISES for h in ex.hints]


def test_core_exercises_have_caffes_names_and_signatures():
    sig = {ex.name: ex.signature for ex in EXERCISES}
    assert sig["softmax_loss_forward"] == "softmax_loss_forward(bottom_data, label) -> (loss, prob)"
    assert sig["softmax_loss_backward"] == "softmax_loss_backward(prob, label, ignore_label=None) -> bottom_diff"
    assert sig["softmax_backward"] == "softmax_backward(top_data, top_diff) -> bottom_diff"
    assert list(inspect.signature(grading.get("softmax_loss_backward").reference).parameters) == [
        "prob",
        "label",
        "ignore_label",
    ]
    per_chapter = {}
    for ex in EXERCISES:
        per_chapter[ex.chapter] = per_chapter.get(ex.chapter, 0) + 1
    assert per_chapter["hopfield"] >= 2 and per_chapter["softmax_loss"] >= 3


@pytest.mark.parametrize("name", [ex.name for ex in EXERCISES])
def test_reference_earns_full_marks_and_exercise_is_well_formed(name):
    ex = grading.get(name)
    assert ex.public_checks and ex.hidden_checks, "needs at least one public and one hidden check"
    assert ex.hints, "needs at least one hint"
    result = grading.run_exercise(ex, ex.reference)
    assert [c.status for c in result.checks] == ["passed"] * len(ex.checks), [
        (c.description, c.message) for c in result.checks if not c.passed
    ]
    assert result.score == result.max_score == ex.max_score > 0
    src = inspect.getsource(ex.reference)
    assert "### BEGIN SOLUTION" in src and "### END SOLUTION" in src


@pytest.mark.parametrize("name", [ex.name for ex in EXERCISES])
def test_student_version_scores_zero_without_crashing(name):
    def student(*args, **kwargs):
        raise NotImplementedError

    result = grading.run_exercise(name, student)
    assert result.score == 0
    assert {c.status for c in result.checks} == {"not_implemented"}


@pytest.mark.parametrize("name,key", HINTS, ids=[f"{n}-{k}" for n, k in HINTS])
def test_every_hint_fires_on_its_example_and_the_example_loses_points(name, key):
    ex = grading.get(name)
    hint = next(h for h in ex.hints if h.key == key)
    result = grading.run_exercise(ex, hint.example)
    assert result.score < result.max_score
    assert key in result.hint_keys, [(c.description, c.status, c.message) for c in result.checks]


@pytest.mark.parametrize("name,key", HINTS, ids=[f"{n}-{k}" for n, k in HINTS])
def test_no_hint_fires_on_a_correct_answer_compared_with_itself(name, key):
    # a hint that fires when got == expected would blame a right answer
    ex = grading.get(name)
    hint = next(h for h in ex.hints if h.key == key)
    rng = np.random.default_rng(0)
    attempt = grading.Attempt(args={}, got=rng.normal(size=(2, 3)), what="x")
    attempt.expected = attempt.got
    try:
        fired = hint.detect(attempt)
    except Exception:
        fired = False
    assert not fired


# --------------------------------------------------------------------------- comparisons


def test_expect_close_names_the_first_differing_index_and_tolerance():
    got = np.array([[0.1, 0.2], [0.3, 0.5]])
    with pytest.raises(Mismatch) as e:
        expect_close(got, np.array([[0.1, 0.2], [0.3, 0.4]]), rtol=1e-6, atol=1e-9, what="bottom_diff")
    msg = str(e.value)
    assert msg.startswith("bottom_diff[1, 1]: expected 0.4, got 0.5")
    assert "atol 1e-09 + rtol 1e-06" in msg and "1 of 4 elements differ" in msg
    assert e.value.index == (1, 1)
    with pytest.raises(Mismatch, match=r"expected shape \(2, 2\), got shape \(4,\)"):
        expect_close(got.reshape(-1), got)
    with pytest.raises(Mismatch, match="not finite"):
        expect_close(np.array([np.nan, 1.0]), np.array([0.0, 1.0]))
    with pytest.raises(Mismatch, match="expected a number or an array"):
        expect_close("0.5", 0.5)
    expect_close(got.reshape(-1), got, shape=False)  # same elements, other shape: allowed when asked


def test_expect_gradient_rejects_half_the_gradient():
    x = np.array([0.5, -1.0, 2.0])
    f = lambda z: float(np.sum(z**3))
    expect_gradient(f, x, 3 * x**2)
    with pytest.raises(Mismatch, match="central differences give"):
        expect_gradient(f, x, 1.5 * x**2)


# --------------------------------------------------------------------------- in-notebook feedback


def _wrong_backward(prob, label, ignore_label=None):
    return np.asarray(prob) / len(label)  # the 1 at the label never subtracted


def test_check_prints_a_table_to_stdout_only(capsys):
    ref = grading.get("softmax_loss_backward").reference
    assert grading.check("softmax_loss_backward", ref) is None
    out, err = capsys.readouterr()
    assert err == ""
    n_hidden = len(grading.get("softmax_loss_backward").hidden_checks)
    assert out.strip().endswith(f"all public checks passed; {n_hidden} hidden checks run at grading")
    assert out.count("PASS") == len(grading.get("softmax_loss_backward").public_checks)


def test_check_shows_expected_got_tolerance_and_hint(capsys):
    grading.check("softmax_loss_backward", _wrong_backward)
    out, err = capsys.readouterr()
    assert err == ""
    assert "FAIL" in out and "expected" in out and "got" in out and "tolerance: atol" in out
    assert "hint: the result equals prob" in out
    assert "all public checks passed" not in out


def test_check_keeps_student_prints_and_warnings_off_stderr(capsys):
    import sys
    import warnings

    def noisy(prob, label, ignore_label=None):
        print("to stderr", file=sys.stderr)
        warnings.warn("careful", RuntimeWarning)
        return grading.get("softmax_loss_backward").reference(prob, label, ignore_label)

    grading.check("softmax_loss_backward", noisy)
    out, err = capsys.readouterr()
    assert err == ""
    assert "to stderr" in out and "RuntimeWarning: careful" in out


def test_mutating_an_input_fails_with_a_clear_message():
    def in_place(W, b, s, i):
        s[i] = -s[i]  # flips the caller's state
        return float(2.0 * -s[i] * (W[i] @ s - W[i, i] * s[i] + b[i]))

    result = grading.run_exercise("flip_delta", in_place)
    assert result.score == 0
    first = result.checks[0]
    assert "modified its argument 's' in place" in first.message
    assert "mutated_input" in result.hint_keys


def test_calling_ebm_itself_is_flagged_and_can_be_allowed():
    import ebm

    def lazy(top_data, top_diff):
        return ebm.softmax_backward(top_data, top_diff)

    flagged = grading.run_exercise("softmax_backward", lazy)
    assert flagged.score == 0 and {c.status for c in flagged.checks} == {"flagged"}
    assert "ebm's own implementation" in flagged.checks[0].message
    allowed = grading.run_exercise("softmax_backward", lazy, flag_ebm=False)
    assert allowed.score == allowed.max_score


@pytest.mark.parametrize("spec", sorted({s for ex in EXERCISES for s in ex.forbid}))
def test_every_forbidden_function_is_named_by_the_module_that_defines_it(spec):
    """The flag matches a call by (qualname, defining file): a spec that names a module re-exporting
    the function (a package's ``__init__``) would never flag anything."""
    import importlib
    import os

    module, _, qualname = spec.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    code = inspect.unwrap(getattr(obj, "py_func", getattr(obj, "__func__", obj))).__code__
    assert code.co_qualname == qualname
    assert os.path.realpath(code.co_filename) == os.path.realpath(importlib.util.find_spec(module).origin)


def test_the_forbidden_functions_are_found_without_importing_their_packages():
    """Looking up the forbidden functions' files imports nothing: an era's package would bring Numba into
    a student's kernel before any check needs it (the packages' files are found on their parents' paths)."""
    import json
    import subprocess
    import sys

    from ebm.grading._harness import _forbidden_codes

    probe = (
        "import json, sys; from ebm.grading import registry; from ebm.grading._harness import _forbidden_codes\n"
        "exercises = registry()\n"
        "before = set(sys.modules)\n"
        "codes = sorted({c for ex in exercises for c in _forbidden_codes(ex.forbid)})\n"
        "print(json.dumps({'codes': codes, 'imported': sorted(set(sys.modules) - before)}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    seen = json.loads(done.stdout)
    assert seen["imported"] == []
    assert len(seen["codes"]) == len({s for ex in EXERCISES for s in ex.forbid})
    here = sorted({c for ex in EXERCISES for c in _forbidden_codes(ex.forbid)})
    assert [tuple(c) for c in seen["codes"]] == here  # the same files as in this process, where all are imported


def test_calling_the_hopfield_package_is_flagged():
    from ebm import hopfield as hf

    for name, lazy in (
        ("hebb_weights", lambda patterns: hf.hebb_weights(patterns)),
        ("hebb_weights", lambda patterns: hf.HopfieldNetwork.from_patterns(patterns).W),
        ("modern_energy_grad", lambda X, xi, beta: xi - hf.modern_update(X, xi, beta)),
    ):
        flagged = grading.run_exercise(name, lazy, include_hidden=False)
        assert {c.status for c in flagged.checks} == {"flagged"}, name
        assert "ebm/hopfield/" in flagged.checks[0].message


def test_calling_the_gibbs_package_is_flagged():
    from ebm import gibbs

    flagged = grading.run_exercise(
        "gibbs_distribution", lambda energies, beta: gibbs.gibbs_distribution(energies, beta)
    )
    assert flagged.score == 0 and {c.status for c in flagged.checks} == {"flagged"}


def test_unknown_exercise_names_the_known_ones():
    with pytest.raises(KeyError, match="softmax_loss_backward"):
        grading.get("softmax_loss_backwards")


def test_registry_rejects_a_malformed_exercise():
    with pytest.raises(ValueError, match="must be named"):
        grading.exercise("a_name", chapter="x", signature="", statement="", reference=lambda: 0)
    ex = grading.get("flip_delta")
    with pytest.raises(TypeError, match="example"):
        ex.hint("new_key", "msg", example=None)
    with pytest.raises(ValueError, match="already has a check"):
        ex.check(ex.checks[0].description)
    with pytest.raises(ValueError, match="points"):
        ex.check("another", points=-1)


def test_timeout_stops_an_infinite_loop_and_blames_the_exercise():
    def loop(W, b, s, i):
        while True:
            pass

    result = grading.run_exercise("flip_delta", loop, timeout=0.3)
    statuses = [c.status for c in result.checks]
    assert statuses == ["timeout"] * len(statuses) and result.score == 0
    assert re.search(r"more than 0.3 s", result.checks[0].message)


def test_a_missing_return_is_named():
    def forgot_return(top_data, top_diff):
        top_data * top_diff

    result = grading.run_exercise("softmax_backward", forgot_return)
    assert result.score == 0
    assert "got None (a missing return statement?)" in result.checks[0].message


def test_loading_the_registry_does_not_import_numba_or_matplotlib():
    # every grading worker and every check() loads the registry: it must stay light
    import subprocess
    import sys

    code = "import sys, ebm.grading as g; g.registry(); print([m for m in ('numba', 'matplotlib') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_article_printed_derivative_is_recognised_as_the_swapped_cases():
    from ebm import reference as ref

    def printed(prob, label, ignore_label=None):  # the article's displayed formula, row by row
        prob = np.asarray(prob, dtype=np.float64)
        rows = [ref.article_printed_loss_gradient(np.log(p), int(k)) for p, k in zip(prob, label)]
        return np.stack(rows) / len(label)

    result = grading.run_exercise("softmax_loss_backward", printed)
    first = result.checks[0]
    assert first.status == "failed" and "swapped_cases" in [k for k, _ in first.hints]


# --------------------------------------------------------------------------- hints that used to mislead


def _right_softmax_backward(top_data, top_diff):
    return top_data * (top_diff - (top_data * top_diff).sum(axis=1, keepdims=True))


def test_a_list_where_an_array_is_due_fails_with_what_to_return():
    result = grading.run_exercise("softmax_backward", lambda t, d: _right_softmax_backward(t, d).tolist())
    assert result.score == 0
    assert all("expected a NumPy array, got a list: return np.asarray" in c.message for c in result.checks)
    assert all(not c.hints for c in result.checks)
    # the same values as an array pass: the decision is about the type only
    assert grading.run_exercise("softmax_backward", _right_softmax_backward).score == 5
    # a tuple of results stays a tuple (the container is the signature's)
    ok = grading.run_exercise(
        "softmax_loss_forward", lambda x, lab: list(grading.get("softmax_loss_forward").reference(x, lab))
    )
    assert ok.score == ok.max_score


def test_complex_output_is_named_and_no_axis_hint_fires():
    result = grading.run_exercise("softmax_backward", lambda t, d: _right_softmax_backward(t, d).astype(complex))
    assert result.score == 0
    assert all("expected real numbers, got complex values" in c.message for c in result.checks)
    assert all(not c.hints for c in result.checks)  # sum_over_wrong_axis and diagonal_only fired before
    assert not grading.is_close(np.array([1 + 0j]), np.array([1.0]))


def test_swapped_prob_and_loss_get_their_own_hint():
    ref = grading.get("softmax_loss_forward").reference
    result = grading.run_exercise("softmax_loss_forward", lambda x, lab: ref(x, lab)[::-1])
    assert result.score == 0
    assert all(c.hints == [h for h in c.hints if h[0] == "swapped_outputs"] and c.hints for c in result.checks)


def test_dividing_by_the_batch_size_is_told_apart_from_dividing_by_every_position():
    ref = grading.get("softmax_loss_backward").reference

    def by_batch(prob, label, ignore_label=None):
        kept = max(1, int(np.sum(np.asarray(label) != ignore_label)))
        return ref(prob, label, ignore_label) * kept / np.shape(prob)[0]

    result = grading.run_exercise("softmax_loss_backward", by_batch)
    keys = {c.description: [k for k, _ in c.hints] for c in result.checks if not c.passed}
    spatial = [d for d in keys if "H, W" in d]
    flat = [d for d in keys if "H, W" not in d]
    assert spatial and all(keys[d] == ["divided_by_batch_size"] for d in spatial), keys
    assert flat and all(keys[d] == ["divided_by_all_positions"] for d in flat), keys  # N is every position


# --------------------------------------------------------------------------- the student's side


def test_check_has_a_time_limit(capsys):
    def forever(top_data, top_diff):
        while True:
            pass

    grading.check("softmax_backward", forever, timeout=0.5)
    out = capsys.readouterr().out
    assert "TIMEOUT" in out and "more than 0.5 s" in out
    with pytest.raises(ValueError, match="timeout"):
        grading.check("softmax_backward", forever, timeout=-1)


def test_check_points_to_a_listing_that_exists(capsys):
    from ebm.cli import main

    assert "exercises --list" in grading.check.__doc__
    assert main(["exercises", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(ex.signature in listed for ex in EXERCISES)


def test_student_versions_never_overwrite_silently(tmp_path, capsys):
    from ebm.cli import main

    out = tmp_path / "mine"
    assert main(["exercises", "--student", str(out)]) == 0
    work = out / "exercises" / "05_softmax_loss.ipynb"
    work.write_text(work.read_text().replace("raise NotImplementedError()", "return 42", 1))  # a student's work
    before = work.read_text()
    assert main(["exercises", "--student", str(out)]) == 1
    err = capsys.readouterr().err
    assert "would be replaced" in err and "05_softmax_loss.ipynb" in err and "--force" in err
    assert work.read_text() == before
    assert main(["exercises", "--student", str(out), "--force"]) == 0
    assert work.read_text() != before


def test_assert_check_raises_on_failure_returns_none_and_refuses_bad_names(capsys):
    ex = grading.get("softmax_loss_backward")
    first = ex.checks[0].description
    assert grading.assert_check(ex.name, ex.reference, first) is None  # a value would be partial credit
    assert capsys.readouterr() == ("", "")  # a pass prints nothing
    with pytest.raises(AssertionError, match=r"(?s)0 of 1 checks passed .*hint: the result equals prob"):
        grading.assert_check(ex.name, lambda prob, label, ignore_label=None: prob / prob.shape[0], first)

    def todo(prob, label, ignore_label=None):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not implemented yet"):
        grading.assert_check(ex.name, todo, first)
    with pytest.raises(AssertionError, match="(?s)MISSING .* no function named"):
        grading.assert_check(ex.name, None, first)
    with pytest.raises(ValueError, match="has no check 'nope'; its checks"):
        grading.assert_check(ex.name, ex.reference, "nope")
    with pytest.raises(ValueError, match="names no check"):
        grading.assert_check(ex.name, ex.reference)
    with pytest.raises(TypeError, match="sequence of check descriptions"):
        grading.run_exercise(ex.name, ex.reference, checks=first)
    with pytest.raises(ValueError, match="timeout"):
        grading.assert_check(ex.name, ex.reference, first, timeout=0)
    with pytest.raises(KeyError, match="no exercise named"):
        grading.assert_check("nope", ex.reference, first)

"""The data model: :class:`Exercise`, its checks and hints, and the registry.

An exercise module ``ebm/grading/exercises/<chapter>.py`` creates exercises with
:func:`exercise` and decorates checks and hints onto them; the registry imports
every module of that subpackage on first use, so adding a file is all it takes.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Exercise", "Check", "Hint", "Attempt", "exercise", "registry", "get", "chapters", "CHAPTER_ORDER"]

#: The story's order; a chapter not listed here sorts after these, by name.
CHAPTER_ORDER = {"hopfield": 10, "boltzmann": 20, "rbm": 30, "gibbs": 40, "softmax_loss": 50}


@dataclass
class Attempt:
    """One call of the student's function, as a hint sees it.

    Attributes
    ----------
    args : dict
        The arguments of the last call, by parameter name (pristine copies: what
        the check passed in, before the student's code could modify anything).
    result : object
        What the student's function returned (``None`` if it raised).
    got, expected : object
        The compared values of the failed comparison (``Mismatch.got`` and
        ``Mismatch.expected``); ``None`` when the student's code raised.
    what : str
        The name of the compared value (``"bottom_diff"``, ``"loss"``...).
    error : BaseException or None
        The exception the student's code raised, if any.
    warnings : list of str
        Warnings the student's code emitted (``"RuntimeWarning: overflow encountered in exp"``).
    """

    args: dict = field(default_factory=dict)
    result: Any = None
    got: Any = None
    expected: Any = None
    what: str = "result"
    error: BaseException | None = None
    warnings: list = field(default_factory=list)


@dataclass(frozen=True)
class Check:
    """One check: ``run(fn)`` returns quietly on a pass and raises ``Mismatch`` on a failure."""

    description: str
    run: Callable
    points: float = 1.0
    hidden: bool = False


@dataclass(frozen=True)
class Hint:
    """A recognised mistake: ``detect(attempt) -> bool`` and what to tell the student.

    ``example`` is a wrong solution that makes this hint fire; the test suite
    grades it and asserts that it does (so every hint is shown to work).
    """

    key: str
    message: str
    detect: Callable
    example: Callable


@dataclass
class Exercise:
    """A graded exercise: what to write, how it is checked, and which mistakes are recognised.

    Create one with :func:`exercise` (which registers it); add checks with
    :meth:`check` and hints with :meth:`hint`.

    Attributes
    ----------
    name : str
        The function the student writes (``"softmax_loss_backward"``).
    chapter : str
        The chapter key (``"hopfield"``, ..., ``"softmax_loss"``).
    signature : str
        E.g. ``"softmax_loss_backward(prob, label, ignore_label=None) -> bottom_diff"``.
    statement : str
        The task, in Markdown (shown in the exercise notebooks and docs).
    reference : callable
        A correct solution, written from scratch; :func:`ebm.grading.verify` runs it
        through every check (it must earn full marks) and the instructor notebook
        uses it as the solution.
    forbid : tuple of str
        ``"module:qualname"`` of ebm functions that do the whole exercise.  In a
        notebook, :func:`ebm.grading.check` flags a function that calls one;
        when ebm is allowed at grading (``allow_ebm``), their modules stay out of
        the sandbox's reach.
    allow_ebm : bool
        Let the graded function import ebm (never ``ebm.grading``, nor the
        modules of ``forbid``).  By default the sandbox has no ebm at all.
    checks, hints : list
        Filled by the decorators.
    """

    name: str
    chapter: str
    signature: str
    statement: str
    reference: Callable
    forbid: tuple = ()
    allow_ebm: bool = False
    checks: list = field(default_factory=list)
    hints: list = field(default_factory=list)

    def check(self, description, *, points=1.0, hidden=False):
        """Decorator: register ``run(fn)`` as a check worth ``points``.

        ``fn`` is the student's function, wrapped: it receives copies of the
        arguments, and a call that modifies them fails the check.  ``run`` builds
        inputs, calls ``fn``, and compares with :func:`ebm.grading.expect_close`
        (or another ``expect_*`` helper); returning normally means passed.
        """
        _check_number(points, "points")
        if not isinstance(description, str) or not description:
            raise ValueError(f"a check needs a non-empty description, got {description!r}")
        if any(c.description == description for c in self.checks):
            raise ValueError(f"exercise {self.name!r} already has a check {description!r}")

        def register(run):
            self.checks.append(Check(description, run, float(points), bool(hidden)))
            return run

        return register

    def hint(self, key, message, *, example):
        """Decorator: register ``detect(attempt) -> bool`` as the mistake ``key``.

        ``detect`` receives an :class:`Attempt` for every failed check and returns
        whether this mistake explains it (an exception inside ``detect`` counts as
        no).  ``example`` is a wrong solution with exactly this mistake.
        """
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"a hint key must be an identifier, got {key!r}")
        if any(h.key == key for h in self.hints):
            raise ValueError(f"exercise {self.name!r} already has a hint {key!r}")
        if not callable(example):
            raise TypeError(f"hint {key!r} needs example=<a wrong solution that shows the mistake>")

        def register(detect):
            self.hints.append(Hint(key, message, detect, example))
            return detect

        return register

    @property
    def public_checks(self):
        return [c for c in self.checks if not c.hidden]

    @property
    def hidden_checks(self):
        return [c for c in self.checks if c.hidden]

    @property
    def max_score(self):
        return sum(c.points for c in self.checks)

    @property
    def forbidden_modules(self):
        """The modules of :attr:`forbid` (refused in the sandbox even when ebm is allowed)."""
        return sorted({spec.partition(":")[0] for spec in self.forbid})

    def parameters(self):
        """The parameter names of the signature (from ``reference``)."""
        return list(inspect.signature(self.reference).parameters)


def _check_number(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")


_REGISTRY: dict[str, Exercise] = {}
_LOADED = False


def exercise(name, *, chapter, signature, statement, reference, forbid=(), allow_ebm=False):
    """Create and register an :class:`Exercise`; see its attributes.

    Registering the same name twice from two different modules is an error.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"an exercise name must be a Python identifier (the function's name), got {name!r}")
    if not callable(reference):
        raise TypeError(f"reference must be a function (the solution), got {reference!r}")
    if reference.__name__ != name:
        raise ValueError(f"the reference solution must be named {name!r}, got {reference.__name__!r}")
    old = _REGISTRY.get(name)
    if old is not None and old.reference.__module__ != reference.__module__:
        raise ValueError(
            f"exercise {name!r} is registered twice: by {old.reference.__module__} and {reference.__module__}"
        )
    ex = Exercise(name, chapter, signature, inspect.cleandoc(statement), reference, tuple(forbid), bool(allow_ebm))
    _REGISTRY[name] = ex
    return ex


def _load():
    global _LOADED
    if _LOADED:
        return
    from ebm.grading import exercises as package

    for mod in pkgutil.iter_modules(package.__path__):
        if mod.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{package.__name__}.{mod.name}")
        except Exception as exc:
            raise ImportError(
                f"the exercise module ebm/grading/exercises/{mod.name}.py failed to import: {type(exc).__name__}: {exc}"
            ) from exc
    _LOADED = True


def _order(ex):
    return (CHAPTER_ORDER.get(ex.chapter, 1000), ex.chapter)


def registry(chapter=None):
    """Every registered exercise (in chapter order, then registration order).

    Parameters
    ----------
    chapter : str or iterable of str, optional
        Only these chapters.
    """
    _load()
    exercises = sorted(_REGISTRY.values(), key=_order)  # stable: keeps registration order
    if chapter is None:
        return exercises
    wanted = {chapter} if isinstance(chapter, str) else set(chapter)
    unknown = wanted - {e.chapter for e in exercises}
    if unknown:
        raise ValueError(f"no exercises for chapter(s) {sorted(unknown)}; chapters with exercises: {chapters()}")
    return [e for e in exercises if e.chapter in wanted]


def chapters():
    """The chapters that have exercises, in order."""
    return list(dict.fromkeys(e.chapter for e in registry()))


def get(name):
    """The exercise called ``name``; ``KeyError`` lists the known names."""
    _load()
    if isinstance(name, Exercise):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise KeyError(f"no exercise named {name!r}; known: {sorted(_REGISTRY)}") from None

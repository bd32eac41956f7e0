"""Spies for tests that count how often a request takes a path: `calls_of`
wraps a function everywhere it is bound (its module and every module that
imported it by name), so a call through any import is counted."""

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def calls_of(module, name: str, after: Callable | None = None) -> Iterator[list[dict]]:
    """The calls of `module.name` while the block runs, each as its kwargs.
    `after(result)`, when given, runs after each call (say, to change the world
    between a view's load and its service's lock)."""
    original = getattr(module, name)
    calls: list[dict] = []

    @functools.wraps(original)
    def spy(*args, **kwargs):
        calls.append(kwargs)
        result = original(*args, **kwargs)
        if after is not None:
            after(result)
        return result

    bound = [m for m in list(sys.modules.values()) if vars(m).get(name) is original]
    for bound_module in bound:
        setattr(bound_module, name, spy)
    try:
        yield calls
    finally:
        for bound_module in bound:
            setattr(bound_module, name, original)


@contextmanager
def calls_in(module, name: str) -> Iterator[list[dict]]:
    """The calls of `name` made from `module` alone (its own binding), each as its
    kwargs: what that module asks, not what others ask through it."""
    original = getattr(module, name)
    calls: list[dict] = []

    @functools.wraps(original)
    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    setattr(module, name, spy)
    try:
        yield calls
    finally:
        setattr(module, name, original)

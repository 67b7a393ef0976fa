"""Read-only arrays: frozen results, and a function's numpy results computed once per
arguments and shared read-only."""

from __future__ import annotations

import functools

import numpy as np


def read_only(*arrays: np.ndarray) -> None:
    """Make arrays read-only, so that a frozen result cannot change under its reader."""
    for array in arrays:
        array.setflags(write=False)


def read_only_cache(maxsize: int = 64):
    """Return a decorator that memoises a function of hashable arguments (`functools.lru_cache`
    with `maxsize`) and makes every numpy array it returns, alone or in a tuple, read-only:
    all callers share the same arrays, and none can change them under the others."""
    def decorate(function):
        @functools.lru_cache(maxsize=maxsize)
        @functools.wraps(function)
        def shared(*args, **kwargs):
            result = function(*args, **kwargs)
            read_only(*(value for value in (result if isinstance(result, tuple) else (result,))
                        if isinstance(value, np.ndarray)))
            return result
        return shared
    return decorate

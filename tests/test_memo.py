"""sim.memo.read_only_cache: computed once per arguments, shared, and read-only."""

import numpy as np
import pytest

from sim.memo import read_only_cache


def test_arrays_are_computed_once_and_shared_read_only():
    calls = []

    @read_only_cache(maxsize=4)
    def ramp(n: int):
        calls.append(n)
        return np.arange(n, dtype=float), (n, "label"), np.ones(2)

    first, again = ramp(3), ramp(3)
    assert first is again and calls == [3]
    values, meta, ones = first
    assert meta == (3, "label")  # what is not an array passes through as it is
    for array in (values, ones):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1.0
    ramp.cache_clear()
    assert ramp(3) is not first and calls == [3, 3]
    assert ramp.__name__ == "ramp"


def test_a_single_array_is_read_only_too():
    @read_only_cache()
    def zeros(n: int) -> np.ndarray:
        return np.zeros(n)

    with pytest.raises(ValueError, match="read-only"):
        zeros(2)[1] = 5.0

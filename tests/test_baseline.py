"""No refactor moves a number: the model's tables match the recorded references.

See tests/baseline/snapshot.py. Every column of summary, cashflows and timeline, for the
200-replication default run, the deterministic base case and a real_option run, must
match within a relative 1e-12 (`snapshot.TOLERANCE`): a number may differ in its last bits
between machines or after a sum in another order, and the test names every such field
(a warning); a field beyond it fails, unless CHANGED lists it with the reason.
"""

import warnings

import pandas as pd
import pytest

from baseline.snapshot import CASES, check, compare, compare_summary, fingerprints

#: (case, "table.column") -> why it may differ from the recorded reference. Empty: the
#: references were recorded anew after 68cbb05 (see snapshot.py).
CHANGED: dict[tuple[str, str], str] = {}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_tables_match_the_recorded_references(case):
    from baseline.snapshot import tables

    close, unlike = check(case, tables(case))
    beyond = [field for field in unlike if (case, field.split(" (")[0]) not in CHANGED]
    if close:
        warnings.warn(f"{case}: within 1e-12 but not bit for bit: "
                      + ", ".join(f"{f} ({d:.2g})" for f, d in sorted(close.items())))
    assert not beyond, f"{case}: fields that moved: {', '.join(beyond)}"


def frame(values, labels=("a", "b", "c", "d")):
    return pd.DataFrame({"label": pd.Categorical(list(labels)), "usd": values})


def test_the_comparison_tells_last_bits_from_a_change():
    """Against a constructed case: a last-bit change passes and is named, 1e-9 fails."""
    base = frame([1e9, -2e9, 3.5, 0.0])
    same, close, moved = frame([1e9, -2e9, 3.5, 0.0]), frame([1e9 * (1 + 4e-16), -2e9, 3.5, 0.0]), \
        frame([1e9, -2e9 * (1 + 1e-9), 3.5, 0.0])
    assert compare_summary(same, base) == ({}, [])
    found, unlike = compare_summary(close, base)
    assert unlike == [] and 0 < found["summary.usd"] < 1e-15
    assert compare_summary(moved, base)[1] == ["summary.usd (relative difference 1e-09)"]
    assert compare_summary(frame([1e9, -2e9, 3.5, 0.0], "abce"), base)[1] == ["summary.label (differs)"]
    # the same, for the recorded block sums of a detailed table
    ref = fingerprints({"cashflows": base})
    assert compare(fingerprints({"cashflows": close}), ref)[1] == []
    assert compare(fingerprints({"cashflows": moved}), ref)[1] == [
        "cashflows.usd (relative difference 1e-09)"]
    assert compare(fingerprints({"cashflows": frame([1e9, -2e9, float("nan"), 0.0])}), ref)[1] == [
        "cashflows.usd (other kind or NaNs)"]

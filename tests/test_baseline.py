"""No refactor moves a number: the model's tables match fingerprints taken at c65e681.

See tests/baseline/snapshot.py. A field allowed to change is listed in CHANGED with the
reason; every other column of summary, cashflows and timeline must be identical, bit for
bit, for the 200-replication default run and the deterministic base case.
"""

import json

import pytest

from baseline.snapshot import CASES, HERE, digests, tables

#: (case, table, column) -> why it may differ from the c65e681 fingerprint.
CHANGED: dict[tuple[str, str, str], str] = {
    (case, table, column): "issue #9 item 5: demand response pays for enrolled capacity (none by "
                           "default), not $10 per MWh of economic curtailment"
    for case in ("default_200", "deterministic")
    for table, column in (("cashflows", "usd"), ("summary", "demand_response_usd"),
                          ("summary", "irr"), ("summary", "npv_usd"), ("summary", "payback_years"),
                          ("summary", "peak_funding_usd"))
}

RECORDED = json.loads((HERE / "digests.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_tables_match_the_recorded_fingerprints(case):
    frames = tables(case)
    now, then = digests(frames), RECORDED[case]
    moved = sorted(f"{table}.{column}" for table in then for column in then[table]
                   if now.get(table, {}).get(column) != then[table][column]
                   and (case, table, column) not in CHANGED)
    assert not moved, f"{case}: fields that moved: {', '.join(moved)}"

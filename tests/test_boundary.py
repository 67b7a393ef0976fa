"""sim.boundary: what a process plug-in returns is checked where it enters the world, and
refused in one line naming the field, the day or row, and what is allowed."""

import numpy as np
import pandas as pd
import pytest

from sim.boundary import validate_output
from sim.errors import UserError


@pytest.mark.parametrize("out, fragment", [
    ({"btc_usd": np.full(9, 1.0)}, "shape (9,)"),
    ({"btc_usd": np.r_[np.full(9, 1.0), np.nan]}, "not finite"),
    ({"btc_usd": np.r_[np.full(9, 1.0), -1.0]}, "must be > 0"),
    ({"btc_usd": np.r_[np.full(8, 1.0), 0.0, 1.0]}, "must be > 0 (day 8: 0.0)"),
    ({"btc_usd": np.r_[-1.0, np.full(8, 1.0), np.inf]}, "not finite (first at day 9: inf)"),
    ({"btc_usd": np.r_[np.full(9, 1.0), -np.inf]}, "not finite (first at day 9: -inf)"),
    ({"btc_usd": np.r_[np.nan, np.full(9, -1.0)]}, "not finite (first at day 0: nan)"),
    # finite but beyond what the model computes with: the network blamed itself ("the running
    # hashprice did not converge"), or the config ("values of the config too large")
    ({"btc_usd": np.r_[np.full(9, 1.0), 6e304]},
     "btc_usd is 6e+304 on day 9: too large to compute with; every value of a path must be at "
     "most 1e+18"),
    ({"btc_usd": np.r_[np.full(3, 1.0), 6e-296, np.full(6, 1.0)]},
     "btc_usd is 6e-296 on day 3: too small to compute with; btc_usd must be at least 1e-18"),
    ({"btc_usd": np.full(10, 1.0), "extra": 1}, "unexpected ['extra']"),
    ({}, "missing ['btc_usd']"),
    ([1, 2], "expected a dict"),
])
def test_plugin_output_is_checked_at_the_boundary(out, fragment):
    with pytest.raises(UserError) as err:
        validate_output(out, ("btc_usd",), 10, "market.btc (X), replication 4, seed 9")
    assert fragment in str(err.value) and "replication 4, seed 9" in str(err.value)


def test_difficulty_may_pass_the_bound_of_other_paths():
    """Difficulty (1.3e14 in 2026) may pass 1e18 on a century's horizon; money may not."""
    out = validate_output({"difficulty": np.full(10, 1e20)}, ("difficulty",), 10, "n")
    assert out["difficulty"][0] == 1e20
    with pytest.raises(UserError, match="not finite"):
        validate_output({"difficulty": np.r_[np.full(9, 1e20), np.inf]}, ("difficulty",), 10, "n")


def test_a_path_that_may_be_zero_is_refused_below_it():
    fees = np.zeros(10)
    validate_output({"short_rate": fees}, ("short_rate",), 10, "r")
    with pytest.raises(UserError, match=r"short_rate must be >= 0 \(day 3: -1e-09\)"):
        validate_output({"short_rate": np.r_[fees[:3], -1e-9, fees[4:]]}, ("short_rate",), 10, "r")


def test_a_short_rate_above_100_percent_a_year_is_refused_as_a_percent_typed_as_a_number():
    """A plug-in's rate of 4.3 (meaning 4.3%) gave an equity NPV of -$739 billion, exit 0;
    the config refuses run.discount_rate=4.3 ("must be in (-1, 1]")."""
    where = "market.rates (FlatRate), replication 0, seed 9"
    assert validate_output({"short_rate": np.ones(10)}, ("short_rate",), 10, where)["short_rate"][0] == 1
    with pytest.raises(UserError) as refused:
        validate_output({"short_rate": np.r_[np.full(3, 0.043), np.full(7, 4.3)]}, ("short_rate",),
                        10, where)
    assert str(refused.value) == (f"{where}: short_rate is 4.3 on day 3: must be at most 1 (100% a "
                                  "year); a rate is a fraction (0.043, not 4.3)")


_EPOCHS = pd.DataFrame({"start_day": [0, 0, 5], "end_day": [0, 5, 19], "start_height": [0, 2016, 4032],
                        "difficulty": [1e14, 1e14, 1e14]})  # the first under a day long, as at a retarget


@pytest.mark.parametrize("field, value, says", [
    ("epochs", _EPOCHS.iloc[:0],
     "n: epochs is empty; a network must return at least the epoch in force on day 0"),
    ("epochs", _EPOCHS.assign(start_day=[0, 0, 12], end_day=[0, 12, 26]),
     "n: epochs.start_day must lie on the day grid [0, 10) (row 2: 12)"),
    ("epochs", _EPOCHS.assign(end_day=[0, 5, 4]),
     "n: epochs.end_day must be >= start_day (row 2: end_day 4, start_day 5)"),
    ("block_height", np.r_[955_584 + 144.0 * np.arange(5), 955_000 + 144.0 * np.arange(5)],
     "n: block_height must not decrease (day 5: 955000 after 956160)"),
])
def test_a_network_that_returns_impossible_epochs_or_heights_is_refused(field, value, says):
    """An empty epochs table, an epoch starting after the grid or ending before it starts,
    and a falling block height were accepted: a strategy reading view.epochs saw them."""
    good = {"epochs": _EPOCHS, "block_height": 955_584 + 144.0 * np.arange(10)}
    checked = validate_output(good, tuple(good), 10, "n")
    assert checked["epochs"].equals(_EPOCHS)  # an epoch may start and end on one day
    with pytest.raises(UserError) as refused:
        validate_output({**good, field: value}, tuple(good), 10, "n")
    assert str(refused.value) == says


def test_a_fractional_day_is_refused_not_cut_to_a_whole_one():
    """Before, days 10.7 and 400.5 were cut to 10 and 400 without a word."""
    table = pd.DataFrame(dict(day=[1.0, 5.5], mw_it=[10.0, 20.0], term_days=[100.0, 100.0],
                              usd_per_kw_month=[120.0, 120.0], wait_days=[0.0, 0.0]))
    with pytest.raises(UserError) as refused:
        validate_output({"tenant_requests": table}, ("tenant_requests",), 10, "d")
    assert str(refused.value) == "d: tenant_requests.day must hold whole numbers (row 1: 5.5)"
    whole = validate_output({"tenant_requests": table.assign(day=[1.0, 5.0])}, ("tenant_requests",),
                            10, "d")["tenant_requests"]
    assert whole["day"].tolist() == [1, 5] and whole["day"].dtype == np.int64


@pytest.mark.parametrize("table, says", [
    ("tenant_requests", "d: tenant_requests.minshare: no such column (check the spelling); allowed: "
                        "day, mw_it, term_days, usd_per_kw_month, wait_days, and optionally min_share, "
                        "phased, commence_days, tenant"),
    ("epochs", "d: epochs.minshare: no such column (check the spelling); allowed: start_day, end_day, "
               "start_height, difficulty"),
])
def test_a_column_the_contract_does_not_name_is_refused_not_dropped(table, says):
    """A misspelt optional column (minshare for min_share) was dropped without a word."""
    good = {"tenant_requests": dict(day=[1, 5], mw_it=[10.0, 20.0], term_days=[100.0, 100.0],
                                    usd_per_kw_month=[120.0, 120.0], wait_days=[0.0, 0.0]),
            "epochs": dict(start_day=[0, 5], end_day=[5, 10], start_height=[0, 720],
                           difficulty=[1e14, 1e14])}[table]
    with pytest.raises(UserError) as refused:
        validate_output({table: pd.DataFrame({**good, "minshare": [0.5, 0.5]})}, (table,), 10, "d")
    assert str(refused.value) == says


@pytest.mark.parametrize("days", [-1.0, np.inf, np.nan])
def test_a_commencement_that_is_not_a_finite_number_from_0_is_refused(days):
    table = pd.DataFrame(dict(day=[1, 5], mw_it=[10.0, 20.0], term_days=[100.0, 100.0],
                              usd_per_kw_month=[120.0, 120.0], wait_days=[0.0, 0.0],
                              commence_days=[0.0, days]))
    with pytest.raises(UserError) as refused:
        validate_output({"tenant_requests": table}, ("tenant_requests",), 10, "d")
    assert str(refused.value) == (f"d: tenant_requests.commence_days must be a finite number "
                                  f">= 0 (row 1: {days})")


def test_unsorted_or_negative_requests_are_refused():
    good = dict(day=[1, 5], mw_it=[10.0, 20.0], term_days=[100.0, 100.0],
                usd_per_kw_month=[120.0, 120.0], wait_days=[0.0, 0.0])
    validate_output({"tenant_requests": pd.DataFrame(good)}, ("tenant_requests",), 10, "d")
    for change, fragment in [({"day": [5, 1]}, "sorted"), ({"mw_it": [-1.0, 2.0]}, "must be > 0"),
                             ({"usd_per_kw_month": [np.nan, 1.0]}, "not finite"), ({"day": [1, 10]}, "day grid")]:
        with pytest.raises(UserError, match=fragment):
            validate_output({"tenant_requests": pd.DataFrame({**good, **change})},
                            ("tenant_requests",), 10, "d")


@pytest.mark.parametrize("change, says", [
    ({"mw_it": [10.0, 0.0]}, "d: tenant_requests.mw_it must be > 0 (row 1: 0)"),
    ({"term_days": [0.0, 100.0]}, "d: tenant_requests.term_days must be > 0 (row 0: 0)"),
    # a negative size or term said ">= 0", and then 0 was refused too
    ({"mw_it": [10.0, -1.0]}, "d: tenant_requests.mw_it must be > 0 (row 1: -1)"),
    ({"wait_days": [0.0, -1.0]}, "d: tenant_requests.wait_days must be >= 0 (row 1: -1)"),
    ({"usd_per_kw_month": [120.0, np.nan]},
     "d: tenant_requests.usd_per_kw_month is not finite (first at row 1: nan)"),
    ({"usd_per_kw_month": [120.0, np.nan], "term_days": [100.0, np.inf], "day": [-1, 5]},
     "d: tenant_requests.term_days is not finite (first at row 1: inf)"),
])
def test_a_bad_request_names_its_column_and_row(change, says):
    """'mw_it and term_days must be > 0' named no column; 'holds NaN or infinite values' no
    column and no row."""
    good = dict(day=[1, 5], mw_it=[10.0, 20.0], term_days=[100.0, 100.0],
                usd_per_kw_month=[120.0, 120.0], wait_days=[0.0, 0.0])
    for table in (pd.DataFrame({**good, **change}), pd.DataFrame({**good, **change}).astype({"day": float})):
        with pytest.raises(UserError) as refused:  # in the contract's dtypes, and not
            validate_output({"tenant_requests": table}, ("tenant_requests",), 10, "d")
        assert str(refused.value) == says


@pytest.mark.parametrize("change", [
    {}, {"day": [5, 1]}, {"mw_it": [-1.0, 2.0]}, {"term_days": [0.0, 100.0]},
    {"usd_per_kw_month": [np.inf, 1.0]}, {"day": [1, 10]}, {"min_share": [0.5, 1.5]},
    {"phased": [0.0, 0.5]}, {"commence_days": [0.0, -1.0]}, {"commence_days": [np.inf, 0.0]}])
def test_a_table_is_checked_alike_in_the_contracts_dtypes_or_not(change):
    """A table already in the contract's dtypes is checked from one float array; the same
    table with an integer column goes column by column: same verdicts, same messages."""
    good = dict(day=[1, 5], mw_it=[10.0, 20.0], term_days=[100.0, 100.0],
                usd_per_kw_month=[120.0, 120.0], wait_days=[0.0, 0.0],
                min_share=[1.0, 1.0], phased=[0.0, 1.0], commence_days=[0.0, 30.0])
    contract = pd.DataFrame({**good, **change})
    other = contract.astype({"wait_days": "int64"})
    verdicts = []
    for table in (contract, other):
        try:
            verdicts.append(validate_output({"tenant_requests": table}, ("tenant_requests",), 10,
                                            "d")["tenant_requests"])
        except UserError as err:
            verdicts.append(str(err))
    if isinstance(verdicts[0], str):
        assert verdicts[0] == verdicts[1]
    else:
        pd.testing.assert_frame_equal(verdicts[0], verdicts[1])
        assert not change

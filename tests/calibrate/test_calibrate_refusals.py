"""`hashpivot-calibrate` on bad or too-short input: one line naming the flag and the file,
exit 2, nothing written; on unusual but valid input (offsets, hourly leases), a fit."""

import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim.calibrate.cli as cli
from history_files import HISTORY
from sim.calibrate.btc import fit_jump
from sim.calibrate.fit import covariance, delta_se
from sim.calibrate.power import fit_power
from sim.processes.history import read_epochs
from sim.processes.series import read_daily, read_dated

BTC = str(HISTORY / "btc_daily.csv")


def refused(tmp_path, capsys, args) -> str:
    """Return the one line of a refused run, having checked it wrote nothing."""
    assert cli.main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hashpivot-calibrate: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    return err


def daily(tmp_path, name: str, column: str, values, start="2022-01-01") -> str:
    """Return the path of a daily CSV of `values` from `start`."""
    dates = pd.date_range(start, periods=len(values), freq="D").strftime("%Y-%m-%d")
    path = tmp_path / name
    pd.DataFrame({"date": dates, column: values}).to_csv(path, index=False)
    return str(path)


def btc_with(tmp_path, price: str) -> str:
    """Return 400 real-looking closes with one replaced by `price`."""
    closes = pd.read_csv(BTC).iloc[:400].astype({"close_usd": str})
    closes.loc[200, "close_usd"] = price
    closes.to_csv(tmp_path / "btc.csv", index=False)
    return str(tmp_path / "btc.csv")


@pytest.mark.parametrize("values, fragment", [
    ([100.0], "1 close(s), 0 daily return(s); the fits need at least 366 closes (a year"),
    ([100.0, 101.0], "2 close(s), 1 daily return(s)"),
    ([100.0] * 4, "4 close(s), 3 daily return(s)"),
    ([100.0] * 400, "the 399 daily returns are all equal: no volatility to fit"),
])
def test_too_few_or_constant_closes_are_refused(tmp_path, capsys, values, fragment):
    path = daily(tmp_path, "btc.csv", "close_usd", values)
    assert f"--btc={path}: {fragment}" in refused(tmp_path, capsys, ["--btc", path])


@pytest.mark.parametrize("price", ["1e308", "1e-300"])
def test_an_absurd_close_gives_a_refusal_naming_the_parameter(tmp_path, capsys, price):
    path = btc_with(tmp_path, price)
    err = refused(tmp_path, capsys, ["--btc", path])
    assert f"--btc={path}: the fitted drift_per_year is inf, not a finite number" in err


@pytest.mark.parametrize("values", [[40.0], [40.0, 55.0], [40.0, 55.0, 47.0],
                                    list(50 * np.exp(np.random.default_rng(0).normal(0, .1, 30))),
                                    [50.0] * 365])
def test_power_under_a_year_is_refused(tmp_path, capsys, values):
    path = daily(tmp_path, "power.csv", "usd_per_mwh", values)
    err = refused(tmp_path, capsys, ["--power", path])
    assert f"--power={path}: {len(values)} day(s) of prices; the fit needs at least 366" in err


def test_constant_power_prices_are_refused(tmp_path, capsys):
    path = daily(tmp_path, "power.csv", "usd_per_mwh", [50.0] * 400)
    assert "prices never change" in refused(tmp_path, capsys, ["--power", path])


@pytest.mark.parametrize("text, fragment", [
    ("", "not a CSV file"),
    ("height,timestamp,difficulty\n", "0 row(s) of epochs; the fit needs at least 9 rows"),
    ("height,timestamp,difficulty\n0,1231006505,1\n", "1 row(s) of epochs"),
    (b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe", "not a CSV file"),
])
def test_bad_epoch_files_are_refused(tmp_path, capsys, text, fragment):
    path = tmp_path / "epochs.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    err = refused(tmp_path, capsys, ["--network", str(path), "--btc", BTC])
    assert f"--network={path}: {fragment}" in err


@pytest.mark.parametrize("options, fragment", [
    (["--network-since", "NaT"], "--network-since=NaT: must be a date YYYY-MM-DD"),
    (["--network-since", "20200101"], "--network-since=20200101: must be a date YYYY-MM-DD"),
    (["--fees-btc-per-block", "-1"], "--fees-btc-per-block=-1: must be a number of BTC >= 0"),
    (["--fees-btc-per-block", "nan"], "--fees-btc-per-block=nan: must be a number"),
    (["--network-model", "reference", "--network-since", "2021-01-01"],
     "--network-since=2021-01-01: only the economic model has a fit window"),
])
def test_bad_network_options_are_refused_by_flag(tmp_path, capsys, options, fragment):
    read_epochs(None).to_csv(tmp_path / "epochs.csv", index=False)
    err = refused(tmp_path, capsys, ["--btc", BTC, "--network", str(tmp_path / "epochs.csv"),
                                     *options])
    assert fragment in err


@pytest.mark.parametrize("options", [["--fees-btc-per-block", "0.1"],
                                     ["--network-since", "2021-01-01"],
                                     ["--network-model", "reference"]])
def test_network_options_without_network_are_refused_not_ignored(tmp_path, capsys, options):
    err = refused(tmp_path, capsys, ["--btc", BTC, *options])
    assert f"{options[0]}={options[1]}: only --network uses it" in err


def test_every_input_is_checked_before_any_fit(tmp_path, capsys, monkeypatch):
    """A power file too short to fit stops the command before the (slow) network fit."""
    def started(*args):
        raise AssertionError("a fit started")
    for name in ("fit_economic_network", "fit_gbm", "fit_jump", "fit_power"):
        monkeypatch.setattr(cli, name, started)
    read_epochs(None).to_csv(tmp_path / "epochs.csv", index=False)
    power = daily(tmp_path, "power.csv", "usd_per_mwh", [40.0, 55.0, 47.0])
    err = refused(tmp_path, capsys, ["--btc", BTC, "--network", str(tmp_path / "epochs.csv"),
                                     "--power", power])
    assert f"--power={power}: 3 day(s) of prices" in err


def test_a_lease_file_on_one_day_is_refused(tmp_path, capsys):
    path = tmp_path / "lease.csv"
    path.write_text("date,usd_per_kw_month\n2024-01-01 00:00,100\n2024-01-01 06:00,110\n"
                    "2024-01-01 12:00,120\n")
    err = refused(tmp_path, capsys, ["--lease", str(path)])
    assert f"--lease={path}: 3 row(s) on 1 day(s); at least 3 dated prices on different days" in err


def test_a_short_index_is_refused(tmp_path, capsys):
    path = daily(tmp_path, "gpu.csv", "usd_per_hour", [2.0, 2.1, 2.05, 2.2])
    assert "4 dated price(s); the fit needs at least 12" in refused(tmp_path, capsys,
                                                                    ["--gpu", path])


def monthly(months: int, drop: int | None = None) -> str:
    dates = pd.date_range("2020-01-01", periods=months, freq="MS")
    values = 100 * np.exp(np.random.default_rng(3).normal(0, 0.05, months))
    rows = [f"{d:%Y-%m-%d},{v:.3f}" for i, (d, v) in enumerate(zip(dates, values)) if i != drop]
    return "date,usd_per_kw_month\n" + "\n".join(rows) + "\n"


def test_a_missing_month_in_monthly_data_is_a_gap(tmp_path, capsys):
    """2020-10-01 to 2020-12-01: 61 days against the usual 30 or 31."""
    path = tmp_path / "lease.csv"
    path.write_text(monthly(36, drop=10))
    err = refused(tmp_path, capsys, ["--lease", str(path)])
    assert f"--lease={path}: row 12, column date: gap: 61 days after the row before" in err


@pytest.mark.parametrize("freq, periods", [("MS", 36), ("ME", 36), ("7D", 60), ("D", 90),
                                           ("QS", 16)])
def test_complete_regular_files_have_no_gap(tmp_path, freq, periods):
    dates = pd.date_range("2020-01-01", periods=periods, freq=freq)
    path = tmp_path / "lease.csv"
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "usd_per_kw_month": 100.0}).to_csv(
        path, index=False)
    assert len(read_dated(path, "usd_per_kw_month")) == periods


def test_hourly_lease_data_is_averaged_to_days(tmp_path, capsys):
    hours = pd.date_range("2024-01-01", periods=24 * 20, freq="h")
    values = 100 * np.exp(np.random.default_rng(1).normal(0, 0.02, len(hours)))
    path = tmp_path / "lease.csv"
    pd.DataFrame({"date": hours.strftime("%Y-%m-%d %H:%M"), "usd_per_kw_month": values}).to_csv(
        path, index=False)
    series = read_dated(path, "usd_per_kw_month")
    assert len(series) == 20 and series.iloc[0] == pytest.approx(values[:24].mean())
    assert cli.main(["--lease", str(path), "--out", str(tmp_path / "out")]) == 0
    assert "20 dated prices" in capsys.readouterr().out


def test_mixed_utc_offsets_are_converted_to_utc(tmp_path):
    """An hourly export across a daylight-saving change (Chicago, 2024-03-10) reads in UTC."""
    hours = pd.date_range("2024-03-09 18:00", periods=48, freq="h", tz="America/Chicago")
    text = hours.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(r"(\d\d)$", r":\1", regex=True)
    path = tmp_path / "power.csv"
    pd.DataFrame({"date": text, "usd_per_mwh": np.arange(48.0) + 1}).to_csv(path, index=False)
    series = read_daily(path, "usd_per_mwh", hourly=True)
    utc = hours.tz_convert("UTC")
    assert series.index[0] == np.datetime64("2024-03-10")  # 18:00 CST is 00:00 UTC
    assert series.iloc[0] == pytest.approx(np.mean(np.arange(48.0)[utc.day == 10] + 1))


def test_daily_closes_at_local_midnight_are_refused_showing_the_utc_time(tmp_path, capsys):
    path = tmp_path / "btc.csv"
    path.write_text("date,close_usd\n2013-01-01T00:00:00+01:00,13\n2013-01-02T00:00:00+02:00,14\n"
                    "2013-01-03T00:00:00+01:00,15\n")
    err = refused(tmp_path, capsys, ["--btc", str(path)])
    assert "row 2, column date: '2013-01-01T00:00:00+01:00' has a time of day (2012-12-31 23:00 " \
           "in UTC); daily prices expected" in err


def test_a_jump_fit_on_three_closes_has_unknown_not_zero_errors():
    closes = pd.Series([100.0, 110.0, 105.0], index=pd.date_range("2024-01-01", periods=3))
    fit = fit_jump(closes)
    assert all(error == math.inf for error in fit.errors.values()), fit.errors
    assert fit.period[2] == 2 and "2 daily returns" in fit.summary()


def test_spike_sizes_seen_on_under_three_days_are_not_fitted_nor_given_an_error():
    """Under 3 spike days the sizes are not fitted: they are the shipped option's, noted as
    not fitted, with no standard error (never 0; before, they were written as 0 ± inf)."""
    values = 50 * np.exp(np.random.default_rng(2).normal(0, 0.1, 370))
    fit = fit_power(pd.Series(values, index=pd.date_range("2022-01-01", periods=370)))
    assert fit.goodness["spike_days"] < 3
    for key in ("spike_log_mean", "spike_log_sd"):
        assert key not in fit.params and key not in fit.errors, key
        assert fit.written()[key][1].startswith("not fitted"), key


def test_a_singular_hessian_gives_infinite_covariance():
    cov = covariance(lambda x: float(x[0] ** 2), np.array([0.0, 1.0]))  # x[1] unidentified
    assert np.all(cov == np.inf)
    assert delta_se(lambda x: x[0], np.array([0.0, 1.0]), cov) == math.inf


def test_a_write_failure_leaves_nothing_new_and_names_the_real_path(tmp_path, capsys):
    blocked = tmp_path / "out/market/btc/fitted_jump.yaml"
    blocked.mkdir(parents=True)
    assert cli.main(["--btc", BTC, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == f"hashpivot-calibrate: error: {blocked}: a directory, not a file\n"
    left = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "out").rglob("*"))
    assert left == ["out/market", "out/market/btc", "out/market/btc/fitted_jump.yaml"]


def test_directories_made_before_a_failed_write_are_removed(tmp_path, capsys):
    (tmp_path / "out/market").mkdir(parents=True)
    (tmp_path / "out/market/power").write_text("a file where a directory must go\n")
    power = str(HISTORY / "power_daily.csv")
    assert cli.main(["--btc", BTC, "--power", power, "--out", str(tmp_path / "out")]) == 2
    assert "out/market/power" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path / "out/market")) == ["power"]


ROW = st.tuples(st.sampled_from(["2024-01-01", "2024-01-02", "2024-02-30", "x", "", "2024-01-05",
                                 "2024-01-01T00:00:00+05:00", "2024-01-03 12:00"]),
                st.sampled_from(["1", "0", "-3", "nan", "inf", "1e308", "1e-300", "abc", "50"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flag=st.sampled_from(["btc", "power", "lease", "gpu", "network"]),
       header=st.sampled_from(["date,close_usd", "date,usd_per_mwh", "date,usd_per_kw_month",
                               "date,usd_per_hour", "height,timestamp,difficulty", "", "a"]),
       rows=st.lists(ROW, max_size=8), tail=st.binary(max_size=6))
def test_random_bad_files_are_one_line_refusals(tmp_path, capsys, flag, header, rows, tail):
    path = tmp_path / "random.csv"
    body = "\n".join(",".join(row) for row in rows)
    path.write_bytes(f"{header}\n{body}\n".encode() + tail)
    out = tmp_path / "random_out"
    extra = ["--btc", BTC] if flag == "network" else []
    assert cli.main([f"--{flag}", str(path), *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hashpivot-calibrate: error: --{flag}={path}") and err.count("\n") == 1
    assert not out.exists()


def test_an_out_that_is_a_file_is_refused_before_any_fit(tmp_path, capsys, monkeypatch):
    """Before: after the fits, `<out>/market/btc: Not a directory`, without the flag."""
    def started(*args):
        raise AssertionError("a fit started")
    for name in ("fit_gbm", "fit_jump"):
        monkeypatch.setattr(cli, name, started)
    taken = tmp_path / "some_file.csv"
    taken.write_text("a file\n")
    assert cli.main(["--btc", BTC, "--out", str(taken)]) == 2
    assert capsys.readouterr().err == (f"hashpivot-calibrate: error: --out={taken}: exists and "
                                       "is not a directory\n")
    assert taken.read_text() == "a file\n"


def test_a_trailing_empty_field_on_every_row_is_read_as_the_columns_named(tmp_path, capsys):
    """Before: pandas took the dates for an index, and '13.22' was 'not a date'."""
    closes = pd.read_csv(BTC).iloc[:400]
    path = tmp_path / "btc.csv"
    path.write_text("date,close_usd\n" + "".join(f"{d},{c}," + "\n" for d, c in closes.values))
    assert cli.main(["--btc", str(path), "--out", str(tmp_path / "out")]) == 0, \
        capsys.readouterr().err
    assert (tmp_path / "out/market/btc/fitted_gbm.yaml").exists()

"""The files and runs that the backtest's tests share: flat and alternating BTC files, the
command run on them, and Ctrl-C at a chosen moment."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.backtest import cli

REAL_BTC = Path("/work/shared/data/btc_daily.csv")


def run_on_flat_file(tmp_path, capsys, *options, column="close", first="2018-01-01",
                     dates="%Y-%m-%d") -> tuple[int, Path, str]:
    """Run the command on a flat BTC file from `first` to 2019-06-30 (its close column named
    `column`, its dates written as `dates`) with `options`; return (exit code, the file,
    what it printed on stderr)."""
    days = pd.date_range(first, "2019-06-30")
    btc = tmp_path / "btc.csv"
    pd.DataFrame({"date": days.strftime(dates), column: 4000.0}).to_csv(btc, index=False)
    code = cli.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
                     "--replications", "2", *options, "--out", str(tmp_path / "out")])
    return code, btc, capsys.readouterr().err.strip()


def refused(tmp_path, capsys, *options) -> tuple[Path, str]:
    """Assert that `run_on_flat_file` exits 2 with one line and writes nothing, and return
    (the file, that line)."""
    code, btc, err = run_on_flat_file(tmp_path, capsys, *options)
    assert code == 2 and err.count("\n") == 0 and not (tmp_path / "out").exists()
    return btc, err


def alternating_file(tmp_path, before: float, after: float, start="2019-01-01",
                     first="2017-01-01", skip=None) -> tuple[Path, pd.DataFrame]:
    """Write a BTC file from `first` to 2019-06-30 (without the day `skip`) whose daily log
    returns alternate +x, -x, +x, ... with x = `before` until `start` and `after` from it;
    return the file and its rows."""
    days = pd.date_range(first, "2019-06-30")
    days = days[days != pd.Timestamp(skip)] if skip else days
    size = np.where(days[1:] < pd.Timestamp(start), before, after)
    sign = np.where(np.arange(len(size)) % 2 == 0, 1.0, -1.0)
    log_close = np.concatenate([[0.0], np.cumsum(sign * size)])
    rows = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": 4000 * np.exp(log_close)})
    btc = tmp_path / "btc.csv"
    rows.to_csv(btc, index=False)
    return btc, rows


def alternating_gbm(x: float, n: int) -> dict:
    """Return the GBM maximum likelihood estimate of n daily log returns +x, -x, +x, ...
    in closed form: their mean is x/n for odd n (one +x unmatched), else 0, and their
    variance x² minus the mean's square; per year, dt = 1/365.25."""
    mean = x / n if n % 2 else 0.0
    sigma = np.sqrt((x ** 2 - mean ** 2) * 365.25)
    return {"drift_per_year": mean * 365.25 + sigma ** 2 / 2, "volatility_per_year": sigma}


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def caught(run, *args):
    """Return run(*args), failing the test (not ending the session) if Ctrl-C escapes it."""
    try:
        return run(*args)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C came out of the command: a traceback")


def outputs(folder: Path) -> dict:
    """Return {name: bytes} of every file in `folder`, hidden ones included."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}

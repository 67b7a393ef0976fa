"""sim.btc_closes: a user's daily BTC closes, read or refused in one line naming the file,
the row and the column, as every BTC reader of hashpivot reads them."""

from pathlib import Path

import numpy as np
import pytest

from sim.btc_closes import read_btc_csv
from sim.errors import UserError
from sim.processes.series import BTC_CLOSE_COLUMNS, read_daily

REAL_BTC = Path("/work/shared/data/btc_daily.csv")


@pytest.mark.parametrize("text, message", [
    ("date,close\n2019-01-01,3800\n2019-01-02,abc\n", "row 3, column close: 'abc' is not a positive"),
    ("date,close\n2019-01-01,3800\n2019-01-01,3900\n", "row 3, column date"),
    ("date,close\n2019-13-01,3800\n", "row 2, column date: '2019-13-01' is not a date"),
    ("day,price\n2019-01-01,3800\n", r"row 1 \(header\): no column 'date'"),
    ("date,open\n2019-01-01,3800\n", r"no column 'close_usd' \(or close, price, btc_usd\)"),
    ("date,close_usd\n2019-01-01,-5\n", "row 2, column close_usd"),
    ("date,close\n2019-01-01,3800\n2019-01-02 13:00,3900\n", "row 3, column date: "
     "'2019-01-02 13:00' has a time of day; daily prices expected"),
    ("date,close\n2019-01-01T00:00:00+02:00,3800\n", "row 2, column date: "
     r"'2019-01-01T00:00:00\+02:00' has a time of day \(2018-12-31 22:00 in UTC\)"),
    ("", "not a CSV file"),
])
def test_bad_btc_files_are_named_by_file_row_and_column(tmp_path, text, message):
    path = tmp_path / "btc.csv"
    path.write_text(text)
    with pytest.raises(UserError, match=message) as err:
        read_btc_csv(path)
    assert str(err.value).startswith(f"--btc={path}: ")


@pytest.mark.parametrize("stamp", ["{}", "{} 00:00", "{}T00:00:00", "{} 00:00:00.000",
                                   "{} 00:00+00:00", "{}T00:00:00Z", "{}T02:00:00+02:00"])
def test_a_date_at_midnight_utc_reads_as_its_day(tmp_path, stamp):
    """Before: a date with a UTC offset was 'not a date YYYY-MM-DD' to hashpivot-backtest,
    though hashpivot-calibrate --btc and market/btc=bootstrap read it (in UTC)."""
    path = tmp_path / "btc.csv"
    path.write_text("date,close\n" + "".join(f"{stamp.format(d)},{p}\n" for d, p in
                                             (("2019-01-01", 3800), ("2019-01-02", 3900))))
    closes = read_btc_csv(path)
    assert list(closes.index.astype(str)) == ["2019-01-01", "2019-01-02"]
    assert list(closes) == [3800.0, 3900.0]


@pytest.mark.parametrize("text", [
    "date,close\n2019-01-01 00:00+00:00,3800\n2019-01-02T00:00:00Z,3900\n",
    "date, price\n2019-01-01, 3800\n2019-01-02, 3900\n",
    "date,close\n2019-01-01,3800\n2019-01-02 13:00,3900\n",
    "date,close\n2019-01-01,3800\n2019-01-01,3900\n",
    "date,close\n2019-01-02,3800\n2019-01-01,3900\n",
    "date,close\n2019-01-01,0\n",
    "date,close\n2019-02-30,3800\n",
    "date,open\n2019-01-01,3800\n",
    "date,close\n",
])
def test_the_backtest_reads_a_file_as_the_other_btc_readers_do(tmp_path, text):
    """hashpivot-backtest, hashpivot-calibrate --btc and market/btc=bootstrap read a file
    with one reader (`read_daily`): the same closes, or the same refusal, flagged --btc."""
    path = tmp_path / "btc.csv"
    path.write_text(text)
    try:
        expected = read_daily(path, BTC_CLOSE_COLUMNS)
    except UserError as err:
        with pytest.raises(UserError) as refused:
            read_btc_csv(path)
        assert str(refused.value) == f"--btc={err}"
        return
    closes = read_btc_csv(path)
    assert closes.index.equals(expected.index) and list(closes) == list(expected)


def test_a_gap_is_left_to_the_days_the_backtest_reads(tmp_path):
    """The one difference: a missing day outside what a backtest replays or scores is no
    concern of it (`check_btc_covers` refuses one inside)."""
    path = tmp_path / "btc.csv"
    path.write_text("date,close\n2019-01-01,3800\n2019-01-03,3900\n")
    closes = read_btc_csv(path)
    assert list(closes.index.astype(str)) == ["2019-01-01", "2019-01-03"]
    with pytest.raises(UserError, match="row 3, column date: gap"):
        read_daily(path, BTC_CLOSE_COLUMNS)


@pytest.mark.skipif(not REAL_BTC.exists(), reason="the BTC history is not shipped")
def test_the_real_btc_history_reads_whole():
    closes = read_btc_csv(REAL_BTC)
    assert len(closes) == 4981 and closes.index[0] == np.datetime64("2013-01-01")


# --- a CSV whose rows end in a comma --------------------------------------------------------
@pytest.mark.parametrize("header", ["date,close_usd", "date,close_usd,"])
def test_a_trailing_empty_field_on_every_row_reads_as_the_columns_named(tmp_path, header):
    """An empty field after the last column (a trailing comma, as spreadsheets export) is
    harmless: every value lies under its header. Before, without one in the header, pandas
    took the dates for an index and reported '13.22' in column date."""
    btc = tmp_path / "btc.csv"
    btc.write_text(f"{header}\n2013-01-01,13.22,\n2013-01-02,13.09,\n")
    closes = read_btc_csv(btc)
    assert list(closes.index.astype(str)) == ["2013-01-01", "2013-01-02"]
    assert list(closes) == [13.22, 13.09]


def test_a_value_past_the_headers_columns_is_refused_naming_its_row(tmp_path):
    """A value there cannot be placed: pandas would drop it, or shift the columns."""
    btc = tmp_path / "btc.csv"
    btc.write_text("date,close_usd\n2013-01-01,13.22,\n2013-01-02,13.09,7\n")
    with pytest.raises(UserError) as err:
        read_btc_csv(btc)
    assert str(err.value) == (f"--btc={btc}: row 3: '7' lies past the header's 2 columns (a row "
                              "may have at most one more field, empty: a trailing comma)")

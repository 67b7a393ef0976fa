"""A user's price CSV: every fault is one line naming the file, the row and the column."""

import numpy as np
import pytest

from sim.errors import UserError
from sim.processes.series import BTC_CLOSE_COLUMNS, read_dated, read_daily

GOOD = "date,close_usd\n2024-01-01,10\n2024-01-02,11\n2024-01-03,12\n"


def write(tmp_path, text: str):
    path = tmp_path / "prices.csv"
    path.write_text(text)
    return path


def test_a_good_file_reads_as_consecutive_days(tmp_path):
    series = read_daily(write(tmp_path, GOOD), "close_usd")
    assert series.tolist() == [10, 11, 12]
    assert series.index[0] == np.datetime64("2024-01-01")


def test_hours_are_averaged_to_days(tmp_path):
    text = "date,usd_per_mwh\n2024-01-01 00:00,10\n2024-01-01 01:00,30\n2024-01-02 00:00,5\n"
    series = read_daily(write(tmp_path, text), "usd_per_mwh", hourly=True)
    assert series.tolist() == [20, 5]


def test_an_hour_may_be_negative_while_its_day_averages_positive(tmp_path):
    # wholesale power (ERCOT) often is, at night or in wind
    text = ("date,usd_per_mwh\n2024-01-01 00:00,-12.5\n2024-01-01 01:00,30.5\n"
            "2024-01-02 00:00,0\n2024-01-02 01:00,8\n")
    series = read_daily(write(tmp_path, text), "usd_per_mwh", hourly=True)
    assert series.tolist() == [9, 4]


@pytest.mark.parametrize("text, fragment", [
    ("date,usd_per_mwh\n2024-01-01 00:00,10\n2024-01-02 00:00,-3\n2024-01-02 01:00,1\n",
     "row 3, column usd_per_mwh: the prices of 2024-01-02 average -1; an hour may be negative, "
     "a day's mean must be positive"),
    ("date,usd_per_mwh\n2024-01-01 00:00,10\n2024-01-01 01:00,inf\n",
     "row 3, column usd_per_mwh: 'inf' is not a finite price"),
])
def test_an_hourly_file_is_refused_at_a_day_that_is_not_positive_or_an_hour_not_finite(
        tmp_path, text, fragment):
    with pytest.raises(UserError, match=fragment):
        read_daily(write(tmp_path, text), "usd_per_mwh", hourly=True)


def _hours(day: str, hours) -> str:
    return "".join(f"{day} {hour:02d}:00,{10 + hour}\n" for hour in hours)


def test_an_hourly_day_short_of_the_files_hours_is_refused(tmp_path):
    """A day keeping 1 of its 24 hours was averaged as a whole day, without a word (an
    audit); a day an hour short (daylight saving in local time) and a file that starts or
    ends within a day pass."""
    whole = range(24)
    text = ("date,usd_per_mwh\n" + _hours("2024-01-01", range(20, 24)) + _hours("2024-01-02", whole)
            + _hours("2024-01-03", [5]) + _hours("2024-01-04", whole) + _hours("2024-01-05", [0]))
    with pytest.raises(UserError, match=r"row 30, column date: 2024-01-03 has 1 row where the "
                                        r"file's days have 24; its mean would stand for hours it "
                                        r"lacks: fill them or remove the day"):
        read_daily(write(tmp_path, text), "usd_per_mwh", hourly=True)
    daylight = text.replace(_hours("2024-01-03", [5]), _hours("2024-01-03", range(23)))
    assert len(read_daily(write(tmp_path, daylight), "usd_per_mwh", hourly=True)) == 5


@pytest.mark.parametrize("text, fragment", [
    ("day,close_usd\n2024-01-01,1\n", "row 1 (header): no column 'date'"),
    ("date,price\n2024-01-01,1\n", "row 1 (header): no column 'close_usd'"),
    ("date,close_usd\n2024-01-01,1\n2024-13-01,2\n", "row 3, column date: '2024-13-01' is not a date"),
    ("date,close_usd\n2024-01-01,1\n2024-01-01,2\n", "row 3, column date: duplicate date"),
    ("date,close_usd\n2024-01-02,1\n2024-01-01,2\n", "row 3, column date: date earlier"),
    ("date,close_usd\n2024-01-01,1\n2024-01-02,0\n", "row 3, column close_usd: '0' is not a positive"),
    ("date,close_usd\n2024-01-01,1\n2024-01-02,abc\n", "row 3, column close_usd: 'abc'"),
    ("date,close_usd\n2024-01-01,1\n2024-01-02,2\n2024-01-05,3\n", "row 4, column date: gap"),
    ("date,close_usd\n2024-01-01 10:00,1\n", "row 2, column date: '2024-01-01 10:00' has a time"),
])
def test_each_fault_names_the_file_row_and_column(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as err:
        read_daily(path, "close_usd")
    message = str(err.value)
    assert message.startswith(f"{path}: ") and fragment in message and "\n" not in message


def test_with_gaps_a_missing_day_is_left_to_the_caller(tmp_path):
    """hashpivot-backtest reads its --btc file so: it refuses a gap only among the days it
    replays or scores."""
    path = write(tmp_path, "date,close_usd\n2024-01-01,1\n2024-01-02,2\n2024-01-05,3\n")
    series = read_daily(path, "close_usd", gaps=True)
    assert list(series.index.astype(str)) == ["2024-01-01", "2024-01-02", "2024-01-05"]
    assert series.tolist() == [1, 2, 3]


@pytest.mark.parametrize("text", [
    "date,close\n2024-01-01,10\n2024-01-02,11\n",
    "Date, Close_USD\n2024-01-01,10\n2024-01-02,11\n",  # case and spaces aside
    "date,btc_usd,volume\n2024-01-01,10,5\n2024-01-02,11,5\n",
    "date,price\n2024-01-01,10\n2024-01-02,11\n",
])
def test_a_btc_close_column_may_have_any_of_its_names(tmp_path, text):
    assert read_daily(write(tmp_path, text), BTC_CLOSE_COLUMNS).tolist() == [10, 11]


def test_the_documented_btc_close_column_wins_over_its_other_names(tmp_path):
    text = "date,close,close_usd\n2024-01-01,1,10\n2024-01-02,2,11\n"
    assert read_daily(write(tmp_path, text), BTC_CLOSE_COLUMNS).tolist() == [10, 11]


def test_a_file_without_any_btc_close_column_is_told_every_name(tmp_path):
    with pytest.raises(UserError, match=r"row 1 \(header\): no column 'close_usd' \(or close, "
                                        r"price, btc_usd\) \(columns: date, open\)$"):
        read_daily(write(tmp_path, "date,open\n2024-01-01,1\n"), BTC_CLOSE_COLUMNS)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(UserError, match=r"nope\.csv: no such file$"):
        read_daily(tmp_path / "nope.csv", "close_usd")
    with pytest.raises(UserError, match=r"nope: a directory, not a file$"):
        read_daily((tmp_path / "nope").mkdir() or tmp_path / "nope", "close_usd")


def test_dated_series_take_any_regular_step_but_no_gap(tmp_path):
    monthly = "date,usd_per_hour\n2024-01-01,2\n2024-02-01,2\n2024-03-01,2\n2024-04-01,2\n"
    assert len(read_dated(write(tmp_path, monthly), "usd_per_hour")) == 4
    gap = monthly.replace("2024-03-01", "2024-03-02").replace("2024-04-01", "2024-09-01")
    with pytest.raises(UserError, match=r"row 5, column date: gap"):
        read_dated(write(tmp_path, gap), "usd_per_hour")

"""The synthetic histories (tests/data/README.md) that the file-reading options need in tests."""

from pathlib import Path

HISTORY = Path(__file__).resolve().parent / "data"
#: Overrides pointing each shipped option that reads a user's file at a synthetic one.
HISTORY_FILES = {"market/btc=bootstrap": [f"market.btc.file={HISTORY / 'btc_daily.csv'}"],
                 "market/power=history": [f"market.power.file={HISTORY / 'power_daily.csv'}"]}

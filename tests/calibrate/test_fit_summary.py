"""The printed report of a fit (sim.calibrate.fit.Fit.summary) against the option it writes."""

from sim.calibrate.fit import Fit


def test_the_report_spells_a_kept_null_as_the_written_option_does():
    """A network fit printed start_epoch_elapsed_days as None, which the YAML it writes, and an
    override, spell null."""
    fit = Fit("network", "fitted", "sim.processes.network_economic.EconomicNetwork",
              params={"payback_target_days": 480.0}, errors={"payback_target_days": 20.0},
              period=("2016-01-01", "2025-11-27", 120), goodness={}, method="test",
              shipped="economic")
    line = next(line for line in fit.summary().splitlines()
                if line.split()[:1] == ["start_epoch_elapsed_days"])
    assert line.split()[1] == "null"
    assert "None" not in fit.summary()
    assert fit.written()["start_epoch_elapsed_days"][0] is None  # the value itself: YAML's null

"""Demand response pays for enrolled capacity, and the operator's events stop exactly the enrolled MW."""

import numpy as np
import pytest

import sim
from sim import demand_response
from sim.cli import main
from sim.config_checks import settings
from sim.config_objects import build_strategies
from sim.economics import DAYS_PER_YEAR
from sim.errors import UserError
from sim.ledger import CATEGORIES, Account
from sim.site import simulate

QUIET = ["strategy=stay_mining", "fleet.upgrade_every_years=null", "fleet.failure_rate_per_year=0",
         "run.horizon_years=1"]
TH_PER_MW = 1e6 / (17.5 * 1.05)
P_STAR = 40 / 1000 * 0.98 / (17.5 * 24e-6 * 1.05)  # spot above which the S21 fleet curtails


def account(cfg, replication=0):
    world = sim.sample_world(cfg, replication)
    strategy = next(iter(build_strategies(cfg).values()))
    return Account(cfg, world, simulate(cfg, world, strategy))


def totals(acc):
    return dict(zip(CATEGORIES, acc.monthly.sum(axis=1)))


def test_economic_curtailment_alone_earns_nothing(compose_constant):
    cfg = compose_constant(*QUIET, f"market.power.usd_per_mwh={P_STAR * 1.5}")
    acc = account(cfg)
    assert acc.curtailed_mwh == pytest.approx(100 * 24 * 365)  # the whole year is curtailed
    assert totals(acc)["demand_response"] == 0


def test_enrolled_capacity_earns_exactly_its_payment(compose_constant):
    cfg = compose_constant(*QUIET, "site.power.demand_response.enrolled_mw=20",
                           "site.power.demand_response.usd_per_mw_hour=7.5",
                           "site.power.demand_response.events_per_year=0")
    acc = account(cfg)
    assert totals(acc)["demand_response"] == pytest.approx(20 * 24 * 7.5 * 365, rel=1e-12)
    assert acc.curtailed_mwh == 0  # no event, spot below breakeven: nothing stops
    # Enrolled while curtailed for price: still paid, nothing more stops.
    curtailed = compose_constant(*QUIET, "site.power.demand_response.enrolled_mw=20",
                                 "site.power.demand_response.usd_per_mw_hour=7.5",
                                 f"market.power.usd_per_mwh={P_STAR * 1.5}")
    acc = account(curtailed)
    assert totals(acc)["demand_response"] == pytest.approx(20 * 24 * 7.5 * 365, rel=1e-12)
    assert acc.curtailed_mwh == pytest.approx(100 * 24 * 365)


def test_event_days_curtail_exactly_the_enrolled_mw_for_the_stated_hours(compose_constant):
    dr = ["site.power.demand_response.enrolled_mw=30", "site.power.demand_response.events_per_year=40",
          "site.power.demand_response.event_hours=6", "site.power.demand_response.usd_per_mw_hour=0"]
    base = account(compose_constant(*QUIET))
    cfg = compose_constant(*QUIET, *dr)
    acc = account(cfg)
    hours = demand_response.draw_event_hours(cfg.site.power.demand_response, acc.n_days, cfg.run.seed,
                                             0, False)
    event_days = int(np.count_nonzero(hours))
    assert 20 < event_days < 65 and set(np.unique(hours)) == {0.0, 6.0}
    lost_mwh = 30 * 6 * event_days
    assert acc.curtailed_mwh - base.curtailed_mwh == pytest.approx(lost_mwh, rel=1e-12)
    a, b = totals(acc), totals(base)
    assert b["mining_revenue"] - a["mining_revenue"] == pytest.approx(
        lost_mwh * TH_PER_MW / 1000 * 40 / 24, rel=1e-9)
    assert a["power_cost"] - b["power_cost"] == pytest.approx(lost_mwh * 40, rel=1e-9)
    # The timeline shows the stopped MW as curtailed, for their share of each event day.
    stopped = acc.timeline_daily[1] - base.timeline_daily[1]
    np.testing.assert_allclose(stopped, 30 * hours / 24, atol=1e-9)


def test_the_event_days_belong_to_the_replication_not_the_strategy(compose_constant):
    terms = compose_constant(*QUIET).site.power.demand_response
    terms.events_per_year = 10
    first = demand_response.draw_event_hours(terms, 3653, seed=7, replication=3, deterministic=False)
    again = demand_response.draw_event_hours(terms, 3653, seed=7, replication=3, deterministic=False)
    other = demand_response.draw_event_hours(terms, 3653, seed=7, replication=4, deterministic=False)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    expected = demand_response.draw_event_hours(terms, 3653, seed=7, replication=3, deterministic=True)
    np.testing.assert_allclose(expected, 10 / DAYS_PER_YEAR * terms.event_hours)


def test_the_enrolment_is_capped_by_the_mw_still_mining():
    mining = np.array([100.0, 60.0, 10.0, 0.0])
    assert demand_response.enrolled_mw_by_day(30.0, mining).tolist() == [30, 30, 10, 0]
    # MW curtailed for price count first; only the rest of the enrolled MW stop running.
    share = demand_response.stopped_share(np.array([30.0, 30.0, 30.0]), np.array([100.0, 20.0, 0.0]),
                                          np.array([0.0, 40.0, 100.0]), np.full(3, 12.0))
    np.testing.assert_allclose(share, [30 / 100 / 2, 0.0, 0.0])
    share = demand_response.stopped_share(np.array([30.0]), np.array([50.0]), np.array([10.0]),
                                          np.array([24.0]))
    np.testing.assert_allclose(share, [20 / 50])


def test_a_converted_site_enrols_only_what_still_mines(compose_constant):
    cfg = compose_constant("strategy=convert_all", "fleet.upgrade_every_years=null", "site.crews=10",
                           "fleet.failure_rate_per_year=0", "run.horizon_years=1",
                           "site.power.demand_response.enrolled_mw=50")
    assert totals(account(cfg))["demand_response"] == 0  # every block leaves mining on day 0


def test_more_enrolled_mw_than_the_grid_is_refused(compose_constant):
    with pytest.raises(UserError, match=r"site.power.demand_response.enrolled_mw=150: must be in \[0, 100\]"):
        settings(compose_constant(*QUIET, "site.power.demand_response.enrolled_mw=150"))


def test_the_old_per_mwh_key_is_refused_naming_its_replacement(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["run.replications=1", "run.horizon_years=1", "run.progress=false",
                 "site.power.demand_response_usd_per_mwh=10", f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert err.startswith("hashpivot: error: site.power.demand_response_usd_per_mwh")
    assert "site.power.demand_response.enrolled_mw" in err and "usd_per_mw_hour" in err

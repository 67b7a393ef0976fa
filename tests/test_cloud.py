"""Contracted GPU cloud: the contract's cash against sums done by hand, and its value at the horizon."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

import sim
from sim import cloud
from sim.config_objects import build_strategies
from sim.economics import DAYS_PER_MONTH, DAYS_PER_YEAR
from sim.ledger import CATEGORIES, Account
from sim.record import CloudContract, GpuLot
from sim.site import simulate

QUIET = ["fleet.upgrade_every_years=null", "fleet.failure_rate_per_year=0"]
# Ten crews take every block on day 0; each is ready on day 30 + 335 = 365.
CLOUD_SITE = ["strategy=convert_all", "strategy.convert_all.use=cloud", "site.crews=10",
              "site.conversion.retrofit_days=fixed:335", "site.conversion.capex_usd_per_mw_it=fixed:9e6"]
GPUS = 100 / 1.3 * 780  # the default site: 100 MW of grid at pue_ai 1.3, 780 GPUs per MW of IT


def account(cfg):
    world = sim.sample_world(cfg, 0)
    strategy = next(iter(build_strategies(cfg).values()))
    return Account(cfg, world, simulate(cfg, world, strategy))


def totals(acc):
    return dict(zip(CATEGORIES, acc.monthly.sum(axis=1)))


def terms(price=3.0, years=1.0, take_or_pay=1.0, prepay=0.2):
    return SimpleNamespace(usd_per_gpu_hour=price, term_years=years, take_or_pay_share=take_or_pay,
                           prepayment_share=prepay)


def test_a_contract_pays_its_price_for_its_term_then_the_hall_rents_at_market(compose_constant):
    # Market: $2.00/h at 75% utilisation. Contract: $3.00/h on every hour for one year.
    cfg = compose_constant(*CLOUD_SITE, *QUIET, "run.horizon_years=3",
                           "site.cloud.contract.usd_per_gpu_hour=3.0", "site.cloud.contract.term_years=1")
    acc = account(cfg)
    term_days = math.ceil(365 + DAYS_PER_YEAR) - 365  # paid from day 365 to ceil(730.25) - 1
    merchant_days = acc.n_days - 365 - term_days
    contracted_usd = GPUS * 24 * 3.0 * term_days
    assert acc.cloud_contract_daily.sum() == pytest.approx(contracted_usd, rel=1e-12)
    assert totals(acc)["cloud_revenue"] == pytest.approx(
        contracted_usd + GPUS * 24 * 2.0 * 0.75 * merchant_days, rel=1e-12)
    # The prepayment, 20% of the value, arrives on the first day, and is netted day by day.
    prepayment = 0.2 * GPUS * 24 * 3.0 * DAYS_PER_YEAR
    daily = acc.cloud_contract_daily
    assert daily[365] == pytest.approx(prepayment + GPUS * 24 * 3.0 - prepayment / term_days)
    assert daily[366] == pytest.approx(GPUS * 24 * 3.0 - prepayment / term_days)
    assert daily[:365].sum() == 0 and daily[365 + term_days:].sum() == 0
    # The contract ended within the horizon: nothing of it is left to value.
    assert acc._cloud_contract_value_usd() == 0


def test_without_a_price_the_cloud_is_merchant_only(compose_constant):
    cfg = compose_constant(*CLOUD_SITE, *QUIET, "run.horizon_years=2")
    acc = account(cfg)
    assert acc.record.cloud_contracts == ()
    assert not acc.cloud_contract_daily.any()
    assert totals(acc)["cloud_revenue"] == pytest.approx(GPUS * 24 * 2.0 * 0.75 * (acc.n_days - 365))


def test_the_customer_pays_for_the_hours_it_uses_and_at_least_the_take_or_pay_share():
    low = cloud.sign(terms(take_or_pay=0.5), day=0.0, gpus=100.0, grid_mw=1.0, utilisation=0.75)
    high = cloud.sign(terms(take_or_pay=0.9), day=0.0, gpus=100.0, grid_mw=1.0, utilisation=0.75)
    assert low.paid_share == 0.75 and high.paid_share == 0.9
    # The prepayment is a share of the guaranteed value only.
    assert low.prepayment_usd == pytest.approx(0.2 * 100 * 24 * 3.0 * 0.5 * DAYS_PER_YEAR)


def test_a_whole_term_pays_the_contract_value_prepayment_included():
    contract = cloud.sign(terms(price=2.5, years=5.0), day=10.4, gpus=1000.0, grid_mw=2.6,
                          utilisation=0.7)
    first, end = cloud.paid_days(contract)
    assert (first, end) == (11, math.ceil(10.4 + 5 * DAYS_PER_YEAR))
    cash = cloud.cash_usd_by_day(contract, end + 5)
    assert cash.sum() == pytest.approx(cloud.value_usd(contract), rel=1e-12)
    assert cloud.value_usd(contract) == pytest.approx(1000 * 24 * 2.5 * (end - first), rel=1e-12)
    assert cloud.contracted_gpus_by_day([contract, contract], end + 1)[[10, 11, end - 1, end]].tolist() == \
        [0, 2000, 2000, 0]


def test_iren_microsoft_terms_reproduce_the_published_contract_value():
    """docs/model.md, Real deals: 200 MW of IT, about 500 GB300s per MW, $2.21 per GPU-hour, 5 years."""
    contract = cloud.sign(terms(price=2.21, years=5.0), day=0.0, gpus=200 * 500, grid_mw=260.0,
                          utilisation=0.75)
    assert cloud.value_usd(contract) == pytest.approx(9.7e9, rel=0.02)
    assert contract.prepayment_usd == pytest.approx(0.2 * 9.7e9, rel=0.02)


def test_the_value_after_the_horizon_is_the_net_cash_to_come_discounted_by_month():
    contract = CloudContract(start_day=100.0, end_day=500.0, gpus=10.0, grid_mw=0.1,
                             usd_per_gpu_hour=2.0, paid_share=1.0, prepayment_usd=4000.0)
    net = 10 * 24 * 2.0 - 4000 / 400 - 50.0
    assert cloud.value_after_horizon_usd(contract, 300, 50.0, 0.0) == pytest.approx(net * 200)
    # By hand: day k after the horizon falls in month floor(k / 30.4375), discounted from month 1.
    by_hand = sum(net * 1.08 ** (-(math.floor(k / DAYS_PER_MONTH) + 1) / 12) for k in range(200))
    assert cloud.value_after_horizon_usd(contract, 300, 50.0, 0.08) == pytest.approx(by_hand, rel=1e-12)
    assert cloud.value_after_horizon_usd(contract, 500, 50.0, 0.08) == 0


def test_a_contract_running_past_the_horizon_is_valued_and_its_gpus_sold_when_it_ends(compose_constant):
    cfg = compose_constant(*CLOUD_SITE, *QUIET, "run.horizon_years=2", "site.blocks=1",
                           "site.cloud.contract.usd_per_gpu_hour=3.0", "site.cloud.contract.term_years=3")
    acc = account(cfg)
    n = acc.n_days
    (contract,) = acc.record.cloud_contracts
    cost = GPUS * 24 * 0.25 + 100 * 24 * 40.0  # opex on every GPU-hour, the halls' power at spot
    assert acc._cloud_contract_value_usd() == pytest.approx(
        cloud.value_after_horizon_usd(contract, n, cost, 0.10), rel=1e-12)
    (lot,) = acc.record.gpu_lots
    assert lot.contracted_until == contract.end_day
    life_days = 5 * DAYS_PER_YEAR
    resale_at_end = lot.usd * (lot.day + life_days - contract.end_day) / life_days
    discount = 1.1 ** (-(contract.end_day - n) / DAYS_PER_YEAR)
    assert acc._gpu_lot_value_usd(lot) == pytest.approx(resale_at_end * discount, rel=1e-12)
    merchant_lot = GpuLot(day=lot.day, usd=lot.usd, life_days=lot.life_days)
    assert acc._gpu_lot_value_usd(merchant_lot) == pytest.approx(
        lot.usd * (lot.day + life_days - n) / life_days, rel=1e-12)
    assert totals(acc)["terminal_value"] == pytest.approx(
        acc._cloud_contract_value_usd() + acc._gpu_lot_value_usd(lot), rel=1e-12)


def test_contracted_cash_is_the_same_in_every_world(compose_small):
    """The contract ignores the market price: its cash depends on the build dates only."""
    cfg = compose_small(*CLOUD_SITE, *QUIET, "run.horizon_years=3", "site.conversion.decommission_days=fixed:30",
                        "site.cloud.contract.usd_per_gpu_hour=2.5")
    strategy = next(iter(build_strategies(cfg).values()))
    cash = [Account(cfg, w, simulate(cfg, w, strategy)).cloud_contract_daily
            for w in (sim.sample_world(cfg, 0), sim.sample_world(cfg, 1))]
    np.testing.assert_array_equal(cash[0], cash[1])
    assert cash[0].sum() > 0

"""The ledger: an engine record and a world turned into money, checked by hand sums.

(NPV, IRR, payback and peak funding are tested in test_economics.py.)
"""

import numpy as np
import pytest

import sim
from trained import QUICK_TRAINING, ready_strategies
from sim.config_checks import settings
from sim.fleet import FleetDecay
from sim.economics import DAYS_PER_MONTH
from sim.ledger import CATEGORIES, Account
from sim.record import Books, Counts, GpuLot, Lease, Record
from sim.site import simulate
from sim.world import month_starts


def test_month_starts_follow_the_calendar():
    date = np.datetime64("2027-01-15") + np.arange(60)
    starts = month_starts(date)
    assert list(date[starts].astype(str)) == ["2027-01-15", "2027-02-01", "2027-03-01"]


def test_the_ledger_reads_only_the_record_world_and_terms(compose_constant):
    """A record written by hand, no site: 10 MW mine for 100 days, then 5 MW of IT lease for 200."""
    cfg = compose_constant("strategy=stay_mining", "run.horizon_years=1", "run.terminal_value=contracted")
    world = sim.sample_world(cfg, 0)
    n = world.n_days
    books = Books(n)
    books.mining_mw(17.5, 0, 10.0, 10.0)
    books.mining_mw(17.5, 100, -10.0, -10.0)
    rent_usd_per_day = 5_000 * 120 / DAYS_PER_MONTH
    books.rate(books.rates.rent_usd_per_day, 100, rent_usd_per_day, 300)
    books.rate(books.rates.kw_it_leased, 100, 5_000.0, 300)
    books.lump(books.lumps.capex_gpu_usd, 50, -1e6)
    lease = Lease(start_day=300.0, end_day=400.0, rent_usd_per_day=1_000.0, kw_it=100.0)
    record = Record(n_days=n, block_mw=10.0, pue_mining=1.05, pue_ai=1.3, pool_fee=0.02,
                    decay=FleetDecay(0.0, replace_failures=True), rates=books.rates, lumps=books.lumps,
                    tranches=books.tranches(), leases=(lease,),
                    gpu_lots=(GpuLot(day=50.0, usd=1e6, life_days=730.5),),
                    counts=Counts(tenant_requests=1))
    acc = Account(cfg, world, record)
    t = dict(zip(CATEGORIES, acc.monthly.sum(axis=1)))
    th = 10 * 1e6 / (17.5 * 1.05)
    assert t["mining_revenue"] == pytest.approx(th / 1000 * 40 * 100, rel=1e-12)
    assert t["pool_fees"] == pytest.approx(-0.02 * th / 1000 * 40 * 100, rel=1e-12)
    assert -t["power_cost"] == pytest.approx(10 * 24 * 40 * 100, rel=1e-12)
    assert t["hosting_rent"] == pytest.approx(rent_usd_per_day * 200, rel=1e-12)
    assert -t["opex"] == pytest.approx((10 * 2_500 * 100 + 5_000 * 18 * 200) / DAYS_PER_MONTH, rel=1e-12)
    assert t["capex_gpu"] == -1e6
    # Terminal value: the lease's net rent after day n, by month (a whole one, then the rest),
    # discounted a month and two; plus the GPUs' unspent life; no fleet is left mining.
    net_per_month = (1_000 - 100 * 18 / DAYS_PER_MONTH) * DAYS_PER_MONTH
    rest = (400 - n - DAYS_PER_MONTH) / DAYS_PER_MONTH
    lease_left = net_per_month * (1.1 ** (-1 / 12) + rest * 1.1 ** (-2 / 12))
    gpu_left = 1e6 * (50 + 730.5 - n) / 730.5
    assert n == 365 and t["terminal_value"] == pytest.approx(lease_left + gpu_left, rel=1e-12)
    assert acc.summary()["tenant_requests"] == 1


def test_what_accounts_keep_on_their_world_leaves_the_next_account_as_on_a_fresh_world(compose_small):
    """The days each efficiency is curtailed are kept on the world for the next strategy: an
    account after others on the same world is the account alone, bit for bit."""
    cfg = compose_small("strategy=stay_mining", "run.horizon_years=2")

    def record(n, j_per_th):
        books = Books(n)
        books.mining_mw(j_per_th, 0, 10.0, 10.0)
        books.mining_mw(15.0, 200, 5.0, 5.0)
        return Record(n_days=n, block_mw=10.0, pue_mining=1.05, pue_ai=1.3, pool_fee=0.02,
                      decay=FleetDecay(0.001, replace_failures=False), rates=books.rates,
                      lumps=books.lumps, tranches=books.tranches(), leases=(), gpu_lots=(),
                      counts=Counts())

    fresh, used = sim.sample_world(cfg, 3), sim.sample_world(cfg, 3)
    for j_per_th in (15.0, 38.0):
        Account(cfg, used, record(used.n_days, j_per_th)).summary()
    alone = Account(cfg, fresh, record(fresh.n_days, 38.0))
    after = Account(cfg, used, record(used.n_days, 38.0))
    assert 0 < alone.curtailed_mwh  # the old machines stop on some days
    assert alone.monthly.tobytes() == after.monthly.tobytes()
    assert repr(alone.summary()) == repr(after.summary())


def test_the_summary_reads_the_last_day_of_the_timeline_states_it_sums(compose_constant):
    """MW ready, leased and in the cloud on the last day: the summary's `mw_converted` is the
    timeline's last column summed over them, to the bit (0.1 + 0.2 + 0.3 rounds by its order),
    and the timeline's rows are the states of each day."""
    cfg = compose_constant("strategy=stay_mining", "run.horizon_years=1")
    world = sim.sample_world(cfg, 0)
    n = world.n_days
    books = Books(n)
    books.mining_mw(17.5, 0, 10.0, 10.0)
    for rate, mw in ((books.rates.mw_ready, 0.1), (books.rates.mw_leased, 0.2), (books.rates.mw_cloud, 0.3)):
        books.rate(rate, 100, mw, n + 10)
    record = Record(n_days=n, block_mw=10.0, pue_mining=1.05, pue_ai=1.3, pool_fee=0.02,
                    decay=FleetDecay(0.0, replace_failures=False), rates=books.rates, lumps=books.lumps,
                    tranches=books.tranches(), leases=(), gpu_lots=(), counts=Counts())
    acc = Account(cfg, world, record)
    mw_converted = acc.summary()["mw_converted"]
    assert np.float64(mw_converted).tobytes() == np.float64(acc.timeline_daily[3:, -1].sum()).tobytes()
    assert mw_converted == (0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3)
    states = [acc.rates.mw_converting, acc.rates.mw_ready, acc.rates.mw_leased, acc.rates.mw_cloud]
    assert acc.timeline_daily.shape == (6, n)
    assert all(row.tobytes() == state.tobytes() for row, state in zip(acc.timeline_daily[2:], states))


def test_accounts_of_two_fleets_terms_on_one_world_are_each_as_on_a_fresh_world(compose_small):
    """Accounts of two fleets' terms on one world, in turn: each is its account on a fresh copy
    of the world (nothing an account leaves on the world, its ASIC prices included, carries
    the other terms)."""
    cfgs = [settings(compose_small("strategy=stay_mining", "run.horizon_years=2",
                                   f"fleet.frontier_date={date}")) for date in ("2024-01-01", "2022-01-01")]
    used = sim.sample_world(cfgs[0], 3)
    books = Books(used.n_days)
    books.mining_mw(17.5, 0, 10.0, 10.0)
    record = Record(n_days=used.n_days, block_mw=10.0, pue_mining=1.05, pue_ai=1.3, pool_fee=0.02,
                    decay=FleetDecay(0.001, replace_failures=True), rates=books.rates, lumps=books.lumps,
                    tranches=books.tranches(), leases=(), gpu_lots=(), counts=Counts())
    summaries = [repr(Account(cfg, used, record).summary()) for cfg in (*cfgs, cfgs[0])]
    alone = [repr(Account(cfg, sim.sample_world(cfgs[0], 3), record).summary()) for cfg in (*cfgs, cfgs[0])]
    assert summaries == alone and summaries[0] != summaries[1]


def test_the_timeline_is_each_state_summed_by_month_and_the_cover_to_the_last_bit(compose_small):
    """Every strategy's timeline, against the states of each day stacked, summed by month as one
    array and divided by the days of each month, next to the financing's trailing DSCR."""
    cfg = compose_small("run.horizon_years=3", *QUICK_TRAINING)
    world = sim.sample_world(cfg, 0)
    covered = 0
    for label, strategy in ready_strategies(cfg).items():
        acc = Account(cfg, world, simulate(cfg, world, strategy))
        days = np.diff(np.append(acc.month_starts, acc.n_days))
        states = np.add.reduceat(acc.timeline_daily, acc.month_starts, axis=1) / days
        want = np.vstack([states, acc.financing.dscr]).T
        got = acc.timeline()
        assert got.shape == want.shape and got.dtype == want.dtype and got.strides == want.strides
        assert got.tobytes() == want.tobytes(), label
        assert acc.ledger_monthly().tobytes() == np.vstack([acc.monthly, acc.financing.lines]).tobytes()
        covered += bool(np.isfinite(acc.financing.dscr).any())
    assert covered  # some strategy borrows: the cover column is not all NaN


def _account(label: str, *overrides) -> Account:
    """Return the Account of strategy `label` on the deterministic world of `overrides`."""
    cfg = sim.compose(["run.deterministic=true", "run.replications=1", "run.progress=false",
                       "run.terminal_value=multiple", "run.horizon_years=2", *overrides])
    world = sim.sample_world(cfg, 0)
    return Account(cfg, world, simulate(cfg, world, ready_strategies(cfg)[label]))


def test_a_multiple_values_no_cloud_prepayment_only_the_netted_payments():
    """A 5-year cloud contract starting in the horizon's last year prepaid 20% of its value on
    its first day; the multiple took that day into the trailing year's cash and capitalised
    it again (iren, 2 years: a terminal value of $12.5B, of which 4 x $1.94B the prepayment
    already booked). The run-rate counts the netted payments of the term: against a contract
    without prepayment, the trailing year loses the netting of its paid days, times the cloud
    multiple, and nothing more."""
    from sim import cloud

    paid, unpaid = (_account("convert_all", "+experiment=iren", "strategy=convert_all",
                             f"site.cloud.contract.prepayment_share={share}") for share in (0.2, 0.0))
    contracts = paid.record.cloud_contracts
    n = paid.n_days
    assert contracts and all(n - 365 <= cloud.paid_days(c)[0] < n for c in contracts)
    netting_usd = sum(c.prepayment_usd / (cloud.paid_days(c)[1] - cloud.paid_days(c)[0])
                      * (n - cloud.paid_days(c)[0]) for c in contracts)
    multiple = float(paid.cfg.run.terminal_multiple.cloud)
    assert paid.terminal_value_usd() - unpaid.terminal_value_usd() == pytest.approx(
        -multiple * netting_usd, rel=1e-9)
    assert sum(c.prepayment_usd for c in contracts) > 1e9  # what was capitalised before


def test_a_multiple_values_no_late_delivery_credit():
    """A tenant served late in the last year gets a rent credit once: the multiple took it
    as a year's cash (terawulf, 2 years: 12 x the $1.2M credit off the terminal value)."""
    late, on_time = (_account("build_to_suit", "+experiment=terawulf", "strategy=build_to_suit",
                              f"site.hosting.late_penalty_usd_per_kw_month={usd}") for usd in (60, 0))
    assert late.record.lumps.hosting_rent_usd[-365:].sum() < -1e6
    assert late.terminal_value_usd() == on_time.terminal_value_usd()


def test_a_cloud_hall_under_contract_past_the_horizon_is_let_when_its_contract_ends():
    """Under the market terminal value a cloud hall's shell was valued as an idle hall let
    after the lease-up, while its contract, valued too, still had four years to run: the
    same hall rented twice (iren, 2 years: $3,280.7M for the shells beside $4,330.4M of
    contract). The shell is now that idle hall a contract's term later."""
    from sim import cloud
    from sim.valuation import idle_hall_value_usd_per_kw

    acc = _account("convert_all", "+experiment=iren", "strategy=convert_all",
                   "run.terminal_value=market")
    n, terms, opex = acc.n_days, acc.cfg.run.valuation, acc.cfg.site.opex
    contracts = acc.record.cloud_contracts
    assert contracts and min(cloud.paid_days(c)[1] for c in contracts) - n > 3 * 365
    assert acc.rates.kw_it_ready[-1] == 0 and sum(c.grid_mw for c in contracts) == acc.rates.mw_cloud[-1]
    per_kw = idle_hall_value_usd_per_kw(
        float(acc.world.lease_usd_per_kw_month[-1]), float(opex.hosting_usd_per_kw_month),
        float(opex.ready_usd_per_kw_month), float(terms.cap_rate), int(terms.lease_up_months))
    want = sum(c.grid_mw * 1000 / acc.record.pue_ai * per_kw
               * (1 + float(terms.cap_rate)) ** (-(cloud.paid_days(c)[1] - n) / 365.25)
               for c in contracts)
    shells = acc.terminal_parts[0]
    assert shells[0] == "contracted" and shells[1] == pytest.approx(want, rel=1e-12)
    assert shells[1] < 0.8 * acc.rates.mw_cloud[-1] * 1000 / acc.record.pue_ai * per_kw


def test_moving_the_start_a_day_across_a_months_end_moves_the_npv_by_a_day_not_a_month():
    """Each month is discounted from its first day: a start on 30 June has July one day away,
    not a month (the deterministic convert_all was worth $764.98M from 2026-06-30 and $769.53M
    from 07-01 when every month m was discounted m / 12 years, 0.6% apart)."""
    def values(start):
        cfg = sim.compose([f"asof.date={start}", "strategy=[convert_all]", "run.deterministic=true",
                           "run.replications=1", "run.progress=false"])
        return sim.run(cfg).summary[["npv_usd", "equity_npv_usd", "npv_after_tax_usd"]].iloc[0]

    moved = (values("2026-06-30") / values("2026-07-01") - 1).abs()
    assert moved["npv_usd"] < 0.0005  # was 0.0059
    assert moved["equity_npv_usd"] < 0.002 and moved["npv_after_tax_usd"] < 0.002  # were 0.0091, 0.0043

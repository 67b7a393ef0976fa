"""The ledger: every dollar a site earned or spent, by month and category, and its outcomes.

The site engine records what changed and when (sim.record.Record); this module turns
that record into daily amounts with numpy over the world's paths, rolls them up by calendar
month, and computes the outcomes of one replication: NPV, IRR, payback, peak funding.
Inflows are positive, outflows negative; money is nominal except the present values
(`npv_usd`, its parts by kind of cash flow, `terminal_value_pv_usd`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from sim import cloud, demand_response
from sim.economics import (DAYS_PER_MONTH, DAYS_PER_YEAR, below_breakeven, discount_factors,
                           first_month_share, irr, mining_revenue_usd_per_day,
                           mining_revenue_usd_per_mw_day, npv, payback_years, peak_funding_usd,
                           th_per_mw)
from sim.finance.equity import FINANCE_CATEGORIES, financing
from sim.fleet import AsicPrices, FleetDecay
from sim.memo import read_only, read_only_cache
from sim.record import Event, levels_by_day
from sim.schema import KINDS
from sim.valuation import (forward_noi_usd, idle_hall_value_usd_per_kw, kind_rates,
                           remaining_rent_value_usd)

CATEGORIES = ("mining_revenue", "pool_fees", "power_cost", "power_resale", "demand_response",
              "hosting_rent", "cloud_revenue", "opex", "capex_conversion", "capex_gpu",
              "capex_asic_refresh", "asic_salvage", "terminal_value")
STATES = ("mw_mining", "mw_curtailed", "mw_converting", "mw_ready", "mw_leased", "mw_cloud")
#: Every category of cashflows.parquet: the unlevered ones, then financing (sim.finance).
LEDGER_CATEGORIES = CATEGORIES + FINANCE_CATEGORIES
#: The columns of timeline.parquet after its labels: MW by state, then the trailing DSCR.
TIMELINE_COLUMNS = STATES + ("dscr",)
_C = {name: i for i, name in enumerate(CATEGORIES)}
#: The kind of cash flow of each use's trailing cash flow (terminal_value=multiple).
USE_KIND = {"mining": "mining", "hosting": "contracted", "cloud": "merchant_ai"}


@dataclass(frozen=True, eq=False)
class Mining:
    """The site's mining on each day: grid MW of its blocks, fleet MW running and curtailed, TH/s."""

    mw: np.ndarray               # nominal grid MW of mining blocks, running or not
    fleet_running: np.ndarray    # MW of machines alive and running
    fleet_curtailed: np.ndarray  # MW of machines alive and curtailed
    th_running: np.ndarray       # TH/s running


@read_only_cache(maxsize=8)
def _share_alive(decay: FleetDecay, n_days: int) -> np.ndarray:
    """Return the share of a fleet alive on each day (read-only; the same for every account)."""
    return decay.share_alive_by_day(n_days)


def _curtailed(world, tranche_th_per_mw: float, pool_fee: float) -> np.ndarray:
    """Return the days on which a MW mining `tranche_th_per_mw` TH/s earns less than its power
    costs (read-only; once per world and efficiency, for every strategy that mines it)."""
    def find() -> np.ndarray:
        curtail = below_breakeven(mining_revenue_usd_per_mw_day(
            world.hashprice_usd_per_ph_day, tranche_th_per_mw, pool_fee), world.power_usd_per_mwh)
        read_only(curtail)
        return curtail

    return world.once(("curtailed", tranche_th_per_mw, pool_fee), find)


def _first_day_after_last_halving(subsidy_btc: np.ndarray) -> int:
    """Return the first day wholly after the last halving of the daily subsidy `subsidy_btc`
    (0 if none): after its last fall, the first day whose subsidy is a whole epoch's, 50 BTC
    halved a whole number of times (the halving's own day mixes the two). A grid that ends
    on the halving's day has none: 0."""
    falls = (subsidy_btc[1:] < subsidy_btc[:-1]).nonzero()[0]  # the days before a fall
    if not falls.size:
        return 0
    for day in range(int(falls[-1]) + 1, len(subsidy_btc)):
        if math.log2(50.0 / float(subsidy_btc[day])).is_integer():
            return day
    return 0


@lru_cache(maxsize=64)
def _discount_factor(rate_per_year: float, month: int, first_share: float) -> float:
    """Return the discount factor of `month` at a yearly rate (once per rate and horizon)."""
    return float(discount_factors(1, rate_per_year, first_month=month, first_share=first_share)[0])


class Account:
    """One replication's money under one strategy: the engine's record, by day and by month.

    Reads the engine's `record`, the `world`'s paths, and from `cfg` only the terms:
    `run.discount_rate`, `run.discount_rates`, `run.terminal_value`,
    `run.terminal_multiple`, `run.valuation`, `site.power`, `site.opex`,
    `site.hosting.renewal_probability`, `site.cloud.utilisation` and the fleet's prices;
    `run.seed` draws the grid operator's demand-response events (sim.demand_response).
    `financing` is the equity's view of the same months under `finance` (sim.finance.equity).
    """

    def __init__(self, cfg, world, record):
        self.cfg = cfg
        self.world = world
        self.record = record
        self.kind_rates = kind_rates(cfg.run)
        n = world.n_days
        self.n_days = n
        self.rates = record.rates.levels(n)
        self.prices = AsicPrices(cfg.fleet, world.hashprice_usd_per_ph_day, world.date[0])
        self.daily = np.empty((len(CATEGORIES), n))  # each row written by the booking below
        self.daily[_C["terminal_value"]] = 0.0  # the horizon's value, in `monthly`'s last month alone
        self._power_use: dict[str, np.ndarray] | None = None
        mining = self._mining()
        self._power(mining)
        self._ai(mining)
        self._capital(mining)
        starts = world.month_starts()
        self.month_starts = starts
        self.month = world.date[starts]
        self.first_share = first_month_share(world.date[0])  # month 0's share of its calendar month
        self.monthly = np.add.reduceat(self.daily, starts, axis=1)
        self.terminal_parts = self._terminal_parts()
        self.monthly[_C["terminal_value"], -1] = self.terminal_value_usd()

    @cached_property
    def financing(self):
        """Return the equity's view of these months under `finance` (built when first asked)."""
        return financing(self.cfg, self)

    @cached_property
    def timeline_daily(self) -> np.ndarray:
        """Return the grid MW in each state (`STATES`) on each day, a row each, stacked when
        first read (the timeline and the summary read `_state_rows` without stacking them)."""
        return np.vstack(self._state_rows())

    def _state_rows(self) -> tuple[np.ndarray, ...]:
        """Return the grid MW in each state (`STATES`) on each day, one array each."""
        rates = self.rates
        return (*self._mining_mw, rates.mw_converting, rates.mw_ready, rates.mw_leased, rates.mw_cloud)

    @property
    def category_index(self) -> dict[str, int]:
        """Return the row of each unlevered category in `monthly`."""
        return _C

    def ledger_monthly(self) -> np.ndarray:
        """Return every category's monthly cash, unlevered then financing (`LEDGER_CATEGORIES`)."""
        return np.concatenate((self.monthly, self.financing.lines))

    def events(self) -> tuple[Event, ...] | None:
        """Return the engine's events and the covenant's (breaches, a lender taking the site)."""
        if self.record.events is None:
            return None
        fin, starts = self.financing, self.month_starts
        extra = [Event(float(starts[m]), -1, "covenant_breach", fin.cure or "") for m in fin.breach_months]
        if fin.default_month is not None:
            extra.append(Event(float(starts[fin.default_month]), -1, "lender_takes_site", "default"))
        return tuple(sorted(self.record.events + tuple(extra), key=lambda e: e.day))

    def _mining(self) -> Mining:
        """Book mining revenue and pool fees: each fleet efficiency mines on the days it beats spot."""
        record, n, daily = self.record, self.n_days, self.daily
        hashprice = self.world.hashprice_usd_per_ph_day
        fee = record.pool_fee
        # a fleet that loses no machines (failures replaced) keeps all of them: x · 1.0 is x
        alive = _share_alive(record.decay, n) if record.decay.decay_per_day else None
        mining_nominal = np.zeros(n)
        fleet_running = np.zeros(n)
        fleet_curtailed = np.zeros(n)
        th_running = np.zeros(n)
        self.fleet_end = []  # (j_per_th, fleet MW still mining on the last day)
        self._mining_days = []  # (nominal MW, days curtailed) of each tranche that mines
        tranches = record.tranches  # each one's MW and fleet units, the rows of one array
        levels = levels_by_day([a for t in tranches for a in (t.mw, t.fleet_mw)], n) if tranches else ()
        for tranche, nominal, fleet_units in zip(tranches, levels[0::2], levels[1::2]):
            if not (nominal > 1e-12).any():
                continue
            fleet = fleet_units if alive is None else fleet_units * alive
            tranche_th_per_mw = th_per_mw(tranche.j_per_th, record.pue_mining)
            curtail = _curtailed(self.world, tranche_th_per_mw, fee)
            mining_nominal += nominal
            self._mining_days.append((nominal, curtail))
            running = np.where(curtail, 0.0, fleet)
            fleet_running += running
            fleet_curtailed += fleet - running
            th_running += running * tranche_th_per_mw
            self.fleet_end.append((tranche.j_per_th, float(fleet[-1])))
        self.enrolled_mw = demand_response.enrolled_mw_by_day(
            self.cfg.site.power.demand_response.enrolled_mw, mining_nominal)
        if (self.enrolled_mw > 0).any():  # the operator's events stop the enrolled MW
            dr = self.cfg.site.power.demand_response
            world = self.world
            hours = demand_response.draw_event_hours(dr, n, self.cfg.run.seed, world.replication,
                                                     world.deterministic)
            mw_running, mw_curtailed = self._mining_mw
            share = demand_response.stopped_share(self.enrolled_mw, mw_running, mw_curtailed, hours)
            stopped = fleet_running * share
            fleet_running -= stopped
            fleet_curtailed += stopped
            th_running *= 1.0 - share
            mw_curtailed += mw_running * share
            mw_running -= mw_running * share
        revenue = mining_revenue_usd_per_day(th_running, hashprice)
        daily[_C["mining_revenue"]] = revenue
        np.multiply(-fee, revenue, out=daily[_C["pool_fees"]])
        self.curtailed_mwh = float(fleet_curtailed.sum() * 24.0)
        self.mining_mw_end = float(mining_nominal[-1])
        return Mining(mining_nominal, fleet_running, fleet_curtailed, th_running)

    @cached_property
    def _mining_mw(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the nominal grid MW of mining blocks running and of those curtailed on each day
        (the timeline's first states; built when first read, demand response stops some)."""
        n = self.n_days
        mw_running, mw_curtailed = np.zeros(n), np.zeros(n)
        for nominal, curtail in self._mining_days:
            mw_curtailed += np.where(curtail, nominal, 0.0)
            mw_running += np.where(curtail, 0.0, nominal)
        return mw_running, mw_curtailed

    def _power(self, mining: Mining) -> None:
        """Book power: the site's own load (mining and cloud); tenants' power passes through."""
        daily, spot = self.daily, self.world.power_usd_per_mwh
        power = self.cfg.site.power
        own_mw = mining.fleet_running + self.rates.mw_cloud
        ppa_mw = float(power.ppa_mw)
        bought_spot = np.maximum(own_mw - ppa_mw, 0.0) * spot * 24.0
        daily[_C["power_cost"]] = -(ppa_mw * float(power.ppa_usd_per_mwh) * 24.0 + bought_spot)
        daily[_C["power_resale"]] = np.maximum(ppa_mw - own_mw, 0.0) * spot * 24.0
        daily[_C["demand_response"]] = demand_response.capacity_payment_usd_per_day(
            self.enrolled_mw, power.demand_response.usd_per_mw_hour)
        self.mining_load_share = np.divide(mining.fleet_running, own_mw, out=np.ones(self.n_days),
                                           where=own_mw > 0)

    def _ai(self, mining: Mining) -> None:
        """Book rent, cloud revenue (merchant and contracted) and the running costs of every use.

        `cloud_contract_daily` is the contracted part of cloud revenue (prepayments and
        the netted payments of the term), `cloud_prepaid_daily` its prepayments; the rest
        rents at the market price.
        """
        daily, rates, n = self.daily, self.rates, self.n_days
        utilisation = float(self.cfg.site.cloud.utilisation)
        daily[_C["hosting_rent"]] = rates.rent_usd_per_day + self.record.lumps.hosting_rent_usd
        contracts = self.record.cloud_contracts
        self.cloud_contract_daily, self.cloud_prepaid_daily = np.zeros(n), np.zeros(n)
        opex = self.cfg.site.opex
        if contracts or rates.gpus.any():
            for contract in contracts:
                self.cloud_contract_daily += cloud.cash_usd_by_day(contract, n)
                self.cloud_prepaid_daily += cloud.prepayment_usd_by_day(contract, n)
            merchant_hours = (rates.gpus - cloud.contracted_gpus_by_day(contracts, n)) * 24.0
            daily[_C["cloud_revenue"]] = (merchant_hours * self.world.gpu_usd_per_hour * utilisation
                                          + self.cloud_contract_daily)
            cloud_opex = rates.gpus * 24.0 * float(opex.cloud_usd_per_gpu_hour)
        else:  # no GPU on any day: the cloud's revenue and opex are 0
            daily[_C["cloud_revenue"]] = 0.0
            cloud_opex = np.zeros(n)
        self.opex_by_use = {
            "mining": mining.mw * float(opex.mining_usd_per_mw_month) / DAYS_PER_MONTH,
            "hosting": (rates.kw_it_leased * float(opex.hosting_usd_per_kw_month)
                        + rates.kw_it_ready * float(opex.ready_usd_per_kw_month)) / DAYS_PER_MONTH,
            "cloud": cloud_opex,
        }
        daily[_C["opex"]] = -sum(self.opex_by_use.values())

    def _capital(self, mining: Mining) -> None:
        """Book capital: conversions, GPUs, ASIC refresh (failures bought back, upgrades), salvage."""
        daily, lumps, decay = self.daily, self.record.lumps, self.record.decay
        daily[_C["capex_conversion"]] = self.rates.capex_conversion_usd_per_day
        daily[_C["capex_gpu"]] = lumps.capex_gpu_usd
        refresh = lumps.capex_asic_refresh_usd.copy()
        if decay.replace_failures:  # machines fail under load; the failed TH are bought back
            refresh -= decay.failed_th_per_day(mining.th_running) * self.prices.new_usd_per_th_by_day()
        daily[_C["capex_asic_refresh"]] = refresh
        daily[_C["asic_salvage"]] = lumps.asic_salvage_usd

    # --- terminal value -----------------------------------------------------------------------
    def terminal_value_usd(self) -> float:
        """Return the value at the horizon, as of the last month, by `run.terminal_value`."""
        total = 0.0
        for _, usd in self.terminal_parts:
            total += usd
        return total

    def _terminal_parts(self) -> list[tuple[str, float]]:
        """Return the terminal value's parts as (kind of cash flow, USD), in the order summed."""
        method = self.cfg.run.terminal_value
        if method == "none":
            return []
        if method == "multiple":
            return self._multiple_parts()
        if method == "market":
            return self._market_parts()
        return self._contracted_parts()

    def _contracted_parts(self) -> list[tuple[str, float]]:
        """Return contracted rent still to come, net of opex, then the resale of what is owned."""
        n = self.n_days
        rate = self.kind_rates["contracted"]
        opex_per_kw_day = float(self.cfg.site.opex.hosting_usd_per_kw_month) / DAYS_PER_MONTH
        parts = [("contracted", remaining_rent_value_usd(lease, n, opex_per_kw_day, rate))
                 for lease in self.record.leases if lease.end_day > n]
        return parts + self._resale_parts()

    def _resale_parts(self) -> list[tuple[str, float]]:
        """Return each fleet still mining at its used ASIC price, each GPU lot's unspent life, then
        the cloud contracts still to run."""
        record, n = self.record, self.n_days
        last = n - 1
        parts = [("mining", fleet_mw * th_per_mw(j_per_th, record.pue_mining)
                  * self.prices.used_usd_per_th(j_per_th, last))
                 for j_per_th, fleet_mw in self.fleet_end]
        parts += [("merchant_ai", self._gpu_lot_value_usd(lot)) for lot in record.gpu_lots]
        if record.cloud_contracts:
            parts.append(("contracted", self._cloud_contract_value_usd()))
        return parts

    def _gpu_lot_value_usd(self, lot) -> float:
        """Return what a GPU lot is worth at the horizon: its resale, pro rata of life left.

        A lot still under contract at the horizon earns the contract first (valued by
        `_cloud_contract_value_usd`) and is sold when the contract ends: its resale at
        that day, discounted to the last month.
        """
        n, last = self.n_days, self.n_days - 1
        price = self.world.gpu_usd_per_hour
        sold_day = max(float(n), lot.contracted_until)
        life_left = max(0.0, lot.day + lot.life_days - sold_day) / lot.life_days
        usd = lot.usd * life_left * float(price[last] / price[min(int(lot.day), last)])
        if sold_day > n:
            usd *= (1.0 + self.kind_rates["merchant_ai"]) ** (-(sold_day - n) / DAYS_PER_YEAR)
        return usd

    def _cloud_contract_value_usd(self) -> float:
        """Return the cloud contracts' cash still to come after the horizon, net of running costs.

        Running costs: opex on every GPU-hour and the hall's power at the mean spot price
        of the last year.
        """
        n = self.n_days
        contracts = [c for c in self.record.cloud_contracts if cloud.paid_days(c)[1] > n]
        if not contracts:
            return 0.0
        opex = float(self.cfg.site.opex.cloud_usd_per_gpu_hour)
        spot = float(np.mean(self.world.power_usd_per_mwh[max(0, n - 365):]))
        rate = self.kind_rates["contracted"]
        return sum(cloud.value_after_horizon_usd(
            c, n, c.gpus * 24.0 * opex + c.grid_mw * 24.0 * spot, rate) for c in contracts)

    def _market_parts(self) -> list[tuple[str, float]]:
        """Return AI halls at a cap rate, idle halls after a lease-up, the mine, GPUs at resale.

        A leased hall is worth its forward net operating income over `run.valuation.cap_rate`;
        where its term ends within that year, the rest of the year earns the market rent
        net of opex, times the chance of renewal (a backstop's share of a defaulted lease
        counts as a lease). Halls without a tenant, and the shells of cloud halls, follow
        `idle_halls`. Halls still being converted count nothing.
        """
        n, rates = self.n_days, self.rates
        terms, opex = self.cfg.run.valuation, self.cfg.site.opex
        cap_rate = float(terms.cap_rate)
        hosting_usd_per_kw_month = float(opex.hosting_usd_per_kw_month)
        market_usd_per_kw_month = float(self.world.lease_usd_per_kw_month[-1])
        renewal = float(self.cfg.site.hosting.renewal_probability)  # the chance an option is taken
        parts = []
        for lease in self.record.leases:
            if lease.end_day <= n:
                continue
            renewed_usd_per_day = (renewal * lease.kw_it
                                   * (market_usd_per_kw_month - hosting_usd_per_kw_month) / DAYS_PER_MONTH)
            noi = forward_noi_usd(lease, n, hosting_usd_per_kw_month / DAYS_PER_MONTH, renewed_usd_per_day)
            parts.append(("contracted", max(0.0, noi) / cap_rate))
        idle_kw_it = max(0.0, float(rates.kw_it_ready[-1])) + max(
            0.0, float(rates.mw_cloud[-1])) / self.record.pue_ai * 1000
        if terms.idle_halls == "market" and idle_kw_it > 0:
            per_kw = idle_hall_value_usd_per_kw(
                market_usd_per_kw_month, hosting_usd_per_kw_month,
                float(opex.ready_usd_per_kw_month), cap_rate, int(terms.lease_up_months))
            # a cloud hall under contract past the horizon is let when its contract ends:
            # its shell is that idle hall, a contract's term later (the contract, valued on
            # its own, pays the hall's costs until then)
            deferred = [(c.grid_mw / self.record.pue_ai * 1000,
                         (1.0 + cap_rate) ** (-(cloud.paid_days(c)[1] - n) / DAYS_PER_YEAR))
                        for c in self.record.cloud_contracts if cloud.paid_days(c)[1] > n]
            idle_kw_it -= sum(kw for kw, _ in deferred)
            parts.append(("contracted", (max(0.0, idle_kw_it) + sum(
                kw * factor for kw, factor in deferred)) * per_kw))
        resale = self._resale_parts()
        parts.append(("mining", self._mine_value_usd(
            sum(usd for kind, usd in resale if kind == "mining"))))
        return parts + [(kind, usd) for kind, usd in resale if kind != "mining"]

    def _mine_value_usd(self, asic_resale_usd: float) -> float:
        """Return the mining site as a going concern (`run.valuation.mining`), at least its ASICs' resale."""
        terms = self.cfg.run.valuation
        if terms.mining == "per_mw":
            going = self.mining_mw_end * float(terms.mining_usd_per_mw)
        else:
            going = (max(0.0, self._trailing_cash_usd("mining"))
                     * float(self.cfg.run.terminal_multiple.mining))
        return max(going, asic_resale_usd)

    def _multiple_parts(self) -> list[tuple[str, float]]:
        """Return trailing-twelve-month operating cash flow by use, times its multiple (0 if negative)."""
        multiple = self.cfg.run.terminal_multiple
        return [(USE_KIND[use], max(0.0, usd) * float(multiple[use]))
                for use, usd in self._trailing_cash_by_use().items()]

    def _power_by_use(self) -> dict[str, np.ndarray]:
        """Return the daily net power (purchases less resale) of mining and of the cloud.

        The site's own load is split between them by their MW (`mining_load_share`).
        """
        if self._power_use is None:  # the terminal value and the kinds of cash both ask
            power = self.daily[_C["power_cost"]] + self.daily[_C["power_resale"]]
            share = self.mining_load_share
            self._power_use = {"mining": power * share, "cloud": power * (1 - share)}
        return self._power_use

    def _trailing_cash_by_use(self) -> dict[str, float]:
        """Return each use's operating cash flow over the last 365 days (mining, hosting, cloud)."""
        return {use: self._trailing_cash_usd(use) for use in USE_KIND}

    def _trailing_cash_usd(self, use: str) -> float:
        """Return one use's operating cash flow over the last 365 days, paid once left out.

        A run-rate: what is paid once in the year is no year's cash, and a multiple of it
        would count it again (it is in the ledger on its day) as if it recurred: the cloud
        contracts' prepayments (their netted payments count) and the rent credits of tenants
        served late are left out. A horizon shorter than a year has fewer days: its sum is
        scaled to 365 days, so the value stays a year's cash whatever the horizon. So is the
        mine's where a halving fell within the year: its cash counts from the first day
        wholly after the halving, the run-rate a buyer on the last day would see.
        """
        first = max(0, self.n_days - 365)
        if use == "mining":
            first = max(first, self._after_last_halving())
        year = slice(first, self.n_days)
        daily = self.daily[:, year]
        opex = float(self.opex_by_use[use][year].sum())
        if use == "mining":
            power = self._power_by_use()["mining"][year]
            cash = float((daily[_C["mining_revenue"]] + daily[_C["pool_fees"]]
                          + daily[_C["demand_response"]] + power).sum()) - opex
        elif use == "hosting":
            cash = float((daily[_C["hosting_rent"]] - self.record.lumps.hosting_rent_usd[year]).sum()) - opex
        else:
            cash = float((daily[_C["cloud_revenue"]] - self.cloud_prepaid_daily[year]
                          + self._power_by_use()["cloud"][year]).sum()) - opex
        days = self.n_days - first
        return cash if days >= 365 else cash * 365 / days

    def _after_last_halving(self) -> int:
        """Return the first day wholly after the horizon's last halving within the grid (0 if
        none; `_first_day_after_last_halving`, once per world)."""
        world = self.world
        return world.once("first_day_after_last_halving",
                          lambda: _first_day_after_last_halving(world.subsidy_btc))

    # --- kinds of cash flow -------------------------------------------------------------------
    def cash_by_kind(self) -> dict[str, np.ndarray]:
        """Return each kind's monthly cash, terminal value in the last month; they sum to the total."""
        c = {name: self.daily[i] for name, i in _C.items()}
        power = self._power_by_use()
        opex = self.opex_by_use
        daily = np.empty((len(KINDS), self.n_days))  # a row per kind, summed in place left to right
        mining, contracted, merchant_ai = (daily[KINDS.index(kind)]
                                           for kind in ("mining", "contracted", "merchant_ai"))
        np.add(c["mining_revenue"], c["pool_fees"], out=mining)
        mining += c["demand_response"]
        mining += power["mining"]
        mining -= opex["mining"]
        mining += c["capex_asic_refresh"]
        mining += c["asic_salvage"]
        np.subtract(c["hosting_rent"], opex["hosting"], out=contracted)
        contracted += c["capex_conversion"]
        contracted += self.cloud_contract_daily
        np.subtract(c["cloud_revenue"], self.cloud_contract_daily, out=merchant_ai)
        merchant_ai += power["cloud"]
        merchant_ai -= opex["cloud"]
        merchant_ai += c["capex_gpu"]
        monthly = dict(zip(KINDS, np.add.reduceat(daily, self.month_starts, axis=1)))  # each row as alone
        for kind, usd in self.terminal_parts:
            monthly[kind][-1] += usd
        return monthly

    def present_values(self) -> dict[str, float]:
        """Return the NPV, its part of each kind, and the terminal value's present value.

        Each kind is discounted at its own rate (`run.discount_rates`). Where every kind has
        the same rate, `npv_usd` discounts the total cash at once, as it always has: the
        same number, without the rounding of a sum of parts.
        """
        rates = self.kind_rates
        by_kind = self.cash_by_kind()
        share = self.first_share
        parts = {kind: npv(by_kind[kind], rates[kind], share) for kind in KINDS}
        last = self.monthly.shape[1] - 1
        if len(set(rates.values())) == 1:
            total = npv(self.monthly.sum(axis=0), rates["mining"], share)
        else:
            total = sum(parts.values())
        factors = {kind: _discount_factor(rates[kind], last, share)
                   for kind in {kind for kind, _ in self.terminal_parts}}  # each kind's, once
        terminal_pv = sum(usd * factors[kind] for kind, usd in self.terminal_parts)
        return dict(npv_usd=total, **{f"npv_{kind}_usd": usd for kind, usd in parts.items()},
                    terminal_value_pv_usd=float(terminal_pv))

    # --- outcomes -----------------------------------------------------------------------------
    def timeline(self) -> np.ndarray:
        """Return the month-average grid MW in each state and the month's trailing DSCR,
        shape (months, len(TIMELINE_COLUMNS))."""
        starts = self.month_starts
        columns = np.empty((len(TIMELINE_COLUMNS), len(starts)))  # a row each, transposed at the end
        for column, state in zip(columns, self._state_rows()):  # each state summed by month as alone
            np.add.reduceat(state, starts, out=column)
        columns[:-1] /= self.world.days_by_month()
        columns[-1] = self.financing.dscr
        return columns.T

    def _mw_converted_end(self) -> float:
        """Return the MW ready, leased and in the cloud on the last day: `timeline_daily`'s last
        column summed over those states (the same numpy sum of the same three numbers)."""
        rates = self.rates
        return float(np.array([rates.mw_ready[-1], rates.mw_leased[-1], rates.mw_cloud[-1]]).sum())

    def summary(self) -> dict:
        """Return the outcomes of this replication (the `summary` row, less its labels)."""
        monthly = self.monthly
        cash = monthly.sum(axis=0)
        operating = cash - monthly[_C["terminal_value"]]
        totals = monthly.sum(axis=1)
        t = dict(zip(CATEGORIES, totals))
        counts = self.record.counts
        values = self.present_values()
        npv_usd = values.pop("npv_usd")
        return dict(
            npv_usd=npv_usd,
            irr=irr(cash, first_share=self.first_share),
            payback_years=payback_years(operating, self.first_share),
            peak_funding_usd=peak_funding_usd(operating),
            revenue_mining_usd=t["mining_revenue"],
            revenue_hosting_usd=t["hosting_rent"],
            revenue_cloud_usd=t["cloud_revenue"],
            power_cost_usd=-t["power_cost"],
            power_resale_usd=t["power_resale"],
            demand_response_usd=t["demand_response"],
            pool_fees_usd=-t["pool_fees"],
            opex_usd=-t["opex"],
            capex_usd=-(t["capex_conversion"] + t["capex_gpu"] + t["capex_asic_refresh"]),
            salvage_usd=t["asic_salvage"],
            terminal_value_usd=t["terminal_value"],
            **values,
            mw_converted=self._mw_converted_end(),
            curtailed_mwh=self.curtailed_mwh,
            tenant_requests=counts.tenant_requests,
            tenant_requests_rejected=counts.tenant_requests_rejected,
            tenant_mw_it_rejected=float(counts.tenant_mw_it_rejected),
            tenant_requests_late=counts.tenant_requests_late,
            tenant_requests_partial=counts.tenant_requests_partial,
            contract_value_usd=counts.contracted_rent_usd
            + sum(cloud.value_usd(c) for c in self.record.cloud_contracts),
            **self.financing.outcomes(float(self.cfg.finance.cost_of_equity), npv_usd,
                                      float(self.cfg.run.discount_rate), self.first_share),
        )

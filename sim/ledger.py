"""The ledger: every dollar a site earned or spent, by month and category, and its outcomes.

The site engine records what changed and when (sim.site.Books); this module turns those
records into daily amounts with numpy over the world's paths, rolls them up by calendar
month, and computes the outcomes of one replication: NPV, IRR, payback, peak funding.
Inflows are positive, outflows negative; money is nominal except `npv_usd`.
"""

from __future__ import annotations

import math

import numpy as np

from sim.economics import (below_breakeven, discount_factors, irr, mining_revenue_usd_per_day,
                           mining_revenue_usd_per_mw_day, npv, payback_years, peak_funding_usd)
from sim.world import month_starts

CATEGORIES = ("mining_revenue", "pool_fees", "power_cost", "power_resale", "demand_response",
              "hosting_rent", "cloud_revenue", "opex", "capex_conversion", "capex_gpu",
              "capex_asic_refresh", "asic_salvage", "terminal_value")
STATES = ("mw_mining", "mw_curtailed", "mw_converting", "mw_ready", "mw_leased", "mw_cloud")
TERMINAL_VALUES = ("contracted", "multiple", "none")
DAYS_PER_MONTH = 365.25 / 12
_C = {name: i for i, name in enumerate(CATEGORIES)}


class Account:
    """One replication's books under one strategy, turned into daily and monthly money."""

    def __init__(self, cfg, site):
        self.cfg = cfg
        self.site = site
        world = site.world
        self.world = world
        books = site.books
        n = world.n_days
        self.n_days = n
        day = np.arange(n, dtype=float)
        rates = {key: np.cumsum(books.rates[key])[:n] for key in books.RATE_KEYS}
        self.rates = rates
        hashprice = world.hashprice_usd_per_ph_day
        spot = world.power_usd_per_mwh
        fee = site.pool_fee
        decay = 0.0 if site.replace_failures else site.failure_rate_per_day
        alive = np.exp(-decay * day)
        daily = np.zeros((len(CATEGORIES), n))
        self.daily = daily

        # Mining: each fleet efficiency mines on the days it beats spot power.
        mining_nominal = np.zeros(n)
        mw_running = np.zeros(n)
        mw_curtailed = np.zeros(n)
        fleet_running = np.zeros(n)
        fleet_curtailed = np.zeros(n)
        th_running = np.zeros(n)
        self.fleet_end = []  # (j_per_th, fleet MW still mining on the last day)
        for j_per_th, (nominal_diff, fleet_diff) in books.mining.items():
            nominal = np.cumsum(nominal_diff)[:n]
            if not np.any(nominal > 1e-12):
                continue
            fleet = np.cumsum(fleet_diff)[:n] * alive
            th_per_mw = site.th_per_mw(j_per_th)
            curtail = below_breakeven(mining_revenue_usd_per_mw_day(hashprice, th_per_mw, fee), spot)
            mining_nominal += nominal
            mw_curtailed += np.where(curtail, nominal, 0.0)
            mw_running += np.where(curtail, 0.0, nominal)
            running = np.where(curtail, 0.0, fleet)
            fleet_running += running
            fleet_curtailed += fleet - running
            th_running += running * th_per_mw
            self.fleet_end.append((j_per_th, float(fleet[-1])))
        revenue = mining_revenue_usd_per_day(th_running, hashprice)
        daily[_C["mining_revenue"]] = revenue
        daily[_C["pool_fees"]] = -fee * revenue
        self.curtailed_mwh = float(np.sum(fleet_curtailed) * 24.0)

        # Power: the site's own load (mining and cloud); tenants' power passes through.
        power = cfg.site.power
        own_mw = fleet_running + rates["mw_cloud"]
        ppa_mw = float(power.ppa_mw)
        bought_spot = np.maximum(own_mw - ppa_mw, 0.0) * spot * 24.0
        daily[_C["power_cost"]] = -(ppa_mw * float(power.ppa_usd_per_mwh) * 24.0 + bought_spot)
        daily[_C["power_resale"]] = np.maximum(ppa_mw - own_mw, 0.0) * spot * 24.0
        daily[_C["demand_response"]] = fleet_curtailed * 24.0 * float(power.demand_response_usd_per_mwh)

        # AI: rent, cloud revenue and their running costs.
        cloud = cfg.site.cloud
        daily[_C["hosting_rent"]] = rates["rent_usd_per_day"] + books.lumps["hosting_rent"]
        gpu_hours = rates["gpus"] * 24.0
        daily[_C["cloud_revenue"]] = gpu_hours * world.gpu_usd_per_hour * float(cloud.utilisation)
        opex = cfg.site.opex
        self.opex_by_use = {
            "mining": mining_nominal * float(opex.mining_usd_per_mw_month) / DAYS_PER_MONTH,
            "hosting": (rates["kw_it_leased"] * float(opex.hosting_usd_per_kw_month)
                        + rates["kw_it_ready"] * float(opex.ready_usd_per_kw_month)) / DAYS_PER_MONTH,
            "cloud": gpu_hours * float(opex.cloud_usd_per_gpu_hour),
        }
        daily[_C["opex"]] = -sum(self.opex_by_use.values())
        self.mining_load_share = np.divide(fleet_running, own_mw, out=np.ones(n), where=own_mw > 0)

        # Capital: conversions, GPUs, ASIC refresh (failures replaced daily, upgrades), salvage.
        daily[_C["capex_conversion"]] = rates["capex_conversion"]
        daily[_C["capex_gpu"]] = books.lumps["capex_gpu"]
        refresh = books.lumps["capex_asic_refresh"].copy()
        if site.replace_failures:  # machines fail under load; the failed TH are bought back
            new_usd_per_th = float(site.fleet.price_days_of_hashprice) * hashprice / 1000.0
            refresh -= site.failure_rate_per_day * th_running * new_usd_per_th
        daily[_C["capex_asic_refresh"]] = refresh
        daily[_C["asic_salvage"]] = books.lumps["asic_salvage"]

        self.timeline_daily = np.vstack([mw_running, mw_curtailed, rates["mw_converting"],
                                         rates["mw_ready"], rates["mw_leased"], rates["mw_cloud"]])
        starts = world.month_starts()
        self.month_starts = starts
        self.month = world.date[starts]
        self.monthly = np.add.reduceat(daily, starts, axis=1)
        self.monthly[_C["terminal_value"], -1] = self.terminal_value_usd()

    # --- terminal value -----------------------------------------------------------------------
    def terminal_value_usd(self) -> float:
        """Return the value at the horizon, as of the last month, by `run.terminal_value`."""
        method = self.cfg.run.terminal_value
        if method == "none":
            return 0.0
        if method == "multiple":
            return self._multiple_value()
        return self._contracted_value()

    def _contracted_value(self) -> float:
        """Return contracted rent still to come, net of opex, plus the resale of what is owned."""
        site, n = self.site, self.n_days
        rate = float(self.cfg.run.discount_rate)
        opex_per_kw_day = float(self.cfg.site.opex.hosting_usd_per_kw_month) / DAYS_PER_MONTH
        value = 0.0
        for lease in site.leases:
            if lease["end"] <= n:
                continue
            days_left = lease["end"] - max(lease["start"], n)
            months = int(math.ceil(days_left / DAYS_PER_MONTH))
            per_month = (lease["rent_usd_per_day"] - lease["kw_it"] * opex_per_kw_day) * DAYS_PER_MONTH
            whole = np.full(months, per_month)
            whole[-1] *= (days_left - (months - 1) * DAYS_PER_MONTH) / DAYS_PER_MONTH
            value += float(whole @ discount_factors(months, rate, first_month=1))
        last = n - 1
        for j_per_th, fleet_mw in self.fleet_end:
            value += fleet_mw * site.th_per_mw(j_per_th) * site.used_asic_usd_per_th(j_per_th, last)
        price = self.world.gpu_usd_per_hour
        for lot in site.gpu_lots:
            life_left = max(0.0, lot["day"] + lot["life_days"] - n) / lot["life_days"]
            value += lot["usd"] * life_left * float(price[last] / price[min(int(lot["day"]), last)])
        return value

    def _multiple_value(self) -> float:
        """Return trailing-twelve-month operating cash flow by use, times its multiple.

        Net power (purchases less resale) is split between mining and cloud by their load.
        A use whose trailing cash flow is negative adds nothing.
        """
        year = slice(max(0, self.n_days - 365), self.n_days)
        d = {name: self.daily[i, year] for name, i in _C.items()}
        power = d["power_cost"] + d["power_resale"]
        share = self.mining_load_share[year]
        opex = {use: float(np.sum(cost[year])) for use, cost in self.opex_by_use.items()}
        cash = {
            "mining": float(np.sum(d["mining_revenue"] + d["pool_fees"] + d["demand_response"]
                                   + power * share)) - opex["mining"],
            "hosting": float(np.sum(d["hosting_rent"])) - opex["hosting"],
            "cloud": float(np.sum(d["cloud_revenue"] + power * (1 - share))) - opex["cloud"],
        }
        multiple = self.cfg.run.terminal_multiple
        return sum(max(0.0, usd) * float(multiple[use]) for use, usd in cash.items())

    # --- outcomes -----------------------------------------------------------------------------
    def timeline(self) -> np.ndarray:
        """Return the month-average grid MW in each state, shape (months, len(STATES))."""
        days = np.diff(np.append(self.month_starts, self.n_days))
        return (np.add.reduceat(self.timeline_daily, self.month_starts, axis=1) / days).T

    def summary(self) -> dict:
        """Return the outcomes of this replication (the `summary` row, less its labels)."""
        monthly = self.monthly
        cash = monthly.sum(axis=0)
        operating = cash - monthly[_C["terminal_value"]]
        totals = monthly.sum(axis=1)
        t = dict(zip(CATEGORIES, totals))
        site = self.site
        return dict(
            npv_usd=npv(cash, float(self.cfg.run.discount_rate)),
            irr=irr(cash),
            payback_years=payback_years(operating),
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
            mw_converted=float(self.timeline_daily[3:, -1].sum()),
            curtailed_mwh=self.curtailed_mwh,
            tenant_requests=site.counts["tenant_requests"],
            tenant_requests_rejected=site.counts["tenant_requests_rejected"],
            tenant_mw_it_rejected=float(site.counts["tenant_mw_it_rejected"]),
            tenant_requests_late=site.counts["tenant_requests_late"],
        )

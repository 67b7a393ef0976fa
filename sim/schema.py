"""The config schema: every key of `run`, `asof`, `site`, `fleet` and `finance`, described once.

A key is a dataclass field made by `sim.params.param`: its type, unit, default, allowed
values (a `Rule`) and a one-line doc. Hydra type-checks the YAML and the command line
against these dataclasses (they are registered in its ConfigStore, see `sim.config`);
`check_fields` checks each value against its rule, with one line naming the key, the
value and what is allowed; the README's config reference is generated from the same
metadata; and the engine reads the checked, plain `Settings` object, never the YAML tree.

This module sits at the bottom of the package, with `sim.params` and `sim.economics` (the
hashprice formula that checks a snapshot) under it.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from sim.economics import hashprice_usd_per_ph_day, subsidy_btc
from sim.errors import UserError
from sim.params import Date, Distribution, Number, Text, param, section, shown

TERMINAL_VALUES = ("contracted", "market", "multiple", "none")
IDLE_HALLS = ("market", "zero")
MINING_VALUES = ("multiple", "per_mw")
EXECUTORS = ("auto", "serial", "process", "ray")
DETAILS = ("monthly", "summary")
REFRESH = ("replace", "none")
RENEWAL_RENTS = ("index", "step")
SCOPES = ("turnkey", "powered_shell")
#: Keys that no longer exist, with what replaces them (a one-line error names it).
REMOVED_KEYS = {
    "site.power.demand_response_usd_per_mwh":
        "removed: economic curtailment earns no credit; demand response pays for enrolled "
        "capacity: use site.power.demand_response.enrolled_mw and .usd_per_mw_hour",
}
#: The shortest horizon: one month, the period of the cash flows.
MONTH_YEARS = 1 / 12
#: The most blocks (and crews) a site may have: 100,000 runs in about a second a replication;
#: a billion ran out of memory.
MOST_BLOCKS = 100_000
#: The longest loan term, in years (a billion asked for a 89 GiB monthly schedule).
MOST_LOAN_YEARS = 100
#: Publication 946's GDS recovery periods, in years: the ones the depreciation tables take
#: (sim.finance.tax.GDS_DECLINING_BALANCE has a rate for each).
GDS_PERIODS = (3, 5, 7, 10, 15, 20, 39)
#: A tax recovery period: one of the GDS periods.
RECOVERY_PERIOD = Number(integer=True, low=min(GDS_PERIODS), high=max(GDS_PERIODS),
                         among=GDS_PERIODS)


# --- run --------------------------------------------------------------------------------------
@dataclass(slots=True)
class TerminalMultiple:
    """Multiples of trailing-12-month operating cash flow, by use (run.terminal_value=multiple)."""

    mining: float = param(4.0, unit="x TTM cash flow", low=0,
                          doc="mining (est.; about $0.7M/MW of grid at day 0's hashprice, "
                              "below miners' $4.5M/MW, VanEck 2024: conservative); also the "
                              "market method's mining multiple")
    hosting: float = param(12.0, unit="x TTM cash flow", low=0,
                           doc="leased AI halls (est.; $15.8M/MW of IT at $128/kW-month less "
                               "opex, below data centres' $30M+/MW, VanEck 2024: conservative)")
    cloud: float = param(4.0, unit="x TTM cash flow", low=0, doc="own GPU cloud (est.)")

    def __getitem__(self, use: str) -> float:
        """Return the multiple of `use` (mining, hosting or cloud)."""
        return getattr(self, use)


@dataclass(slots=True)
class Valuation:
    """The market terminal value (run.terminal_value=market): AI halls, idle halls, the mine."""

    cap_rate: float = param(0.07, unit="1/year", low=0.01, high=1,
                            doc="AI halls: value = forward net operating income / cap rate "
                                "(est.; JLL Q1 2026: hyperscale 5.5-6.5%, colocation 6-7%, "
                                "powered shell 7-8%)")
    idle_halls: str = param("market", unit="-", choices=IDLE_HALLS,
                            doc="built halls without a tenant (and cloud halls' shells): "
                                "market rent less a lease-up, or zero")
    lease_up_months: int = param(24, unit="months", low=0, integer=True,
                                 doc="idle_halls=market: months without rent, paying ready opex, "
                                     "before a hall earns the market rent (est.)")
    mining: str = param("multiple", unit="-", choices=MINING_VALUES,
                        doc="mining site: terminal_multiple.mining x trailing cash flow, or "
                            "mining_usd_per_mw; never below its ASICs' resale")
    mining_usd_per_mw: float = param(4.5e6, unit="USD/MW", low=0,
                                     doc="mining=per_mw: value per grid MW of mining blocks "
                                         "(est.; miners trade near $4.5M/MW, VanEck 2024)")


#: The kinds of cash flow, each discounted at its own rate (run.discount_rates).
KINDS = ("mining", "contracted", "merchant_ai")


@dataclass(slots=True)
class DiscountRates:
    """A discount rate per kind of cash flow; null = run.discount_rate (one WACC)."""

    mining: Optional[float] = param(None, unit="1/year", low=-1, low_open=True, high=1,
                                    nullable=True,
                                    doc="mining, its power, opex, ASIC refresh and salvage")
    contracted: Optional[float] = param(0.075, unit="1/year", low=-1, low_open=True, high=1,
                                        nullable=True,
                                        doc="hosting rent, hosting opex, conversion capex, "
                                            "a cloud contract's payments")
    merchant_ai: Optional[float] = param(None, unit="1/year", low=-1, low_open=True, high=1,
                                         nullable=True,
                                         doc="own GPU cloud: uncontracted revenue, its power, "
                                             "opex, GPUs")

    def __getitem__(self, kind: str) -> Optional[float]:
        """Return the rate of `kind` (mining, contracted or merchant_ai), None if unset."""
        return getattr(self, kind)


@dataclass(slots=True)
class RayConfig:
    """Where run.executor=ray sends its tasks."""

    address: Optional[str] = param(None, unit="-", rule=Text(nullable=True),
                                   doc="an existing Ray cluster; null starts a local instance")
    timeout_s: float = param(30.0, unit="s", low=0, low_open=True,
                             doc="give up if Ray has not started or connected within this")


@dataclass(slots=True)
class RobustnessConfig:
    """The verdict rerun under other valuation assumptions (robustness.csv, the report)."""

    replications: int = param(200, unit="worlds", low=0, integer=True,
                              doc="worlds per alternative (at most the run's); 0 = off")


@dataclass(slots=True)
class RunConfig:
    """How the experiment runs: seeds, replications, horizon, discounting, execution."""

    seed: int = param(20270101, unit="-", low=0, integer=True,
                      doc="root of every random stream (numpy SeedSequence entropy)")
    replications: int = param(1000, unit="worlds", low=1, integer=True,
                              doc="sampled worlds; each is run once per strategy")
    horizon_years: float = param(10.0, unit="years",
                                 rule=Number(low=MONTH_YEARS, high=100, low_text="1/12 (one month)"),
                                 doc="years simulated from site.start_date (cash flows are monthly)")
    discount_rate: float = param(0.10, unit="1/year", low=-1, low_open=True, high=1,
                                 doc="each month discounted (1 + rate) ** -t, t its first day in years")
    discount_rates: DiscountRates = section(
        DiscountRates, doc="a rate per kind of cash flow; null = discount_rate")
    terminal_value: str = param("market", unit="-", choices=TERMINAL_VALUES,
                                doc="value at the horizon: contracted rent and resale, market "
                                    "(cap rate, mine, resale), a multiple, or none")
    terminal_multiple: TerminalMultiple = section(
        TerminalMultiple, doc="used when terminal_value=multiple (mining: also market)")
    valuation: Valuation = section(Valuation, doc="used when terminal_value=market")
    deterministic: bool = param(False, unit="-",
                                doc="every process on its expected path (the base case)")
    executor: str = param("auto", unit="-", choices=EXECUTORS,
                          doc="where replication chunks run; auto = process on every core from "
                              "100 replications on a Linux machine of several cores, else serial")
    workers: Optional[int] = param(None, unit="processes", low=1, integer=True, nullable=True,
                                   doc="process/ray workers; null = number of cores")
    chunk_size: int = param(50, unit="replications", low=1, integer=True,
                            doc="replications per chunk (unit of parallel work and resume); with "
                                "several workers, at most a quarter of a worker's share")
    detail: str = param("monthly", unit="-", choices=DETAILS,
                        doc="monthly keeps cash flows and timeline; summary one row per strategy-replication")
    progress: bool = param(True, unit="-", doc="show a progress bar")
    until_confident: Optional[float] = param(
        None, unit="probability", low=0.5, high=1, low_open=True, high_open=True, nullable=True,
        doc="add replications until the best strategy is known with this confidence "
            "(below 1: certainty needs infinite replications)")
    max_replications: Optional[int] = param(None, unit="worlds", low=1, integer=True,
                                            nullable=True, doc="cap for until_confident")
    indifference_usd: float = param(5.0e6, unit="USD", low=0, low_open=True,
                                    doc="mean-NPV gap too small to matter when naming the best")
    compare: bool = param(True, unit="-",
                          doc="write comparison.csv, report.html and plots/ at the end")
    event_log: bool = param(False, unit="-",
                            doc="record every engine event (Result.events, events.parquet)")
    ray: RayConfig = section(RayConfig, doc="Ray executor settings")
    robustness: RobustnessConfig = section(
        RobustnessConfig, doc="the verdict under other terminal values, horizons and discount rates")

    def cross_check(self, prefix: str) -> None:
        """Raise UserError where the replication settings contradict each other."""
        cap = self.max_replications
        if cap is not None and cap < self.replications:
            raise UserError(f"{prefix}max_replications={shown(cap)}: must be >= "
                            f"{prefix}replications={shown(self.replications)}")
        if self.until_confident is not None and cap is None:
            raise UserError(f"{prefix}max_replications=null: must be set (>= {prefix}replications) "
                            f"when {prefix}until_confident is set")


# --- site ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class DemandResponseConfig:
    """Capacity enrolled with the grid operator: paid for being available, curtailed on its call.

    Economic curtailment (spot above breakeven) earns nothing by itself; only enrolled MW
    earn, and they stop mining for `event_hours` on each of the operator's event days.
    """

    enrolled_mw: float = param(0.0, unit="MW", low=0,
                               doc="grid MW enrolled; capped each day by the MW of mining blocks")
    usd_per_mw_hour: float = param(5.0, unit="USD/MW-hour", low=0,
                                   doc="capacity payment per enrolled MW per hour of availability")
    events_per_year: float = param(2.0, unit="events/year", low=0,
                                   doc="mean number of the operator's calls a year (Poisson)")
    event_hours: float = param(4.0, unit="hours", low=0, high=24,
                               doc="hours the enrolled MW stop mining on an event day")


@dataclass(slots=True)
class PowerConfig:
    """The site's power contract: a fixed-price block (take-or-pay) and demand response."""

    ppa_mw: float = param(0.0, unit="MW", low=0,
                          doc="grid MW bought at a fixed price; unused MW resold at spot (<= site.grid_mw)")
    ppa_usd_per_mwh: float = param(38.0, unit="USD/MWh", low=0, doc="fixed PPA price")
    demand_response: DemandResponseConfig = section(
        DemandResponseConfig, doc="capacity enrolled with the grid operator")


@dataclass(slots=True)
class OpexConfig:
    """Running costs by use."""

    mining_usd_per_mw_month: float = param(2500.0, unit="USD/MW/month", low=0,
                                           doc="staff, repairs, site costs per MW of mining grid")
    hosting_usd_per_kw_month: float = param(18.0, unit="USD/kW/month", low=0,
                                            doc="per leased kW of IT")
    ready_usd_per_kw_month: float = param(3.0, unit="USD/kW/month", low=0,
                                          doc="per built but idle kW of IT")
    cloud_usd_per_gpu_hour: float = param(0.25, unit="USD/GPU-hour", low=0,
                                          doc="staff, network, maintenance per GPU-hour")


@dataclass(slots=True)
class ConversionConfig:
    """How long a block takes to convert, and what it costs (distributions, per block)."""

    decommission_days: Any = param({"dist": "fixed", "value": 30}, unit="days", rule=Distribution(),
                                   doc="remove and sell the ASICs")
    retrofit_days: Any = param({"dist": "lognormal", "median": 335, "sigma": 0.3}, unit="days",
                               rule=Distribution(), doc="rebuild the hall for AI")
    capex_usd_per_mw_it: Any = param({"dist": "lognormal", "median": 9.0e6, "sigma": 0.15},
                                     unit="USD/MW of IT", rule=Distribution(),
                                     doc="conversion capital cost")


@dataclass(slots=True)
class HostingConfig:
    """Lease contracts of AI halls: rent and its escalator, extension options, scope, ramp, credit."""

    renewal_probability: float = param(0.7, unit="probability", low=0, high=1,
                                       doc="chance each extension option is taken")
    late_penalty_usd_per_kw_month: float = param(
        60.0, unit="USD/kW/month", low=0, doc="rent credit per kW of IT per month of late delivery")
    escalator_per_year: float = param(0.03, unit="share/year", low=0, high=1,
                                      doc="rent steps up by this share on each lease anniversary")
    extensions: Optional[int] = param(2, unit="options", low=0, integer=True, nullable=True,
                                      doc="extension options per lease; null = unlimited")
    extension_years: Optional[float] = param(5.0, unit="years", low=0, low_open=True,
                                             nullable=True,
                                             doc="length of each extension; null = the original term")
    renewal_rent: str = param("index", unit="-", choices=RENEWAL_RENTS,
                              doc="rent of an extension: the lease index of the day, or a step "
                                  "on the last rent")
    renewal_step: float = param(0.0, unit="share", low=-1, low_open=True,
                                doc="renewal_rent=step: the last rent times 1 + this")
    scope: str = param("turnkey", unit="-", choices=SCOPES,
                       doc="turnkey: the site funds the build; powered_shell: the tenant funds "
                           "tenant_capex_share of the blocks built for it")
    tenant_capex_share: float = param(0.8, unit="share", low=0, high=1,
                                      doc="scope=powered_shell: share of the capex of the blocks "
                                          "built for a tenant that the tenant funds")
    tenant_capex_rent_discount: float = param(
        0.27, unit="share of rent per unit of share", low=0, high=1,
        doc="scope=powered_shell: rent is the price times 1 - this x tenant_capex_share")
    rent_ramp_months: int = param(0, unit="months", low=0, integer=True,
                                  doc="rent rises linearly, in monthly steps, to full rent over "
                                      "this many months from the lease start")
    default_probability_per_year: float = param(
        0.01, unit="probability/year", low=0, high=1,
        doc="chance a tenant defaults within a year (constant hazard -ln(1 - p)); its MW "
            "return to ready")
    backstop_share: float = param(0.0, unit="share", low=0, high=1,
                                  doc="share of the remaining contracted rent a backstop pays "
                                      "after a default, on its schedule")


@dataclass(slots=True)
class CloudContractConfig:
    """A take-or-pay contract for a cloud hall's GPU-hours, signed when the hall is ready.

    For `term_years` from that day the customer pays `usd_per_gpu_hour` for every GPU-hour
    it uses, and at least for `take_or_pay_share` of them, whatever the market price; a
    `prepayment_share` of the guaranteed value is paid on the first day and netted evenly
    from the payments of the term. After the term the hall rents at the market price.
    """

    usd_per_gpu_hour: Optional[float] = param(
        None, unit="USD/GPU-hour", low=0, low_open=True, nullable=True,
        doc="contracted price; null = no contract, the hall rents at the market price")
    term_years: float = param(5.0, unit="years", low=0, low_open=True,
                              doc="term from the day the hall is ready")
    take_or_pay_share: float = param(1.0, unit="share", low=0, high=1,
                                     doc="share of the GPU-hours paid whether used or not")
    prepayment_share: float = param(0.2, unit="share", low=0, high=1,
                                    doc="share of the guaranteed value paid on the first day")


@dataclass(slots=True)
class CloudConfig:
    """The site's own GPU cloud."""

    gpus_per_mw_it: float = param(780.0, unit="GPUs/MW of IT", low=0, doc="H100s per MW of IT")
    usd_per_gpu: float = param(45000.0, unit="USD/GPU", low=0,
                               doc="all-in capex per H100, scaled by the rental index")
    first_lot_price: str = param("indexed", unit="-", choices=("indexed", "fixed"),
                                 doc="a hall's first GPUs: indexed = usd_per_gpu x the rental "
                                     "index of their day; fixed = usd_per_gpu (bought on a "
                                     "price agreed on day 0); refreshes follow the index")
    utilisation: float = param(0.75, unit="share", low=0, high=1, doc="share of hours rented")
    gpu_life_years: float = param(5.0, unit="years", low=0, low_open=True,
                                  doc="depreciation life before refresh")
    contract: CloudContractConfig = section(
        CloudContractConfig, doc="take-or-pay contract for each hall's GPU-hours")


@dataclass(slots=True)
class SiteConfig:
    """The site: grid capacity in blocks, PUE by use, crews, start date, contracts, costs."""

    grid_mw: float = param(100.0, unit="MW", low=0, low_open=True,
                           doc="grid capacity; caps mining and AI load together")
    blocks: int = param(10, unit="blocks", low=1, high=MOST_BLOCKS, integer=True,
                        doc="equal capacity blocks (the unit of conversion)")
    start_date: str = param("2026-06-26", unit="date", rule=Date(),
                            doc="day 0 of the simulation (shipped: the snapshot's, ${asof.date})")
    pue_mining: float = param(1.05, unit="grid MW/IT MW", low=1, doc="PUE of ASIC halls")
    pue_ai: float = param(1.3, unit="grid MW/IT MW", low=1,
                          doc="PUE of AI halls; IT MW = grid MW / pue_ai")
    crews: int = param(3, unit="crews", low=1, high=MOST_BLOCKS, integer=True,
                       doc="conversion projects that can run at once")
    blocks_per_project: int = param(5, unit="blocks", low=1, integer=True,
                                    doc="blocks one crew converts together as one project")
    sign_converting: bool = param(True, unit="-",
                                  doc="sign tenants against unreserved halls converting, "
                                      "expected ready within their wait")
    pool_fee: float = param(0.02, unit="share", low=0, high=1,
                            doc="FPPS pool fee, share of mining revenue")
    power: PowerConfig = section(PowerConfig, doc="power contract")
    opex: OpexConfig = section(OpexConfig, doc="running costs")
    conversion: ConversionConfig = section(ConversionConfig, doc="conversion time and cost")
    hosting: HostingConfig = section(HostingConfig, doc="leases")
    cloud: CloudConfig = section(CloudConfig, doc="own GPU cloud")

    def cross_check(self, prefix: str) -> None:
        """Raise UserError if the PPA buys, or demand response enrols, more than the grid carries."""
        if self.power.ppa_mw > self.grid_mw:
            raise UserError(f"{prefix}power.ppa_mw={shown(self.power.ppa_mw)}: must be in "
                            f"[0, {shown(self.grid_mw)}] ({prefix}grid_mw)")
        enrolled = self.power.demand_response.enrolled_mw
        if enrolled > self.grid_mw:
            raise UserError(f"{prefix}power.demand_response.enrolled_mw={shown(enrolled)}: must be "
                            f"in [0, {shown(self.grid_mw)}] ({prefix}grid_mw)")


# --- fleet --------------------------------------------------------------------------------------
@dataclass(slots=True)
class FleetConfig:
    """The ASIC fleet filling the mining capacity, its failures, refresh and upgrades."""

    model: str = param("Antminer S21", unit="-", rule=Text(), doc="label only")
    j_per_th: float = param(17.5, unit="J/TH", low=0, low_open=True, doc="fleet efficiency")
    failure_rate_per_year: float = param(0.07, unit="share/year", low=0, high=1,
                                         doc="share of machines failing each year")
    refresh: str = param("replace", unit="-", choices=REFRESH,
                         doc="replace: buy back failed TH while mining; none: hashrate decays")
    upgrade_every_years: Optional[float] = param(  # at most monthly: 1e-6 made 1e7 upgrades
        4.0, unit="years", rule=Number(low=MONTH_YEARS, low_text="1/12 (one month)", nullable=True),
        doc="sell the fleet and buy the newest machines if they would mine; null = never")
    frontier_j_per_th: float = param(16.1, unit="J/TH", low=0, low_open=True,
                                     doc="efficiency of the newest machines on sale on frontier_date")
    frontier_date: str = param("2024-01-01", unit="date", rule=Date(),
                               doc="the date of frontier_j_per_th")
    efficiency_gain_per_year: float = param(0.19, unit="share/year", low=0, high=0.9,
                                            doc="yearly fall of the newest machines' J/TH")
    price_days_of_hashprice: float = param(375.0, unit="days", low=0,
                                           doc="new ASIC USD/TH = this x hashprice per TH-day")
    resale_share: float = param(0.5, unit="share", low=0, high=1,
                                doc="used machines sell at this share of new, scaled by efficiency")


# --- finance ------------------------------------------------------------------------------------
DEBT_RATES = ("fixed", "floating")
AMORTISATIONS = ("level", "sculpted", "bullet")
CURES = ("sweep", "equity", "default")


@dataclass(slots=True)
class DebtConfig:
    """Debt on each conversion project: drawn with its capex, a term loan once its halls are let."""

    loan_to_cost: float = param(0.8, unit="share", low=0, high=1,
                                doc="share of each project's capex funded by debt as it is spent")
    construction_months: Optional[int] = param(
        36, unit="months", low=1, integer=True, nullable=True,
        doc="construction loan's term from its first draw: halls not let by then repay it from "
            "equity and borrow again when let; null = no maturity")
    rate: str = param("fixed", unit="-", choices=DEBT_RATES,
                      doc="fixed: fixed_rate; floating: the short rate (market/rates) plus spread")
    fixed_rate: float = param(0.0775, unit="1/year", low=0, high=1, doc="interest rate of fixed debt")
    spread: float = param(0.0275, unit="1/year", low=0, high=1, doc="margin over the short rate of floating debt")
    amortisation: str = param("level", unit="-", choices=AMORTISATIONS,
                              doc="level payments, sculpted to the lender's forecast cover, or bullet at maturity")
    term_years: float = param(10.0, unit="years", low=0, low_open=True, high=MOST_LOAN_YEARS,
                              doc="term loan's life from the month its halls are let")
    target_dscr: float = param(1.3, unit="x", low=1,
                               doc="cover the lender's forecast must give each payment: caps the "
                                   "loan, and shapes a sculpted one")
    upfront_fee: float = param(0.02, unit="share", low=0, high=0.2,
                               doc="arrangement fee, share of the commitment, paid at the first draw")


@dataclass(slots=True)
class EquipmentFinanceConfig:
    """Loans on ASIC and GPU purchases."""

    loan_to_value: float = param(0.0, unit="share", low=0, high=1, doc="share of each purchase financed")
    rate: float = param(0.10, unit="1/year", low=0, high=1, doc="interest rate")
    term_years: float = param(3.0, unit="years", low=0, low_open=True, high=MOST_LOAN_YEARS,
                              doc="level payments over this term")


@dataclass(slots=True)
class CovenantConfig:
    """The lenders' cover test and what follows a breach."""

    min_dscr: float = param(1.2, unit="x", low=0, low_open=True,
                            doc="minimum trailing-12-month debt service cover, tested quarterly")
    first_test_months: int = param(12, unit="months", low=1, integer=True,
                                   doc="months of debt service before the first test")
    cure: str = param("sweep", unit="-", choices=CURES,
                      doc="sweep: cash after debt service prepays debt; equity: equity pays in; default: the lender takes the site")


@dataclass(slots=True)
class TaxConfig:
    """US corporate income tax: rates, depreciation by asset class, interest limit, losses."""

    federal_rate: float = param(0.21, unit="share", low=0, high=1, doc="federal corporate rate")
    state_rate: float = param(0.0, unit="share", low=0, high=1, doc="state rate on the same base")
    bonus_share: float = param(1.0, unit="share", low=0, high=1,
                               doc="share of 5- and 15-year property expensed when placed in service")
    building_share: float = param(0.2, unit="share", low=0, high=1,
                                  doc="share of conversion capex that is building (39-year, no bonus)")
    building_years: int = param(39, unit="years", rule=RECOVERY_PERIOD, doc="building: its GDS recovery period (39: straight line, mid-month; shorter: that period's MACRS table)")
    improvements_years: int = param(15, unit="years", rule=RECOVERY_PERIOD,
                                    doc="the rest of conversion capex: MACRS class life")
    equipment_years: int = param(5, unit="years", rule=RECOVERY_PERIOD, doc="ASICs and GPUs: MACRS class life")
    interest_cap_share: float = param(0.3, unit="share", low=0, high=1,
                                      doc="interest deductible up to this share of EBITDA; the rest carried forward")
    nol_limit_share: float = param(0.8, unit="share", low=0, high=1,
                                   doc="losses carried forward offset at most this share of taxable income")


@dataclass(slots=True)
class FinanceConfig:
    """How the site is financed and taxed: the equity holder's view next to the unlevered one."""

    debt: DebtConfig = section(DebtConfig, doc="project debt on conversions")
    equipment: EquipmentFinanceConfig = section(EquipmentFinanceConfig, doc="ASIC and GPU loans")
    covenant: CovenantConfig = section(CovenantConfig, doc="cover test and cure")
    tax: TaxConfig = section(TaxConfig, doc="income tax")
    cost_of_equity: float = param(0.15, unit="1/year", low=0, high=1, doc="discount rate of equity cash flows")


# --- as-of state -------------------------------------------------------------------------------
#: How far a snapshot's published hashprice may lie from the one its own figures give.
HASHPRICE_TOLERANCE = 0.10


@dataclass(slots=True)
class AsOfConfig:
    """Day 0's market, as of one dated snapshot (conf/asof/<date>.yaml, every value sourced).

    The shipped market options start from these values through interpolations
    (``${asof.btc_usd}``), and the site starts on ``date``; a value set on a process
    itself (``market.btc.start_usd=...``) wins over the snapshot.
    """

    date: str = param("2026-06-26", unit="date", rule=Date(),
                      doc="the snapshot's date: day 0 of the simulation (site.start_date)")
    height: int = param(955584, unit="blocks", low=0, integer=True, doc="block height on that date")
    difficulty: float = param(1.3387e14, unit="-", low=0, low_open=True, doc="difficulty on that date")
    hashrate_ehs: Optional[float] = param(None, unit="EH/s", low=0, low_open=True, nullable=True,
                                          doc="network hashrate; null = 600 s blocks at the difficulty")
    btc_usd: float = param(60037.0, unit="USD", low=0, low_open=True, doc="BTC price on that date")
    fees_btc_per_block: float = param(0.0173, unit="BTC/block", low=0,
                                      doc="fees per block, the latest published level")
    power_usd_per_mwh: float = param(40.0, unit="USD/MWh", low=0, low_open=True,
                                     doc="the site's mean spot power price")
    lease_usd_per_kw_month: float = param(128.0, unit="USD/kW-month", low=0, low_open=True,
                                          doc="first-year rent of a turnkey AI lease signed on that date")
    gpu_usd_per_hour: float = param(2.25, unit="USD/GPU-hour", low=0, low_open=True,
                                    doc="H100-equivalent rental price on that date")
    short_rate: float = param(0.0365, unit="1/year", low=-0.1, high=1,
                              doc="the short rate (SOFR) on that date, for floating-rate debt")
    hashprice_usd_per_ph_day: Optional[float] = param(
        29.0, unit="USD/PH/s/day", low=0, low_open=True, nullable=True,
        doc="published hashprice on that date: a check on the figures above, not an input")

    def cross_check(self, prefix: str) -> None:
        """Raise UserError if the published hashprice is more than 10% from what the figures give."""
        if self.hashprice_usd_per_ph_day is None:
            return
        implied = snapshot_hashprice_usd_per_ph_day(self)
        published = self.hashprice_usd_per_ph_day
        if abs(implied / published - 1.0) > HASHPRICE_TOLERANCE:
            raise UserError(
                f"{prefix}hashprice_usd_per_ph_day={shown(published)}: must be within "
                f"{HASHPRICE_TOLERANCE:.0%} of {implied:,.2f}, the hashprice that {prefix}btc_usd, "
                f"{prefix}difficulty, {prefix}height and {prefix}fees_btc_per_block give "
                "(check their units; or set it to null)")


def snapshot_hashprice_usd_per_ph_day(asof: AsOfConfig) -> float:
    """Return the hashprice (USD per PH/s per day) that a snapshot's own figures give."""
    return float(hashprice_usd_per_ph_day(subsidy_btc(asof.height), asof.fees_btc_per_block,
                                          asof.btc_usd, asof.difficulty))


# --- everything ---------------------------------------------------------------------------------
@dataclass(slots=True)
class Settings:
    """The whole checked config: typed run, site, fleet and asof; market and strategy as dicts.

    `market` and `strategy` stay free-form `_target_` nodes (a plug-in brings its own keys);
    their constructors check them.
    """

    run: RunConfig = section(RunConfig, doc="how the experiment runs")
    asof: AsOfConfig = section(AsOfConfig, doc="day 0's market, from a dated snapshot")
    site: SiteConfig = section(SiteConfig, doc="the site")
    fleet: FleetConfig = section(FleetConfig, doc="the mining fleet")
    finance: FinanceConfig = section(FinanceConfig, doc="debt, covenant and tax: the equity's view")
    market: Dict[str, Any] = field(default_factory=dict)
    strategy: Dict[str, Any] = field(default_factory=dict)

    def cross_check(self, prefix: str) -> None:
        """Raise UserError if equipment loans outlive the machines they finance."""
        equipment = self.finance.equipment
        if equipment.loan_to_value <= 0:
            return
        lives = {"site.cloud.gpu_life_years": self.site.cloud.gpu_life_years,
                 "fleet.upgrade_every_years": self.fleet.upgrade_every_years}
        known = [(life, key) for key, life in lives.items() if life is not None]
        for life, key in sorted(known)[:1]:  # the shortest life binds
            if equipment.term_years > life:
                raise UserError(f"{prefix}finance.equipment.term_years={shown(equipment.term_years)}: "
                                f"must be at most {shown(life)} ({key}): a loan must not outlive "
                                "the machines it finances")

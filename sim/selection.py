"""Which strategy is best: ranking and selection with a stated confidence.

Two procedures, one for each way a run ends.

A finished run holds all its replications: `select_by_mean` names the strategy with the
best mean over every one of them (the mean the report's tables, regret and intervals
show) and states how sure that is with a one-look paired Bonferroni test: for each rival,
a one-sided paired t-test that it does not beat the leader by more than the indifference
zone `delta`, Bonferroni over the k − 1 rivals. If the truly best strategy's mean beats
the leader's by more than `delta`, the test passes with probability at most
1 − `confidence` (the k − 1 comparisons with the truly best one hold together with that
probability), so "identified with 95% confidence" means: best, or within `delta` of the
best. The t-test rests on the central limit theorem over all n replications, not on a
first stage of a few: paired differences that are mostly zero with rare large values
(variants of one strategy) are judged by every world that holds one.

A run that adds replications until it is sure (`run.until_confident`) needs a sequential
procedure: Kim & Nelson's fully sequential KN (ACM TOMACS 11(3), 2001), `select_best`.
It looks at the replications one at a time, in replication order, and drops a strategy
as soon as another's running mean beats it by more than a shrinking allowance. The
allowance is set by the variance of each *paired* difference over a first stage of `n0`
replications, so common random numbers, which make those variances small, let it stop
early. Guarantee: if the best strategy's mean beats every other by at least `delta`, KN
selects it with probability at least `confidence`, provided the paired differences are
normal, or nearly so (variances unknown and unequal; any correlation across strategies).
That proviso matters: with a first stage of 20, a pair whose differences are mostly
exactly zero has its variance underestimated (0 when no world of the 20 holds one of
the rare large values), and KN stops confidently on the wrong strategy far more often
than promised. `Selection.caveat` says when the first stage looks like that (most of a
pair's differences exactly zero, or their variance under a quarter of that over every
replication). KN is sequential by design, so replaying it over however many replications
a run holds is the procedure itself: `run.until_confident` can call `select_best` after
every chunk of replications, and stop when it answers `confident`, without the inflation
of repeated looks. The first chunk should hold at least `n0` replications. KN's answer is
the leader at the stage where it stopped, which need not lead over every replication.

Strategies whose values are identical in every replication (a learning strategy that
chose to act exactly as a heuristic does) are one candidate: both procedures rank the
first of them and name the others as its `twins`. Two columns that cannot differ would
otherwise only widen KN's constant and make the paired test meaningless.

Alongside, `mcb_confidence` reports the paired Bonferroni confidence that the leader
beats every rival outright (the same test with no indifference zone): the largest
1 − α at which a one-look test would name it best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri, stdtr, stdtrit


#: Summary columns where a smaller value is the better outcome.
LOWER_IS_BETTER = frozenset({"payback_years", "peak_funding_usd", "power_cost_usd",
                             "capex_usd", "curtailed_mwh", "tenant_requests_rejected",
                             "tenant_mw_it_rejected", "peak_equity_usd",
                             "covenant_breached"})


def metric_higher_is_better(metric: str) -> bool:
    """Return whether a larger value of summary column `metric` is the better outcome."""
    return metric not in LOWER_IS_BETTER


@dataclass(frozen=True)
class Selection:
    """The strategy named best, whether the procedure is confident, and on what data."""

    best: str | None
    confident: bool
    confidence: float
    method: str
    means: pd.Series
    replications: int
    available: int
    survivors: tuple[str, ...]
    delta: float
    required_replications: int
    mcb_confidence: float
    higher_is_better: bool = True
    excluded: tuple[str, ...] = ()
    #: (strategy, the strategies identical to it in every replication), for each ranked one that has any.
    twins: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: The one-look paired Bonferroni confidence that no strategy beats `best` by more than
    #: `delta` (what `select_by_mean` states); NaN from KN.
    zone_confidence: float = np.nan
    #: Whether the Selection comes from KN (`select_best`), whose stopping is sequential.
    sequential: bool = True
    #: KN only: why its first stage may overstate its confidence ("" when it looks sound).
    caveat: str = ""

    def twins_of(self, name: str) -> tuple[str, ...]:
        """Return the strategies whose values equal `name`'s in every replication."""
        return dict(self.twins).get(name, ())

    def describe(self) -> str:
        """Return one sentence that states the selection and its confidence."""
        if self.best is None:
            return "No strategy has enough replications to rank."
        if len(self.means) == 1:
            without = (f" with values (none for {', '.join(self.excluded)})"
                       if self.excluded else "")
            return f"{self.best} is the only strategy{without}."
        same = self.twins_of(self.best)
        twin = f" ({', '.join(same)}: the same in every replication)" if same else ""
        level, caveat = percent(self.confidence), f" {self.caveat}" if self.caveat else ""
        if self.confident:
            tied = [s for s in self.survivors if s != self.best]
            tie = f" (within {self.delta:,.4g} of: {', '.join(tied)})" if tied else ""
            return (f"{self.best}{twin} is best with {level} confidence{tie} "
                    f"({self.method}, {self.replications:,} replications).{caveat}")
        bound = "at most" if self.sequential else "about"
        return (f"{self.best}{twin} leads, but is not identified at {level} after "
                f"{self.available:,} replications (still in contention: "
                f"{', '.join(self.survivors)}; {bound} {self.required_replications:,} "
                f"needed).{caveat}")


def percent(confidence: float) -> str:
    """Return a confidence level as a percentage with the digits it has: 95%, 97.5%."""
    return f"{round(100 * confidence, 6):g}%"


def kn_constant(k: int, n0: int, confidence: float) -> float:
    """Return KN's h²: the width constant for k strategies and a first stage of n0."""
    if k < 2 or n0 < 2:
        raise ValueError(f"k(={k}) and n0(={n0}) must both be >= 2.")
    alpha = 1 - confidence
    eta = 0.5 * ((2 * alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1)
    return 2 * eta * (n0 - 1)


#: KN's bound on the stages for a pair, where h² S² / δ² is larger (a δ tiny beside the
#: spread of the differences, which never stops early); whole numbers below it are exact.
MAX_STAGES = float(2 ** 53)


def kim_nelson(values: np.ndarray, confidence: float, delta: float | None,
               n0: int) -> tuple[int, bool, int, list[int], float, int]:
    """Return (best column, stopped, stage, survivors, delta, bound) of KN on `values`.

    `values` is (replications, strategies), larger is better, rows paired.
    """
    n, k = values.shape
    first = values[:n0]
    if delta is None:
        delta = default_delta(first)
    h2 = kn_constant(k, n0, confidence)
    diffs = first[:, :, None] - first[:, None, :]
    s2 = diffs.var(axis=0, ddof=1)
    # h² S² / δ², the replications a pair may need: infinite where a δ tiny beside S
    # overflows it (that pair's allowance is then infinite: it is never told apart, and
    # its bound is capped), 0 where the pair never differs
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        needed = np.where(s2 > 0, h2 * s2 / delta ** 2, 0.0)
    bound = np.floor(np.minimum(needed, MAX_STAGES))
    np.fill_diagonal(bound, 0)
    sums = np.cumsum(values, axis=0)
    alive = np.ones(k, dtype=bool)
    for r in range(n0, n + 1):
        means = sums[r - 1] / r
        allowance = np.maximum(0.0, delta / (2 * r) * (needed - r))
        gap = means[:, None] - means[None, :] + allowance
        ok = (gap >= -1e-12 * max(1.0, np.abs(means).max())) | ~alive[None, :]
        np.fill_diagonal(ok, True)
        alive &= ok.all(axis=1)
        live = np.flatnonzero(alive)
        limit = int(bound[np.ix_(live, live)].max()) + 1
        if live.size == 1 or r >= limit:
            return (int(live[np.argmax(means[live])]), True, r, live.tolist(), delta, limit)
    means = sums[-1] / n
    live = np.flatnonzero(alive)
    limit = int(bound[np.ix_(live, live)].max()) + 1
    return (int(live[np.argmax(means[live])]), False, n, live.tolist(), delta, limit)


def default_delta(first_stage: np.ndarray) -> float:
    """Return the default indifference zone: 1% of the largest first-stage |mean|."""
    scale = np.abs(first_stage.mean(axis=0)).max()
    if not scale > 0:
        scale = first_stage.std(axis=0, ddof=1).max() if len(first_stage) > 1 else 0.0
    return float(0.01 * scale) if scale > 0 else 1.0


def mcb_confidence(values: np.ndarray, leader: int, delta: float = 0.0) -> float:
    """Return the paired Bonferroni confidence that no column beats column `leader` by
    more than `delta` (with `delta` 0: that `leader` beats every other outright).

    `values` is (replications, strategies), larger is better, rows paired. For each
    rival j, the one-sided paired t-test of "j beats `leader` by `delta` or more" gives a
    p-value; the answer is 1 − (k − 1) × the largest of them, at least 0.
    """
    n, k = values.shape
    if k < 2:
        return 1.0
    if n < 2:
        return 0.0
    worst = 0.0
    for j in range(k):
        if j == leader:
            continue
        d = values[:, leader] - values[:, j]
        sd, lead = d.std(ddof=1), d.mean() + delta
        if sd > 0:
            p = float(stdtr(n - 1, -lead / (sd / np.sqrt(n))))  # Student's t upper tail
        else:
            p = 0.0 if lead > 0 else 1.0
        worst = max(worst, p)
    return float(max(0.0, 1 - (k - 1) * worst))


def first_stage_caveat(values: np.ndarray, names: list[str], n0: int) -> str:
    """Return why KN's first stage of `n0` rows may overstate its confidence, or "".

    `values` is (replications, strategies), rows paired. A pair of columns is suspect
    when most of its first-stage differences are exactly zero, or when their variance is
    under a quarter of that over every row (for normal differences and n0 = 20, a 1 in
    2,000 chance): KN's allowance, set by that variance, is then too narrow.
    """
    suspect = []
    for i in range(values.shape[1]):
        for j in range(i + 1, values.shape[1]):
            d = values[:, i] - values[:, j]
            if len(d) < 2 or not np.any(d != 0):
                continue
            first = d[:n0]
            zeros = float(np.mean(first == 0))
            if zeros >= 0.5:
                suspect.append(f"{names[i]} and {names[j]} ({zeros:.0%} of the first "
                               f"{len(first)} differences exactly zero)")
            elif len(first) > 1 and first.var(ddof=1) < 0.25 * d.var(ddof=1):
                suspect.append(f"{names[i]} and {names[j]} (their first {len(first)} "
                               f"differences vary a quarter as much as all {len(d)})")
    if not suspect:
        return ""
    return (f"Kim–Nelson's first stage looks far from normal for {'; '.join(suspect)}: its "
            f"confidence assumes nearly normal paired differences and may be overstated.")


def select_by_mean(summary: pd.DataFrame, metric: str = "npv_usd", confidence: float = 0.95,
                   *, delta: float | None = None, higher_is_better: bool | None = None,
                   by: str = "strategy") -> Selection:
    """Return the Selection of the strategy with the best mean `metric` over every
    replication, with the one-look paired Bonferroni confidence that no other beats it by
    more than `delta`.

    `summary` has one row per (strategy, replication); replications are paired by their
    number, and ones with a missing value for any strategy are left out. `delta` is the
    indifference zone in the metric's units (default: 1% of the largest |mean|). It is
    `confident` when that confidence reaches `confidence`; `survivors` are the leader and
    the strategies it does not beat outright at `confidence` (the truly best is among
    them with that confidence); `required_replications`, when not confident, is about how
    many replications would make it so, were the leader's lead over them zero.
    """
    wide, means, excluded, twins, higher_is_better = _prepared(
        summary, metric, confidence, delta, higher_is_better, by)
    names = list(wide.columns)
    values = (1.0 if higher_is_better else -1.0) * wide.to_numpy(float)
    n, k = values.shape
    method = "one-look paired Bonferroni over every replication"
    common = dict(confidence=confidence, means=means, available=n, replications=n,
                  higher_is_better=higher_is_better, excluded=excluded, twins=twins,
                  sequential=False)
    if k == 0 or n == 0:
        return Selection(None, False, method=method, survivors=(), delta=np.nan,
                         required_replications=2, mcb_confidence=0.0, **common)
    leader = int(np.argmax(values.mean(axis=0)))
    if k == 1:
        return Selection(names[0], True, method=method, survivors=(names[0],), delta=np.nan,
                         required_replications=n, mcb_confidence=1.0, zone_confidence=1.0,
                         **common)
    if n < 2:
        return Selection(names[leader], False, method=method, survivors=tuple(names),
                         delta=np.nan, required_replications=2, mcb_confidence=0.0,
                         zone_confidence=0.0, **common)
    if delta is None:
        delta = default_delta(values)
    zone = mcb_confidence(values, leader, delta)
    # the one-sided critical value of each of the k − 1 comparisons
    critical = float(stdtrit(n - 1, 1 - (1 - confidence) / (k - 1)))
    diffs = values[:, [leader]] - values
    sd = diffs.std(axis=0, ddof=1)
    low = diffs.mean(axis=0) - critical * sd / np.sqrt(n)
    survivors = [j for j in range(k) if j == leader or not low[j] > 0]
    short = [j for j in range(k) if j != leader and not low[j] > -delta]
    level = 1 - (1 - confidence) / (k - 1)
    needed = max([n + 1] + [_replications_for(sd[j] / delta, level) for j in short]) if short else n
    return Selection(names[leader], zone >= confidence, method=method,
                     survivors=tuple(names[j] for j in survivors), delta=float(delta),
                     required_replications=needed,
                     mcb_confidence=mcb_confidence(values, leader), zone_confidence=zone,
                     **common)


def _replications_for(sd_per_delta: float, level: float) -> int:
    """Return the least n with t(n − 1, level) · sd / √n ≤ delta (`sd_per_delta` = sd / delta):
    the replications at which a lead of zero has a lower bound of −delta, the t quantile
    taken at that n's degrees of freedom, not at those of the replications so far (from
    two replications, t(1) is 6.3 where the normal's is 1.6: about 15 times too many)."""
    target = sd_per_delta ** 2

    def short(n: int) -> bool:  # t falls with n: short at n, short at every n below it
        return stdtrit(n - 1, level) ** 2 * target > n

    low = max(2, int(np.ceil(min(ndtri(level) ** 2 * target, MAX_STAGES))))  # t ≥ the normal
    if not short(low):
        return low
    high = int(np.ceil(min(stdtrit(low - 1, level) ** 2 * target, MAX_STAGES)))
    if short(high):  # beyond what any run reaches
        return int(MAX_STAGES)
    while high - low > 1:  # short at low, enough at high
        middle = (low + high) // 2
        low, high = (middle, high) if short(middle) else (low, middle)
    return high


def _matrix(summary: pd.DataFrame, metric: str, by: str):
    missing = [c for c in (by, "replication", metric) if c not in summary.columns]
    if missing:
        raise ValueError(f"summary lacks column(s) {', '.join(missing)}.")
    wide = summary.pivot(index="replication", columns=by, values=metric).sort_index()
    wide.columns = [str(c) for c in wide.columns]
    excluded = tuple(c for c in wide.columns if wide[c].isna().all())
    wide = wide.drop(columns=list(excluded)).dropna()
    return wide, excluded


def select_best(summary: pd.DataFrame, metric: str = "npv_usd", confidence: float = 0.95,
                *, delta: float | None = None, n0: int = 20,
                higher_is_better: bool | None = None, by: str = "strategy") -> Selection:
    """Return the Selection of the best strategy by mean `metric` (Kim–Nelson, paired).

    `summary` has one row per (strategy, replication); replications are paired by their
    number, and ones with a missing value for any strategy are left out. `delta` is the
    indifference zone in the metric's units (default: 1% of the largest first-stage
    |mean|); `n0` the first stage (fewer if fewer replications exist, at least 2).
    """
    wide, means, excluded, twins, higher_is_better = _prepared(
        summary, metric, confidence, delta, higher_is_better, by)
    names = list(wide.columns)
    sign = 1.0 if higher_is_better else -1.0
    values = sign * wide.to_numpy(float)
    n, k = values.shape
    method = f"Kim–Nelson fully sequential, paired, n0={min(n0, n)}"
    common = dict(confidence=confidence, means=means, available=n,
                  higher_is_better=higher_is_better, excluded=excluded, twins=twins)
    if k == 0 or n == 0:
        return Selection(None, False, method=method, replications=0, survivors=(),
                         delta=np.nan, required_replications=max(n0, 2),
                         mcb_confidence=0.0, **common)
    if k == 1:
        return Selection(names[0], True, method=method, replications=n,
                         survivors=(names[0],), delta=np.nan, required_replications=n,
                         mcb_confidence=1.0, **common)
    if n < 2:
        leader = int(np.argmax(values.mean(axis=0)))
        return Selection(names[leader], False, method=method, replications=n,
                         survivors=tuple(names), delta=np.nan,
                         required_replications=max(n0, 2), mcb_confidence=0.0, **common)
    best, stopped, stage, live, delta, bound = kim_nelson(values, confidence, delta,
                                                          min(n0, n))
    return Selection(names[best], stopped, method=method, replications=stage,
                     survivors=tuple(names[i] for i in live), delta=delta,
                     required_replications=stage if stopped else bound,
                     mcb_confidence=mcb_confidence(values, best),
                     caveat=first_stage_caveat(values, names, min(n0, n)), **common)


def _prepared(summary, metric, confidence, delta, higher_is_better, by):
    """Return (values, replication × distinct strategy; every strategy's mean; excluded;
    twins; higher_is_better), after checking the arguments of a selection."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence(={confidence}) must be in (0, 1).")
    if delta is not None and not delta > 0:
        raise ValueError(f"delta(={delta}) must be > 0.")
    if higher_is_better is None:
        higher_is_better = metric_higher_is_better(metric)
    wide, excluded = _matrix(summary, metric, by)
    distinct, twins = distinct_columns(wide)
    return distinct, wide.mean(), excluded, twins, higher_is_better


def distinct_columns(wide: pd.DataFrame) -> tuple[pd.DataFrame, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Return `wide` without the columns equal to an earlier one in every row, and those twins."""
    kept: list[str] = []
    twins: dict[str, list[str]] = {}
    for name in wide.columns:
        column = wide[name].to_numpy()
        first = next((k for k in kept if np.array_equal(wide[k].to_numpy(), column)), None)
        if first is None:
            kept.append(name)
        else:
            twins.setdefault(first, []).append(name)
    return wide[kept], tuple((name, tuple(same)) for name, same in twins.items())


def required_replications(summary: pd.DataFrame, metric: str = "npv_usd",
                          confidence: float = 0.95, **options) -> int:
    """Return the replications by which KN is sure to have stopped (first-stage bound)."""
    return select_best(summary, metric, confidence, **options).required_replications


def until_confident_sentence(until: dict) -> str:
    """Return what a `run.until_confident` run decided (`Result.info["until_confident"]`):
    how many replications, the best mean over all of them, and Kim–Nelson's pick where it
    differs (the leader of the stage where it stopped)."""
    reached = "reached" if until.get("reached") else "NOT reached"
    line = (f"until_confident={until.get('confidence')}: {reached} after "
            f"{until.get('replications')} replications (cap {until.get('max_replications')}); "
            f"best by mean NPV over them: {until.get('best')}")
    picked = until.get("kim_nelson_best")
    if picked is not None and picked != until.get("best"):
        line += (f" (Kim–Nelson, which decided when to stop, picked {picked} on its "
                 f"{until.get('kim_nelson_stage')} replications: within its indifference zone "
                 "of the best, or one of two strategies it cannot tell apart)")
    return line

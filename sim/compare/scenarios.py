"""Scenarios: which runs compared sampled the same worlds, and what each set is called.

A *scenario* is a set of sampled worlds: the runs whose `run.json` carries the same
`world_key` (the market, seed, start and horizon they sampled), so a strategy under other
worlds is never ranked against itself (`scenario_names` says how runs on other worlds
drawn alike join one, and how scenarios are named). The runs are `sim.compare.load.Run`s;
this module reads their overrides, config, summary, folder and world key.
"""

from __future__ import annotations

from sim.rundir import is_outcome_neutral


def split_override(text: str) -> tuple[str, str]:
    """Return (key, value) of a Hydra override string, its +/~ prefix dropped."""
    key, _, value = text.partition("=")
    return key.strip().lstrip("+~"), value.strip()


def is_scenario(key: str) -> bool:
    """Return whether an override key sets the market or the seed (and so names a scenario)."""
    return key in ("market", "run.seed") or key.startswith(("market/", "market."))


def _world_overrides(run) -> dict[str, str]:
    """Return the run's overrides that may set its worlds apart: all but its strategies' and
    those that change no outcome."""
    return {key: value for key, value in map(split_override, run.overrides)
            if not (key == "strategy" or key.startswith("strategy.") or is_outcome_neutral(key))}


#: The config sections and keys that decide a run's worlds (`sim.rundir.world_key`; the market
#: reads day 0 from `asof` and the ASIC frontier from `fleet`), and how many of those that
#: differ name a scenario where its overrides do not.
_WORLD_SECTIONS = ("market.", "asof.", "fleet.")
_WORLD_KEYS = ("run.seed", "run.horizon_years", "run.deterministic", "site.start_date")
_NAMED_SETTINGS = 3


def _world_settings(run) -> dict[str, object]:
    """Return the run's config settings that decide its worlds, by dotted key."""
    flat = {}

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = value
    walk(run.config or {}, "")
    return {key: value for key, value in flat.items()
            if key.startswith(_WORLD_SECTIONS) or key in _WORLD_KEYS}


def scenario_names(runs: list) -> list[str]:
    """Return each run's scenario.

    Runs that sampled the same worlds (`world_key`) share one; runs on other worlds drawn
    alike (their overrides but the seed the same) join it unless they ran a strategy of the
    same name (then they are another scenario, so no strategy is ranked against itself;
    otherwise their strategies are compared unpaired). A scenario is named by the market
    and seed overrides all its runs carry and, where several are compared, by the other
    overrides that tell their worlds apart (`asof=2026-01-12`), or "default"; scenarios
    whose overrides do not tell them apart are named by the world settings that differ in
    their configs (`run.seed=2`), and failing that by their first run's folder."""
    groups: dict[str, list[int]] = {}
    for index, run in enumerate(runs):
        groups.setdefault(run.world_key, []).append(index)
    scenarios: list[tuple[set, list[int], frozenset]] = []  # (strategy names, runs, overrides)
    for members in groups.values():
        names = {str(s) for i in members for s in runs[i].summary["strategy"].unique()}
        overrides = frozenset(set.intersection(*(set(_world_overrides(runs[i]).items())
                                                 for i in members)))
        alike = frozenset((k, v) for k, v in overrides if k != "run.seed")  # worlds drawn alike
        joined = next((scenario for scenario in scenarios
                       if not scenario[0] & names and scenario[2] == alike), None)
        if joined is None:
            scenarios.append((names, list(members), alike))
        else:
            joined[0].update(names)
            joined[1].extend(members)
    common = [dict(set.intersection(*(set(_world_overrides(runs[i]).items()) for i in members)))
              for _, members, _ in scenarios]
    apart = set()  # keys whose value is not the same in every scenario
    if len(scenarios) > 1:
        every = {k for overrides in common for k in overrides}
        apart = {k for k in every if len({overrides.get(k) for overrides in common}) > 1}
    names = [", ".join(sorted(f"{k}={v}" for k, v in overrides.items()
                              if is_scenario(k) or k in apart)) or "default"
             for overrides in common]
    for name in set(names):  # alike overrides (or none recorded): the settings that differ
        alike = [k for k, other in enumerate(names) if other == name]
        if len(alike) > 1:
            settings = [_world_settings(runs[scenarios[k][1][0]]) for k in alike]
            keys = sorted(key for key in set().union(*settings)
                          if len({str(s.get(key)) for s in settings}) > 1)[:_NAMED_SETTINGS]
            for k, given in zip(alike, settings):
                if keys:
                    names[k] = ", ".join(f"{key}={given.get(key)}" for key in keys)
    names = [f"{name} ({runs[members[0]].path.name})" if names.count(name) > 1 else name
             for name, (_, members, _) in zip(names, scenarios)]
    named = {}
    for name, (_, members, _) in zip(names, scenarios):
        named.update(dict.fromkeys(members, name))
    return [named[index] for index in range(len(runs))]


def scenario_keys(names: list[str]) -> set[str]:
    """Return the override keys that name scenarios `names` (`scenario_names`'s), so that
    they label no strategy."""
    return {split_override(part)[0] for name in names for part in name.split(", ")}

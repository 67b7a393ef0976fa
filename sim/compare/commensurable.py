"""Whether the runs compared value their outcomes alike: NPVs under other settings do not compare.

Runs that differ in the site, the market or the finance are scenarios, and comparing them
is what a comparison is for. Runs that differ in how an NPV is valued are not: the discount
rates and the terminal value with the terms its method reads (`VALUATION_KEYS`, read by the
ledger alone) and the horizon (which sets the years an NPV covers) make one strategy's NPV
another number without changing what it does. Such runs are still compared, but the verdict
says so after its headline and the command line repeats it as a warning.
"""

from __future__ import annotations

from sim.compare.load import Run, RunSet, run_name
from sim.compare.reruns import VALUATION_KEYS

#: The terms of the terminal value methods: they count where the run's method reads them
#: (`terminal_terms`).
TERMS = ("run.terminal_multiple", "run.valuation")
#: The settings that decide what a run's NPV means whatever its terminal value: the ledger's
#: other keys and the horizon.
KEYS = (*(key for key in VALUATION_KEYS if key not in TERMS), "run.horizon_years")
#: What run.json records of them, for a run whose config does not hold them.
_INFO = {"run.discount_rate": "discount_rate", "run.terminal_value": "terminal_value"}


def _shown(value) -> str:
    """Return a setting as the line shows it: numbers alike whether read as 10 or 10.0."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{float(value):g}"
    return str(value)


def settings(run: Run) -> dict[str, str | None]:
    """Return the run's valuation settings by dotted key (`KEYS`, a rate per kind under
    `run.discount_rates.<kind>`, None where it follows run.discount_rate); a key neither the
    config nor run.json records is absent."""
    node = (run.config or {}).get("run") or {}
    found = {}
    for key in KEYS:
        name = key.removeprefix("run.")
        value = node.get(name, run.info.get(_INFO[key]) if key in _INFO else None)
        if isinstance(value, dict):
            found.update({f"{key}.{kind}": None if rate is None else _shown(rate)
                          for kind, rate in value.items()})
        elif value is not None:
            found[key] = _shown(value)
    found.update(terminal_terms(node, found.get("run.terminal_value")))
    return found


def terminal_terms(node, method: str | None) -> dict[str, str]:
    """Return the terms terminal value `method` reads, by dotted key, from a config's `run`
    node: the multiples of `multiple`; the cap rate, the idle halls' terms and the mine's of
    `market`; none for `contracted` and `none` (or a config without them)."""
    multiples, terms = node.get("terminal_multiple") or {}, node.get("valuation") or {}
    if method == "multiple":
        return {f"run.terminal_multiple.{use}": _shown(value) for use, value in multiples.items()}
    if method != "market" or not terms:
        return {}
    read = ["cap_rate", "idle_halls", "mining"]
    read += ["lease_up_months"] if terms.get("idle_halls") == "market" else []
    read += ["mining_usd_per_mw"] if terms.get("mining") == "per_mw" else []
    found = {f"run.valuation.{name}": _shown(terms[name]) for name in read if name in terms}
    if terms.get("mining") == "multiple" and "mining" in multiples:
        found["run.terminal_multiple.mining"] = _shown(multiples["mining"])
    return found


def _effective(found: dict, key: str) -> str | None:
    """Return the value `key` takes in a run's `settings`: a kind's rate its own, else
    run.discount_rate's; None where the run does not record the key."""
    if key.startswith("run.discount_rates.") and key in found and found[key] is None:
        return found.get("run.discount_rate")
    return found.get(key)


def differences(runset: RunSet) -> list[str]:
    """Return the sentence naming the valuation settings the runs compared differ in, and
    each run's value, or [] when they agree (or one run is compared)."""
    runs = [runset.runs[i] for i in sorted(set(runset.summary["run"]))]
    if len(runs) < 2:
        return []
    found = [settings(run) for run in runs]
    keys = list(dict.fromkeys(key for one in found for key in one))
    parts = []
    for key in keys:
        values = [(_effective(one, key), run) for one, run in zip(found, runs)
                  if _effective(one, key) is not None]
        own = any(one.get(key) is not None for one in found)  # a kind's rate set, not followed
        if len({value for value, _ in values}) < 2 or not own:
            continue
        where: dict[str, list[str]] = {}
        for value, run in values:
            where.setdefault(value, []).append(run_name(run, runset))
        groups = [f"{value} in {', '.join(names)}" for value, names in where.items()]
        joint = "; " if any(len(names) > 1 or "," in names[0] for names in where.values()) else ", "
        parts.append(f"{key} ({joint.join(groups)})")
    if not parts:
        return []
    horizon = (" (the horizon sets the years an NPV covers)"
               if any(part.startswith("run.horizon_years ") for part in parts) else "")
    return [f"The runs compared differ in {' and in '.join(parts)}: their NPVs are valued "
            f"differently{horizon}, so ranking them compares valuations, not strategies; "
            "compare runs made with the same valuation settings."]

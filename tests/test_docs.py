"""The README's config reference is generated from the schema and the config tree's comments, kept in sync."""

import importlib.util
import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

import sim
from sim.boundary import TABLE_COLUMNS
from sim.params import keys
from sim.schema import Settings
from sim.world import PROCESS_FIELDS

ROOT = Path(__file__).resolve().parent.parent


# --- docs/model.md: every config key documented with its default -----------------------------
MODEL_DOC = ROOT / "docs" / "model.md"
#: The groups whose every leaf key docs/model.md must document (run settings included).
DOCUMENTED_ROOTS = ("run", "asof", "site", "fleet", "finance", "market", "strategy")
#: Where no file may still cite the old, unshipped notes; skipped directory names.
SKIPPED_DIRS = {"__pycache__", "node_modules", "outputs", "multirun", "build", "dist"}


def _leaves(node, prefix: str):
    """Yield (dotted key, value) for every leaf of a config mapping; a distribution spec
    ({dist: ...}) is one leaf, and `_target_` and `defaults` are not keys a user sets."""
    for key, value in node.items():
        if key in ("_target_", "defaults"):
            continue
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and "dist" not in value:
            yield from _leaves(value, dotted)
        else:
            yield dotted, value


def _option_files():
    """Yield (package prefix, path) of every shipped fleet, market and strategy option."""
    conf = ROOT / "conf"
    for path in sorted(conf.glob("fleet/*.yaml")):
        yield "fleet", path
    for path in sorted(conf.glob("market/*/*.yaml")):
        yield f"market.{path.parent.name}", path
    for path in sorted(conf.glob("strategy/*.yaml")):
        yield f"strategy.{path.stem}", path


def _config_leaves() -> list[tuple[str, object, str]]:
    """Return (dotted key, default, where) for the default config and every shipped option.

    Values are taken as written: a day-0 value read from the snapshot is documented as its
    interpolation (`${asof.btc_usd}`), and the snapshot's keys with their values."""
    composed = OmegaConf.to_container(sim.compose([]), resolve=False)
    out = [(key, value, "the default config") for root in DOCUMENTED_ROOTS
           for key, value in _leaves(composed[root], root)]
    for prefix, path in _option_files():
        node = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        out.extend((key, value, path.relative_to(ROOT).as_posix())
                   for key, value in _leaves(node, prefix))
    return out


def _cell(text: str):
    """Return a table cell's value: backticks off, read as YAML, number-like strings as floats."""
    return _numbers(yaml.safe_load(text.strip().strip("`")))


def _numbers(value):
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _same(documented, actual) -> bool:
    if isinstance(actual, dict):
        return (isinstance(documented, dict) and documented.keys() == actual.keys()
                and all(_same(documented[k], actual[k]) for k in actual))
    if isinstance(actual, bool) or isinstance(documented, bool):
        return documented is actual
    if isinstance(actual, (int, float)) and isinstance(documented, (int, float)):
        return abs(documented - actual) <= 1e-12 * max(1.0, abs(actual))
    return documented == actual


def documented_defaults() -> dict[str, list]:
    """Return every key docs/model.md tabulates (a row `| `key` | `default` | ...`) with its
    documented defaults (a key set differently by several options has several rows)."""
    rows: dict[str, list] = {}
    for line in MODEL_DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows.setdefault(cells[0].strip("`"), []).append(_cell(cells[1]))
    return rows


def test_model_doc_tabulates_every_config_key_with_its_default():
    """Rule: every leaf key of run, site, fleet and of every shipped market/* and strategy/*
    option has a row in docs/model.md under its full dotted name, with that default."""
    documented = documented_defaults()
    missing, wrong = [], []
    for key, value, where in _config_leaves():
        if key not in documented:
            missing.append(f"{key} ({where})")
        elif not any(_same(doc, _numbers(value)) for doc in documented[key]):
            wrong.append(f"{key}={value!r} ({where}); documented {documented[key]!r}")
    assert not missing, "docs/model.md lacks a table row for: " + ", ".join(missing)
    assert not wrong, "docs/model.md documents another default for: " + "; ".join(wrong)


def test_the_documented_defaults_parse_as_the_config_would():
    rows = documented_defaults()
    assert rows["site.conversion.capex_usd_per_mw_it"] == [
        {"dist": "lognormal", "median": 9.0e6, "sigma": 0.15}]
    assert rows["market.network.start_hashrate_ehs"] == ["${asof.hashrate_ehs}"]
    assert rows["asof.hashrate_ehs"] == [None]
    assert sorted(rows["fleet.j_per_th"]) == [13.5, 17.5, 18.5, 21.5]
    assert not _same(17.5, 17.6) and not _same(True, 1.0) and _same(1.0e6, 1000000)


def test_no_file_cites_the_unshipped_notes():
    """The economics live in docs/model.md; no file may cite the old notes outside the repo."""
    old = "MODEL" + ".md"
    citing = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                   and not d.endswith(".egg-info")]
        for name in files:
            path = Path(folder, name)
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue  # binary files (parquet fingerprints, images)
            if old in text:
                citing.append(path.relative_to(ROOT).as_posix())
    assert not citing, f"cite docs/model.md instead of {old} in: {', '.join(sorted(citing))}"


def test_readme_config_reference_matches_conf():
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "scripts" / "config_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- config-reference:start -->\n", "<!-- config-reference:end -->"
    section = readme.split(start, 1)[1].split(end, 1)[0]
    assert section.strip() == module.reference().strip(), (
        "README config reference is stale: run scripts/config_reference.py --write")


def test_every_config_key_has_a_meaning():
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "scripts" / "config_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    missing = [(path.name, key) for path in (ROOT / "conf").rglob("*.yaml")
               for key, value, note in module.rows(path)
               if not note and not key.endswith("_target_") and "experiment" not in path.as_posix()]
    assert not missing, missing


def test_reference_lists_every_schema_key_with_its_rule():
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "scripts" / "config_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.reference()
    for key, meta in keys(Settings):
        assert f"| `{key}` | {module.type_name(meta)} | {meta['unit']} |" in text, key
        assert module._cell(meta["rule"].describe()) in text, key


def test_readme_names_every_market_option_and_no_other():
    """"Markets and sweeps" lists each market group's options as conf/market ships them."""
    import re

    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    paragraph = text[text.index("Each market process is a config group:"):]
    paragraph = paragraph[:paragraph.index("Hydra's multirun")]
    listed = {group: set(re.findall(r"`(\w+)`", names))
              for group, names in re.findall(r"`market/(\w+)` \(([^)]*)\)", paragraph)}
    shipped = {group.name: {option.stem for option in group.glob("*.yaml")}
               for group in (ROOT / "conf" / "market").iterdir() if group.is_dir()}
    assert listed == shipped


# --- README: what it says of the model and of the base case, against the code ---------------
def _readme_section(title: str) -> str:
    """Return the README's section under `## title`, up to the next `## `, on one line."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return " ".join(body.split())


def test_the_model_in_brief_names_the_default_network_and_signing_rule():
    """Before: it described market/network=reference's rule as the network, and said a
    request that does not fit is lost unless the strategy builds for it, while by default
    tenants sign against halls still converting."""
    brief = _readme_section("The model in brief")
    defaults = yaml.safe_load((ROOT / "conf" / "config.yaml").read_text())["defaults"]
    network = next(d["market/network"] for d in defaults if isinstance(d, dict) and "market/network" in d)
    assert f"(`market/network={network}`, the default)" in brief
    signs_converting = sim.compose([]).site.sign_converting
    assert f"by default (`site.sign_converting={str(signs_converting).lower()}`)" in brief
    assert "tenant_signed_converting" in brief


def test_the_base_case_failure_charge_is_the_readmes_hand_computation():
    """The README says the base case charges failures at their expected rate, with July
    2026's figure for stay_mining; recomputed here by hand from the world's hashprice."""
    cfg = sim.compose(["strategy=stay_mining", "run.deterministic=true", "run.replications=1",
                       "run.horizon_years=0.25", "run.progress=false", "run.compare=false",
                       "run.robustness.replications=0"])
    flows = sim.run(cfg).cashflows
    july = flows[(flows.category == "capex_asic_refresh")
                 & (flows.month == "2026-07-01")]["usd"].sum()
    world = sim.sample_world(cfg, 0)
    in_july = ((world.date >= np.datetime64("2026-07-01"))
               & (world.date < np.datetime64("2026-08-01")))
    assert world.power_usd_per_mwh[in_july].max() < 60  # below breakeven: mining every day
    th_per_s = cfg.site.grid_mw * 1e6 / (cfg.fleet.j_per_th * cfg.site.pue_mining)
    by_hand = sum(0.07 / 365.25 * th_per_s * 375 * world.hashprice_usd_per_ph_day[in_july] / 1000)
    assert -july == pytest.approx(by_hand, rel=1e-9)
    base_case = _readme_section("A tour")
    assert f"stay_mining pays ${-july:,.0f} in July 2026" in base_case
    assert f"× ${world.hashprice_usd_per_ph_day[in_july].mean():.2f}/PH/day" in base_case


def test_the_readmes_label_example_labels_the_rows():
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    match = re.search(r"`hashpivot (strategy=phased [^`]*\+strategy\.phased\.name=(\w+))` labels "
                      r"that run's rows `(\w+)`", text)
    assert match and match[2] == match[3]
    cfg = sim.compose([*match[1].split(), "run.deterministic=true", "run.replications=1",
                       "run.horizon_years=0.25", "run.progress=false", "run.compare=false",
                       "run.robustness.replications=0"])
    assert set(sim.run(cfg).summary["strategy"]) == {match[2]}


def test_the_plugin_recipe_names_the_fields_each_process_returns():
    """The recipe said a process "returns the World fields it owns" and named none: a user
    writing a power or BTC process had to read sim/world.py (or fail once) to learn
    `power_usd_per_mwh` (an audit). Each table row must be the group's fields, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Plugging in your own process\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `market/(\w+)` \| (.*) \|$", section, flags=re.M))
    assert list(rows) == list(PROCESS_FIELDS)
    for name, fields in PROCESS_FIELDS.items():
        named = re.findall(r"`(\w+)`", rows[name].split(", a table")[0])
        assert named == list(fields), name
    epochs = rows["network"].split("`epochs`, a table of ")[1]
    assert epochs == f"`{', '.join(TABLE_COLUMNS['epochs'])}`"


def test_the_tours_sentence_on_mining_quotes_the_default_runs_table():
    """The sentence kept the figures of the run before the last fix ($156M, P95 $592M) while
    the table printed above it, and the table of the defaults' history, say 157.4 and
    595.9 (an audit)."""
    tour = _readme_section("A tour")
    row = re.search(r"stay_mining +([\d.,-]+) +([\d.,-]+) +([\d.,-]+) +([\d.,-]+) ", tour)
    mean, p5, _, p95 = (float(x.replace(",", "")) for x in row.groups())
    said = re.search(r"mining is worth \$(\d+)M on average in the default run, though with a "
                     r"wide spread \(P5 −\$(\d+)M, P95 \$(\d+)M\)", tour)
    assert said, "the sentence on mining's value is gone or reworded"
    assert [int(x) for x in said.groups()] == [round(mean), round(-p5), round(p95)]


def _model_doc_text() -> str:
    """Return docs/model.md with its lines joined (a sentence may wrap anywhere)."""
    return " ".join(MODEL_DOC.read_text(encoding="utf-8").split())


def test_the_ledger_table_spreads_conversion_capex_as_the_conversion_section_does():
    """Before: the ledger table still divided the capex by `retrofit_days` (the rule before
    2026-11-28), where the engine, and the Conversion section, divide it by the retrofit's
    whole days: $1,994,701 a day, not $1,998,007, in the deterministic convert_all."""
    text = _model_doc_text()
    days = "⌈start + max(retrofit_days, 1)⌉"
    assert days in text.split("### Conversion")[1].split("###")[0]
    row = next(line for line in MODEL_DOC.read_text(encoding="utf-8").splitlines()
               if line.startswith("| `capex_conversion` |"))
    assert f"n = {days} − ⌈start⌉" in row and "/ retrofit_days" not in row


def test_the_covenant_test_months_are_the_runs_quarters_as_documented():
    """Before: 'tested at each quarter end', read by a lender as calendar quarters, where
    the tests fall at the ends of the run's quarters (months 2, 5, 8, ...): from
    2026-06-26, in May, not June (the deterministic convert_all's min_dscr, 1.4406 in May
    2029, would be 1.4448 on calendar quarters)."""
    from sim.finance.covenants import covenant_test_months

    assert list(covenant_test_months(0, 12, 3, 1)) == [2, 5, 8, 11]
    covenant = _model_doc_text().split("**Covenant.**")[1].split("- **")[0]
    assert "the ends of the ledger's months 2, 5, 8, … (month 0 holds day 0), not calendar quarters" in covenant
    assert "the ends of August, November, February and May" in covenant


def test_the_halving_days_subsidy_is_the_documented_mix_of_unrounded_heights():
    """Before: the doc did not say that block_height is rounded down while the halving
    day's subsidy uses the unrounded heights, so a hand check from block_height gave
    2.8125 BTC where the world has 2.8081."""
    world = sim.sample_world(sim.compose(["run.deterministic=true"]), 0)
    day = int(np.flatnonzero(world.block_height >= 1_050_000)[0]) - 1
    start, end = world.block_height[day], world.block_height[day + 1]
    assert np.all(world.block_height == np.floor(world.block_height))
    from_whole_heights = ((1_050_000 - start) * 3.125 + (end - 1_050_000) * 1.5625) / (end - start)
    subsidy = world.subsidy_btc[day]
    text = _model_doc_text()
    assert "rounded down to a whole block" in text
    assert (f"{world.date[day]} runs from height {start:,.0f} to {end:,.0f} and pays "
            f"{subsidy:.4f} BTC a block, not the {from_whole_heights:.4f} that the whole "
            "heights would give") in text

"""The README's config reference is generated from the schema and the config tree's comments, kept in sync."""

import importlib.util
from pathlib import Path

from sim.params import keys
from sim.schema import Settings

ROOT = Path(__file__).resolve().parent.parent


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

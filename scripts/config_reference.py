"""Print the config reference (every key: type, unit, default, allowed values, meaning) as Markdown.

`run`, `asof`, `site`, `fleet` and `finance` come from the schema (sim/schema.py); each option file of
conf/ adds its values with their comments (units and sources), and the market and
strategy options the rules of their constructors' fields. The README's "Config
reference" section is this script's output; a test keeps them equal:

    python scripts/config_reference.py           # print it
    python scripts/config_reference.py --write   # rewrite the README's section
"""

from __future__ import annotations

import dataclasses
import re
import sys
from importlib import import_module
from pathlib import Path

from sim.params import keys, meta_of
from sim.schema import Settings

ROOT = Path(__file__).resolve().parent.parent / "conf"
LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w]*):\s*(?P<value>[^#]*?)\s*(#\s*(?P<note>.*))?$")
TARGET = re.compile(r"^_target_:\s*(\S+)", re.MULTILINE)
DEFAULT = re.compile(r"^\s*-\s*(\w+)\s*$", re.MULTILINE)


def package_of(path: Path, text: str) -> str:
    """Return the dotted package a config file's keys live under."""
    header = re.search(r"#\s*@package\s+(\S+)", text)
    if header:
        return "" if header.group(1) == "_global_" else header.group(1)
    group = path.parent.relative_to(ROOT).as_posix()
    return "" if group == "." else group.replace("/", ".")


def rows(path: Path) -> list[tuple[str, str, str]]:
    """Return (key, value, note) for every key of one config file."""
    text = path.read_text()
    prefix = package_of(path, text)
    stack: list[tuple[int, str]] = []
    out = []
    for line in text.splitlines():
        match = LINE.match(line)
        if not match or line.lstrip().startswith("#") or match["key"] == "defaults":
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        key = ".".join(p for p in [prefix, *[k for _, k in stack]] if p)
        value = match["value"]
        if key.startswith("hydra"):
            continue
        if value or match["note"]:
            out.append((key, value, match["note"] or ""))
    return out


def target_of(path: Path):
    """Return the class an option file's `_target_` names (following its defaults), or None."""
    text = path.read_text()
    found = TARGET.search(text)
    if found:
        module, _, name = found.group(1).rpartition(".")
        return getattr(import_module(module), name, None)
    for base in DEFAULT.findall(text.split("\n\n", 1)[0]):
        if base != "_self_" and (path.parent / f"{base}.yaml").is_file():
            return target_of(path.parent / f"{base}.yaml")
    return None


def yaml_value(value) -> str:
    """Return a default as the YAML would write it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value and not 1e-4 <= abs(value) < 1e6:
        return f"{value:g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def type_name(meta) -> str:
    """Return the type of a key in a word."""
    rule = meta["rule"]
    return f"{rule.type_name} or null" if rule.nullable else rule.type_name


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def schema_table() -> list[str]:
    """Return the Markdown table of every run, asof, site and fleet key, from the schema."""
    out = ["#### `run`, `asof`, `site`, `fleet`, `finance` (the schema, `sim/schema.py`)", "",
           "Hydra checks these types when it composes the config; `allowed` is checked next.", "",
           "| key | type | unit | default | allowed | meaning |", "|---|---|---|---|---|---|"]
    defaults = Settings()
    for key, meta in keys(Settings):
        value = defaults
        for part in key.split("."):
            value = getattr(value, part)
        out.append(f"| `{key}` | {type_name(meta)} | {_cell(meta['unit'])} | "
                   f"`{_cell(yaml_value(value))}` | {_cell(meta['rule'].describe())} | {_cell(meta['doc'])} |")
    out.append("")
    return out


def allowed(key: str, prefix: str, target) -> str:
    """Return what `key` of one option file allows: from the schema or its constructor."""
    if key.endswith("._target_"):
        return "an importable class"
    meta = meta_of(Settings, key)
    if meta is None and target is None and key.startswith("strategy."):  # an experiment's delta
        option = ROOT / "strategy" / f"{key.split('.')[1]}.yaml"
        prefix, target = ".".join(key.split(".")[:2]), target_of(option) if option.is_file() else None
    if meta is None and target is not None and dataclasses.is_dataclass(target):
        meta = meta_of(target, key[len(prefix) + 1:] if prefix else key)
    return _cell(meta["rule"].describe()) if meta else ""


def option_table(path: Path) -> list[str]:
    """Return the Markdown table of one option file: its values, their rules and comments."""
    table = rows(path)
    if not table:
        return []
    text = path.read_text()
    prefix, target = package_of(path, text), target_of(path)
    out = [f"#### `{path.relative_to(ROOT).as_posix()}`", "",
           "| key | value | allowed | meaning (unit, source) |", "|---|---|---|---|"]
    for key, value, note in table:
        shown = f"`{_cell(value)}`" if value else ""
        out.append(f"| `{key}` | {shown} | {allowed(key, prefix, target)} | {_cell(note)} |")
    out.append("")
    return out


def reference() -> str:
    """Return the whole reference as Markdown: the schema, then one table per option file."""
    parts = schema_table()
    files = sorted((p for p in ROOT.rglob("*.yaml") if p.parent != ROOT), key=lambda p: p.as_posix())
    for path in files:
        parts.extend(option_table(path))
    return "\n".join(parts)


def write_readme(readme: Path) -> None:
    """Replace the README's reference section with the current one."""
    start, end = "<!-- config-reference:start -->\n", "<!-- config-reference:end -->"
    text = readme.read_text()
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    readme.write_text(f"{head}{start}{reference()}\n{end}{tail}")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_readme(ROOT.parent / "README.md")
    else:
        sys.stdout.write(reference())

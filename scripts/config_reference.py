"""Print the config reference (every key, its default and its comment) as Markdown.

The README's "Config reference" section is this script's output; a test keeps them equal:

    python scripts/config_reference.py           # print it
    python scripts/config_reference.py --write   # rewrite the README's section
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "conf"
LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w]*):\s*(?P<value>[^#]*?)\s*(#\s*(?P<note>.*))?$")


def package_of(path: Path, text: str) -> str:
    """Return the dotted package a config file's keys live under."""
    header = re.search(r"#\s*@package\s+(\S+)", text)
    if header:
        return "" if header.group(1) == "_global_" else header.group(1)
    group = path.parent.relative_to(ROOT).as_posix()
    return "" if group == "." else group.replace("/", ".")


def rows(path: Path) -> list[tuple[str, str, str]]:
    """Return (key, default, note) for every key of one config file."""
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
            out.append((key, value.replace("|", "\\|"), (match["note"] or "").replace("|", "\\|")))
    return out


def reference() -> str:
    """Return the whole reference as Markdown, one table per config file."""
    parts = []
    files = sorted(ROOT.rglob("*.yaml"), key=lambda p: (p.parent != ROOT, p.as_posix()))
    for path in files:
        name = path.relative_to(ROOT).as_posix()
        table = rows(path)
        if not table:
            continue
        parts.append(f"#### `{name}`\n\n| key | default | meaning (unit, source) |\n|---|---|---|")
        parts.extend(f"| `{k}` | `{v}` | {n} |" if v else f"| `{k}` | | {n} |" for k, v, n in table)
        parts.append("")
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

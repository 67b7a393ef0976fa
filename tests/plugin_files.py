"""A user's plug-in strategy as files in a folder of their own: its module, and its option
in a config directory (tests of the commands that import plug-ins from where they run)."""

import sys
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def plugin_strategy_here(monkeypatch, folder: Path, module: str, source: str, option: str,
                         cls: str):
    """Write `module`.py (`source`) into `folder` and its strategy option `option`, naming
    class `cls`, into `folder`/conf; run the block in `folder`, with sys.path as it was and
    the module forgotten after (a command puts the directory on sys.path itself)."""
    (folder / f"{module}.py").write_text(source)
    (folder / "conf" / "strategy").mkdir(parents=True, exist_ok=True)
    (folder / "conf" / "strategy" / f"{option}.yaml").write_text(
        f"# @package strategy.{option}\n_target_: {module}.{cls}\n")
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "path", list(sys.path))
    try:
        yield
    finally:
        sys.modules.pop(module, None)

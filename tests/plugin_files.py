"""A user's plug-in strategy as files in a folder of their own: its module, and its option
in a config directory (tests of the commands that import plug-ins from where they run)."""

from pathlib import Path


def write_plugin_strategy(folder: Path, module: str, source: str, option: str, cls: str) -> Path:
    """Write `module`.py (`source`) into `folder` and its strategy option `option`, naming
    class `cls`, into `folder`/conf; return that config directory."""
    (folder / f"{module}.py").write_text(source)
    conf = folder / "conf"
    (conf / "strategy").mkdir(parents=True, exist_ok=True)
    (conf / "strategy" / f"{option}.yaml").write_text(
        f"# @package strategy.{option}\n_target_: {module}.{cls}\n")
    return conf

"""Where configs are read from: the config tree that ships with the package, its sections
and its groups' options, and the extra config directories a user adds to it.

The tree is ``sim/conf`` in a wheel, ``conf/`` in a checkout.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf

from sim.arguments import ArgumentError

PACKAGE_DIR = Path(__file__).resolve().parent
#: The typed sections of the config; `market` and `strategy` are free-form `_target_` nodes.
SECTIONS = ("run", "asof", "site", "fleet", "finance", "market", "strategy")
#: The sections the schema types key by key.
TYPED_SECTIONS = ("run", "asof", "site", "fleet", "finance")
#: The market groups, in the order the world samples them.
MARKET_GROUPS = ("btc", "network", "power", "ai", "demand", "rates")
#: The node of a market group a config may lack, having been written before the group
#: existed: without `market/rates` (issue #10) the short rate is constant.
OPTIONAL_MARKET = {"rates": {"_target_": "sim.processes.rates.ConstantRate"}}


def config_dir() -> Path:
    """Return the directory of the shipped config tree (wheel or checkout)."""
    for candidate in (PACKAGE_DIR / "conf", PACKAGE_DIR.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"hashpivot's config tree is missing next to {PACKAGE_DIR}")


def check_config_dirs(config_dirs: Sequence[str | Path], keyword: str = "config_dirs") -> None:
    """Raise UserError (an ArgumentError naming `keyword`, the argument or setting that gave
    them) unless every extra config directory exists, as hashpivot's --config-dir does
    (Hydra would only warn, and compose without it), and holds no file of a name hashpivot
    ships: Hydra reads the shipped one first, so the user's file would be ignored without a
    word (a copy of gbm.yaml edited in place)."""
    for path in config_dirs:
        if not Path(path).is_dir():
            raise ArgumentError(lambda name: f"{name(keyword, path)}: additional config "
                                             f"directory '{Path(path).absolute()}' not found")
    shipped = config_dir()
    for path in config_dirs:
        for found in sorted(Path(path).rglob("*.yaml")):
            file = found.relative_to(path)
            if (shipped / file).is_file():
                raise ArgumentError(lambda name: f"{name(keyword, path)}: {file.as_posix()} has "
                                                 f"the name of a file hashpivot ships, which is read "
                                                 f"instead of it; give yours another name (e.g. "
                                                 f"{file.stem}_mine.yaml) and select that")


def user_config_dirs(cfg) -> dict[str, list[Path]]:
    """Return the extra config directories a command-line `cfg` was composed with, by what
    gave them: `config_dirs` (--config-dir) and `hydra.searchpath`; Hydra's file sources
    other than the shipped tree."""
    sources = OmegaConf.select(cfg, "hydra.runtime.config_sources", default=None) or []
    dirs: dict[str, list[Path]] = {}
    for source in sources:
        if source.schema == "file" and source.provider != "main":
            key = "hydra.searchpath" if source.provider.startswith("hydra.searchpath") else "config_dirs"
            dirs.setdefault(key, []).append(Path(source.path))
    return dirs


def shipped_options(group: str) -> list[str]:
    """Return the options of config group `group` that hashpivot ships, sorted ([] for none)."""
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml")) if group else []

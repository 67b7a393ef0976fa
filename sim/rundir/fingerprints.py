"""Which config keys, code and files decide a run's numbers: a run's fingerprint.

A run's fingerprint (`fingerprint`) is its resolved config less the keys that only change
how it executes (`EXECUTION_KEYS`), plus digests of hashpivot's own code, of the plug-in
modules the config names and of the data files it reads: two runs with one fingerprint
compute the same numbers, so a rerun resumes the other's chunks. `is_outcome_neutral`
also leaves out the keys that only change what a run keeps (`DETAIL_KEYS`), which a
comparison does not label by; `world_key` tells apart the configs that sample other worlds.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sim._version import __version__
from sim.config_objects import strategy_label

#: Config keys (dotted) that change how a run executes, not what it computes: a rerun
#: with other values resumes the same chunks, and a comparison does not label by them.
EXECUTION_KEYS = ("hydra", "run.executor", "run.workers", "run.chunk_size", "run.progress",
                  "run.ray", "run.replications", "run.until_confident",
                  "run.max_replications", "run.compare", "run.robustness")
#: Config keys that change which tables a run keeps, not their numbers: a comparison does
#: not label by them, but a rerun cannot resume chunks kept at another detail.
DETAIL_KEYS = ("run.detail",)


def _under(key: str, keys) -> bool:
    return any(key == k or key.startswith((f"{k}.", f"{k}/")) for k in keys)


def is_execution_key(key: str) -> bool:
    """Return whether config or override `key` only changes how a run executes."""
    return _under(key, EXECUTION_KEYS)


def is_outcome_neutral(key: str) -> bool:
    """Return whether `key` changes no outcome number (how a run executes, or what it keeps)."""
    return _under(key, EXECUTION_KEYS + DETAIL_KEYS)


def _canonical(data) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def fingerprint(cfg) -> dict:
    """Return the config that decides a run's numbers (the execution keys left out)."""
    if isinstance(cfg, DictConfig) and "hydra" in cfg:  # Hydra's node may not resolve yet
        cfg = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    data = json.loads(_canonical(OmegaConf.to_container(cfg, resolve=True)
                                 if isinstance(cfg, DictConfig) else cfg))
    for key in EXECUTION_KEYS:
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    # The code and the files a run reads decide its numbers as much as its settings do.
    data[CODE] = code_digest()
    sources, files = plugin_sources(data), data_files(data)
    if sources:
        data[PLUGIN_SOURCES] = sources
    if files:
        data[DATA_FILES] = files
    return json.loads(_canonical(data))


#: The fingerprint's keys for hashpivot's own code, the plug-in modules a config names, and
#: the data files it reads, each with what a rerun that finds it changed says.
CODE, PLUGIN_SOURCES, DATA_FILES = "hashpivot", "plugin_sources", "data_files"
CHANGED = {CODE: "hashpivot's code changed", PLUGIN_SOURCES: "a plug-in's code changed",
           DATA_FILES: "a data file changed"}


def _digest(path: Path) -> str:
    """Return "name <sha-256 of its bytes, 16 hex>" of the file at `path`."""
    return f"{path.name} {hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"


@functools.cache
def code_digest() -> str:
    """Return hashpivot's version and a digest of every file of its package (its code and
    the history it ships), made once a process: an upgrade, or an edit, between a run and
    its rerun must not mix the two versions' chunks."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{__version__} {digest.hexdigest()[:16]}"


def data_files(data) -> dict[str, str]:
    """Return {key: "file.csv <sha-256, 16 hex>"} of the market's `file` keys that name a file
    (read relative to the working directory, as the processes read them)."""
    market = data.get("market") if isinstance(data, dict) else None
    files = {}
    for name, node in (market.items() if isinstance(market, dict) else ()):
        path = node.get("file") if isinstance(node, dict) else None
        if isinstance(path, str) and Path(path).is_file():
            files[f"market.{name}.file"] = _digest(Path(path))
    return files


def plugin_sources(data) -> dict[str, str]:
    """Return {module: "file.py <sha-256, 16 hex>"} of every module outside hashpivot that a
    `_target_` in `data` (a plain config) names and that is a file: a rerun after the code
    changed must not resume from chunks the old code made."""
    targets, stack = set(), [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            target = node.get("_target_")
            if isinstance(target, str) and "." in target:
                targets.add(target.rpartition(".")[0])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    sources = {}
    for module in sorted(targets):
        if module.split(".")[0] == "sim":
            continue
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):  # not importable: the config check names it
            continue
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        if origin is not None and origin.is_file():
            sources[module] = _digest(origin)
    return sources


def config_digest(cfg) -> str:
    """Return the SHA-256 of the config's fingerprint (recorded in each chunk's manifest)."""
    return _fingerprint_digest(fingerprint(cfg))


def _fingerprint_digest(made: dict) -> str:
    """Return the SHA-256 of a fingerprint already made (it reads the code, plug-in and data
    files: a claim makes it once)."""
    return hashlib.sha256(_canonical(made).encode()).hexdigest()


def world_key(cfg) -> str:
    """Return a key equal for configs that sample the same worlds (market, seed, calendar)."""
    # Resolved in place: the market reads day 0 from `asof` and the ASIC frontier from `fleet`.
    world = {"market": OmegaConf.to_container(cfg.market, resolve=True)}
    world.update(seed=cfg.run.seed, start=str(cfg.site.start_date),
                 horizon=cfg.run.horizon_years, deterministic=cfg.run.deterministic)
    return hashlib.sha256(json.dumps(world, sort_keys=True).encode()).hexdigest()[:16]


def strategy_options(config) -> dict[str, str]:
    """Return {label: option name} of the config's strategies (label: `name`, else the option)."""
    mapping = (dict, DictConfig)
    options = config.get("strategy") if isinstance(config, mapping) else None
    if not isinstance(options, mapping):
        return {}
    return {strategy_label(option, node): str(option) for option, node in options.items()}


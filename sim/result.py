"""What a run leaves: the outcome tables, the config that made them, and their files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from sim.errors import UserError

TABLES = ("summary", "cashflows", "timeline", "worlds", "world_monthly", "events")


def write_atomic(path: Path, write) -> None:
    """Call `write(tmp_path)`, then rename the file into `path`, so no reader sees half of it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    """Write `data` as indented JSON to `path`, atomically."""
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, default=str) + "\n"))


@dataclass
class Result:
    """The outcomes of a run: `summary`, `cashflows`, `timeline` and the sampled worlds."""

    summary: pd.DataFrame
    cashflows: pd.DataFrame
    timeline: pd.DataFrame
    worlds: pd.DataFrame
    world_monthly: pd.DataFrame
    config: DictConfig
    info: dict = field(default_factory=dict)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)  # with run.event_log=true

    def save(self, path) -> Path:
        """Write every table as parquet and the resolved config to directory `path`; return it."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            table = getattr(self, name)
            if table is not None and len(table.columns):
                write_atomic(path / f"{name}.parquet", lambda tmp, t=table: t.to_parquet(tmp, index=False))
        write_atomic(path / "config.yaml",
                     lambda tmp: tmp.write_text(OmegaConf.to_yaml(self.config, resolve=True)))
        return path

    def __repr__(self) -> str:
        strategies = list(self.summary["strategy"].unique()) if len(self.summary) else []
        n = int(self.summary["replication"].nunique()) if len(self.summary) else 0
        return f"Result({n} replications × strategies {strategies})"


def load(path) -> Result:
    """Return the Result saved in directory `path` (by `Result.save` or a `hashpivot` run)."""
    path = Path(path)
    if not (path / "summary.parquet").is_file():
        raise UserError(f"{path}: not a hashpivot result (no summary.parquet)")
    tables = {}
    for name in TABLES:
        file = path / f"{name}.parquet"
        tables[name] = pd.read_parquet(file) if file.is_file() else pd.DataFrame()
    for config in (path / "config.yaml", path / ".hydra" / "config.yaml"):
        if config.is_file():
            cfg = OmegaConf.load(config)
            break
    else:
        raise UserError(f"{path}: has no config.yaml or .hydra/config.yaml")
    info_file = path / "run.json"
    info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    return Result(config=cfg, info=info, **tables)

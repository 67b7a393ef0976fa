"""The ranges that hashpivot-optimize searches and hashpivot-explore samples: read from a
--config file or the command line, each key given once, and a point's values set in a config.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict

from sim.config_errors import yaml_error_line
from sim.errors import UserError


def read_ranges_file(path, section: str, example: str) -> dict:
    """Return {section: {key: spec}, 'overrides': [...]} read from a YAML file (both optional).

    The file of `hashpivot-optimize --config` (section 'space') and of `hashpivot-explore
    --config` (section 'explore'); `example` shows a spec in the error lines.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise UserError(f"--config {path}: cannot be read ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise UserError(f"--config {yaml_error_line(err, path)}") from None
    data = {} if data is None else data
    if not isinstance(data, dict) or set(data) - {section, "overrides"}:
        raise UserError(f"--config {path}: must be a mapping with '{section}' (KEY: {example}) "
                        "and optionally 'overrides' (a list of KEY=VALUE)")
    ranges, overrides = data.get(section) or {}, data.get("overrides") or []
    if not isinstance(ranges, dict) or not isinstance(overrides, list):
        raise UserError(f"--config {path}: '{section}' must map keys to {example} and 'overrides' be a list")
    return {section: {str(k): v for k, v in ranges.items()}, "overrides": [str(o) for o in overrides]}


def file_ranges(path, read, section: str) -> tuple[dict, list[str], dict]:
    """Return (ranges, overrides, where each range was given) of the --config file at `path`
    as `read` reads it (its `section` and its overrides), all empty where `path` is None."""
    if not path:
        return {}, [], {}
    found = read(path)
    ranges = found[section]
    return ranges, found["overrides"], {key: f" in {path}" for key in ranges}


def add_range(ranges: dict, given_in: dict, key: str, spec, text: str) -> None:
    """Add `key`'s range `spec`, given on the command line as `text`, to `ranges` (those of a
    --config file, `given_in` naming where each came from); raise UserError if the key
    already has one: the last silently winning would hide a typo."""
    if key in ranges:
        raise UserError(f"{text}: {key} is already given{given_in.get(key, '')} "
                        f"({ranges[key]}); give each key once")
    ranges[key] = spec


def with_values(cfg, values: Mapping) -> DictConfig:
    """Return a copy of `cfg` with dotted keys set to `values` (new keys added)."""
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        for key, value in values.items():
            OmegaConf.update(cfg, key, value, merge=False, force_add=True)
    return cfg

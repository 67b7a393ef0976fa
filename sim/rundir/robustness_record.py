"""run.json's `robustness`: what became of the verdict's robustness reruns.

The command line makes robustness.csv after a complete run, and records in run.json
(`record`) whether the reruns were `running`, `made`, `failed` (with the error's line),
`interrupted` or `skipped` (with why), with the replications asked for. A report of a
folder whose table was asked for but not made then says so (`missing_line`), where it
would otherwise look complete; a run without the record (`sim.run`, or replications 0)
never asked for one. A made table records what it was made for (`made_for`: the config's
fingerprint, run.robustness.* and the run's NPVs) and its own digest; each record says how
to rerun the command that made it, so that a rerun of
the same command into the folder reuses it (`reusable`) instead of making it again.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
from omegaconf import OmegaConf

from sim.rundir.files import write_json
from sim.rundir.fingerprints import config_digest
from sim.rundir.lock import live_holder

ROBUSTNESS_CSV = "robustness.csv"
#: run.json's key of the record, and the states it records.
KEY = "robustness"
STATES = ("running", "made", "failed", "interrupted", "skipped")


def made_for(cfg, summary: pd.DataFrame) -> str:
    """Return the digest of what decides the robustness table of a run of `cfg` whose
    summary is `summary`: the config's fingerprint (its code and files included),
    run.robustness.* (not in the fingerprint) and each world's NPV of each strategy."""
    npv = summary[["strategy", "replication", "npv_usd"]].astype({"strategy": str})
    rows = pd.util.hash_pandas_object(npv, index=False).to_numpy().tobytes()
    settings = OmegaConf.to_container(cfg.run.robustness, resolve=True)
    made = json.dumps({"config": config_digest(cfg), "settings": settings,
                       "summary": hashlib.sha256(rows).hexdigest()}, sort_keys=True)
    return hashlib.sha256(made.encode()).hexdigest()


def csv_digest(path) -> str | None:
    """Return the SHA-256 of the folder's robustness.csv, or None without one."""
    file = path / ROBUSTNESS_CSV
    return hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else None


def record(path, info: dict, state: str, **fields) -> dict:
    """Write run.json `info` of the folder `path` with its robustness record at `state`;
    return the info written."""
    if state not in STATES:
        raise ValueError(f"state(={state!r}) must be one of {', '.join(STATES)}")
    info = dict(info, **{KEY: dict(state=state, **fields)})
    write_json(path / "run.json", info)
    return info


def reusable(path, earlier: dict | None, key: str) -> bool:
    """Return whether the folder's robustness.csv is the one the run recorded in run.json
    `earlier` (read before this command wrote into it) made for `key` (`made_for`)."""
    made = (earlier or {}).get(KEY)
    return (isinstance(made, dict) and made.get("state") == "made" and made.get("for") == key
            and made.get("csv") is not None and made.get("csv") == csv_digest(path))


def missing_line(path, info: dict) -> str | None:
    """Return the sentence a report says where the run in `path` (its run.json `info`) asked
    for robustness reruns that were not made; None where they were made, or never asked for."""
    made = info.get(KEY)
    if not isinstance(made, dict) or made.get("state") in ("made", "skipped", None):
        return None
    state = made["state"]
    if state == "running" and live_holder(path) is not None:
        return (f"The verdict's robustness reruns of {path} are still being made: compare it "
                "again once its hashpivot has finished.")
    what = {"failed": f"failed ({made.get('error') or 'no reason recorded'})",
            "interrupted": "were interrupted",
            "running": "stopped unfinished (their process ended, killed or out of memory)"}
    rerun = made.get("rerun") or f"the same hashpivot command into {path}"
    return (f"The verdict's robustness reruns (run.robustness.replications="
            f"{made.get('replications', '?')}) were asked for but {what.get(state, state)}, "
            f"so there is no robustness table: rerun {rerun} to make them from the saved run.")

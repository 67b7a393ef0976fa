"""The command line: `hashpivot` (a Hydra app) and `hashpivot-compare`.

Both are thin: they hand the config to plain functions (`sim.run`, `sim.compare`) and
turn user errors into one line on stderr and exit code 2. Before Hydra starts, every
job of the command (each point of a `-m` sweep) is composed and checked, so a bad value
stops the command before anything is written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sim.errors import UserError

USAGE_ERROR = 2
INTERRUPTED = 130
#: Hydra flags that take a value, and flags that make Hydra answer without running.
_VALUE_FLAGS = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd",
                "--package", "-p", "--experimental-rerun", "--info", "-i"}
_NO_RUN_FLAGS = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--version",
                 "--shell-completion", "-sc", "--resolve"}


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


# --- pre-flight: every job composed and checked before Hydra runs anything -------------------------
def _split_argv(argv: list[str]) -> tuple[list[str], list[str], bool, bool]:
    """Return (overrides, config_dirs, multirun, runs) read from a Hydra command line."""
    overrides, config_dirs, multirun, runs = [], [], False, True
    args = iter(argv)
    for arg in args:
        flag, eq, value = arg.partition("=")
        if flag in _NO_RUN_FLAGS:
            runs = False
        if arg in ("-m", "--multirun"):
            multirun = True
        elif flag in _VALUE_FLAGS:
            value = value if eq else next(args, "")
            if flag in ("--config-dir", "-cd"):
                config_dirs.append(value)
        elif not arg.startswith("-"):
            overrides.append(arg)
    return overrides, config_dirs, multirun, runs


def _jobs(overrides: list[str], multirun: bool) -> list[list[str]]:
    """Return the override list of every job the command would run."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    user = [o for o in overrides if not o.lstrip("+~").startswith("hydra")]
    if not multirun:
        return [user]
    parsed = OverridesParser.create().parse_overrides(user)
    batches = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return [list(job) for batch in batches for job in batch]


def preflight(argv: list[str]) -> None:
    """Raise UserError if any job of this command line has a bad config."""
    from sim.config import compose

    overrides, config_dirs, multirun, runs = _split_argv(argv)
    if not runs:
        return
    try:
        jobs = _jobs(overrides, multirun)
    except Exception as err:  # Hydra's override grammar errors
        raise UserError(" ".join(str(err).split())) from None
    for job in jobs:
        compose(job, config_dirs=config_dirs)


# --- the run ---------------------------------------------------------------------------------------------
def headline(summary) -> str:
    """Return the comparison table printed after a run: NPV spread and MW per strategy."""
    import numpy as np
    import pandas as pd

    rows = []
    for label, group in summary.groupby("strategy", sort=False):
        npv = group["npv_usd"].to_numpy() / 1e6
        rows.append({"strategy": label, "mean NPV $M": npv.mean(),
                     "P5 $M": np.percentile(npv, 5), "P50 $M": np.percentile(npv, 50),
                     "P95 $M": np.percentile(npv, 95), "P(NPV<0)": np.mean(npv < 0),
                     "MW converted": group["mw_converted"].mean()})
    table = pd.DataFrame(rows).set_index("strategy")
    return table.to_string(float_format=lambda v: f"{v:,.1f}" if abs(v) >= 1 or v == 0 else f"{v:.2f}")


def execute(cfg, out_dir: Path) -> int:
    """Run `cfg` into `out_dir` (resuming what is there); return the exit code."""
    import sim
    from sim.rundir import RunDir, now

    run_dir = RunDir(out_dir)
    started = now()
    run_dir.write_info(cfg, "running", started)
    try:
        result = sim.run(cfg, out_dir=out_dir)
        result.info["started"] = started
        result.save(out_dir)  # the tables, then run.json: complete
    except UserError as err:
        run_dir.write_info(cfg, "failed", started, error=str(err))
        return _fail("hashpivot", str(err))
    except KeyboardInterrupt:
        run_dir.write_info(cfg, "interrupted", started)
        print(f"hashpivot: interrupted; finished chunks are kept in {out_dir}. Rerun the same "
              f"command with hydra.run.dir={out_dir} to resume.", file=sys.stderr)
        return INTERRUPTED
    print(headline(result.summary))
    if "until_confident" in result.info:
        u = result.info["until_confident"]
        verdict = "reached" if u["reached"] else "NOT reached"
        print(f"until_confident={u['confidence']}: {verdict} after {u['replications']} replications "
              f"(cap {u['max_replications']}); best by mean NPV: {u['best']}")
    print(f"results: {out_dir}")
    if cfg.run.compare:  # the run is complete and kept whatever happens to its comparison
        from sim.compare import compare_runs

        try:
            compare_runs([out_dir], out=out_dir)
        except UserError as err:
            return _fail("hashpivot", f"the run is complete in {out_dir}, but its comparison "
                                      f"was not written: {err}")
    return 0


def _task(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig

    code = execute(cfg, Path(HydraConfig.get().runtime.output_dir))
    if code:
        sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run `hashpivot` with Hydra's command line; return the exit code."""
    import hydra

    from sim.config import config_dir

    argv = sys.argv[1:] if argv is None else list(argv)
    if os.getcwd() not in sys.path:  # a user's plug-in modules, as `python -m` would
        sys.path.insert(0, os.getcwd())
    try:
        preflight(argv)
    except UserError as err:
        return _fail("hashpivot", str(err))
    app = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")(_task)
    saved = sys.argv
    sys.argv = ["hashpivot", *argv]
    try:
        app()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = saved
    return 0


def compare_main(argv: list[str] | None = None) -> int:
    """Run `hashpivot-compare`; return the exit code."""
    from sim.compare import main as compare

    return compare(argv)


if __name__ == "__main__":
    sys.exit(main())

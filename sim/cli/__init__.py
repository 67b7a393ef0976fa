"""The command line: `hashpivot` (a Hydra app) and `hashpivot-compare`.

Both are thin: they hand the config to plain functions (`sim.run`, `sim.compare`) and
turn user errors into one line on stderr and exit code 2. A Hydra callback (`Preflight`,
in sim.cli.preflight) composes and checks every job of the command (each point of a `-m`
sweep) before the first one starts, so a bad value stops the command before anything is
written. Each job runs in sim.cli.job, logs as sim.cli.job_log says, and a sweep's end is
told by sim.cli.sweep; here are the console scripts' entry points and the command line.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import sys
import warnings
from pathlib import Path

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

import sim
from sim.arguments import flagged
from sim.cli.error_lines import FLAGS, _fail
from sim.cli.job import execute
from sim.cli.job_log import job_log, root_logging_restored
from sim.cli.sweep import (_LAUNCHED, _failed_job_line, _failed_jobs_line, _in_sweep,
                           _say_what_the_sweep_left)
from sim.compare import main as compare
from sim.config import distributions_in_short_form
from sim.config_checks import drop_unselected_strategies
from sim.config_errors import group_value_line, hydra_error_line
from sim.config_tree import (MARKET_GROUPS, OPTIONAL_MARKET, check_config_dirs, config_dir,
                             shipped_options)
from sim.errors import UserError
from sim.interrupts import INTERRUPTED, TERMINATED, Terminated, interrupts_unprinted
from sim.plugins import cwd_on_path

log = logging.getLogger(__name__)


def _task(cfg) -> None:
    drop_unselected_strategies(cfg)  # a sweep's job: its fingerprint is that of the run's config
    with job_log():
        out_dir = Path(HydraConfig.get().runtime.output_dir)
        log.info("hashpivot %s: run into %s", sim.__version__, out_dir)
        code = execute(cfg, out_dir)
    if code in (INTERRUPTED, TERMINATED):
        _say_what_the_sweep_left(HydraConfig.get())
        sys.exit(code)
    if code and not _in_sweep():
        sys.exit(code)
    if code:  # a sweep's job failed: its line is printed, run.json says so; the others go on
        print(f"hashpivot: {_failed_job_line(HydraConfig.get())}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run `hashpivot` with Hydra's command line; return the exit code.

    Hydra parses the command line and runs the jobs; `Preflight` checks each job first.
    Hydra's own errors (an unknown option, a malformed override) are raised to here, not
    printed by Hydra, and become one line. `argv` (for calling from Python) stands in
    for the process's arguments while Hydra reads them. `--version` prints hashpivot's
    version (Hydra would print its own).
    """
    if "--version" in (sys.argv[1:] if argv is None else argv):
        print(version_line())
        return 0
    refused = _refused_arguments(sys.argv[1:] if argv is None else argv)
    if refused is not None:  # Hydra's own errors: its usage block, or a line naming no flag
        return _fail("hashpivot", refused)
    cwd_on_path()  # a user's plug-in modules, as `python -m` would
    app = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")(_task)
    saved_argv, saved_full_error = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    given = sys.argv[1:] if argv is None else argv
    sys.argv = [sys.argv[0] if argv is None else "hashpivot",
                *(arg if arg.startswith("-") else distributions_in_short_form([arg])[0]
                  for arg in given)]
    os.environ["HYDRA_FULL_ERROR"] = "1"  # raise Hydra's errors to us instead of printing them
    _LAUNCHED.clear()
    try:
        with root_logging_restored(), warnings.catch_warnings(), interrupts_unprinted():
            # a hydra.searchpath that is no directory: check_job names it in one line (Hydra warns)
            warnings.filterwarnings("ignore", message=r"provider=hydra\.searchpath .* is not available")
            app()
        failed = _failed_jobs_line()
        if failed:
            return _fail("hashpivot", failed)
    except KeyboardInterrupt as err:  # in a launcher's own process (joblib): the jobs have said
        return TERMINATED if isinstance(err, Terminated) else INTERRUPTED
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except (HydraException, OmegaConfBaseException, yaml.YAMLError) as err:
        return _fail("hashpivot", hydra_error_line(err, [a for a in sys.argv[1:] if not a.startswith("-")]))
    except (ValueError, TypeError):  # Hydra's failure on a group's value that is not a name
        line = group_value_line(sys.argv[1:])
        if line is None:
            raise
        return _fail("hashpivot", line)
    except OSError as err:  # the surroundings: a directory Hydra could not make, a full disk
        where = f"{err.filename}: " if err.filename else ""
        return _fail("hashpivot", f"{where}{err.strerror or err}")
    finally:
        sys.argv = saved_argv
        if saved_full_error is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_full_error
    return 0


class _ParseError(Exception):
    """argparse's error, raised instead of printed with its usage block."""


def _refused_arguments(args: list[str]) -> str | None:
    """Return the error line of an option in `args` that Hydra's command line does not take
    (`--out DIR`, say) or given a value it does not take (`--cfg nope`), or of a
    --config-dir (-cd) that is no directory, or None; other mistakes are left to Hydra."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()

    def error(message):
        raise _ParseError(message)

    parser.error = error
    try:
        known, unknown = parser.parse_known_args(args)
    except _ParseError as err:  # Hydra would print it after argparse's seven-line usage block
        return _parse_error_line(str(err))
    flags = [arg for arg in unknown if arg.startswith("-")]
    if flags:
        return (f"{flags[0]}: no such option; hashpivot takes key=value overrides (results go "
                "to hydra.run.dir=DIR) and Hydra's options, listed by hashpivot --help")
    if unknown:  # overrides on both sides of an option: argparse takes only those before it
        return _split_overrides_line(args, known.overrides, unknown)
    for line in (_verbose_line(known.overrides), _deleted_section_line(known.overrides)):
        if line is not None:
            return line
    try:
        check_config_dirs([known.config_dir] if known.config_dir else [])
    except UserError as err:
        return flagged(err, FLAGS)
    return None


def _split_overrides_line(args: list[str], taken: list[str], left: list[str]) -> str:
    """Return the error line of `args` whose overrides stand on both sides of an option:
    argparse took those before it (`taken`) and refused the rest (`left`). It names the
    first refused override and gives the command that runs: the options, then the overrides."""
    options = list(args)
    for override in [*taken, *left]:
        options.remove(override)
    return (f"{left[0]}: the overrides must come together, after the options or before them, "
            f"not on both sides; run: hashpivot {shlex.join([*options, *taken, *left])}")


def _verbose_line(overrides: list[str]) -> str | None:
    """Return the error line of a `hydra.verbose` Hydra's logging setup would fail on with a
    bare AssertionError and a traceback (hydra.verbose=3), or None."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    given = [o for o in overrides if o.split("=", 1)[0].lstrip("+") == "hydra.verbose"]
    if not given:
        return None
    try:
        value = OverridesParser.create().parse_override(given[-1]).value()
    except HydraException:
        return None  # Hydra says what it cannot read
    names = value if isinstance(value, list) else [value]
    if isinstance(value, bool) or all(isinstance(name, str) for name in names):
        return None
    return (f"{given[-1]}: must be true, false, or the name of a logger to log at DEBUG "
            "(or a list of them, e.g. hydra.verbose=[sim.cli])")


def _deleted_section_line(overrides: list[str]) -> str | None:
    """Return the error line of an override that deletes a part of the config every run
    needs (`~run`, `~site`, `~market/btc`), or None. Hydra refused some in its own words
    (`~strategy`: 'No match in the defaults list'); the schema's defaults stood in for a
    deleted section (`~site` ran on them without a word), and `~run` passed the checks,
    then failed in the job, with Hydra's 'Error executing job' block."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for given in overrides:
        try:
            override = parser.parse_override(given)
        except HydraException:
            return None  # Hydra says what it cannot read
        key = override.key_or_group.replace("/", ".")
        if override.is_delete() and key in _NEEDED:
            return (f"{given}: {override.key_or_group} cannot be deleted, every run needs it; "
                    f"{_NEEDED[key]}")
    return None


def _needed_parts() -> dict[str, str]:
    """Return what to do instead of deleting each part of the config a run needs."""
    def options(group: str) -> str:
        return f"choose an option instead ({group}={'|'.join(shipped_options(group))})"

    needed = {name: options(name) for name in ("asof", "site", "fleet")}
    needed.update({name: f"set its keys instead ({name}.KEY=VALUE)"
                   for name in ("run", "finance", "hydra")})
    needed["strategy"] = ("choose the strategies run instead, e.g. strategy=phased or "
                          "'strategy=[stay_mining,phased]'")
    groups = [name for name in MARKET_GROUPS if name not in OPTIONAL_MARKET]
    needed["market"] = ("choose its groups' options instead (" + ", ".join(
        f"market/{name}=..." for name in groups) + ")")
    needed.update({f"market.{name}": options(f"market/{name}") for name in groups})
    return needed


#: The parts of the config a run needs, with what to do instead of deleting one.
_NEEDED = _needed_parts()


def _parse_error_line(message: str) -> str:
    """Return argparse's error on one of Hydra's flags as one line naming the flag, and, for
    a value the flag does not take, that value and the values it takes."""
    match = re.match(r"argument ([^/:]+)(?:/[^:]*)?: (.*)$", message)
    if match is None:
        return f"{message} (see --help)"
    flag, problem = match.groups()
    choice = re.match(r"invalid choice: '(.*)' \(choose from (.*)\)$", problem)
    if choice:
        allowed = ", ".join(value.strip(" '") for value in choice[2].split(","))
        return f"{flag}={choice[1]}: must be one of {allowed} (see --help)"
    return f"{flag}: {problem} (see --help)"


def version_line() -> str:
    """Return the line every hashpivot command prints for --version."""
    return f"hashpivot {sim.__version__}"


def compare_main(argv: list[str] | None = None) -> int:
    """Run `hashpivot-compare`; return the exit code."""
    return compare(argv)

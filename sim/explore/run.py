"""Running an experiment: every design point is one `sim.run` of the config with its values.

Every point runs with the same run seed, so every point sees the same worlds (common
random numbers): two points differ only by their inputs, and two strategies at one point
are paired world by world. A point runs with ``run.detail=summary``, no comparison, no
robustness table and no progress bar of its own (a bar runs over the points); the
executor settings (``run.executor``, ``run.workers``, ...) are the config's. A range over
a key every point must share is refused (`refuse_shared`): ``run.seed`` (the worlds),
``run.replications`` (how many), the executor settings (how they are computed, not what),
and the settings above with the keys read only through them.

Each finished point is written whole (atomically) to ``OUT/points/<i>.parquet``: one
row per replication and strategy, with the point's inputs and the world's features
(``world.*`` columns, from that point's `worlds` table). The same command run again
skips the finished points; an interrupted run keeps them. ``OUT/explore.json`` holds
what identifies the experiment, and another experiment in the same directory is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from sim.arguments import ArgumentError, check_output_dir
from sim.config_errors import override_value
from sim.config_objects import build_strategies
from sim.errors import UserError
from sim.explore.design import Design, draw
from sim.explore.space import Range, parse_ranges, point_config, with_values
from sim.montecarlo import run
from sim.rundir import check_only_own
from sim.rundir.files import write_atomic

#: Settings every point runs with: one summary row per world, nothing else written or shown.
FIXED = {"run.detail": "summary", "run.compare": False, "run.robustness.replications": 0,
         "run.progress": False, "run.until_confident": None}
#: Keys read only when run.until_confident is set, which FIXED unsets: they change nothing at a point.
UNTIL_CONFIDENT_ONLY = ("run.max_replications", "run.indifference_usd")
#: Keys (and sections) that say how the points are computed, not what they model.
EXECUTION = ("run.executor", "run.workers", "run.chunk_size", "run.ray")
SIGNATURE = "explore.json"
POINTS = "points"
WORLD_PREFIX = "world."


@dataclass(frozen=True)
class Experiment:
    """A checked experiment: the base config, the ranges, the design and the strategies compared."""

    cfg: object
    ranges: tuple[Range, ...]
    design: Design
    strategies: tuple[str, ...]
    overrides: tuple[str, ...] = ()

    @property
    def seed(self) -> int:
        """Return the run seed every point runs with."""
        return int(self.cfg.run.seed)

    @property
    def inputs(self) -> list[str]:
        """Return the input columns, in range order."""
        return [r.column for r in self.ranges]

    def signature(self) -> dict:
        """Return what identifies this experiment (a resume in the same directory must match it)."""
        return dict(ranges={r.key: r.spec for r in self.ranges}, design=self.design.kind,
                    points=self.design.base_points, seed=self.seed,
                    replications=int(self.cfg.run.replications),
                    horizon_years=float(self.cfg.run.horizon_years),
                    strategies=list(self.strategies), overrides=list(self.overrides))


def prepare(cfg, specs: dict, design: str = "sobol", points: int = 64, overrides=()) -> Experiment:
    """Return the checked Experiment of ranges `specs` ({key: 'LOW:HIGH'}) over the composed `cfg`."""
    refuse_shared(specs)
    cfg = with_values(cfg, FIXED)
    if int(cfg.run.replications) < 2:
        raise UserError(f"run.replications={cfg.run.replications}: an experiment needs >= 2 per point")
    ranges = parse_ranges(cfg, specs)
    drawn = draw(design, [r.column for r in ranges], [(r.low, r.high) for r in ranges],
                 points, int(cfg.run.seed))
    return Experiment(cfg, ranges, drawn, tuple(build_strategies(cfg)), tuple(overrides))


def refuse_shared(specs) -> None:
    """Raise ArgumentError at the first range ({key: spec}) over a key every point must share."""
    for key, spec in specs.items():
        why = _shared(key)
        if why is not None:
            shown = spec if isinstance(spec, str) else repr(spec)
            raise ArgumentError(lambda name, key=key, shown=shown, why=why:
                                f"{key}={shown}: cannot be explored: {why(name)}")


def _shared(key: str):
    """Return says(name): why every point shares `key` and what to give instead; None if it may vary."""
    def under(*heads) -> bool:
        return any(key == head or key.startswith(f"{head}.") for head in heads)

    if key == "run.seed":
        return lambda name: ("every point runs the same worlds (one seed: common random numbers), so "
                             "that two points differ only by their inputs; seeds varied by point "
                             "would credit the seed with the worlds' noise; give one, "
                             f"{name('run.seed', 'N')}")
    if key == "run.replications":
        return lambda name: ("every point runs the same number of worlds; give one, "
                             f"{name('run.replications', 'N')}")
    if under(*EXECUTION):
        return lambda name: ("it sets how the points are computed, not what they model (the same "
                             f"results); give one value, {key}=...")
    fixed = next((head for head in FIXED if under(head)), None)
    if fixed is not None:
        return lambda name: f"every point runs with {fixed}={override_value(FIXED[fixed])}"
    if under(*UNTIL_CONFIDENT_ONLY):
        return lambda name: ("it is read only with run.until_confident, and every point runs with "
                             "run.until_confident=null (run.replications worlds)")
    return None


def point_inputs(experiment: Experiment, index: int) -> dict:
    """Return {input column: value} of design point `index` (whole where the key is)."""
    row = experiment.design.points[index]
    return {r.column: r.value(x) for r, x in zip(experiment.ranges, row)}


def run_point(experiment: Experiment, index: int) -> pd.DataFrame:
    """Return the rows of design point `index`: one per replication and strategy, inputs and world features."""
    result = run(point_config(experiment.cfg, experiment.ranges, experiment.design.points[index]))
    worlds = result.worlds.add_prefix(WORLD_PREFIX).rename(
        columns={f"{WORLD_PREFIX}replication": "replication"})
    rows = result.summary.merge(worlds, on="replication", how="left")
    inputs = point_inputs(experiment, index)
    front = pd.DataFrame({"point": index, **inputs}, index=rows.index)
    return pd.concat([front, rows], axis=1)


def open_out(experiment: Experiment, out_dir) -> Path:
    """Return the output directory, made and signed; raise UserError if it holds another experiment."""
    check_output_dir(out_dir, "out_dir")
    out = Path(out_dir)
    path = out / SIGNATURE
    if not path.exists():  # else an earlier experiment's folder: resumed, or refused below
        check_only_own(out, {POINTS}, lambda why: ArgumentError(
            lambda name: f"{name('out_dir', out_dir)}: {why}"), "an experiment's",
            "an experiment writes its points, tables and report")
    (out / POINTS).mkdir(parents=True, exist_ok=True)
    wanted = experiment.signature()
    if path.exists():
        stored = json.loads(path.read_text())
        differ = [k for k in wanted if stored.get(k) != wanted[k]]
        if differ:
            raise ArgumentError(lambda name: f"{name('out_dir', out_dir)}: holds another experiment "
                                             f"(different {', '.join(differ)}); rerun that one to "
                                             f"resume it, or choose another {name('out_dir')}")
    else:
        write_atomic(path, lambda tmp: tmp.write_text(json.dumps(wanted, indent=2, sort_keys=True)))
    return out


def point_path(out: Path, index: int) -> Path:
    """Return the file of design point `index`."""
    return out / POINTS / f"{index}.parquet"


def run_points(experiment: Experiment, out_dir, progress: bool = False) -> pd.DataFrame:
    """Return every row of the experiment, running the points not yet finished in `out_dir`."""
    out = open_out(experiment, out_dir)
    total = len(experiment.design.points)
    todo = [i for i in range(total) if not point_path(out, i).exists()]
    bar = tqdm(total=total, initial=total - len(todo), unit="point", desc="design points",
               disable=not progress, dynamic_ncols=True)
    try:
        for index in todo:
            rows = run_point(experiment, index)
            write_atomic(point_path(out, index), lambda tmp, rows=rows: rows.to_parquet(tmp, index=False))
            bar.update(1)
    finally:
        bar.close()
    return pd.concat([pd.read_parquet(point_path(out, i)) for i in range(total)], ignore_index=True)


def run_in_memory(experiment: Experiment) -> pd.DataFrame:
    """Return every row of the experiment, run without writing anything."""
    return pd.concat([run_point(experiment, i) for i in range(len(experiment.design.points))],
                     ignore_index=True)


"""Trained strategies: trained once per run, kept in the run directory, reused on resume.

A strategy that learns its rule (`real_option`) is trained before the first chunk runs,
its training worlds spread over the run's workers where it has several (else in this
process), and the trained policy travels with every chunk to the workers.
With a run directory it is written to `fits/<label>.pkl` (atomically) next to a small
JSON of its training figures, and a rerun into the same directory reads it back instead
of training again. The policy's key is the digest of what decides its training (the
market, site, fleet, calendar, discounting, seed and the strategy's own keys); a file
with another key is never used. Within one process, the same key is trained once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import pickle
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sim.config_objects import build_strategies, strategy_label
from sim.errors import UserError, warn_user
from sim.realoptions.strategy import RealOption
from sim.realoptions.training import Policy, train
from sim.rundir import FITS_DIR, fingerprint
from sim.rundir.files import write_atomic, write_json

log = logging.getLogger(__name__)

#: Tranches from which training is announced as long: each tranche's rule is trained on
#: every training world, one tranche after the other (the default site has 2).
MANY_TRANCHES = 10
#: Keys that do not change what a policy learns (beyond the execution keys).
NOT_TRAINING = ("run.detail", "run.event_log", "finance")
_TRAINED: dict[str, Policy] = {}  # key -> policy, trained in this process


def policy_key(cfg, option: str) -> str:
    """Return the digest of what decides the training of strategy option `option` under `cfg`."""
    data = fingerprint(cfg)
    for key in NOT_TRAINING:
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.get(part, {})
        node.pop(leaf, None)
    data["strategy"] = {option: data.get("strategy", {}).get(option)}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def fit_path(run_dir, label: str) -> Path:
    """Return where the policy of strategy `label` is kept in `run_dir`."""
    return Path(run_dir) / FITS_DIR / f"{label}.pkl"


def load_policy(path, strategy: RealOption, site, name: str | None = None) -> Policy:
    """Return the policy pickled at `path` for `strategy` on `site` (the Settings' site), or
    raise UserError if it is not one that fits; the line starts with `name` (the key
    that gave the file) if given."""
    where = f"{name}={path}" if name else str(path)
    try:
        with open(path, "rb") as handle:
            policy = pickle.load(handle)
    except Exception as err:  # garbage unpickles into any error (ValueError, KeyError, ...)
        raise UserError(f"{where}: not a readable trained policy ({type(err).__name__})") from None
    if not isinstance(policy, Policy):
        raise UserError(f"{where}: holds a {type(policy).__name__}, not a trained policy")
    if not isinstance(vars(policy).get("stages"), tuple):
        raise UserError(f"{where}: a policy of an older hashpivot (one rule for the whole programme); "
                        f"train it again (fit_file=null)")
    every_months = int(strategy.every_months)
    if policy.every_months != every_months:
        raise UserError(f"{where}: a policy deciding every {policy.every_months} months; "
                        f"this strategy decides every {every_months}")
    blocks, per_project = int(site.blocks), int(site.blocks_per_project)
    tranches, tranche_blocks = strategy.stages(blocks, per_project), strategy.tranche(per_project)
    if not vars(policy).get("tranches"):
        raise UserError(f"{where}: a policy of an older hashpivot, which does not record the site "
                        f"it was trained for; train it again (fit_file=null)")
    if (policy.tranches, policy.tranche_blocks) != (tranches, tranche_blocks):
        raise UserError(f"{where}: a policy trained for {_tranches(policy.tranches, policy.tranche_blocks)} "
                        f"(site.blocks={policy.blocks}); this run has "
                        f"{_tranches(tranches, tranche_blocks)} (site.blocks={blocks})")
    return policy


def _tranches(tranches: int, blocks: int) -> str:
    """Return 'N tranche(s) of B block(s)'."""
    return (f"{tranches} tranche{'s' if tranches != 1 else ''} of {blocks} "
            f"block{'s' if blocks != 1 else ''}")


def trained(cfg, checked, run_dir=None, executor=None) -> dict[str, Policy]:
    """Return the trained policy of every learning strategy of `cfg`, by label.

    `cfg` is the composed config (its digest keys the policies), `checked` its Settings.
    A strategy's `fit_file` is used as given; else a policy kept in `run_dir` under the
    same key is read back; else it is trained (once per process and key) and kept there,
    its training worlds spread over `executor`'s workers (sim.executors) if it has several;
    else here.
    """
    nodes = OmegaConf.to_container(cfg.strategy, resolve=True) if isinstance(cfg, DictConfig) \
        else dict(cfg.strategy)
    labels = {strategy_label(option, node): option for option, node in nodes.items()}
    policies = {}
    for label, strategy in build_strategies(checked).items():
        if not isinstance(strategy, RealOption):
            continue
        key = policy_key(cfg, labels[label])
        if strategy.fit_file:
            policies[label] = load_policy(strategy.fit_file, strategy, checked.site,
                                          f"strategy.{labels[label]}.fit_file")
            continue
        kept = fit_path(run_dir, label) if run_dir is not None else None
        if kept is not None and kept.exists():
            try:
                policy = load_policy(kept, strategy, checked.site)
            except UserError as err:  # not one this run can use: trained again, and replaced
                warn_user(log, f"{err}; it is trained again")
                policy = None
            if policy is not None and policy.key == key:
                log.info("%s: its trained policy read back from %s, not trained again", label, kept)
                policies[label] = policy
                continue
        policy = _TRAINED.get(key) or _train(checked, strategy, label, key, executor)
        _TRAINED[key] = policy
        if kept is not None:
            _keep(policy, kept)
            log.info("%s: trained, its policy kept in %s for a rerun to read back", label, kept)
        policies[label] = policy
    return policies


def _train(checked, strategy: RealOption, label: str, key: str, executor=None) -> Policy:
    """Return `strategy` trained on `executor` (None: here), with a progress bar over its
    training worlds."""
    from tqdm.auto import tqdm

    tranches = strategy.stages(checked.site.blocks, checked.site.blocks_per_project)
    if tranches > MANY_TRANCHES:
        _warn_many(strategy, label, checked.site.blocks, checked.site.blocks_per_project)
    with tqdm(total=int(strategy.training_replications) * tranches, unit="world", dynamic_ncols=True,
              desc=f"training {label} ({tranches} tranche{'s' if tranches > 1 else ''})",
              disable=not checked.run.progress, file=sys.stderr) as bar:
        spread = executor is not None and executor.workers > 1  # one worker: here, no chunks
        return train(checked, strategy, progress=bar.update, key=key,
                     mapper=executor.map if spread else None,
                     workers=executor.workers if spread else 1)


def _warn_many(strategy: RealOption, label: str, blocks: int, per_project: int) -> None:
    """Tell the user, in one line, that training `strategy` on this site takes long, and
    the key that shortens it."""
    tranches, allowed = strategy.stages(blocks, per_project), strategy.allowed(blocks)
    coarser = math.ceil(allowed / MANY_TRANCHES)
    line = (f"{label} trains a rule for each of its {tranches} tranches of {strategy.tranche(per_project)} "
            f"blocks, one after the other, each on {strategy.training_replications} worlds: about "
            f"{tranches / 2:.0f} times the default site's training; "
            f"strategy.real_option.tranche_blocks={coarser} trains {math.ceil(allowed / coarser)}")
    warn_user(log, line)


def _keep(policy: Policy, path: Path) -> None:
    """Write `policy` to `path` and its figures beside it, each atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def dump(tmp):
        with open(tmp, "wb") as handle:
            pickle.dump(policy, handle, protocol=pickle.HIGHEST_PROTOCOL)

    write_atomic(path, dump)
    write_json(path.with_suffix(".json"), dict(key=policy.key, **policy.describe()))


def with_policies(checked, policies: dict[str, Policy]):
    """Return the Settings `checked` whose learning strategies' nodes carry their policies.

    The policy rides in the strategy's node (`policy`), so whatever builds the strategies
    from these Settings, in this process or a worker, builds them trained.
    """
    if not policies:
        return checked
    nodes = {}
    for option, node in checked.strategy.items():
        label = strategy_label(option, node)
        nodes[option] = {**node, "policy": policies[label]} if label in policies else node
    return dataclasses.replace(checked, strategy=nodes)


def pinned(cfg, run_dir) -> DictConfig:
    """Return a copy of `cfg` whose learning strategies use the policies kept in `run_dir`.

    The verdict's reruns (other horizons, discount rates, terminal values) then judge the
    rule the run learnt, as a user would apply it, instead of training a new one each.
    """
    new = cfg.copy()
    for option, node in cfg.strategy.items():
        kept = fit_path(run_dir, strategy_label(option, node))
        if "fit_file" in node and node.get("fit_file") is None and kept.exists():
            OmegaConf.update(new, f"strategy.{option}.fit_file", str(kept), merge=False)
    return new

"""Peak RSS of the hashpivot command's stages, in one fresh process: what sim.memory's estimate prices.

    python scripts/memory_peak.py N DETAIL STRATEGY... [OVERRIDE=VALUE ...]

runs `sim.run(cfg, out_dir)`, `Result.save` and `compare_runs` (what `hashpivot` does, with
run.robustness.replications=0, serially) on N replications and prints the peak RSS (kB,
ru_maxrss) after the imports and after each stage. Two sizes give the growth a replication
(e.g. N=200 and 1,600), which `sim.memory.memory_needed_bytes` should cover:

    for n in 200 1600; do python scripts/memory_peak.py $n monthly stay_mining; done
"""

import resource
import shutil
import sys
import tempfile
from pathlib import Path

import sim
import sim.cli.job  # the command's imports, as hashpivot has them
from sim.compare import compare_runs


def peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str]) -> None:
    n, detail, *rest = argv
    strategies = [word for word in rest if "=" not in word]
    overrides = [word for word in rest if "=" in word]
    cfg = sim.compose([f"run.replications={n}", f"run.detail={detail}", "run.executor=serial",
                       f"strategy=[{','.join(strategies)}]", "run.progress=false",
                       "run.robustness.replications=0", *overrides])
    folder = Path(tempfile.mkdtemp())
    said = [f"N={n} {detail} S={len(strategies)} imports={peak_kb()}"]
    try:
        result = sim.run(cfg, out_dir=folder)
        said.append(f"run={peak_kb()}")
        result.save(folder)
        said.append(f"save={peak_kb()}")
        compare_runs([folder], out=folder, results={folder: result})
        said.append(f"compare={peak_kb()}")
    finally:
        shutil.rmtree(folder)
    print(" ".join(said))


if __name__ == "__main__":
    main(sys.argv[1:])

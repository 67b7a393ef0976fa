"""Hydra's errors on a config, said in one line."""

import pytest


def test_a_launcher_an_extra_installs_says_how_to_install_it():
    """Without the joblib extra Hydra knows only 'basic'; the line said so and no more, while
    Ray, Optuna and SALib name their extras (an audit)."""
    from hydra.errors import MissingConfigException

    from sim.config_errors import hydra_error_line

    missing = MissingConfigException("Could not find 'hydra/launcher/joblib'",
                                     missing_cfg_file="hydra/launcher/joblib", options=["basic"])
    assert hydra_error_line(missing) == ("hydra/launcher=joblib: no such option; allowed: basic "
                                         "(install it: pip install 'hashpivot[joblib]')")



@pytest.mark.parametrize("path, text, line", [
    ("market/power/mine.yaml",
     "_target_: sim.processes.power.SeasonalLogOU\nmean_usd_per_mwh: ${asof.nope}\n",
     "market.power.mean_usd_per_mwh: the interpolation's key asof.nope is not in the config"),
    ("market/power/mine.yaml",
     "_target_: sim.processes.power.SeasonalLogOU\nmean_usd_per_mwh: ${oops:1}\n",
     "market.power.mean_usd_per_mwh: the interpolation cannot be resolved (Unsupported "
     "interpolation type oops)"),
    ("experiment/mine.yaml", "# @package _global_\nsite:\n  grid_mw: ${asof.nope}\n",
     "site.grid_mw: the interpolation's key asof.nope is not in the config"),
])
def test_an_interpolation_in_a_users_file_that_does_not_resolve_names_its_key(tmp_path, path,
                                                                              text, line):
    """An override's bad interpolation was named; one in a file of the user's config
    directory (a plug-in's option, an experiment) said the key was null: 'market.power.
    mean_usd_per_mwh=null: must be a group of keys', 'site.grid_mw=null: must be a number
    > 0' (an audit)."""
    import sim
    from sim.errors import UserError

    (tmp_path / path).parent.mkdir(parents=True)
    (tmp_path / path).write_text(text)
    group, option = path.rsplit("/", 1)
    chosen = f"+{group}={option[:-5]}" if group == "experiment" else f"{group}={option[:-5]}"
    with pytest.raises(UserError) as refused:
        sim.compose([chosen], config_dirs=[str(tmp_path)])
    assert str(refused.value) == line

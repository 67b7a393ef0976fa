"""Hydra's errors on a config, said in one line."""


def test_a_launcher_an_extra_installs_says_how_to_install_it():
    """Without the joblib extra Hydra knows only 'basic'; the line said so and no more, while
    Ray, Optuna and SALib name their extras (an audit)."""
    from hydra.errors import MissingConfigException

    from sim.config_errors import hydra_error_line

    missing = MissingConfigException("Could not find 'hydra/launcher/joblib'",
                                     missing_cfg_file="hydra/launcher/joblib", options=["basic"])
    assert hydra_error_line(missing) == ("hydra/launcher=joblib: no such option; allowed: basic "
                                         "(install it: pip install 'hashpivot[joblib]')")


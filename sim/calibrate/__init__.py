"""`hashpivot-calibrate`: fit the market processes to a user's history and write Hydra options.

Each fit (`btc`, `power`, `indices`, `network` modules) returns a `sim.calibrate.fit.Fit`:
the fitted option's constructor arguments, their standard errors, the period and the
goodness of fit; `sim.calibrate.output` writes it as ``<out>/market/<group>/<name>.yaml``.
"""

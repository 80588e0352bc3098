"""The estimators: MDNRegressor, MDNEnsembleRegressor, the fit plan,
held-out choices (features, components), calibration and preprocessing."""

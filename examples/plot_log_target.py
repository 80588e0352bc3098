"""
=================================================
A positive, skewed target: log transform with TTR
=================================================

Concentrations such as chlorophyll-a in water span orders of magnitude
(0.1 to several hundred mg m\\ :sup:`-3`) and their errors are relative: a
factor of two matters as much at 1 as at 100. Such a target is best
modelled on the log scale, and scikit-learn's
:class:`~sklearn.compose.TransformedTargetRegressor` does exactly that:
it fits its regressor on ``log(y)`` and maps predictions back with
``exp``.

Quantiles map exactly through an increasing transform, so the equal-tailed
interval of ``y`` is ``exp`` of the interval of ``log(y)``. The functions
:func:`sklearn_mdn.predict_interval`, :func:`sklearn_mdn.predict_quantiles`
and :func:`sklearn_mdn.sample` reach the :class:`~sklearn_mdn.MDNRegressor`
inside the wrapper and do this mapping for you.

The data are simulated "remote-sensing reflectances" in four bands whose
ratios depend on the concentration, with multiplicative noise.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_mdn import MDNRegressor, predict_interval
from sklearn_mdn.metrics import interval_coverage

rng = np.random.RandomState(0)


def make_data(n):
    log_chl = rng.uniform(np.log(0.1), np.log(300), n)
    slopes = np.array([-0.30, -0.12, 0.15, 0.35])
    levels = np.array([0.010, 0.008, 0.004, 0.002])
    bands = levels * np.exp(slopes * log_chl[:, None])
    bands *= np.exp(0.04 * rng.normal(size=bands.shape))
    chl = np.exp(log_chl + 0.25 * rng.normal(size=n))
    return bands, chl


X_train, y_train = make_data(2000)
X_test, y_test = make_data(500)


def make_mdn():
    return make_pipeline(
        FunctionTransformer(np.log),
        MDNRegressor(
            n_components=3,
            hidden_layer_sizes=(32, 32),
            learning_rate_init=5e-3,
            max_iter=150,
            point_estimate="top",
            random_state=0,
        ),
    )


log_model = TransformedTargetRegressor(
    make_mdn(), func=np.log, inverse_func=np.exp
).fit(X_train, y_train)
raw_model = make_mdn().fit(X_train, y_train)

# %%
# Intervals on the original scale
# -------------------------------
# On the log scale the intervals are asymmetric in ``y`` (longer upwards) and
# always positive. Fitted on raw concentrations, the same network spends its
# capacity on the few largest values, and its intervals for small
# concentrations cross zero.
intervals = {
    "log target": predict_interval(log_model, X_test, coverage=0.9),
    "raw target": predict_interval(raw_model, X_test, coverage=0.9),
}
predictions = {
    "log target": log_model.predict(X_test),
    "raw target": raw_model.predict(X_test),
}


def median_symmetric_accuracy(y_true, y_pred):
    """Median relative error, symmetric in over- and under-estimation (%)."""
    ratio = np.abs(np.log(np.clip(y_pred, 1e-9, None) / y_true))
    return 100 * (np.exp(np.median(ratio)) - 1)


for name, interval in intervals.items():
    print(
        f"{name}: 90% coverage {interval_coverage(y_test, interval):.2f}, "
        f"lower bounds <= 0: {np.mean(interval[:, 0] <= 0):.0%}, "
        f"median symmetric accuracy "
        f"{median_symmetric_accuracy(y_test, predictions[name]):.0f}%"
    )

# %%
# Predicted against measured, with 90% bars
# -----------------------------------------
# The bars are the predictive intervals of 80 test points. On log axes, bars
# that reach zero or below are cut off.
show = np.arange(80)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), sharex=True, sharey=True)
for ax, name in zip(axes, intervals, strict=True):
    lower, upper = intervals[name][show].T
    ax.vlines(y_test[show], np.clip(lower, 1e-3, None), upper, lw=0.8, alpha=0.6)
    ax.plot(y_test[show], predictions[name][show], "o", ms=3)
    ax.plot([0.05, 600], [0.05, 600], color="k", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(0.05, 600)
    ax.set_ylim(0.05, 600)
    ax.set_xlabel("measured concentration")
    ax.set_title(f"MDN on a {name}")
axes[0].set_ylabel("predicted (heaviest component)")
plt.show()

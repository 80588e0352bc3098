"""
======================================
Checking calibration: PIT and coverage
======================================

A predictive distribution is *calibrated* when events it gives probability
``p`` happen a fraction ``p`` of the time. Two pictures check this on
held-out data, both from the probability integral transform (PIT), the
predictive cdf evaluated at the observation:

* :class:`~sklearn_mdn.plotting.PITDisplay`, a histogram of PIT values:
  flat when calibrated, U-shaped when the distributions are too narrow
  (over-confident), hump-shaped when they are too wide, sloped when biased;
* :class:`~sklearn_mdn.plotting.CoverageDisplay`, the fraction of
  observations inside the equal-tailed interval of every nominal coverage:
  on the diagonal when calibrated, below it when the intervals are too
  narrow.

We compare three models of a target with skewed noise: a three-component
MDN with early stopping, a single Gaussian (``n_components=1``, which cannot
be skewed), and a large MDN trained too long on little data, which
over-fits and becomes over-confident.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from sklearn_mdn import MDNRegressor
from sklearn_mdn.metrics import mean_negative_log_likelihood
from sklearn_mdn.plotting import CoverageDisplay, PITDisplay

rng = np.random.RandomState(0)


def make_data(n):
    x = rng.uniform(-2, 2, n)
    # Skewed noise: exponential, shifted to mean zero, scale growing with x.
    noise = rng.exponential(size=n) - 1.0
    return x[:, None], np.sin(2 * x) + (0.2 + 0.1 * (x + 2)) * noise


X_train, y_train = make_data(1500)
X_test, y_test = make_data(2000)

common = {"hidden_layer_sizes": (32, 32), "learning_rate_init": 5e-3, "random_state": 0}
models = {
    "MDN, 3 components": MDNRegressor(n_components=3, max_iter=150, **common),
    "single Gaussian": MDNRegressor(n_components=1, max_iter=150, **common),
    "over-fitted MDN": MDNRegressor(
        n_components=5,
        max_iter=300,
        early_stopping=False,
        batch_size=20,
        alpha=0.0,
        **{**common, "hidden_layer_sizes": (64, 64)},
    ),
}
for name, model in models.items():
    # The over-fitted model sees only 100 rows.
    rows = slice(100) if name.startswith("over") else slice(None)
    model.fit(X_train[rows], y_train[rows])
    nll = mean_negative_log_likelihood(y_test, model.predict_dist(X_test))
    print(f"{name:>18}: held-out NLL {nll:.3f}")

# %%
# PIT histograms
# --------------
# The three-component MDN is close to flat, near the grey band in which the
# bars of a calibrated model fall 95% of the time. The single Gaussian is
# symmetric while the noise is not: no observation reaches its lower tail
# (the noise has a hard lower bound) and too many sit just below its median.
# The over-fitted model has far too many observations in its lower tail:
# its distributions are too narrow, and shifted.
#
# The two early-stopped models have already rescaled their spread on the rows
# they held out (``calibrate=True``, the default; the factor is in
# ``spread_factor_``). One factor on the scale cannot give a symmetric
# Gaussian the skew it lacks, and the over-fitted model, trained without a
# hold-out, is not calibrated at all.
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
for ax, (name, model) in zip(axes, models.items(), strict=True):
    PITDisplay.from_estimator(model, X_test, y_test, ax=ax, estimator_name=name)
    ax.set_title(name)
    ax.get_legend().remove()
axes[2].legend(loc="upper right", fontsize="small")
fig.tight_layout()
plt.show()

# %%
# Coverage against nominal coverage
# ---------------------------------
# The same information as coverage curves on one set of axes. The
# over-fitted model's intervals hold fewer observations than they should at
# every level (its 90% intervals about 80%); the single Gaussian's central
# intervals hold too many, and its wide ones too few.
fig, ax = plt.subplots(figsize=(5, 5))
for name, model in models.items():
    CoverageDisplay.from_estimator(model, X_test, y_test, ax=ax, estimator_name=name)
# Each display draws the diagonal; keep one legend entry for it.
handles, labels = ax.get_legend_handles_labels()
keep = {label: handle for handle, label in zip(handles, labels, strict=True)}
ax.legend(keep.values(), keep.keys(), loc="upper left", fontsize="small")
plt.show()

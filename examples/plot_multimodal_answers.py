"""
=====================================================================
Answers for multimodal problems: intervals, regions and every branch
=====================================================================

When one input has several plausible targets, a single interval is a poor
answer: the equal-tailed interval of a three-branch prediction spans the
empty gaps between the branches. A mixture density network offers three
answers to "where is ``y``?":

- the **equal-tailed interval** (:meth:`~sklearn_mdn.MDNRegressor.predict_interval`),
  one interval between two quantiles;
- the **highest-density region** (HDR, :meth:`~sklearn_mdn.MDNRegressor.predict_hdr`),
  the smallest set holding the same probability: a union of intervals, one
  per branch;
- **every branch** (:meth:`~sklearn_mdn.MDNRegressor.predict_modes`): the
  modes of the predictive density with the probability of each.

With ``calibrate="conformal"``, the rows held out for early stopping
calibrate the interval and the HDR so that they cover at least the nominal
fraction of new rows (split-conformal prediction).

The problem is an inverse one: ``x = y + 0.3 sin(2 pi y) + noise``, and we
predict ``y`` from ``x``; for ``x`` near +-0.5 there are three answers.
"""

# %%
# Data and model
# --------------
import matplotlib.pyplot as plt
import numpy as np
import torch

from sklearn_mdn import MDNRegressor
from sklearn_mdn.plotting import PredictiveDensityDisplay

torch.set_num_threads(1)
rng = np.random.RandomState(0)


def make_data(n):
    y = rng.uniform(-1, 1, n)
    x = y + 0.3 * np.sin(2 * np.pi * y) + 0.05 * rng.normal(size=n)
    return x[:, None], y


X_train, y_train = make_data(2000)
X_test, y_test = make_data(2000)

# Defaults but for the conformal calibration, which this example is about.
mdn = MDNRegressor(calibrate="conformal", random_state=0).fit(X_train, y_train)
print(f"conformal calibration on {mdn.conformal_.n_calibration} held-out rows")

# %%
# Coverage and size on the test set
# ---------------------------------
# Both sets are asked for 90%. The HDR holds the same probability in far
# less length: it leaves out the gaps between branches. The branches' masses
# tell how likely each answer is; the heaviest branch alone is a point
# prediction that is always on the data.
coverage = 0.9
interval = mdn.predict_interval(X_test, coverage)
in_interval = (y_test >= interval[:, 0]) & (y_test <= interval[:, 1])

hdr, n_intervals = mdn.predict_hdr(X_test, coverage)
in_hdr = np.any(
    (y_test[:, None] >= hdr[..., 0]) & (y_test[:, None] <= hdr[..., 1]), axis=1
)
hdr_length = np.nansum(hdr[..., 1] - hdr[..., 0], axis=1)

modes, masses, n_modes = mdn.predict_modes(X_test)
nearest = np.nanargmin(np.abs(modes - y_test[:, None]), axis=1)
branch_mass = masses[np.arange(len(y_test)), nearest]

print(f"{'':28s}{'coverage':>10s}{'mean size':>11s}")
print(
    f"{'equal-tailed 90% interval':28s}{in_interval.mean():10.3f}"
    f"{np.mean(interval[:, 1] - interval[:, 0]):11.3f}"
)
print(
    f"{'90% highest-density region':28s}{in_hdr.mean():10.3f}{hdr_length.mean():11.3f}"
)
print(
    f"rows whose 90% HDR has several intervals: {np.mean(n_intervals > 1):.2f} "
    f"(mean number {n_intervals.mean():.2f})"
)
print(
    f"heaviest branch is the nearest to the truth for {np.mean(nearest == 0):.2f} "
    "of the rows"
)
print(f"mean mass of the branch nearest to the truth: {branch_mass.mean():.2f}")

# %%
# Side by side
# ------------
# Left, the equal-tailed interval band; middle, the HDR; right, the branches
# (marker area proportional to the branch's mass). The band also covers the
# empty gaps between the branches; the HDR follows the data. The right panel
# shows the branches that hold at least 2% of the probability
# (``predict_modes``' ``min_mass``) and are separated from a higher one by a
# dip of the density of at least 30% (``min_dip``): lighter bumps of the
# mixture's tails are left out, shoulders merged into their branch.
fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
# The density is evaluated, and the y axes drawn, over the range of the data.
y_lim = (y_train.min() - 0.1, y_train.max() + 0.1)
common = {"n_points": 120, "y_grid": np.linspace(*y_lim, 160), "colorbar": False}
PredictiveDensityDisplay.from_estimator(
    mdn, X_train, coverage=coverage, point_estimate=None, ax=axes[0], **common
)
PredictiveDensityDisplay.from_estimator(
    mdn, X_train, coverage=None, hdr=coverage, point_estimate=None, ax=axes[1], **common
)
PredictiveDensityDisplay.from_estimator(
    mdn, X_train, coverage=None, modes=True, point_estimate=None, ax=axes[2], **common
)
for ax, title in zip(
    axes, ["equal-tailed interval", "highest-density region", "branches"]
):
    ax.scatter(X_test[:300, 0], y_test[:300], s=3, color="0.3", alpha=0.4)
    ax.set_title(title)
fig.tight_layout()
plt.show()

# %%
# One input, three answers
# ------------------------
# At ``x = 0.5`` the three answers are ``y = 0.21, 0.5`` and ``0.79``;
# ``predict_modes`` lists the branches that hold at least ``min_mass=0.02``
# of the probability (after merging shallow bumps, ``min_dip=0.3``), with
# their masses.
modes, masses, n_modes = mdn.predict_modes([[0.5]])
hdr, n_intervals = mdn.predict_hdr([[0.5]], coverage)
print("branches at x = 0.5:", np.round(modes[0, : n_modes[0]], 3))
print("their masses:       ", np.round(masses[0, : n_modes[0]], 3))
print("90% HDR:            ", np.round(hdr[0, : n_intervals[0]], 3).tolist())
print("90% interval:       ", np.round(mdn.predict_interval([[0.5]], coverage)[0], 3))

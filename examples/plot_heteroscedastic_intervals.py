"""
=====================================
Intervals under heteroscedastic noise
=====================================

When the noise level changes with the input, a single error bar for all
predictions is too wide in some places and too narrow in others. An MDN
predicts the spread together with the centre, so its intervals widen where
the data are noisy and tighten where they are not.

Here the noise grows with ``|x|`` and is skewed (a mixture of a narrow and a
wide Gaussian). We compare the 50% and 90% intervals of
:class:`~sklearn_mdn.MDNRegressor` with constant-width intervals around a
point prediction, on held-out data, with
:func:`~sklearn_mdn.metrics.interval_coverage` and
:func:`~sklearn_mdn.metrics.mean_interval_width`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from sklearn_mdn import MDNRegressor
from sklearn_mdn.metrics import interval_coverage, mean_interval_width

rng = np.random.RandomState(1)


def make_data(n):
    x = rng.uniform(-3, 3, n)
    scale = 0.05 + 0.25 * np.abs(x)
    # Skewed noise: mostly small, sometimes a large positive excursion.
    big = rng.uniform(size=n) < 0.2
    noise = np.where(big, np.abs(rng.normal(size=n)) * 2.5, rng.normal(size=n))
    return x[:, None], np.sin(x) + scale * noise


X_train, y_train = make_data(1500)
X_test, y_test = make_data(1000)

mdn = MDNRegressor(
    n_components=3,
    hidden_layer_sizes=(32, 32),
    learning_rate_init=5e-3,
    max_iter=200,
    random_state=0,
).fit(X_train, y_train)
print(f"trained for {mdn.n_iter_} epochs")

# %%
# The intervals
# -------------
# :meth:`~sklearn_mdn.MDNRegressor.predict_interval` returns equal-tailed
# intervals: the ``(1 - c) / 2`` and ``(1 + c) / 2`` quantiles of the
# predicted mixture. They need not be symmetric around the point estimate:
# here the upper side is longer, as the noise is.
grid = np.linspace(-3, 3, 300)[:, None]
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.scatter(X_train[:, 0], y_train, s=3, color="0.5", alpha=0.5, label="data")
for coverage, alpha in [(0.9, 0.2), (0.5, 0.4)]:
    lower, upper = mdn.predict_interval(grid, coverage=coverage).T
    ax.fill_between(
        grid[:, 0], lower, upper, color="C0", alpha=alpha, label=f"{coverage:.0%}"
    )
ax.plot(grid[:, 0], mdn.predict(grid), color="C0", label="mean")
ax.plot(grid[:, 0], np.sin(grid[:, 0]), color="k", ls="--", lw=1, label="sin(x)")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(loc="upper left", fontsize="small")
ax.set_title("Predictive intervals follow the noise")
plt.show()

# %%
# Coverage and width on held-out data
# -----------------------------------
# Constant-width intervals (the empirical quantiles of the training
# residuals around the MDN's mean) reach the nominal coverage on average,
# but they do so by being too wide near ``x = 0`` and too narrow at the
# edges. The MDN's intervals keep their coverage at the edges too, and its
# 90% intervals are narrower on average.
residuals = y_train - mdn.predict(X_train)
edges = np.abs(X_test[:, 0]) > 2
for coverage in (0.5, 0.9):
    mdn_interval = mdn.predict_interval(X_test, coverage=coverage)
    lo, hi = np.quantile(residuals, [(1 - coverage) / 2, (1 + coverage) / 2])
    const_interval = mdn.predict(X_test)[:, None] + np.array([lo, hi])
    for name, interval in [("MDN", mdn_interval), ("constant", const_interval)]:
        print(
            f"{coverage:.0%} {name:>8}: coverage "
            f"{interval_coverage(y_test, interval):.2f} overall, "
            f"{interval_coverage(y_test[edges], interval[edges]):.2f} "
            f"for |x| > 2; mean width {mean_interval_width(interval):.2f}"
        )

"""
=========================
Quick start in 5 minutes
=========================

Fit an :class:`~sklearn_mdn.MDNRegressor`, read its point estimates and
intervals, look inside one predicted distribution, and score it. The data
are noisier on the right than on the left, which a point regressor cannot
say but the predicted distribution does. The script runs in a few seconds.
"""

# %%
# Data whose noise grows with x
# -----------------------------
import matplotlib.pyplot as plt
import numpy as np

from sklearn_mdn import MDNRegressor
from sklearn_mdn.metrics import mean_negative_log_likelihood

rng = np.random.RandomState(0)
x = rng.uniform(0, 3, 1000)
y = np.sin(2 * x) + (0.05 + 0.2 * x) * rng.normal(size=x.size)
X = x[:, None]  # scikit-learn wants a 2-d X: rows by features
X_train, X_test, y_train, y_test = X[:800], X[800:], y[:800], y[800:]

# %%
# Fit
# ---
# A scikit-learn regressor: ``fit(X, y)``, then predictions. A small network
# is plenty for one feature; the defaults (five layers of 100 units) suit
# larger problems.
reg = MDNRegressor(n_components=3, hidden_layer_sizes=(32, 32), random_state=0)
reg.fit(X_train, y_train)
print(f"trained for {reg.n_iter_} epochs")

# %%
# Point estimates and intervals
# -----------------------------
# ``predict`` gives one number per row (the mean of the predicted
# distribution); ``predict_interval`` the range that holds the target with a
# given probability. On held-out rows, about 90% of the targets should fall
# inside the 90% intervals, and the intervals should widen with x.
pred = reg.predict(X_test)
interval = reg.predict_interval(X_test, coverage=0.9)
inside = (interval[:, 0] <= y_test) & (y_test <= interval[:, 1])
print(f"share of held-out targets inside their 90% interval: {inside.mean():.0%}")
width = interval[:, 1] - interval[:, 0]
for lo, hi in [(0, 1), (2, 3)]:
    rows = (X_test[:, 0] >= lo) & (X_test[:, 0] < hi)
    print(f"mean interval width for {lo} <= x < {hi}: {width[rows].mean():.2f}")

# %%
# One predicted distribution
# --------------------------
# ``predict_dist`` returns the whole prediction: per row, a mixture of
# Gaussians (a weight, a mean and a spread per component). It has six
# components, not three: once early stopping had chosen the epochs, the
# network was trained again on all the rows, held-out ones included, and the
# two networks' mixtures are averaged with equal weights (``refit``;
# ``refit=False`` keeps the early-stopped network alone). Here the row
# x = 2.5.
dist = reg.predict_dist(np.array([[2.5]]))
for w, m, s in zip(
    dist.weights[0], dist.means[0, :, 0], dist.scale_tril[0, :, 0, 0], strict=True
):
    print(f"component: weight {w:.2f}, mean {m:+.2f}, standard deviation {s:.2f}")
print(f"its mean {dist.mean()[0]:+.2f}; the truth's mean {np.sin(5.0):+.2f}")

# %%
# Score
# -----
# The negative log-likelihood of held-out targets (nats per row, lower is
# better) scores the whole distribution. Compare it with one Gaussian of
# constant spread around the network's mean: the MDN should win, because it
# knows where the noise is small.
nll = mean_negative_log_likelihood(y_test, reg.predict_dist(X_test))
sigma = np.std(y_train - reg.predict(X_train))
nll_const = np.mean(
    0.5 * ((y_test - pred) / sigma) ** 2 + np.log(sigma * np.sqrt(2 * np.pi))
)
print(f"held-out NLL: MDN {nll:.3f}, constant-spread Gaussian {nll_const:.3f}")

# %%
# Plot
# ----
grid = np.linspace(0, 3, 200)[:, None]
band = reg.predict_interval(grid, coverage=0.9)
fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(x, y, s=3, color="0.5", alpha=0.5, label="data")
ax.plot(grid[:, 0], reg.predict(grid), color="C0", label="predicted mean")
ax.fill_between(
    grid[:, 0], band[:, 0], band[:, 1], color="C0", alpha=0.2, label="90% interval"
)
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(loc="lower left")
plt.show()

# %%
# The same from the command line
# ------------------------------
# With the data in a CSV file (a header line, then rows), the command line
# fits and predicts without Python::
#
#     sklearn-mdn fit train.csv --target y --model m.mdn --random-state 0
#     sklearn-mdn predict m.mdn new.csv --out pred.csv --coverage 0.9
#
# Next: the :ref:`user guide <user_guide>` explains what the network
# predicts and when to use it, and :ref:`the command line page <cli>` the
# options.

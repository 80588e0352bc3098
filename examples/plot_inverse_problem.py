"""
==============================================
An inverse problem: mean, mode and the density
==============================================

In an *inverse problem* one input can come from several very different
targets. Here the forward map ``x = y + 0.3 sin(2 pi y)`` folds back on
itself, so for ``x`` near 0.5 the target ``y`` lies on one of three
branches. A regressor trained on the squared error (such as
:class:`~sklearn.neural_network.MLPRegressor`) predicts the conditional
*mean*, which falls between the branches where no data lies.

:class:`~sklearn_mdn.MDNRegressor` predicts the whole conditional density.
Its ``point_estimate`` chooses what :meth:`~sklearn_mdn.MDNRegressor.predict`
returns: the mixture ``"mean"`` (what ``MLPRegressor`` estimates), the mean of
the heaviest component (``"top"``) or the highest-density point (``"mode"``),
which stays on a branch.
"""

# %%
# The data
# --------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.neural_network import MLPRegressor

from sklearn_mdn import MDNRegressor
from sklearn_mdn.metrics import mean_negative_log_likelihood
from sklearn_mdn.plotting import PredictiveDensityDisplay

rng = np.random.RandomState(0)
n = 2000
y = rng.uniform(-1, 1, n)
x = y + 0.3 * np.sin(2 * np.pi * y) + 0.05 * rng.normal(size=n)
X = x[:, None]
X_train, X_test, y_train, y_test = X[:1500], X[1500:], y[:1500], y[1500:]

# %%
# Two models
# ----------
# The mixture density network keeps its defaults: it chooses the number of
# components, the training length (early stopping) and the size of its
# ensemble itself. The MLP is scikit-learn's, trained on the squared error.
mdn = MDNRegressor(random_state=0).fit(X_train, y_train)

mlp = MLPRegressor(hidden_layer_sizes=(32, 32), max_iter=500, random_state=0).fit(
    X_train, y_train
)

dist = mdn.predict_dist(X_test)
print(f"held-out NLL of the MDN: {mean_negative_log_likelihood(y_test, dist):.3f}")

# %%
# Mean, mode and density
# ----------------------
# The density (shaded) has up to three ridges. The mean of the mixture
# (black line) and the MLP's prediction (orange, dashed) cut across the fold;
# the mode (purple dots) jumps from branch to branch and always sits where
# data is.
fig, ax = plt.subplots(figsize=(7, 5))
# The density is evaluated, and the y axis drawn, over the range of the data:
# a faint tail of the mixture beyond it would only shrink the branches.
y_lim = (y.min() - 0.1, y.max() + 0.1)
display = PredictiveDensityDisplay.from_estimator(
    mdn,
    X_train,
    point_estimate=["mean", "mode"],
    coverage=None,
    n_points=200,
    y_grid=np.linspace(*y_lim, 200),
    ax=ax,
)
grid = display.x_grid
ax.plot(
    grid, mlp.predict(grid[:, None]), "--", color="C1", lw=1.5, label="MLPRegressor"
)
ax.scatter(x[:300], y[:300], s=3, color="0.3", alpha=0.5, label="data")
ax.legend(loc="upper left", fontsize="small")
ax.set_title("One input, several answers")
plt.show()

# %%
# How far is each point estimate from the truth?
# ----------------------------------------------
# The mean minimises the squared error, but where the branches split it
# predicts values that never occur. The mode and the top component's mean
# ("top") land on a branch: close to the truth when it is the right branch,
# far off when it is another. Which estimate to use depends on the decision
# the prediction feeds; the density shows the alternatives. The sentences
# printed last are computed from the numbers above them.
scores = {}
for name in ("mean", "top", "mode"):
    pred = getattr(dist, name)()
    scores[name] = (
        np.sqrt(np.mean((pred - y_test) ** 2)),
        np.mean(np.abs(pred - y_test) < 0.1),
    )
pred = mlp.predict(X_test)
scores["MLP"] = (
    np.sqrt(np.mean((pred - y_test) ** 2)),
    np.mean(np.abs(pred - y_test) < 0.1),
)
for name, (rmse, close) in scores.items():
    print(f"{name:>5}: RMSE {rmse:.3f}, within 0.1 of the truth {close:.0%}")
# Branches at one x lie about 0.3 apart: a miss by more than 0.25 is a wrong branch.
wrong = np.mean(np.abs(dist.mode() - y_test) > 0.25)
best_rmse = min(scores, key=lambda k: scores[k][0])
best_close = max(scores, key=lambda k: scores[k][1])
print(f"Lowest RMSE: {best_rmse}.")
print(
    f"Most often within 0.1 of the truth: {best_close}, for "
    f"{scores[best_close][1]:.0%} of the rows."
)
print(
    f"The mode: {scores['mode'][1]:.0%}; it misses by more than 0.1 on the "
    f"other {1 - scores['mode'][1]:.0%},"
)
print(f"and by more than 0.25 (another branch) on {wrong:.0%}.")

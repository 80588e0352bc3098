"""
==========================================
Many features, few that matter
==========================================

A network given many input features of which only a few matter fits the
noise of the others before it finds the signal, and early stopping then ends
training far from the truth. With ``select_features="auto"`` (the default)
:class:`~sklearn_mdn.MDNRegressor` shuffles each feature among its held-out
rows, drops the features whose shuffling does not change the held-out
likelihood, and trains again without them, keeping the network that the
held-out rows show to be better. ``support_`` says which features it kept.
"""

# %%
# Data: 3 features that matter among 30
# -------------------------------------
# The mean depends on ``x0`` and ``x1``, the noise on ``x2``; the 27 other
# features are noise. The true conditional density is known, so the test
# negative log-likelihood can be compared with the truth's.
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

from sklearn_mdn import MDNRegressor
from sklearn_mdn.metrics import mean_negative_log_likelihood

rng = np.random.RandomState(0)
n, p = 3000, 30
X = rng.uniform(-2, 2, size=(n, p))
mean = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1]
scale = 0.1 + 0.3 * np.abs(X[:, 2])
y = mean + scale * rng.normal(size=n)
X_train, X_test, y_train, y_test = X[:2000], X[2000:], y[:2000], y[2000:]
truth = -norm.logpdf(y_test, mean[2000:], scale[2000:]).mean()

# %%
# Fit with and without the elimination
# ------------------------------------
without = MDNRegressor(select_features=False, random_state=0).fit(X_train, y_train)
selected = MDNRegressor(random_state=0).fit(X_train, y_train)
print("features kept:", np.flatnonzero(selected.support_))
for name, reg in [("all 30 features", without), ("select_features", selected)]:
    nll = mean_negative_log_likelihood(y_test, reg.predict_dist(X_test))
    print(f"{name}: test NLL {nll:.3f} (truth {truth:.3f})")

# %%
# The mean along the feature that matters most
# --------------------------------------------
# Predictions on a line through ``x0`` (other features at 0): the network
# that reads every feature has not found the sine.
grid = np.zeros((200, p))
grid[:, 0] = np.linspace(-2, 2, 200)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(grid[:, 0], np.sin(2 * grid[:, 0]), "k--", label="true mean")
ax.plot(grid[:, 0], without.predict(grid), label="all 30 features")
ax.plot(grid[:, 0], selected.predict(grid), label="select_features")
ax.set_xlabel("x0")
ax.set_ylabel("predicted mean")
ax.legend()
fig.tight_layout()
plt.show()

"""
=============================================
Training on a Dask array larger than memory
=============================================

:meth:`~sklearn_mdn.MDNRegressor.fit` needs every row in memory.
:meth:`~sklearn_mdn.MDNRegressor.partial_fit` trains for one epoch over the
rows it is given, and :func:`sklearn_mdn.dask.fit_incremental` calls it over
the blocks of a Dask array, one block computed at a time: the memory needed
is that of one block and the network, however many rows there are. This
example

1. builds a lazy Dask array of 100,000 rows whose blocks are drawn only when
   training reaches them (a stand-in for files or a database too large to
   load; the sizes are small so that the page builds in seconds);
2. trains an :class:`~sklearn_mdn.MDNRegressor` on it, block by block;
3. predicts over a lazy array of fresh rows with :mod:`sklearn_mdn.dask`,
   and scores the predicted distributions against the true density.

Without a ``distributed`` client the blocks are computed by Dask's local
scheduler and the model trains in this process; with one (``Client()``) the
same call trains on the workers, with the same result, bit for bit.
"""

# %%
# A lazy data set
# ---------------
# Two branches of the target for each input: with probability 0.7 near
# ``sin(2x)``, with probability 0.3 near ``-0.5 sin(2x) - 1``, with noise that
# grows with ``|x|``. Block ``i`` is drawn from its own seeded generator, so
# the array is the same every time it is computed.
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

from sklearn_mdn import MDNRegressor
from sklearn_mdn.dask import fit_incremental, log_prob, predict_interval

ROWS, CHUNK = 100_000, 10_000


def truth(x):
    """Weights, means and standard deviations of the two branches."""
    weights = np.array([0.7, 0.3])
    means = np.stack([np.sin(2 * x), -0.5 * np.sin(2 * x) - 1.0], axis=-1)
    sd = (0.05 + 0.1 * np.abs(x))[..., None] * np.array([1.0, 0.5])
    return weights, means, sd


def block(block_id=None, seed=0):
    rng = np.random.RandomState([seed, block_id[0]])
    x = rng.uniform(-2, 2, CHUNK)
    weights, means, sd = truth(x)
    branch = (rng.uniform(size=CHUNK) > weights[0]).astype(int)
    rows = np.arange(CHUNK)
    y = means[rows, branch] + sd[rows, branch] * rng.normal(size=CHUNK)
    return np.column_stack([x, y])


def lazy_table(n_blocks, seed):
    return da.map_blocks(
        block, chunks=((CHUNK,) * n_blocks, (2,)), dtype=np.float64, seed=seed
    )


table = lazy_table(ROWS // CHUNK, seed=0)
X, y = table[:, :1], table[:, 1]
print(X)

# %%
# Training, block by block
# ------------------------
# ``partial_fit``'s first call fixes the standardisation of inputs and targets
# from its rows (the first block: it should be a fair sample of the data), and
# the network. Nothing is held out, so there is no early stopping: each pass
# over the blocks is one epoch per block, and ``epochs`` says how many passes.
# The learning rate still falls when the training loss of successive blocks
# stops improving.
model = MDNRegressor(n_components=3, hidden_layer_sizes=(32, 32), random_state=0)
fit_incremental(model, X, y, epochs=2)
print(f"{model.n_iter_} calls of partial_fit, {model.n_steps_} gradient steps")

# %%
# Predicting over the lazy array
# ------------------------------
# :mod:`sklearn_mdn.dask` predicts chunk by chunk, lazily, over arrays of any
# size. Here, on 30,000 fresh rows (another lazy array), the share of targets
# inside their 90% interval and the mean negative log-likelihood, computed
# without holding the predictions, against that of the true density.
test = lazy_table(3, seed=1)
X_test, y_test = test[:, :1], test[:, 1]
interval = predict_interval(model, X_test, coverage=0.9)
inside = ((interval[:, 0] <= y_test) & (y_test <= interval[:, 1])).mean()
nll = -log_prob(model, X_test, y_test).mean()


def true_log_prob(block):
    weights, means, sd = truth(block[:, 0])
    density = (weights * norm.pdf(block[:, 1:], means, sd)).sum(axis=1)
    return np.log(density)


true_nll = -test.map_blocks(true_log_prob, drop_axis=1, dtype=float).mean()
inside, nll, true_nll = da.compute(inside, nll, true_nll)
print(f"targets inside their 90% interval: {inside:.1%}")
print(f"held-out NLL {nll:.3f} nats per row; the true density's {true_nll:.3f}")

# %%
# The predicted distribution
# --------------------------
# An equal-tailed interval would span both branches; the 90% highest-density
# regions of the predicted mixtures show them apart, over a sample of the rows
# (from the first block, computed on its own).
sample = table.blocks[0].compute()[:2000]
grid = np.linspace(-2, 2, 200)[:, None]
regions, _ = model.predict_hdr(grid, coverage=0.9)  # (200, M, 2), NaN padded
fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
ax.scatter(sample[:, 0], sample[:, 1], s=2, color="0.6", label="rows (a sample)")
for i in range(regions.shape[1]):
    ax.fill_between(
        grid[:, 0],
        regions[:, i, 0],
        regions[:, i, 1],
        alpha=0.3,
        color="C0",
        label="90% highest-density region" if i == 0 else None,
    )
ax.set(xlabel="x", ylabel="y", title="Predicted regions over the data")
ax.legend(loc="upper left")
ax_loss.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_, marker="o")
ax_loss.set(
    xlabel="partial_fit call (one block)",
    ylabel="training NLL of the block (nats)",
    title="One call per block, two epochs",
)
fig.tight_layout()
plt.show()

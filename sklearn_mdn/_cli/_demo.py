"""The command line's demo: an inverse problem whose answer branches, and the
generated CSV files of the README's command-line example."""

import os
import time

import numpy as np

from ._csv import _write_csv
from ._output import CLIError, _live_output, _plural, _print_history


def _true_branches(x0, *, amplitude=0.3, noise=0.05):
    """The true answers at ``x0``: every y in [-1, 1] with ``y + amplitude
    sin(2 pi y) = x0``, and the probability of each under the demo's data.

    With ``y`` uniform and ``x = g(y) + noise N(0, 1)``, ``p(y | x0)`` is
    proportional to ``N(x0 - g(y); 0, noise**2)`` on [-1, 1]; each root's
    probability is that of the ``y`` nearer to it than to any other root.
    """
    # An even number of points: no grid point falls on a root such as 0.
    y = np.linspace(-1.0, 1.0, 20_000)
    f = y + amplitude * np.sin(2 * np.pi * y) - x0
    i = np.flatnonzero(np.signbit(f[:-1]) != np.signbit(f[1:]))
    roots = y[i] - f[i] * (y[i + 1] - y[i]) / (f[i + 1] - f[i])
    density = np.exp(-0.5 * (f / noise) ** 2)
    nearest = np.abs(y[:, None] - roots[None, :]).argmin(axis=1)
    shares = np.bincount(nearest, weights=density, minlength=len(roots))
    return roots, shares / density.sum()


def _cells(locations, weights, min_weight=0.05):
    """``location: weight`` of each branch heavier than ``min_weight``,
    by location."""
    keep = np.flatnonzero(np.nan_to_num(weights) >= min_weight)
    keep = keep[np.argsort(locations[keep])]
    return "  ".join(f"{locations[k]:+.2f}: {weights[k]:.2f}" for k in keep)


def _cmd_demo(args):
    from .._estimators._regressor import MDNRegressor

    rng = np.random.RandomState(args.random_state)
    n_train, n_test = 1000, 1000
    y = rng.uniform(-1.0, 1.0, n_train + n_test)
    x = y + 0.3 * np.sin(2.0 * np.pi * y) + 0.05 * rng.normal(size=y.shape)
    X_train, X_test = x[:n_train, None], x[n_train:, None]
    y_train, y_test = y[:n_train], y[n_train:]

    print(
        "sklearn-mdn demo. MDNRegressor predicts, for each input, a whole\n"
        "distribution of the target: a mixture of Gaussians, i.e. a few bell\n"
        "curves, each with a location, a spread and a weight (the weights sum\n"
        "to 1).\n\n"
        "Data: y uniform in [-1, 1], x = y + 0.3 sin(2 pi y) + noise; predict y\n"
        "from x. For x between about 0.41 and 0.59, three different y give the\n"
        "same x: the answer branches, and a single number cannot say so."
    )
    reg = MDNRegressor(
        max_iter="auto" if args.max_iter is None else args.max_iter,
        random_state=args.random_state,
        verbose=int(_live_output(args.verbose)),
    )
    print(f"\nFitting {reg!r} on {n_train} rows ...", flush=True)
    start = time.perf_counter()
    reg.fit(X_train, y_train)
    if args.verbose and not _live_output(args.verbose):
        _print_history(reg.net_.history)
    print(
        f"done: {_plural(reg.n_iter_, 'epoch')} in "
        f"{time.perf_counter() - start:.1f} s.\n"
    )

    grid = np.array([[-0.9], [0.0], [0.5], [0.9]])
    dist = reg.predict_dist(grid)
    modes, mean = dist.modes(), dist.mean()
    print(
        "Predicted branches (location: probability) per x, the modes of the\n"
        "predicted distribution (predict_modes; branches under 5% left out),\n"
        "next to the true ones:\n"
    )
    print(f"      x    mean | {'predicted branches':<38} | true branches")
    for i, x0 in enumerate(grid[:, 0]):
        cells = _cells(modes.modes[i], modes.masses[i])
        truth = _cells(*_true_branches(x0))
        print(f"  {x0:+.2f}  {mean[i]:+.2f} | {cells:<38} | {truth}")

    nll = -np.mean(reg.predict_dist(X_test).log_prob(y_test))
    # Baseline: a linear fit with one homoscedastic Gaussian around it.
    A = np.column_stack([np.ones(n_train), X_train[:, 0]])
    coef = np.linalg.lstsq(A, y_train, rcond=None)[0]
    sigma = np.std(y_train - A @ coef)
    resid = y_test - (coef[0] + coef[1] * X_test[:, 0])
    nll_lin = np.mean(0.5 * (resid / sigma) ** 2 + np.log(sigma * np.sqrt(2 * np.pi)))
    print(
        f"\nScore: the negative log-likelihood of {n_test} held-out rows, in nats\n"
        f"per row; lower is better (more probability where the answers fell):\n"
        f"  MDNRegressor {nll:+.3f},  one Gaussian around a linear fit "
        f"{nll_lin:+.3f}.\n"
        "\nA single number, such as the mean (second column), cannot say that\n"
        "x = 0.5 has three answers. Next: python -m sklearn_mdn fit --help"
    )
    return 0


# Bands (nm) of the generated remote-sensing reflectances.
_BANDS = (443, 490, 560, 665)


def _chlorophyll_rows(n, random_state):
    """Chlorophyll-a (mg/m3) and the water's reflectance in four bands.

    A toy of ocean-colour retrieval: chlorophyll spans three orders of
    magnitude (log-uniform from 0.03 to 30), absorbs blue light and so
    lowers the blue bands against the green one; dissolved organic matter,
    not in the file, absorbs blue too, so similar reflectances come from
    different chlorophyll: the spread of the answer varies with the input.
    """
    rng = np.random.RandomState(random_state)
    log_chl = rng.uniform(np.log(0.03), np.log(30.0), n)
    cdom = rng.lognormal(0.0, 0.5, n)
    slope = np.array([-0.35, -0.22, 0.0, 0.15])
    level = np.array([0.012, 0.010, 0.006, 0.0008])
    blue = np.array([1.0, 0.6, 0.2, 0.0])
    rrs = level * np.exp(
        slope * log_chl[:, None]
        - 0.25 * blue * np.log(cdom)[:, None]
        + 0.03 * rng.normal(size=(n, 4))
    )
    return rrs, np.exp(log_chl)


def _cmd_demo_data(args):
    """Write ``train.csv`` (id, bands, chl) and ``new.csv`` (id, bands)."""
    if os.path.realpath(args.train) == os.path.realpath(args.new):
        raise CLIError(f"{args.train}: the training and new rows need two files")
    n_train, n_new = args.rows, 5
    rrs, chl = _chlorophyll_rows(n_train + n_new, args.random_state)
    ids = [f"st{i + 1:04d}" for i in range(n_train + n_new)]
    names = ["id", *(f"rrs{band}" for band in _BANDS)]
    train = [ids[:n_train], *rrs[:n_train].T, chl[:n_train]]
    _write_csv(args.train, [*names, "chl"], train, "%.6g")
    _write_csv(args.new, names, [ids[n_train:], *rrs[n_train:].T], "%.6g")
    print(
        f"Wrote {args.train} ({n_train} rows: id, the reflectances "
        f"{', '.join(names[1:])} and the target chl, chlorophyll-a in mg/m3) "
        f"and {args.new} ({n_new} rows without chl)."
    )
    return 0

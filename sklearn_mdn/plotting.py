"""Plots of predictive distributions, in scikit-learn's Display style.

matplotlib is an optional dependency (``pip install sklearn-mdn[plot]``); it
is imported only when a display is drawn.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._compose import predict_dist
from .distribution import NormalMixture
from .metrics import pit

__all__ = ["CoverageDisplay", "PITDisplay", "PredictiveDensityDisplay"]

_POINT_ESTIMATES = ("mean", "top", "mode")


def _pyplot(caller: str):
    """``matplotlib.pyplot``, or an ImportError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install it with "
            "`pip install sklearn-mdn[plot]` (or `pip install matplotlib`)."
        ) from None
    return plt


def _get_ax(ax, caller: str):
    plt = _pyplot(caller)
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _check_dist(dist) -> NormalMixture:
    if not isinstance(dist, NormalMixture):
        raise TypeError(
            f"dist must be a NormalMixture (from predict_dist), got "
            f"{type(dist).__name__}."
        )
    return dist


def _select_target(dist: NormalMixture, target) -> NormalMixture:
    """The univariate marginal of target ``target`` (None for one target)."""
    if not dist.event_shape:
        if target not in (None, 0):
            raise ValueError(f"target={target!r}, but the distribution has 1 target.")
        return dist
    if target is None:
        if dist.n_targets != 1:
            raise ValueError(
                f"The distribution has {dist.n_targets} targets; choose one with "
                "target=j."
            )
        target = 0
    return dist.marginal(target)


def _check_point_estimates(point_estimate) -> tuple:
    names = (point_estimate,) if isinstance(point_estimate, str) else point_estimate
    names = tuple(names or ())
    for name in names:
        if name not in _POINT_ESTIMATES:
            raise ValueError(
                f"point_estimate must be among {_POINT_ESTIMATES}, got {name!r}."
            )
    return names


def _column_index(X, feature, feature_names) -> int:
    n_features = X.shape[1]
    if isinstance(feature, str):
        if feature_names is None or feature not in list(feature_names):
            raise ValueError(
                f"feature={feature!r} is not a column name of X"
                + (
                    f" (columns: {list(feature_names)})"
                    if feature_names is not None
                    else ""
                )
            )
        return list(feature_names).index(feature)
    if (
        not isinstance(feature, numbers.Integral)
        or not -n_features <= feature < n_features
    ):
        raise ValueError(
            f"feature must be a column index in [0, {n_features}) or a column "
            f"name, got {feature!r}."
        )
    return int(feature) % n_features


def _grid_inputs(X, j: int, grid: np.ndarray):
    """Rows equal to a typical row of ``X`` except column ``j``, set to ``grid``.

    The other columns hold their median (numeric columns) or their most
    frequent value. A pandas DataFrame gives a DataFrame with the same columns.
    """
    if hasattr(X, "iloc"):
        base = {}
        for name in X.columns:
            column = X[name]
            if np.issubdtype(column.dtype, np.number):
                base[name] = column.median()
            else:
                base[name] = column.mode(dropna=True).iloc[0]
        rows = X.iloc[np.zeros(len(grid), dtype=int)].copy()
        for name, value in base.items():
            rows[name] = value
        rows[X.columns[j]] = grid
        rows.index = range(len(grid))
        return rows
    X = np.asarray(X, dtype=np.float64)
    rows = np.repeat(np.median(X, axis=0, keepdims=True), len(grid), axis=0)
    rows[:, j] = grid
    return rows


class PredictiveDensityDisplay:
    """Predictive density of one target along one input, with intervals.

    Draws, over a grid of values of one input feature, the density of the
    predicted distribution of the target as an image (or contour lines), the
    equal-tailed interval of the chosen coverage as a band, the chosen point
    estimates, and optionally the training data and samples from the
    predictive distribution. Build it with :meth:`from_estimator`.

    Parameters
    ----------
    x_grid : ndarray of shape (n_x,)
        Values of the input feature.
    y_grid : ndarray of shape (n_y,)
        Values of the target where the density is evaluated.
    density : ndarray of shape (n_y, n_x)
        Predictive density at ``(x_grid[i], y_grid[j])`` in ``density[j, i]``.
    interval : ndarray of shape (n_x, 2) or None, default=None
        Lower and upper interval bounds along ``x_grid``.
    coverage : float or None, default=None
        Nominal coverage of ``interval``, used in its label.
    point_estimates : dict of str to ndarray of shape (n_x,), default=None
        Point estimates along ``x_grid``, by name (``"mean"``, ``"top"``,
        ``"mode"``).
    samples : ndarray of shape (n_x, n_samples) or None, default=None
        Draws from the predictive distribution at each grid value.
    x_data, y_data : ndarray of shape (n_samples_data,) or None, default=None
        Observations to overlay as points.
    feature_name : str or None, default=None
        Label of the x axis.
    target_name : str or None, default=None
        Label of the y axis.

    Attributes
    ----------
    density_ : matplotlib QuadMesh or QuadContourSet
        The density image or contour lines.
    interval_band_ : matplotlib PolyCollection or None
        The interval band.
    point_lines_ : dict of str to matplotlib Line2D
        The point estimates, by name.
    samples_scatter_ : matplotlib PathCollection or None
        The samples.
    data_scatter_ : matplotlib PathCollection or None
        The observations.
    ax_ : matplotlib Axes
        Axes of the plot.
    figure_ : matplotlib Figure
        Figure of the plot.

    See Also
    --------
    PITDisplay : Calibration of the predictive distributions.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_mdn import MDNRegressor
    >>> from sklearn_mdn.plotting import PredictiveDensityDisplay
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(200, 1))
    >>> y = X[:, 0] + 0.1 * rng.normal(size=200)
    >>> reg = MDNRegressor(hidden_layer_sizes=(16,), max_iter=10,
    ...                    random_state=0).fit(X, y)
    >>> display = PredictiveDensityDisplay.from_estimator(reg, X, y, n_points=50)
    >>> display.density_.get_array().shape
    (100, 50)
    """

    def __init__(
        self,
        *,
        x_grid,
        y_grid,
        density,
        interval=None,
        coverage=None,
        point_estimates=None,
        samples=None,
        x_data=None,
        y_data=None,
        feature_name=None,
        target_name=None,
    ):
        self.x_grid = x_grid
        self.y_grid = y_grid
        self.density = density
        self.interval = interval
        self.coverage = coverage
        self.point_estimates = point_estimates
        self.samples = samples
        self.x_data = x_data
        self.y_data = y_data
        self.feature_name = feature_name
        self.target_name = target_name

    def plot(
        self,
        ax=None,
        *,
        kind="image",
        cmap="Blues",
        density_kwargs=None,
        interval_kwargs=None,
        line_kwargs=None,
        scatter_kwargs=None,
        legend=True,
    ):
        """Draw the display.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        kind : {"image", "contour"}, default="image"
            Draw the density as a shaded image or as contour lines.
        cmap : str or Colormap, default="Blues"
            Colormap of the density.
        density_kwargs : dict, default=None
            Passed to ``pcolormesh`` (the default colour scale is a
            square-root ``PowerNorm``) or ``contour``.
        interval_kwargs : dict, default=None
            Passed to ``fill_between`` for the interval band (drawn as a
            dashed outline by default).
        line_kwargs : dict, default=None
            Passed to ``plot`` for every point estimate.
        scatter_kwargs : dict, default=None
            Passed to ``scatter`` for the observations.
        legend : bool, default=True
            Whether to add a legend.

        Returns
        -------
        display : PredictiveDensityDisplay
            The display, with the drawn artists as attributes.
        """
        if kind not in ("image", "contour"):
            raise ValueError(f"kind must be 'image' or 'contour', got {kind!r}.")
        ax = _get_ax(ax, "PredictiveDensityDisplay.plot")
        x_grid = np.asarray(self.x_grid, dtype=np.float64)
        y_grid = np.asarray(self.y_grid, dtype=np.float64)
        density = np.asarray(self.density, dtype=np.float64)
        if density.shape != (len(y_grid), len(x_grid)):
            raise ValueError(
                f"density has shape {density.shape}; expected (len(y_grid), "
                f"len(x_grid)) = ({len(y_grid)}, {len(x_grid)})."
            )
        if kind == "image":
            from matplotlib.colors import PowerNorm

            # A square-root colour scale keeps wide, low components visible
            # next to sharp peaks.
            kwargs = {
                "cmap": cmap,
                "shading": "auto",
                "rasterized": True,
                "norm": PowerNorm(0.5, vmin=0.0),
            }
            self.density_ = ax.pcolormesh(
                x_grid, y_grid, density, **{**kwargs, **(density_kwargs or {})}
            )
        else:
            kwargs = {"cmap": cmap, "levels": 8, "linewidths": 0.8}
            self.density_ = ax.contour(
                x_grid, y_grid, density, **{**kwargs, **(density_kwargs or {})}
            )

        self.interval_band_ = None
        if self.interval is not None:
            interval = np.asarray(self.interval, dtype=np.float64)
            label = "interval"
            if self.coverage is not None:
                label = f"{self.coverage:.0%} interval"
            # An outline, not a fill, so the density stays visible inside.
            kwargs = {
                "facecolor": "none",
                "edgecolor": "C1",
                "linestyle": "--",
                "linewidth": 1.2,
                "label": label,
            }
            self.interval_band_ = ax.fill_between(
                x_grid,
                interval[:, 0],
                interval[:, 1],
                **{**kwargs, **(interval_kwargs or {})},
            )

        self.data_scatter_ = None
        if self.x_data is not None and self.y_data is not None:
            kwargs = {"s": 6, "color": "0.2", "alpha": 0.4, "label": "data"}
            self.data_scatter_ = ax.scatter(
                self.x_data, self.y_data, **{**kwargs, **(scatter_kwargs or {})}
            )

        self.samples_scatter_ = None
        if self.samples is not None:
            samples = np.asarray(self.samples, dtype=np.float64)
            xs = np.repeat(x_grid[:, None], samples.shape[1], axis=1)
            self.samples_scatter_ = ax.scatter(
                xs.ravel(),
                samples.ravel(),
                s=4,
                color="C3",
                alpha=0.5,
                label="samples",
            )

        # The mean is a smooth curve; the mode and the heaviest component's
        # mean jump between branches, so they are drawn as dots.
        styles = {
            "mean": {"color": "C0", "linestyle": "-", "linewidth": 2},
            "top": {"color": "C2", "linestyle": "none", "marker": "o", "ms": 2.5},
            "mode": {"color": "C3", "linestyle": "none", "marker": "o", "ms": 2.5},
        }
        self.point_lines_ = {}
        for name, values in (self.point_estimates or {}).items():
            kwargs = {**styles.get(name, {}), "label": name}
            (self.point_lines_[name],) = ax.plot(
                x_grid, values, **{**kwargs, **(line_kwargs or {})}
            )

        ax.set_xlim(x_grid.min(), x_grid.max())
        ax.set_ylim(y_grid.min(), y_grid.max())
        ax.set_xlabel(self.feature_name if self.feature_name is not None else "x")
        ax.set_ylabel(self.target_name if self.target_name is not None else "y")
        if legend:
            ax.legend(loc="best", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        feature=0,
        target=None,
        grid=None,
        n_points=100,
        y_grid=100,
        coverage=0.9,
        point_estimate="mean",
        n_samples=0,
        random_state=None,
        ax=None,
        kind="image",
        cmap="Blues",
        legend=True,
    ):
        """Predictive density of a fitted estimator along one input feature.

        The feature ``feature`` runs over ``grid``; every other feature is
        held at its median over ``X`` (its most frequent value for
        non-numeric DataFrame columns), so for one-feature inputs the plot
        is the whole conditional density.

        Parameters
        ----------
        estimator : MDNRegressor, or a Pipeline or search wrapping one
            A fitted :class:`~sklearn_mdn.MDNRegressor`, for instance.
        X : array-like or DataFrame of shape (n_samples, n_features)
            Inputs: they set the grid's range and the values of the other
            features.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), \
                default=None
            Observed targets, drawn as points against ``X[:, feature]``.
        feature : int or str, default=0
            Column index, or column name when ``X`` is a DataFrame.
        target : int or None, default=None
            Target to show when the estimator has several.
        grid : array-like of shape (n_x,), default=None
            Values of the feature; None uses ``n_points`` values evenly spaced
            over its range in ``X``.
        n_points : int, default=100
            Size of the default grid.
        y_grid : int or array-like of shape (n_y,), default=100
            Target values where the density is evaluated, or their number:
            evenly spaced over the central 99.8% of the predictive
            distributions (and the range of ``y``).
        coverage : float or None, default=0.9
            Coverage of the equal-tailed interval band; None draws no band.
        point_estimate : str, list of str or None, default="mean"
            Point estimates to draw, among ``"mean"``, ``"top"`` and
            ``"mode"``.
        n_samples : int, default=0
            Draws from the predictive distribution per grid value.
        random_state : int, RandomState instance or None, default=None
            Seeds the samples.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        kind : {"image", "contour"}, default="image"
            Draw the density as a shaded image or as contour lines.
        cmap : str or Colormap, default="Blues"
            Colormap of the density.
        legend : bool, default=True
            Whether to add a legend.

        Returns
        -------
        display : PredictiveDensityDisplay
            The drawn display.
        """
        _pyplot("PredictiveDensityDisplay.from_estimator")
        names = _check_point_estimates(point_estimate)
        if not isinstance(n_samples, numbers.Integral) or n_samples < 0:
            raise ValueError(
                f"n_samples must be a non-negative integer, got {n_samples!r}."
            )
        if not hasattr(X, "iloc"):
            X = np.asarray(X)
            if X.ndim != 2:
                raise ValueError(f"X must be 2-D, got an array of shape {X.shape}.")
        feature_names = getattr(X, "columns", None)
        j = _column_index(X, feature, feature_names)
        x_column = np.asarray(X.iloc[:, j] if hasattr(X, "iloc") else X[:, j], float)
        if grid is None:
            grid = np.linspace(x_column.min(), x_column.max(), n_points)
        grid = np.asarray(grid, dtype=np.float64)
        if grid.ndim != 1 or len(grid) < 2:
            raise ValueError("grid must be 1-D with at least 2 values.")

        dist = predict_dist(estimator, _grid_inputs(X, j, grid))
        dist = _select_target(dist, target)

        y_data = None
        if y is not None:
            y_data = np.asarray(y, dtype=np.float64)
            if y_data.ndim == 2:
                y_data = y_data[:, 0 if target is None else target]
        if isinstance(y_grid, numbers.Integral):
            bounds = dist.ppf(np.array([0.001, 0.999]))
            lo, hi = bounds[:, 0].min(), bounds[:, 1].max()
            if y_data is not None:
                lo, hi = min(lo, y_data.min()), max(hi, y_data.max())
            y_grid = np.linspace(lo, hi, y_grid)
        y_grid = np.asarray(y_grid, dtype=np.float64)
        density = dist.pdf(np.broadcast_to(y_grid[:, None], (len(y_grid), len(grid))))

        point_estimates = {name: getattr(dist, name)() for name in names}
        interval = None if coverage is None else dist.interval(coverage)
        samples = dist.sample(n_samples, random_state) if n_samples else None

        if feature_names is not None:
            feature_name = str(feature_names[j])
        else:
            names_in = getattr(estimator, "feature_names_in_", None)
            feature_name = str(names_in[j]) if names_in is not None else f"x{j}"
        target_name = "y" if target is None else f"y{target}"
        if y is not None and hasattr(y, "name"):
            target_name = str(y.name)
        elif y is not None and hasattr(y, "columns") and target is not None:
            target_name = str(y.columns[target])

        display = cls(
            x_grid=grid,
            y_grid=y_grid,
            density=density,
            interval=interval,
            coverage=coverage,
            point_estimates=point_estimates,
            samples=samples,
            x_data=x_column if y_data is not None else None,
            y_data=y_data,
            feature_name=feature_name,
            target_name=target_name,
        )
        return display.plot(ax=ax, kind=kind, cmap=cmap, legend=legend)


def _pit_values(y, dist, target) -> np.ndarray:
    dist = _check_dist(dist)
    values = pit(y, dist, missing_targets="marginalize")
    if values.ndim == 2 and target is not None:
        values = values[:, target]
    values = values.ravel()
    return values[~np.isnan(values)]


class PITDisplay:
    """Histogram of probability integral transform (PIT) values.

    The PIT value of an observation is the predictive cdf at that
    observation. For calibrated predictive distributions the values are
    uniform on [0, 1]: the histogram is flat at density 1. A U shape means
    the distributions are too narrow (over-confident), a hump that they are
    too wide, a slope that they are biased. The grey band is the range in
    which about 95% of the bars of a calibrated model fall (binomial noise).

    Parameters
    ----------
    pit_values : ndarray of shape (n_values,)
        PIT values, in [0, 1].
    estimator_name : str or None, default=None
        Name used in the title.

    Attributes
    ----------
    bars_ : matplotlib BarContainer
        The histogram bars.
    uniform_line_ : matplotlib Line2D
        The density 1 of uniform PIT values.
    band_ : matplotlib PolyCollection
        The 95% band of a calibrated model's bars.
    ax_ : matplotlib Axes
        Axes of the plot.
    figure_ : matplotlib Figure
        Figure of the plot.

    See Also
    --------
    CoverageDisplay : Empirical against nominal coverage of intervals.
    sklearn_mdn.metrics.pit : The PIT values.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_mdn import NormalMixture
    >>> from sklearn_mdn.plotting import PITDisplay
    >>> rng = np.random.RandomState(0)
    >>> dist = NormalMixture(np.ones((500, 1)), np.zeros((500, 1, 1)),
    ...                      np.ones((500, 1, 1, 1)))
    >>> display = PITDisplay.from_predictions(rng.normal(size=500), dist)
    >>> len(display.bars_)
    10
    """

    def __init__(self, *, pit_values, estimator_name=None):
        self.pit_values = pit_values
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, n_bins=10, bar_kwargs=None):
        """Draw the histogram.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        n_bins : int, default=10
            Number of bins over [0, 1].
        bar_kwargs : dict, default=None
            Passed to ``hist``.

        Returns
        -------
        display : PITDisplay
            The display, with the drawn artists as attributes.
        """
        if not isinstance(n_bins, numbers.Integral) or n_bins < 1:
            raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
        ax = _get_ax(ax, "PITDisplay.plot")
        values = np.asarray(self.pit_values, dtype=np.float64)
        n = len(values)
        if n == 0:
            raise ValueError("There are no PIT values to plot.")
        # Bin counts of uniform values are Binomial(n, 1 / n_bins); as a density
        # a bar is count * n_bins / n, so its 95% range is 1 +- 2 sd.
        p = 1.0 / n_bins
        half = 2.0 * np.sqrt(n * p * (1 - p)) * n_bins / n
        self.band_ = ax.fill_between(
            [0, 1], 1 - half, 1 + half, color="0.85", linewidth=0, label="95% band"
        )
        kwargs = {"color": "C0", "edgecolor": "white", "label": "PIT"}
        _, _, self.bars_ = ax.hist(
            values,
            bins=np.linspace(0, 1, n_bins + 1),
            density=True,
            **{**kwargs, **(bar_kwargs or {})},
        )
        (self.uniform_line_,) = ax.plot(
            [0, 1], [1, 1], color="k", linestyle="--", label="calibrated"
        )
        ax.set_xlim(0, 1)
        ax.set_xlabel("PIT value (predictive cdf at the observation)")
        ax.set_ylabel("density")
        title = "PIT histogram"
        if self.estimator_name:
            title += f": {self.estimator_name}"
        ax.set_title(title)
        ax.legend(loc="lower center", fontsize="small", framealpha=0.9)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls, y_true, dist, *, target=None, n_bins=10, estimator_name=None, ax=None
    ):
        """PIT histogram of predictive distributions and observations.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
            Observed targets (NaN values are left out).
        dist : NormalMixture
            Predictive distributions, as from ``predict_dist``.
        target : int or None, default=None
            With several targets, the one to show; None pools them all.
        n_bins : int, default=10
            Number of bins over [0, 1].
        estimator_name : str or None, default=None
            Name used in the title.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.

        Returns
        -------
        display : PITDisplay
            The drawn display.
        """
        _pyplot("PITDisplay.from_predictions")
        display = cls(
            pit_values=_pit_values(y_true, dist, target),
            estimator_name=estimator_name,
        )
        return display.plot(ax=ax, n_bins=n_bins)

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, target=None, n_bins=10, estimator_name=None, ax=None
    ):
        """PIT histogram of a fitted estimator on data ``(X, y)``.

        Parameters
        ----------
        estimator : MDNRegressor, or a Pipeline or search wrapping one
            A fitted :class:`~sklearn_mdn.MDNRegressor`, for instance.
        X : array-like of shape (n_samples, n_features)
            Inputs, preferably held out from training.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Observed targets.
        target : int or None, default=None
            With several targets, the one to show; None pools them all.
        n_bins : int, default=10
            Number of bins over [0, 1].
        estimator_name : str or None, default=None
            Name used in the title; None uses the estimator's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.

        Returns
        -------
        display : PITDisplay
            The drawn display.
        """
        _pyplot("PITDisplay.from_estimator")
        dist = predict_dist(estimator, X)
        if estimator_name is None:
            estimator_name = type(estimator).__name__
        return cls.from_predictions(
            y, dist, target=target, n_bins=n_bins, estimator_name=estimator_name, ax=ax
        )


class CoverageDisplay:
    """Empirical coverage of predictive intervals against their nominal coverage.

    For every nominal coverage ``c`` the empirical coverage is the fraction
    of observations inside their equal-tailed ``c`` interval. Calibrated
    predictive distributions lie on the diagonal; below it the intervals are
    too narrow, above it too wide. It is computed from PIT values: an
    observation is inside its equal-tailed ``c`` interval exactly when its
    PIT value lies in ``[(1 - c) / 2, (1 + c) / 2]``.

    Parameters
    ----------
    nominal : ndarray of shape (n_levels,)
        Nominal coverages, in (0, 1).
    empirical : ndarray of shape (n_levels,)
        Empirical coverages.
    estimator_name : str or None, default=None
        Label of the curve.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The empirical coverage curve.
    diagonal_ : matplotlib Line2D
        The diagonal of perfect calibration.
    ax_ : matplotlib Axes
        Axes of the plot.
    figure_ : matplotlib Figure
        Figure of the plot.

    See Also
    --------
    PITDisplay : Histogram of the PIT values.
    sklearn_mdn.metrics.interval_coverage : Coverage of given intervals.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_mdn import NormalMixture
    >>> from sklearn_mdn.plotting import CoverageDisplay
    >>> rng = np.random.RandomState(0)
    >>> dist = NormalMixture(np.ones((500, 1)), np.zeros((500, 1, 1)),
    ...                      np.ones((500, 1, 1, 1)))
    >>> display = CoverageDisplay.from_predictions(rng.normal(size=500), dist)
    >>> display.line_.get_xdata().shape
    (19,)
    """

    def __init__(self, *, nominal, empirical, estimator_name=None):
        self.nominal = nominal
        self.empirical = empirical
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, line_kwargs=None):
        """Draw the coverage curve and the diagonal.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        line_kwargs : dict, default=None
            Passed to ``plot`` for the coverage curve.

        Returns
        -------
        display : CoverageDisplay
            The display, with the drawn artists as attributes.
        """
        ax = _get_ax(ax, "CoverageDisplay.plot")
        (self.diagonal_,) = ax.plot(
            [0, 1], [0, 1], color="k", linestyle="--", label="calibrated"
        )
        label = self.estimator_name or "empirical"
        kwargs = {"marker": "o", "ms": 3, "label": label}
        (self.line_,) = ax.plot(
            self.nominal, self.empirical, **{**kwargs, **(line_kwargs or {})}
        )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("nominal coverage of the equal-tailed interval")
        ax.set_ylabel("empirical coverage")
        ax.legend(loc="upper left", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls, y_true, dist, *, target=None, levels=None, estimator_name=None, ax=None
    ):
        """Coverage curve of predictive distributions and observations.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
            Observed targets (NaN values are left out).
        dist : NormalMixture
            Predictive distributions, as from ``predict_dist``.
        target : int or None, default=None
            With several targets, the one to show; None pools them all.
        levels : array-like of float, default=None
            Nominal coverages in (0, 1); None means 0.05, 0.10, ..., 0.95.
        estimator_name : str or None, default=None
            Label of the curve.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.

        Returns
        -------
        display : CoverageDisplay
            The drawn display.
        """
        _pyplot("CoverageDisplay.from_predictions")
        if levels is None:
            levels = np.linspace(0.05, 0.95, 19)
        levels = np.asarray(levels, dtype=np.float64)
        if levels.ndim != 1 or np.any((levels <= 0) | (levels >= 1)):
            raise ValueError("levels must be a 1-D array of values in (0, 1).")
        values = _pit_values(y_true, dist, target)
        if len(values) == 0:
            raise ValueError("There are no observations to compute coverage on.")
        half = levels[:, None] / 2
        inside = np.abs(values[None, :] - 0.5) <= half
        display = cls(
            nominal=levels, empirical=inside.mean(axis=1), estimator_name=estimator_name
        )
        return display.plot(ax=ax)

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, target=None, levels=None, estimator_name=None, ax=None
    ):
        """Coverage curve of a fitted estimator on data ``(X, y)``.

        Parameters
        ----------
        estimator : MDNRegressor, or a Pipeline or search wrapping one
            A fitted :class:`~sklearn_mdn.MDNRegressor`, for instance.
        X : array-like of shape (n_samples, n_features)
            Inputs, preferably held out from training.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Observed targets.
        target : int or None, default=None
            With several targets, the one to show; None pools them all.
        levels : array-like of float, default=None
            Nominal coverages in (0, 1); None means 0.05, 0.10, ..., 0.95.
        estimator_name : str or None, default=None
            Label of the curve; None uses the estimator's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.

        Returns
        -------
        display : CoverageDisplay
            The drawn display.
        """
        _pyplot("CoverageDisplay.from_estimator")
        dist = predict_dist(estimator, X)
        if estimator_name is None:
            estimator_name = type(estimator).__name__
        return cls.from_predictions(
            y, dist, target=target, levels=levels, estimator_name=estimator_name, ax=ax
        )

"""Predictive density of one target along one input feature."""

from __future__ import annotations

import numbers

import numpy as np

from .._estimators._compose import _unwrap
from ._common import (
    _column_index,
    _density_on_grid,
    _get_ax,
    _grid_inputs,
    _outer_padded,
    _pyplot,
    _select_target,
    _to_outer,
)
from ._density_layers import _plot_hdr, _plot_interval

__all__ = ["PredictiveDensityDisplay"]

_POINT_ESTIMATES = ("mean", "top", "mode")


def _check_point_estimates(point_estimate) -> tuple:
    names = (point_estimate,) if isinstance(point_estimate, str) else point_estimate
    names = tuple(names or ())
    for name in names:
        if name not in _POINT_ESTIMATES:
            raise ValueError(
                f"point_estimate must be among {_POINT_ESTIMATES}, got {name!r}."
            )
    return names


def _contour_blues():
    """``Blues`` from 60% up: contour lines of the default colour scale that
    all stand out from a white background (its light end is near white)."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    return ListedColormap(
        colormaps["Blues"](np.linspace(0.6, 1.0, 256)), name="Blues_dark"
    )


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
    hdr : ndarray of shape (n_x, M, 2) or None, default=None
        Highest-density region along ``x_grid``: ``(lower, upper)`` of each
        of its intervals, NaN padded (the output of ``predict_hdr``).
    hdr_coverage : float or None, default=None
        Nominal coverage of ``hdr``, used in its label.
    modes : ndarray of shape (n_x, M) or None, default=None
        Modes (branches) along ``x_grid``, NaN padded.
    mode_masses : ndarray of shape (n_x, M) or None, default=None
        Mass of each mode; marker areas are proportional to it.
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
        The interval band, lightly shaded.
    interval_lines_ : list of matplotlib Line2D
        The lower and upper interval bounds (empty without an interval).
    colorbar_ : matplotlib Colorbar or None
        The colour scale of the density.
    point_lines_ : dict of str to matplotlib Line2D
        The point estimates, by name.
    samples_scatter_ : matplotlib PathCollection or None
        The samples, as red dots.
    hdr_region_ : matplotlib QuadContourSet or None
        The highest-density region, shaded over the ``y_grid`` cells whose
        centre it holds, and outlined.
    modes_scatter_ : matplotlib PathCollection or None
        The modes, as white diamonds of area proportional to their mass.
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
    >>> display.colorbar_.ax.get_ylabel()
    'predictive density'
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
        hdr=None,
        hdr_coverage=None,
        modes=None,
        mode_masses=None,
        x_data=None,
        y_data=None,
        feature_name=None,
        target_name=None,
    ):
        self.hdr = hdr
        self.hdr_coverage = hdr_coverage
        self.modes = modes
        self.mode_masses = mode_masses
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
        cmap=None,
        density_kwargs=None,
        interval_kwargs=None,
        line_kwargs=None,
        scatter_kwargs=None,
        legend=True,
        colorbar=True,
    ):
        """Draw the display.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        kind : {"image", "contour"}, default="image"
            Draw the density as a shaded image or as contour lines.
        cmap : str, Colormap or None, default=None
            Colormap of the density. None uses ``"Blues"``; for contour
            lines, its darker part (from 60%), so that the lines of low
            density stand out from the white background.
        density_kwargs : dict, default=None
            Passed to ``pcolormesh`` (the default colour scale is a
            square-root ``PowerNorm``) or ``contour``.
        interval_kwargs : dict, default=None
            Passed to ``plot`` for the two interval bounds (dashed lines by
            default); the band between them is lightly shaded.
        line_kwargs : dict, default=None
            Passed to ``plot`` for every point estimate.
        scatter_kwargs : dict, default=None
            Passed to ``scatter`` for the observations.
        legend : bool, default=True
            Whether to add a legend.
        colorbar : bool, default=True
            Whether to add a colour scale of the density.

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
        if cmap is None:
            cmap = "Blues" if kind == "image" else _contour_blues()
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

        _plot_interval(self, ax, x_grid, interval_kwargs)
        _plot_hdr(self, ax, x_grid, y_grid)
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
                s=6,
                marker=".",
                color="C3",
                alpha=0.6,
                label="samples",
            )

        # The mean is a smooth curve, black with a white edge so that it shows
        # on the light and the dark blues; the mode and the heaviest
        # component's mean jump between branches, so they are drawn as dots,
        # in colours of their own (the samples are red, the modes white).
        from matplotlib.patheffects import Normal, Stroke

        halo = [Stroke(linewidth=3.5, foreground="white"), Normal()]
        styles = {
            "mean": {"color": "k", "linewidth": 1.8, "path_effects": halo},
            "top": {"color": "C2", "linestyle": "none", "marker": "o", "ms": 2.5},
            "mode": {"color": "C4", "linestyle": "none", "marker": "o", "ms": 2.5},
        }
        self.point_lines_ = {}
        for name, values in (self.point_estimates or {}).items():
            kwargs = {**styles.get(name, {}), "label": name}
            (self.point_lines_[name],) = ax.plot(
                x_grid, values, **{**kwargs, **(line_kwargs or {})}
            )

        self.modes_scatter_ = None
        if self.modes is not None:
            modes = np.asarray(self.modes, dtype=np.float64)
            masses = self.mode_masses
            masses = np.ones_like(modes) if masses is None else np.asarray(masses)
            xs = np.broadcast_to(x_grid[:, None], modes.shape)
            shown = ~np.isnan(modes)
            self.modes_scatter_ = ax.scatter(
                xs[shown],
                modes[shown],
                s=40.0 * masses[shown],
                marker="D",
                facecolors="white",
                edgecolors="k",
                # Edges as light as the mode: branches of little mass fade.
                linewidths=masses[shown],
                label="modes (area: mass)",
            )

        ax.set_xlim(x_grid.min(), x_grid.max())
        ax.set_ylim(y_grid.min(), y_grid.max())
        ax.set_xlabel(self.feature_name if self.feature_name is not None else "x")
        ax.set_ylabel(self.target_name if self.target_name is not None else "y")
        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = ax.figure.colorbar(
                self.density_, ax=ax, label="predictive density"
            )
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
        hdr=None,
        modes=False,
        point_estimate="mean",
        n_samples=0,
        random_state=None,
        ax=None,
        kind="image",
        cmap=None,
        legend=True,
        colorbar=True,
    ):
        """Predictive density of a fitted estimator along one input feature.

        The feature ``feature`` runs over ``grid``; every other feature is
        held at its median over ``X`` (its most frequent value for
        non-numeric DataFrame columns), so for one-feature inputs the plot
        is the whole conditional density.

        Parameters
        ----------
        estimator : MDNRegressor, or a Pipeline, TransformedTargetRegressor \
                or search wrapping one
            A fitted :class:`~sklearn_mdn.MDNRegressor`, for instance. Through
            a target transform ``T`` (single target), the density is
            ``p(T(y)) |T'(y)|`` with ``T'`` by central differences, which
            needs ``T`` monotone over ``y_grid``; the interval maps through
            ``T`` exactly, point estimates and samples through its inverse
            (point estimates as the wrapper's ``predict`` does).
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
            Through ``predict_interval`` for a single target, so that
            ``calibrate="conformal"`` applies.
        hdr : float or None, default=None
            Coverage of the highest-density region to shade (``predict_hdr``
            for a single target, the selected target's marginal otherwise);
            None draws none.
        modes : bool, default=False
            Whether to draw every mode (branch) of the predictive
            distribution at each grid value, as markers of area
            proportional to the branch's mass. Through a target transform,
            the markers are the inner modes mapped back.
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
        cmap : str, Colormap or None, default=None
            Colormap of the density; None uses ``"Blues"`` (its darker part
            for contour lines), see :meth:`plot`.
        legend : bool, default=True
            Whether to add a legend.
        colorbar : bool, default=True
            Whether to add a colour scale of the density.

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

        mdn, rows, transformers = _unwrap(
            estimator,
            _grid_inputs(X, j, grid),
            "PredictiveDensityDisplay.from_estimator",
        )
        dist = mdn.predict_dist(rows)
        if transformers and dist.n_targets > 1:
            raise ValueError(
                "PredictiveDensityDisplay maps the density through a target "
                f"transform for a single target only; this one has {dist.n_targets}."
            )
        # The estimator's own intervals and regions (calibrate="conformal"
        # applies) for a 1-D target; the selected marginal's otherwise.
        own = not dist.event_shape
        dist = _select_target(dist, target)

        def outer(values):
            # Inner target values in the outer units (identity without transform).
            return _to_outer(transformers, values, None)

        y_data = None
        if y is not None:
            y_data = np.asarray(y, dtype=np.float64)
            if y_data.ndim == 2:
                y_data = y_data[:, 0 if target is None else target]
        if isinstance(y_grid, numbers.Integral):
            bounds = np.sort(outer(dist.ppf(np.array([0.001, 0.999]))), axis=1)
            lo, hi = bounds[:, 0].min(), bounds[:, 1].max()
            if y_data is not None:
                lo, hi = min(lo, y_data.min()), max(hi, y_data.max())
            y_grid = np.linspace(lo, hi, y_grid)
        y_grid = np.asarray(y_grid, dtype=np.float64)
        density = _density_on_grid(dist, y_grid, transformers)

        point_estimates = {name: outer(getattr(dist, name)()) for name in names}
        interval = None
        if coverage is not None:
            inner = dist.interval(coverage)
            if own:
                inner = mdn.predict_interval(rows, coverage)
            interval = np.sort(outer(inner), axis=1)
        hdr_intervals = None
        if hdr is not None:
            inner = mdn.predict_hdr(rows, hdr) if own else dist.hdr(hdr)
            hdr_intervals = np.sort(_outer_padded(outer, inner[0]), axis=-1)
        mode_values = masses = None
        if modes:
            mode_values, masses, _ = dist.modes()
            mode_values = _outer_padded(outer, mode_values)
        samples = outer(dist.sample(n_samples, random_state)) if n_samples else None

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
            hdr=hdr_intervals,
            hdr_coverage=hdr,
            modes=mode_values,
            mode_masses=masses,
            x_data=x_column if y_data is not None else None,
            y_data=y_data,
            feature_name=feature_name,
            target_name=target_name,
        )
        return display.plot(
            ax=ax, kind=kind, cmap=cmap, legend=legend, colorbar=colorbar
        )

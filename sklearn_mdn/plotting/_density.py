"""Predictive density of one target along one input feature."""

from __future__ import annotations

import numpy as np

from ._common import (
    _get_ax,
    _pyplot,
)
from ._density_data import _display_fields

__all__ = ["PredictiveDensityDisplay"]


def _contour_blues():
    """``Blues`` from 60% up: contour lines of the default colour scale that
    all stand out from a white background (its light end is near white)."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    return ListedColormap(
        colormaps["Blues"](np.linspace(0.6, 1.0, 256)), name="Blues_dark"
    )


def _plot_interval(display, ax, x_grid: np.ndarray, interval_kwargs) -> None:
    """Shade the interval band and draw its bounds as two open lines.

    An outlined ``fill_between`` would close the polygon with vertical
    edges at both ends of the grid; two lines do not.
    """
    display.interval_band_, display.interval_lines_ = None, []
    if display.interval is None:
        return
    interval = np.asarray(display.interval, dtype=np.float64)
    label = "interval"
    if display.coverage is not None:
        label = f"{display.coverage:.0%} interval"
    # A light shade, so the density stays visible inside.
    display.interval_band_ = ax.fill_between(
        x_grid, interval[:, 0], interval[:, 1], color="C1", alpha=0.08, lw=0
    )
    kwargs = {"color": "C1", "linestyle": "--", "linewidth": 1.2}
    kwargs = {**kwargs, **(interval_kwargs or {})}
    for bound, bound_label in zip(interval.T, (label, "_nolegend_")):
        (line,) = ax.plot(x_grid, bound, **{"label": bound_label, **kwargs})
        display.interval_lines_.append(line)


def _plot_hdr(display, ax, x_grid: np.ndarray, y_grid: np.ndarray) -> None:
    """Shade the highest-density region on the density's grid and
    outline it; an empty ``fill_between`` gives it a legend entry."""
    display.hdr_region_ = None
    if display.hdr is None:
        return
    hdr = np.asarray(display.hdr, dtype=np.float64)
    y = y_grid[:, None, None]
    with np.errstate(invalid="ignore"):
        inside = np.any((y >= hdr[None, :, :, 0]) & (y <= hdr[None, :, :, 1]), -1)
    display.hdr_region_ = ax.contourf(
        x_grid,
        y_grid,
        inside.astype(float),
        levels=[0.5, 1.5],
        colors=["C2"],
        alpha=0.18,
    )
    ax.contour(
        x_grid,
        y_grid,
        inside.astype(float),
        levels=[0.5],
        colors=["C2"],
        linewidths=1.0,
    )
    label = "HDR"
    if display.hdr_coverage is not None:
        label = f"{display.hdr_coverage:.0%} HDR"
    ax.fill_between([], [], [], color="C2", alpha=0.3, label=label)


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
        fields = _display_fields(
            estimator,
            X,
            y,
            feature=feature,
            target=target,
            grid=grid,
            n_points=n_points,
            y_grid=y_grid,
            coverage=coverage,
            hdr=hdr,
            modes=modes,
            point_estimate=point_estimate,
            n_samples=n_samples,
            random_state=random_state,
        )
        return cls(**fields).plot(
            ax=ax, kind=kind, cmap=cmap, legend=legend, colorbar=colorbar
        )

"""Histogram of probability integral transform values."""

from __future__ import annotations

import numpy as np

from ..distribution._checks import _check_positive_int
from ._common import _calibration_inputs, _get_ax, _pit_values, _pyplot

__all__ = ["PITDisplay"]


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
        The 95% band of a calibrated model's bars, shaded below them.
    band_bounds_ : list of matplotlib Line2D
        The band's lower and upper bounds, dotted over the bars.
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
        n_bins = _check_positive_int(n_bins, "n_bins")
        ax = _get_ax(ax, "PITDisplay.plot")
        values = np.asarray(self.pit_values, dtype=np.float64)
        n = len(values)
        if n == 0:
            raise ValueError("There are no PIT values to plot.")
        # Bin counts of uniform values are Binomial(n, 1 / n_bins); as a density
        # a bar is count * n_bins / n, so its 95% range is 1 +- 2 sd.
        p = 1.0 / n_bins
        half = 2.0 * np.sqrt(n * p * (1 - p)) * n_bins / n
        kwargs = {"color": "C0", "edgecolor": "white", "label": "PIT", "zorder": 2}
        heights, _, self.bars_ = ax.hist(
            values,
            bins=np.linspace(0, 1, n_bins + 1),
            density=True,
            **{**kwargs, **(bar_kwargs or {})},
        )
        # The band is shaded below the bars, so that they keep the colour of
        # their legend entry, and its bounds are drawn over them as dotted
        # lines, so that the part of it a bar covers still shows.
        self.band_ = ax.fill_between(
            [0, 1],
            1 - half,
            1 + half,
            color="0.4",
            alpha=0.25,
            linewidth=0,
            label="95% band",
            zorder=1,
        )
        self.band_bounds_ = [
            ax.plot([0, 1], [bound, bound], color="0.3", linestyle=":", zorder=3)[0]
            for bound in (1 - half, 1 + half)
        ]
        (self.uniform_line_,) = ax.plot(
            [0, 1], [1, 1], color="k", linestyle="--", label="calibrated", zorder=4
        )
        # Headroom above the tallest bar for the legend, in one row on top.
        top = max(np.max(heights, initial=0.0), 1.0 + half)
        ax.set_ylim(0, 1.3 * top)
        ax.set_xlim(0, 1)
        ax.set_xlabel("PIT value (predictive cdf at the observation)")
        ax.set_ylabel("density")
        title = "PIT histogram"
        if self.estimator_name:
            title += f": {self.estimator_name}"
        ax.set_title(title)
        ax.legend(loc="upper center", ncol=3, fontsize="small", framealpha=0.9)
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
        estimator : MDNRegressor, or a Pipeline, TransformedTargetRegressor \
                or search wrapping one
            A fitted :class:`~sklearn_mdn.MDNRegressor`, for instance. A
            monotone target transform leaves the PIT values unchanged: they
            are computed in the transformed space.
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
        y, dist, name = _calibration_inputs(
            estimator, X, y, estimator_name, "PITDisplay.from_estimator"
        )
        return cls.from_predictions(
            y, dist, target=target, n_bins=n_bins, estimator_name=name, ax=ax
        )

"""Empirical against nominal coverage of equal-tailed intervals."""

from __future__ import annotations

import numpy as np

from ._common import _calibration_inputs, _get_ax, _pit_values, _pyplot

__all__ = ["CoverageDisplay"]

# ``gid`` of the diagonal, so that a second curve on the same axes reuses it.
_DIAGONAL = "sklearn_mdn.coverage.calibrated"


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
        # Several curves may share the axes: one diagonal, one legend entry.
        diagonals = [line for line in ax.get_lines() if line.get_gid() == _DIAGONAL]
        if diagonals:
            self.diagonal_ = diagonals[0]
        else:
            (self.diagonal_,) = ax.plot(
                [0, 1], [0, 1], color="k", ls="--", label="calibrated", gid=_DIAGONAL
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
        if not ax.get_title():
            ax.set_title("Coverage of equal-tailed intervals")
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
        estimator : MDNRegressor, or a Pipeline, TransformedTargetRegressor \
                or search wrapping one
            A fitted :class:`~sklearn_mdn.MDNRegressor`, for instance. A
            monotone target transform leaves the coverage unchanged: it is
            computed in the transformed space.
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
        y, dist, name = _calibration_inputs(
            estimator, X, y, estimator_name, "CoverageDisplay.from_estimator"
        )
        return cls.from_predictions(
            y, dist, target=target, levels=levels, estimator_name=name, ax=ax
        )

"""Predictive intervals, quantiles and samples through scikit-learn wrappers.

A fitted ``Pipeline`` exposes only ``predict`` of its last step, and a
``TransformedTargetRegressor`` maps only point predictions back through its
inverse transform. The functions here reach the :class:`MDNRegressor` inside
such wrappers (and inside fitted ``GridSearchCV`` / ``RandomizedSearchCV``),
transform ``X`` on the way in, and map quantiles and samples back to the
original target units on the way out. Quantiles map exactly through a
monotone target transform (increasing or decreasing), samples through any.
"""

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..distribution._checks import _check_levels
from ..distribution._multimodal import HDRResult


def _is_search(estimator) -> bool:
    """Whether ``estimator`` is a hyper-parameter search (``GridSearchCV``,
    ``RandomizedSearchCV``, the halving searches): told by duck typing, since
    their base class is private to scikit-learn."""
    return all(hasattr(estimator, name) for name in ("estimator", "cv", "refit"))


# What the functions here accept, named in their errors: a user meets them
# after ``search.predict_interval(X)`` failed (scikit-learn's wrappers expose
# only ``predict``) and needs to know which wrappers they see through.
_ACCEPTED = (
    "a fitted MDNRegressor or MDNEnsembleRegressor (an estimator with "
    "predict_dist), or a Pipeline (ending in one), TransformedTargetRegressor "
    "or fitted GridSearchCV, "
    "RandomizedSearchCV, HalvingGridSearchCV or HalvingRandomSearchCV "
    "wrapping one"
)


def _unwrap(estimator, X=None, caller=None):
    """The innermost regressor with ``predict_dist``, ``X`` as it sees it, and
    the fitted target transformers from the innermost outwards.

    The one unwrapping of meta-estimators, for the prediction functions,
    the scorers, plotting and Dask. ``X`` may be None (then the other steps
    of a pipeline are not applied); ``caller`` names the public function in
    the errors. The innermost regressor is checked fitted.
    """
    transformers, path = [], []
    while True:
        name = type(estimator).__name__
        if _is_search(estimator):
            if hasattr(estimator, "cv_results_") and not hasattr(
                estimator, "best_estimator_"
            ):
                raise NotFittedError(
                    f"This {name} was fitted with refit={estimator.refit!r}, so "
                    "it keeps no best_estimator_ to predict with; fit it with "
                    "refit=True (the default)."
                )
            check_is_fitted(estimator, "best_estimator_")
            estimator = estimator.best_estimator_
        elif isinstance(estimator, Pipeline):
            if len(estimator.steps) > 1 and X is not None:
                X = estimator[:-1].transform(X)
            estimator = estimator.steps[-1][1]
        elif isinstance(estimator, TransformedTargetRegressor):
            check_is_fitted(estimator, "regressor_")
            transformers.append(estimator.transformer_)
            estimator = estimator.regressor_
        elif hasattr(estimator, "predict_dist"):
            check_is_fitted(estimator)
            return estimator, X, transformers[::-1]
        else:
            where = f" inside {' > '.join(path)}" if path else ""
            raise TypeError(
                f"{caller or 'This function'} takes {_ACCEPTED}; got {name}{where}."
            )
        path.append(name)


def _inverse(transformer, values, target_axis):
    """Apply ``transformer.inverse_transform`` to an array of target values.

    ``target_axis`` is the axis of ``values`` that holds the targets, or None
    for a single 1-D target. Raises ValueError where the inverse maps a
    finite value to NaN (outside its domain), rather than return NaN.
    """
    # NaN from outside the inverse's domain is turned into the error below.
    with np.errstate(invalid="ignore"):
        if target_axis is None:
            out = transformer.inverse_transform(values.reshape(-1, 1))
            out = np.asarray(out, dtype=np.float64).reshape(values.shape)
        else:
            moved = np.moveaxis(values, target_axis, -1)
            out = transformer.inverse_transform(moved.reshape(-1, moved.shape[-1]))
            out = np.asarray(out, dtype=np.float64).reshape(moved.shape)
            out = np.moveaxis(out, -1, target_axis)
    undefined = np.isnan(out) & np.isfinite(values)
    if undefined.any():
        raise ValueError(
            "The inverse target transform is not defined at some predicted "
            f"target values (it returned NaN for {values[undefined][:3]}): the "
            "network puts probability where the transform cannot map it back, "
            "such as negative values for inverse_func=np.log. Transform so "
            "that the inverse is defined on the whole line (func=np.log with "
            "inverse_func=np.exp, for a positive target)."
        )
    return out


# Relative step of the central differences that give a target transform's
# Jacobian: the cube root of float64's epsilon balances truncation and
# rounding errors.
_JACOBIAN_STEP = float(np.finfo(np.float64).eps ** (1 / 3))


def change_of_variables(transformers, y):
    """Targets ``y`` in the regressor's units, and the log of ``|det dz/dy|``.

    ``transformers`` are the fitted target transformers that ``_unwrap``
    returns (innermost first); ``y``, of shape (n, d), is in the units of
    the outermost estimator. The density of ``y`` is that of ``z = T(y)``
    times ``|det dT/dy|``, so ``log p(y) = log p(z) + log_det``. The Jacobian
    comes from central differences, one target at a time, with a step
    relative to ``|y|`` (at least a thousandth of the target's spread): it
    holds for any differentiable transform, elementwise or not.

    Raises ValueError where the transform is not defined at ``y`` (``y <=
    0`` for ``np.log``), or is flat there (its Jacobian singular), where the
    density of ``y`` is not defined either.
    """

    def forward(values):
        with np.errstate(all="ignore"):
            for transformer in reversed(transformers):
                out = np.asarray(transformer.transform(values), dtype=np.float64)
                values = out.reshape(values.shape)
        return values

    n, d = y.shape
    z = forward(y)
    undefined = ~np.isfinite(z).all(axis=1)
    if undefined.any():
        raise ValueError(
            f"The target transform is not defined at {undefined.sum()} of {n} "
            f"targets (the first: {y[undefined][0]}), such as y <= 0 for "
            "func=np.log: their density cannot be scored."
        )
    spread = np.std(y, axis=0)
    step = _JACOBIAN_STEP * np.maximum(np.abs(y), 1e-3 * spread)
    step[step == 0] = _JACOBIAN_STEP
    jacobian = np.empty((n, d, d))
    for j in range(d):
        up, down = y.copy(), y.copy()
        up[:, j] += step[:, j]
        down[:, j] -= step[:, j]
        difference = (up[:, j] - down[:, j])[:, None]
        jacobian[:, :, j] = (forward(up) - forward(down)) / difference
    with np.errstate(all="ignore"):
        sign, log_det = np.linalg.slogdet(jacobian)
    flat = ~(np.isfinite(log_det) & (sign != 0))
    if flat.any():
        raise ValueError(
            f"The target transform is flat or not differentiable at "
            f"{flat.sum()} of {n} targets (the first: {y[flat][0]}): the density "
            "of y is not defined there (a QuantileTransformer, for one, is flat "
            "beyond the targets it was fitted on)."
        )
    return z, log_det


def predict_quantiles(estimator, X, quantiles=(0.05, 0.5, 0.95)):
    """Quantiles of the predictive marginals, through wrappers.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline, TransformedTargetRegressor or search
        A fitted estimator that is, or wraps, an :class:`MDNRegressor`.
        Target transforms must be monotone in each target (``np.log``,
        ``StandardScaler``, ``QuantileTransformer``, ``PowerTransformer``,
        ...); increasing and decreasing transforms are both exact.

    X : array-like of shape (n_samples, n_features)
        Inputs, as the outermost estimator takes them.

    quantiles : array-like of float, default=(0.05, 0.5, 0.95)
        Levels in [0, 1].

    Returns
    -------
    q : ndarray of shape (n_samples, n_quantiles) or \
            (n_samples, n_outputs, n_quantiles)
        Quantiles in the original target units.

    Raises
    ------
    ValueError
        If the inverse target transform is not defined at some of the
        values to map back (it returns NaN there, as ``np.log`` does below
        zero).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.compose import TransformedTargetRegressor
    >>> from sklearn_mdn import MDNRegressor, predict_quantiles
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(100, 1))
    >>> y = np.exp(X[:, 0] + 0.1 * rng.normal(size=100))
    >>> model = TransformedTargetRegressor(
    ...     MDNRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
    ...     func=np.log, inverse_func=np.exp).fit(X, y)
    >>> q = predict_quantiles(model, X[:2], [0.1, 0.9])
    >>> q.shape, bool((q > 0).all())
    ((2, 2), True)
    """
    mdn, X, transformers = _unwrap(estimator, X, "sklearn_mdn.predict_quantiles")
    levels = np.atleast_1d(_check_levels(quantiles, "quantiles"))
    if not transformers:
        return mdn.predict_quantiles(X, levels)
    m = len(levels)
    # Levels p and 1 - p: a decreasing transform maps the (1 - p)-quantile of
    # the inner target onto the p-quantile of the outer one.
    both = mdn.predict_quantiles(
        X, np.concatenate([levels, 1.0 - levels, [0.25, 0.75]])
    )
    target_axis = None if both.ndim == 2 else 1
    for transformer in transformers:
        both = _inverse(transformer, both, target_axis)
    increasing = both[..., -1:] >= both[..., -2:-1]
    return np.where(increasing, both[..., :m], both[..., m : 2 * m])


def predict_interval(estimator, X, coverage=0.9):
    """Equal-tailed predictive intervals, through wrappers.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline, TransformedTargetRegressor or search
        A fitted estimator that is, or wraps, an :class:`MDNRegressor`; see
        :func:`predict_quantiles`.

    X : array-like of shape (n_samples, n_features)
        Inputs, as the outermost estimator takes them.

    coverage : float, default=0.9
        Probability mass inside the interval, in (0, 1).

    Returns
    -------
    interval : ndarray of shape (n_samples, 2) or (n_samples, n_outputs, 2)
        Lower and upper bounds in the original target units: the inner
        estimator's ``predict_interval`` (with its conformal calibration, if
        any) mapped through the inverse target transform.

    Raises
    ------
    ValueError
        If the inverse target transform is not defined at some of the
        values to map back (it returns NaN there, as ``np.log`` does below
        zero).
    """
    mdn, X, transformers = _unwrap(estimator, X, "sklearn_mdn.predict_interval")
    interval = mdn.predict_interval(X, coverage)
    if not transformers:
        return interval
    # A monotone transform maps [a, b] onto the interval between the images
    # of a and b (swapped when it decreases).
    target_axis = None if interval.ndim == 2 else 1
    for transformer in transformers:
        interval = _inverse(transformer, interval, target_axis)
    return np.sort(interval, axis=-1)


def predict_hdr(estimator, X, coverage=0.9):
    """Highest-density regions of a single target, through wrappers.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline, TransformedTargetRegressor or search
        A fitted estimator that is, or wraps, a single-target
        :class:`MDNRegressor`. A target transform must be monotone
        (increasing or decreasing); the bounds are mapped through its
        inverse. The mapped region holds the same probability, but it is
        the highest-density region of the *transformed* target: in the
        original units, where the density changes by the transform's slope,
        it is in general not the smallest such set (for ``np.log``, it
        leans towards large values).

    X : array-like of shape (n_samples, n_features)
        Inputs, as the outermost estimator takes them.

    coverage : float, default=0.9
        Probability in (0, 1) held by the region.

    Returns
    -------
    intervals : ndarray of shape (n_samples, M, 2)
        ``(lower, upper)`` of each interval in the original target units,
        ascending, NaN padded.
    n_intervals : ndarray of shape (n_samples,)
        Number of intervals of each row.

    Raises
    ------
    ValueError
        If the target transform does not map the bounds of a row
        monotonically (it is not monotone there), or its inverse is not
        defined at some bounds (it returns NaN there).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.compose import TransformedTargetRegressor
    >>> from sklearn_mdn import MDNRegressor, predict_hdr
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(100, 1))
    >>> y = np.exp(X[:, 0] + 0.1 * rng.normal(size=100))
    >>> model = TransformedTargetRegressor(
    ...     MDNRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
    ...     func=np.log, inverse_func=np.exp).fit(X, y)
    >>> intervals, n_intervals = predict_hdr(model, X[:2], 0.9)
    >>> intervals.shape[0], bool(np.nanmin(intervals) > 0)
    (2, True)
    """
    mdn, X, transformers = _unwrap(estimator, X, "sklearn_mdn.predict_hdr")
    intervals, n_intervals = mdn.predict_hdr(X, coverage)
    if not transformers:
        return HDRResult(intervals, n_intervals)
    flat = intervals.reshape(len(intervals), -1)
    found = ~np.isnan(flat)
    # Bounds and 7 points between consecutive ones, to test monotonicity.
    t = np.linspace(0.0, 1.0, 9)[:-1]
    with np.errstate(invalid="ignore"):
        between = flat[:, :-1, None] + t * (flat[:, 1:, None] - flat[:, :-1, None])
    points = np.concatenate([between.reshape(len(flat), -1), flat[:, -1:]], axis=1)
    points[:, :: len(t)] = flat  # the bounds (0 * inf or 0 * NaN is NaN)
    valid = np.isfinite(points)
    valid[:, :: len(t)] = found
    # Invalid points take the row's first bound: a value the inverse accepts.
    mapped = np.where(valid, points, flat[:, :1])
    for transformer in transformers:
        mapped = _inverse(transformer, mapped, None)
    # Forward-fill the invalid points: they then never break monotonicity.
    last = np.maximum.accumulate(np.where(valid, np.arange(valid.shape[1]), 0), 1)
    filled = np.take_along_axis(mapped, last, axis=1)
    steps = np.diff(filled, axis=1)
    with np.errstate(invalid="ignore"):
        rising = np.all((steps >= 0) | np.isnan(steps), axis=1)
        falling = np.all((steps <= 0) | np.isnan(steps), axis=1)
    if not np.all(rising | falling):
        raise ValueError(
            "The target transform is not monotone over the highest-density "
            "regions of some rows: their image is not a union of intervals "
            "with the same ends. Use a monotone transform, or draw samples in "
            "the original units with sklearn_mdn.sample(model, X, n_samples)."
        )
    mapped = np.where(found, mapped[:, :: len(t)], np.nan)
    # Decreasing: reverse the bounds of a row (its NaN padding stays last).
    count = 2 * n_intervals
    reverse = falling & ~rising
    index = np.arange(flat.shape[1])
    back = np.where(index < count[:, None], count[:, None] - 1 - index, index)
    mapped = np.where(reverse[:, None], np.take_along_axis(mapped, back, 1), mapped)
    return HDRResult(mapped.reshape(intervals.shape), n_intervals)


def sample(estimator, X, n_samples=1, random_state=None):
    """Draws from the predictive distribution, through wrappers.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline, TransformedTargetRegressor or search
        A fitted estimator that is, or wraps, an :class:`MDNRegressor`. Any
        target transform works: samples map through it exactly.

    X : array-like of shape (n_samples_X, n_features)
        Inputs, as the outermost estimator takes them.

    n_samples : int, default=1
        Draws per row.

    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Returns
    -------
    samples : ndarray of shape (n_samples_X, n_samples) or \
            (n_samples_X, n_samples, n_outputs)
        Joint draws in the original target units.

    Raises
    ------
    ValueError
        If the inverse target transform is not defined at some draws (it
        returns NaN there, as ``np.log`` does below zero).
    """
    mdn, X, transformers = _unwrap(estimator, X, "sklearn_mdn.sample")
    draws = mdn.sample(X, n_samples=n_samples, random_state=random_state)
    target_axis = None if draws.ndim == 2 else 2
    for transformer in transformers:
        draws = _inverse(transformer, draws, target_axis)
    return draws


def predict_dist(estimator, X):
    """Predictive mixture of the :class:`MDNRegressor` inside a wrapper.

    Parameters
    ----------
    estimator : MDNRegressor, Pipeline or search
        A fitted estimator that is, or wraps, an :class:`MDNRegressor`,
        without a target transform (a transformed target is no longer a
        Gaussian mixture: use :func:`predict_quantiles`, :func:`predict_interval`
        or :func:`sample` for those).

    X : array-like of shape (n_samples, n_features)
        Inputs, as the outermost estimator takes them.

    Returns
    -------
    dist : NormalMixture
        The predicted mixtures.
    """
    mdn, X, transformers = _unwrap(estimator, X, "sklearn_mdn.predict_dist")
    if transformers:
        raise TypeError(
            "A TransformedTargetRegressor's predictive distribution is not a "
            "Gaussian mixture; use sklearn_mdn.predict_quantiles(model, X, q), "
            "predict_interval, predict_hdr or sample, which map through the "
            "target transform exactly, and metrics.neg_nll_scorer, which "
            "scores the density through it."
        )
    return mdn.predict_dist(X)

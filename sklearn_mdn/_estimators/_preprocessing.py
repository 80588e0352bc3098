"""Validation and standardisation of training data; the input domain."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils.validation import validate_data

from .._nn._data import encode_inputs, input_encoding, standardised_dataset
from .._utils._compat import _check_sample_weight
from .._utils._warnings import OutOfDomainWarning, find_stack_level


def _weighted_moments(a, sample_weight, *, collapse_constant=False):
    """Column means and standard deviations, weighted, ignoring NaN.

    Columns constant to rounding error get the scale 1 (or their rounding
    scale, if larger), or with ``collapse_constant`` the rounding scale
    itself: predictions of a constant target then stay within rounding of
    the constant.
    """
    w = np.broadcast_to(sample_weight[:, None], a.shape)
    w = np.where(np.isnan(a), 0.0, w)
    total = w.sum(axis=0)
    a0 = np.nan_to_num(a)
    # Divide each column by a power of two at least its largest magnitude
    # (exact), so squares of values near the float64 limit cannot overflow.
    ref = np.ldexp(1.0, np.frexp(np.abs(a0).max(axis=0, initial=0.0))[1])
    a0 = a0 / ref
    mean = (w * a0).sum(axis=0) / total
    var = (w * (a0 - mean) ** 2).sum(axis=0) / total
    mean, scale = mean * ref, np.sqrt(var) * ref
    # Constant is relative to the column's magnitude, so that features and
    # targets in tiny units (1e-20) are standardised, not taken as constant.
    tiny = np.maximum(10 * np.finfo(np.float64).eps * ref, np.finfo(np.float64).tiny)
    constant = scale <= tiny
    # Unit scale at least the rounding scale: a huge constant's rounding
    # residuals are huge in absolute terms.
    floor = tiny if collapse_constant else np.maximum(1.0, tiny)
    scale[constant] = floor[constant]
    return mean, scale


def validate_fit_data(estimator, X, y, sample_weight, *, reset=True):
    """Validated ``X``, ``y``, ``y`` as 2-D and weights, for ``estimator.fit``.

    Rows with every target missing or a zero weight are dropped. With
    ``reset=False`` (training that continues) the columns must be those of
    the first fit: their number and names (``validate_data``'s check).
    """
    X, y = validate_data(
        estimator,
        X,
        y,
        reset=reset,
        validate_separately=(
            {"dtype": [np.float64, np.float32]},
            {
                "ensure_2d": False,
                "dtype": np.float64,
                "ensure_all_finite": "allow-nan",
            },
        ),
    )
    if estimator.missing_targets == "error" and np.isnan(y).any():
        raise ValueError(
            "Input y contains NaN. Set missing_targets='marginalize' to treat "
            "NaN targets as missing."
        )
    if y.ndim > 2:
        raise ValueError(f"y must be 1-D or 2-D, got an array of shape {y.shape}.")
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {X.shape[0]} "
            f"and {y.shape[0]}."
        )
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 0:
        raise ValueError("y has 0 targets (shape (n, 0)); at least 1 is needed.")
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    # Only ratios of weights matter: scaling by a power of two (exact)
    # keeps sums of weights near 1e308 or 1e-320 in range.
    if sample_weight.max() > 0:
        sample_weight = np.ldexp(sample_weight, -np.frexp(sample_weight.max())[1])
    y2 = y.reshape(len(y), -1)
    keep = ~np.isnan(y2).all(axis=1)
    if not keep.all():
        X, y2, sample_weight = X[keep], y2[keep], sample_weight[keep]
    if len(y2) == 0:
        raise ValueError("Every row of y is missing (NaN); nothing to fit.")
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight must have a positive sum.")
    # Rows of weight zero are left out: they add nothing to the likelihood,
    # and far-off ones would still feed huge values to the network.
    positive = sample_weight > 0
    if not positive.all():
        X, y2, sample_weight = X[positive], y2[positive], sample_weight[positive]
    unobserved = np.flatnonzero(sample_weight @ ~np.isnan(y2) <= 0)
    if unobserved.size:
        raise ValueError(
            f"Target {unobserved[0]} has no observed (non-NaN) value with a "
            "positive sample_weight; it cannot be fitted."
        )
    return X, y, y2, sample_weight


# Margin of the input domain on each side of a feature's training range, as
# a fraction of that range.
DOMAIN_MARGIN = 0.5


def input_bounds(X, x_scale) -> np.ndarray:
    """Bounds of the input domain, shape ``(2, n_features)``.

    Each feature's training range widened by :data:`DOMAIN_MARGIN` of that
    range on each side; a constant feature gets its standardisation scale as
    margin instead.
    """
    low, high = X.min(axis=0), X.max(axis=0)
    margin = np.where(high > low, DOMAIN_MARGIN * (high - low), x_scale)
    return np.stack([low - margin, high + margin]).astype(np.float64)


def warn_out_of_domain(X, bounds) -> None:
    """Warn (:class:`OutOfDomainWarning`) if rows of ``X`` lie outside
    ``bounds`` of :func:`input_bounds`."""
    if bounds is None:
        return
    outside = (X < bounds[0]) | (X > bounds[1])
    n_far = int(outside.any(axis=1).sum())
    if n_far:
        features = np.flatnonzero(outside.any(axis=0))
        warnings.warn(
            f"{n_far} of {len(X)} rows lie far outside the inputs seen in fit "
            f"(features {features[:5].tolist()}{'...' if len(features) > 5 else ''} "
            "beyond the training range by more than half of it); their "
            "predicted distributions are extrapolations of the network, not "
            "estimates backed by data.",
            OutOfDomainWarning,
            stacklevel=find_stack_level(),
        )


def standardise(estimator, X, y, y2, sample_weight, device):
    """Record the standardisation of ``X`` and ``y``; the training tensors."""
    estimator.x_mean_, estimator.x_scale_ = _weighted_moments(
        X.astype(np.float64), sample_weight
    )
    estimator.y_mean_, estimator.y_scale_ = _weighted_moments(
        y2, sample_weight, collapse_constant=True
    )
    estimator.input_bounds_ = input_bounds(X, estimator.x_scale_)
    estimator.n_outputs_ = y2.shape[1]
    estimator._y_ndim = y.ndim
    # A new fit reads the raw features until its held-out rows choose.
    set_encoding(estimator, None)
    return training_dataset(estimator, X, y2, sample_weight, device)


def set_encoding(estimator, encoding):
    """Record the encoding ``(encoder, mean, scale)`` of the inputs, or None."""
    (
        estimator.input_encoder_,
        estimator.encoded_mean_,
        estimator.encoded_scale_,
    ) = encoding or (None, None, None)


def input_mask(estimator):
    """The features mask of the fitted networks' first layer: ``support_``,
    or None where they read an encoding (of the kept features only)."""
    return None if input_encoding(estimator) is not None else estimator.support_


def training_dataset(estimator, X, y2, sample_weight, device):
    """The training tensors of ``X`` and ``y2`` under the recorded
    standardisation (and the inputs' encoding, once a fit has chosen one),
    the weights scaled to a mean of 1."""
    moments = (
        estimator.x_mean_,
        estimator.x_scale_,
        estimator.y_mean_,
        estimator.y_scale_,
    )
    dataset = standardised_dataset(X, y2, sample_weight, moments, device)
    encoding = input_encoding(estimator)
    if encoding is not None:
        dataset.X = encode_inputs(dataset.X, estimator.support_, encoding)
    return dataset


def check_hidden_layer_sizes(hidden_layer_sizes) -> tuple:
    """``hidden_layer_sizes`` as a tuple of positive ints; a ValueError if not."""
    hidden = np.atleast_1d(np.asarray(hidden_layer_sizes, dtype=object))
    if hidden.ndim != 1 or not all(
        isinstance(h, Integral | np.integer) and not isinstance(h, bool) and h > 0
        for h in hidden.tolist()
    ):
        raise ValueError(
            "hidden_layer_sizes must be a sequence of positive integers, got "
            f"{hidden_layer_sizes!r}."
        )
    return tuple(int(h) for h in hidden)

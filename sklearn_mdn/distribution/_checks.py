"""Constants and argument checks shared by the distribution, metrics and plots."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .._utils._compat import _check_sample_weight

# Rows of mixture weights must sum to one within this absolute tolerance (leaves
# room for weights computed by a float32 softmax).
_WEIGHT_ATOL = 1e-5

# Largest number of float64 elements in one temporary array; bigger problems
# are processed in chunks to bound memory. The iterative solvers (quantiles,
# modes) and the closed-form CRPS (K * K component pairs per value) have their
# own sizes.
_SOLVER_CHUNK_ELEMENTS = 2**20
_CRPS_CHUNK_ELEMENTS = 2**21

_MISSING_OPTIONS = ("error", "marginalize")


def _check_mixture_weights(weights: np.ndarray) -> None:
    """Check that ``weights`` are finite, non-negative and sum to one (last axis)."""
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("weights must be finite and non-negative.")
    sums = weights.sum(axis=-1)
    error = np.abs(sums - 1.0)
    if np.any(error > _WEIGHT_ATOL):
        worst = np.ravel(sums)[np.argmax(error)]
        raise ValueError(
            f"each row of weights must sum to 1 (within {_WEIGHT_ATOL}) over the "
            f"last axis, found a row summing to {worst!r}."
        )


def _check_mixture(
    weights, means, scale_tril, event_shape
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """Validate the parameters of a ``NormalMixture``; return them as float64.

    ``event_shape=None`` becomes ``()`` for one target and ``(d,)`` otherwise.
    """
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    scale_tril = np.asarray(scale_tril, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] < 1:
        raise ValueError(
            "weights must be a 2-D array of shape (n, K) with K >= 1, "
            f"got shape {weights.shape}."
        )
    n, K = weights.shape
    if means.ndim != 3 or means.shape[:2] != (n, K) or means.shape[2] < 1:
        raise ValueError(
            f"means must have shape (n, K, d) = ({n}, {K}, d) with d >= 1, "
            f"got {means.shape}."
        )
    d = means.shape[2]
    if scale_tril.shape != (n, K, d, d):
        raise ValueError(
            f"scale_tril must have shape (n, K, d, d) = {(n, K, d, d)}, "
            f"got {scale_tril.shape}."
        )
    _check_mixture_weights(weights)
    if not np.all(np.isfinite(means)):
        raise ValueError("means must be finite.")
    if not np.all(np.isfinite(scale_tril)):
        raise ValueError("scale_tril must be finite.")
    if not np.all(np.diagonal(scale_tril, axis1=-2, axis2=-1) > 0):
        raise ValueError("scale_tril must have a strictly positive diagonal.")

    if event_shape is None:
        event_shape = () if d == 1 else (d,)
    try:
        event_shape = tuple(int(s) for s in event_shape)
    except TypeError:
        raise ValueError(
            f"event_shape must be a tuple, () or (d,), got {event_shape!r}."
        ) from None
    if event_shape not in ((), (d,)) or (event_shape == () and d != 1):
        allowed = f"() or ({d},)" if d == 1 else f"({d},)"
        raise ValueError(
            f"event_shape must be {allowed} for d = {d} targets, got {event_shape}."
        )
    return weights, means, scale_tril, event_shape


def _check_levels(q, name: str = "q") -> np.ndarray:
    """Probability levels ``q`` (a scalar or 1-D) as float64, checked in [0, 1].

    ``name`` is the caller's name of the argument, used in the messages.
    """
    q = np.asarray(q, dtype=np.float64)
    if q.ndim > 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D array, got shape {q.shape}."
        )
    bad = ~(np.isfinite(q) & (q >= 0) & (q <= 1))
    if np.any(bad):
        raise ValueError(
            f"{name} must be finite and in [0, 1] (probabilities, not "
            f"percentages), got {np.ravel(q)[np.ravel(bad)][:5].tolist()!r}."
        )
    return q


def _check_coverage(coverage) -> float:
    """A coverage probability in the open interval (0, 1), as a float."""
    if (
        not isinstance(coverage, numbers.Real)
        or isinstance(coverage, bool)
        or not 0.0 < coverage < 1.0
    ):
        raise ValueError(f"coverage must be a float in (0, 1), got {coverage!r}.")
    return float(coverage)


def _check_fraction(value, name: str, meaning: str) -> float:
    """``value`` as a float in [0, 1); a ValueError naming ``name`` and what it
    means otherwise."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not 0.0 <= value < 1.0
    ):
        raise ValueError(f"{name} must be a float in [0, 1): {meaning}, got {value!r}.")
    return float(value)


def _check_min_mass(min_mass) -> float:
    """A branch probability threshold in [0, 1), as a float."""
    return _check_fraction(
        min_mass, "min_mass", "the smallest probability of a reported branch"
    )


def _check_min_dip(min_dip) -> float:
    """A relative depth of the dip between two modes in [0, 1), as a float."""
    return _check_fraction(
        min_dip,
        "min_dip",
        "the smallest relative fall of the density between a listed mode and "
        "a higher one",
    )


def _check_min_gap(min_gap, d: int):
    """A distance per target (d,), finite and non-negative; None where every
    entry is 0 (no merging by distance)."""
    try:
        gap = np.broadcast_to(np.asarray(min_gap, dtype=float), (d,))
    except (TypeError, ValueError):
        raise ValueError(
            f"min_gap must be a number or one per target ({d}), the smallest "
            f"distance between listed modes; got {min_gap!r}."
        ) from None
    if not np.all(np.isfinite(gap)) or np.any(gap < 0):
        raise ValueError(
            "min_gap must be finite and non-negative, the smallest distance "
            f"between listed modes; got {min_gap!r}."
        )
    if not np.any(gap > 0):
        return None
    if not np.all(gap > 0):
        raise ValueError(
            f"min_gap must be positive for every target, or 0 to merge no "
            f"modes by distance; got {min_gap!r}."
        )
    return gap


def _check_row_index(index, n: int):
    """A row selection for ``n`` rows: a slice, or a 1-D integer or boolean array.

    An integer becomes an array of one index, so that the row axis is kept.
    """
    if isinstance(index, numbers.Integral) and not isinstance(index, bool):
        if not -n <= index < n:
            raise IndexError(f"row index {index} is out of range for {n} rows.")
        return np.array([int(index) % n])
    if isinstance(index, slice):
        return index
    index = np.asarray(index)
    if index.size == 0:
        index = index.astype(np.intp)
    if index.ndim != 1 or not (
        index.dtype == bool or np.issubdtype(index.dtype, np.integer)
    ):
        raise IndexError(
            "rows must be selected with an int, a slice, a 1-D boolean mask "
            f"or a 1-D integer array, got {index!r}."
        )
    return index


def _check_values(y, n: int, event_shape: tuple) -> np.ndarray:
    """Validate values ``y`` of shape ``(*S, n, *event_shape)`` for a mixture of
    ``n`` rows; return them as float64 of shape ``(*S, n, d)``."""
    y = np.asarray(y, dtype=np.float64)
    expected = (n, *event_shape)
    m = len(expected)
    if y.ndim < m or y.shape[y.ndim - m :] != expected:
        raise ValueError(
            f"y must have shape (..., n, *event_shape) = (..., "
            f"{', '.join(map(str, expected))}), got {y.shape}."
        )
    if np.any(np.isnan(y)):
        raise ValueError("y must not contain NaN.")
    return y if event_shape else y[..., None]


def _check_positive_int(value, name: str) -> int:
    """A positive integer (not a bool), as an int."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _check_n_samples(n_samples) -> int:
    """A positive number of draws."""
    return _check_positive_int(n_samples, "n_samples")


def _random_state(random_state) -> np.random.RandomState:
    """A generator from a seed or generator, as ``check_random_state``.

    ``None`` gets a fresh generator seeded from OS entropy instead of numpy's
    global singleton, whose state must not be touched.
    """
    if random_state is None:
        return np.random.RandomState()
    return check_random_state(random_state)


def _check_target_index(j, d: int) -> int:
    """Target index ``j`` for ``d`` targets, ``-d <= j < d``, as ``0 <= j < d``."""
    if not isinstance(j, numbers.Integral) or isinstance(j, bool):
        raise ValueError(f"j must be an integer, got {j!r}.")
    if not -d <= j < d:
        raise IndexError(f"target index {j} is out of range for d = {d} targets.")
    return int(j) % d


def _check_affine(loc, scale, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``loc`` and positive ``scale`` of an affine map of ``d`` targets, shape (d,)."""
    try:
        loc = np.broadcast_to(np.asarray(loc, dtype=np.float64), (d,))
        scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (d,))
    except ValueError:
        raise ValueError(
            f"loc and scale must be scalars or broadcastable to shape ({d},)."
        ) from None
    if not np.all(np.isfinite(loc)):
        raise ValueError("loc must be finite.")
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise ValueError("scale must be finite and strictly positive.")
    return loc, scale


def _check_concatenable(distributions, cls) -> list:
    """A non-empty list of ``cls`` mixtures with the same number of components,
    targets and event shape."""
    distributions = list(distributions)
    if not distributions:
        raise ValueError("need at least one distribution to concatenate.")
    if not all(isinstance(dist, cls) for dist in distributions):
        raise TypeError(f"can only concatenate {cls.__name__} objects.")
    first = distributions[0]
    key = (first.n_components, first.n_targets, first.event_shape)
    for dist in distributions[1:]:
        other = (dist.n_components, dist.n_targets, dist.event_shape)
        if other != key:
            raise ValueError(
                "all distributions must have the same (n_components, n_targets, "
                f"event_shape): got {key} and {other}."
            )
    return distributions


def _check_missing(missing_targets) -> None:
    if missing_targets not in _MISSING_OPTIONS:
        raise ValueError(
            f"missing_targets must be one of {_MISSING_OPTIONS}, "
            f"got {missing_targets!r}."
        )


def _check_observed(y: np.ndarray, missing_targets) -> np.ndarray:
    """Check ``y`` for inf and NaN; return the mask of observed entries."""
    _check_missing(missing_targets)
    if np.isinf(y).any():
        raise ValueError("y_true must not contain infinite values.")
    observed = ~np.isnan(y)
    if not observed.all() and missing_targets == "error":
        raise ValueError(
            "y_true contains NaN. Pass missing_targets='marginalize' to treat NaN "
            "entries as missing targets."
        )
    return observed


def _check_targets(y_true, dist, missing_targets):
    """Validate ``y_true`` against ``dist``.

    Returns ``y`` of shape (n, d) and the mask of observed entries, same shape.
    ``y_true`` must have shape ``(n, *dist.event_shape)``; for a single target,
    ``(n,)`` and ``(n, 1)`` are both accepted. ``dist`` is a checked
    ``NormalMixture`` (:func:`sklearn_mdn.distribution._check_dist`).
    """
    try:
        y = np.asarray(y_true, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y_true must be numeric: {exc}") from None
    n, d = len(dist), dist.n_targets
    expected = (n, *dist.event_shape)
    single = d == 1 and y.shape in ((n,), (n, 1))
    if y.shape != expected and not single:
        raise ValueError(
            f"y_true has shape {y.shape}, but dist has {n} rows and event_shape "
            f"{dist.event_shape}: expected shape {expected}."
        )
    y = y.reshape(n, d)
    return y, _check_observed(y, missing_targets)


def _check_weights(sample_weight, n: int) -> np.ndarray:
    sample_weight = _check_sample_weight(
        sample_weight, np.empty((n, 0)), dtype=np.float64, ensure_non_negative=True
    )
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight must have a positive sum.")
    return sample_weight


def _check_interval(interval) -> np.ndarray:
    interval = np.asarray(interval, dtype=np.float64)
    if interval.ndim not in (2, 3) or interval.shape[-1] != 2:
        raise ValueError(
            "interval must have shape (n_samples, 2) or (n_samples, n_targets, 2) "
            f"(the output of predict_interval), got {interval.shape}."
        )
    if np.isnan(interval).any():
        raise ValueError("interval must not contain NaN.")
    if np.any(interval[..., 0] > interval[..., 1]):
        raise ValueError("interval has a lower bound above its upper bound.")
    return interval

"""Piecewise-linear encoding of numerical features (Gorishniy et al., 2022).

Each feature is cut into bins at quantiles of the training data, and a value
becomes one entry per bin: 0 below the bin, 1 above it, its relative position
inside it. Followed by a network's first linear layer, this is the
piecewise-linear embedding ("PLE") of "On Embeddings for Numerical Features in
Tabular Deep Learning" (NeurIPS 2022): the encoding has no trainable
parameters once the bins are known, so it is a transformer to put in front of
the estimator in a :class:`~sklearn.pipeline.Pipeline`.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._utils._compat import Interval

__all__ = ["PiecewiseLinearEncoder"]


class PiecewiseLinearEncoder(TransformerMixin, BaseEstimator):
    """Encode each numerical feature piecewise-linearly over quantile bins.

    A feature with bin edges ``b_0 < ... < b_T`` becomes ``T`` columns; the
    ``t``-th is ``(x - b_{t-1}) / (b_t - b_{t-1})`` clipped to ``[0, 1]``,
    except that the first is not clipped below and the last not above, so
    that values outside the training range extrapolate linearly. The sum of a
    feature's columns is an increasing piecewise-linear function of ``x``:
    a linear layer on the encoding can represent any such function with
    breakpoints at the edges (Gorishniy et al., 2022).

    Parameters
    ----------
    n_bins : int, default=16
        Number of bins per feature, cut at the quantiles ``t / n_bins`` of
        the training values. Features with fewer distinct values get fewer
        bins (one per gap between repeated quantiles is dropped); a constant
        feature gets one all-zero column.

    Attributes
    ----------
    bin_edges_ : list of ndarray
        The increasing edges of each feature's bins.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    n_features_out_ : int
        Number of columns of the encoding.

    References
    ----------
    Y. Gorishniy, I. Rubachev and A. Babenko. "On Embeddings for Numerical
    Features in Tabular Deep Learning". NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn import PiecewiseLinearEncoder
    >>> X = np.arange(5.0).reshape(-1, 1)
    >>> PiecewiseLinearEncoder(n_bins=2).fit_transform(X)
    array([[0. , 0. ],
           [0.5, 0. ],
           [1. , 0. ],
           [1. , 0.5],
           [1. , 1. ]])
    """

    _parameter_constraints = {"n_bins": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, n_bins=16):
        self.n_bins = n_bins

    def fit(self, X, y=None):
        """Cut each feature of ``X`` into bins at its quantiles.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features, finite.
        y : None
            Ignored.

        Returns
        -------
        self : PiecewiseLinearEncoder
            The fitted encoder.
        """
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64)
        levels = np.linspace(0.0, 1.0, self.n_bins + 1)
        self.bin_edges_ = [np.unique(np.quantile(col, levels)) for col in X.T]
        self.n_features_out_ = sum(max(len(e) - 1, 1) for e in self.bin_edges_)
        return self

    def transform(self, X):
        """The piecewise-linear encoding of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features to encode, finite.

        Returns
        -------
        X_out : ndarray of shape (n_samples, `n_features_out_`)
            Each feature's columns, side by side in feature order.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        blocks = []
        for col, edges in zip(X.T, self.bin_edges_):
            if len(edges) < 2:
                blocks.append(np.zeros((len(col), 1)))
                continue
            lower, width = edges[:-1], np.diff(edges)
            enc = (col[:, None] - lower) / width
            enc[:, 1:] = np.maximum(enc[:, 1:], 0.0)
            enc[:, :-1] = np.minimum(enc[:, :-1], 1.0)
            blocks.append(enc)
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features=None):
        """Names ``{feature}_bin{t}`` of the encoding's columns.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Names of the input features; ``feature_names_in_`` or
            ``x0, x1, ...`` when None.

        Returns
        -------
        names : ndarray of str
            One name per column of :meth:`transform`'s output.
        """
        check_is_fitted(self)
        if input_features is None:
            input_features = getattr(
                self,
                "feature_names_in_",
                [f"x{i}" for i in range(self.n_features_in_)],
            )
        return np.asarray(
            [
                f"{name}_bin{t}"
                for name, edges in zip(input_features, self.bin_edges_)
                for t in range(max(len(edges) - 1, 1))
            ],
            dtype=object,
        )

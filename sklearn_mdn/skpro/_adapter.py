"""An MDNRegressor as an skpro probabilistic regressor."""

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted
from skpro.distributions.normal_mixture import NormalMixture as SkproNormalMixture
from skpro.regression.base import BaseProbaRegressor

from .._estimators._compose import predict_dist, predict_quantiles


def _inner_X(X):
    """``X`` as the wrapped estimator takes it: a DataFrame when its column
    names are all strings (scikit-learn records them as ``feature_names_in_``),
    otherwise a plain array, which scikit-learn accepts where it would reject
    mixed-type column names."""
    if all(isinstance(name, str) for name in X.columns):
        return X
    return X.to_numpy()


class MDNSkproRegressor(BaseProbaRegressor):
    """An :class:`~sklearn_mdn.MDNRegressor` presented as an skpro regressor.

    ``predict_proba`` returns skpro's per-row ``NormalMixture``: the exact
    marginals of the predicted mixture of each target (weights, component
    means and marginal standard deviations). ``predict_quantiles`` and
    ``predict_interval`` use sklearn-mdn's own quantile solver (safeguarded
    Newton, exact to rounding) rather than skpro's bisection; ``predict_var``
    the laws of total expectation and variance; ``predict`` the wrapped
    estimator's ``predict`` (the mixture mean by default).

    Parameters
    ----------
    estimator : MDNRegressor, MDNEnsembleRegressor or Pipeline, default=None
        The model: an :class:`~sklearn_mdn.MDNRegressor` (or an ensemble, or
        a ``Pipeline`` or search wrapping one). ``None`` means
        ``MDNRegressor()``. Cloned and fitted by ``fit`` unless
        ``refit=False``. A ``TransformedTargetRegressor`` gives ``predict``,
        ``predict_quantiles`` and ``predict_interval`` (mapped exactly through
        the transform) but no ``predict_proba`` or ``predict_var``, which
        raise ``TypeError``: its predictive distribution is not a Gaussian
        mixture.

    refit : bool, default=True
        Whether ``fit`` fits a clone of ``estimator``. With ``False``,
        ``estimator`` must be fitted already (on a cluster, say, or loaded
        from disk): ``fit`` then uses it as it is and only records the
        column names of ``y`` and checks the number of features.

    Attributes
    ----------
    estimator_ : estimator
        The fitted model: a fitted clone of ``estimator``, or ``estimator``
        itself when ``refit=False``.

    Notes
    -----
    Multi-output targets are supported: the skpro distribution holds each
    target's marginal mixture (skpro's distributions are marginal per
    entry), so the correlations of a full-covariance model are not carried
    over to ``predict_proba(X).sample()``; :func:`sklearn_mdn.sample` on
    ``estimator_`` draws jointly.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_mdn import MDNRegressor
    >>> from sklearn_mdn.skpro import MDNSkproRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame({"x": rng.uniform(-1, 1, 200)})
    >>> y = pd.DataFrame({"y": 2 * X["x"] + 0.1 * rng.normal(size=200)})
    >>> reg = MDNSkproRegressor(
    ...     MDNRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    ... ).fit(X, y)
    >>> dist = reg.predict_proba(X.iloc[:3])
    >>> type(dist).__name__, dist.shape
    ('NormalMixture', (3, 1))
    >>> reg.predict_interval(X.iloc[:3], coverage=0.9).columns.tolist()
    [('y', 0.9, 'lower'), ('y', 0.9, 'upper')]
    """

    _tags = {
        "authors": ["sklearn-mdn developers"],
        "python_dependencies": ["torch", "skorch"],
        "capability:multioutput": True,
        "capability:missing": False,
        "X_inner_mtype": "pd_DataFrame_Table",
        "y_inner_mtype": "pd_DataFrame_Table",
    }

    def __init__(self, estimator=None, refit=True):
        self.estimator = estimator
        self.refit = refit
        super().__init__()

    def _fit(self, X, y, C=None):
        """Fit the wrapped model to ``X`` and ``y`` (DataFrames)."""
        self._y_cols = y.columns
        if not self.refit:
            if self.estimator is None:
                raise ValueError("refit=False needs a fitted estimator, got None.")
            check_is_fitted(self.estimator)
            n_features = self.estimator.n_features_in_
            if X.shape[1] != n_features:
                raise ValueError(
                    f"X has {X.shape[1]} features, but the fitted estimator takes "
                    f"{n_features}."
                )
            self.estimator_ = self.estimator
            return self
        if self.estimator is None:
            from .._estimators._regressor import MDNRegressor

            estimator = MDNRegressor()
        else:
            estimator = self.estimator
        target = y.to_numpy(dtype=np.float64)
        if target.shape[1] == 1:
            target = target[:, 0]
        self.estimator_ = clone(estimator).fit(_inner_X(X), target)
        return self

    def _predict(self, X):
        """Point predictions of the wrapped model, as a DataFrame."""
        pred = np.asarray(self.estimator_.predict(_inner_X(X)), dtype=np.float64)
        return pd.DataFrame(
            pred.reshape(len(X), -1), index=X.index, columns=self._y_cols
        )

    def _predict_proba(self, X):
        """skpro ``NormalMixture`` of the marginals of each row's mixture."""
        dist = predict_dist(self.estimator_, _inner_X(X))
        # Marginal standard deviations: the norms of the rows of the factors.
        sigma = np.sqrt(np.einsum("nkij,nkij->nki", dist.scale_tril, dist.scale_tril))
        return SkproNormalMixture(
            pi=dist.weights,
            mu=dist.means,
            sigma=sigma,
            index=X.index,
            columns=self._y_cols,
        )

    def _predict_quantiles(self, X, alpha):
        """Quantiles from sklearn-mdn's solver, in skpro's column layout."""
        q = predict_quantiles(self.estimator_, _inner_X(X), alpha)
        q = q.reshape(len(X), -1)  # (target, level) order, like the columns
        columns = self._get_columns(method="predict_quantiles", alpha=alpha)
        return pd.DataFrame(q, index=X.index, columns=columns)

    def _predict_var(self, X):
        """Marginal variances by the law of total variance."""
        var = predict_dist(self.estimator_, _inner_X(X)).var()
        return pd.DataFrame(
            var.reshape(len(X), -1), index=X.index, columns=self._y_cols
        )

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Parameters of small, fast test instances.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters; only ``"default"``.

        Returns
        -------
        params : list of dict
            Two instances: a one-component network, and a three-component
            network with diagonal covariances.
        """
        from .._estimators._regressor import MDNRegressor

        return [
            {
                "estimator": MDNRegressor(
                    n_components=1,
                    hidden_layer_sizes=(4,),
                    max_iter=3,
                    early_stopping=False,
                    random_state=0,
                )
            },
            {
                "estimator": MDNRegressor(
                    n_components=3,
                    covariance_type="diag",
                    hidden_layer_sizes=(8,),
                    max_iter=3,
                    random_state=0,
                )
            },
        ]

"""Ensembles of mixture density networks."""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from .._utils._compat import HasMethods, Interval, StrOptions, _fit_context
from ..distribution._checks import _random_state
from ..distribution._mixture import NormalMixture
from ._base import DistributionRegressorMixin
from ._preprocessing import warn_out_of_domain
from ._regressor import _CHUNK_ROWS, MDNRegressor


def _fit_member(estimator, X, y, sample_weight):
    return estimator.fit(X, y, sample_weight=sample_weight)


def _member_dist(member, X) -> NormalMixture:
    """A member's prediction, without its own domain warning."""
    if isinstance(member, MDNRegressor):
        return NormalMixture.concatenate(list(member._iter_dists(X, False)))
    return member.predict_dist(X)


class MDNEnsembleRegressor(DistributionRegressorMixin, RegressorMixin, BaseEstimator):
    """Equally weighted ensemble of independently seeded mixture density networks.

    Each member is a clone of ``estimator`` (with the parameters of
    ``member_params``, if given) fitted on the same data with its own random
    seed (initial weights, shuffling, validation split). The
    ensemble's predictive distribution is the average of the members'
    mixtures, itself a Gaussian mixture with ``n_estimators * n_components``
    components (twice that where members are averaged with their refit,
    ``refit``), so every prediction of :class:`MDNRegressor` (intervals,
    quantiles, samples, densities, scores) is available. Averaging smooths
    the over-confident tails of single networks on small data sets.

    Parameters
    ----------
    estimator : MDNRegressor, default=None
        The member to clone. None means ``MDNRegressor(calibrate=False)``:
        the members' disagreement widens the ensemble's spread already.
        Its ``random_state`` is replaced by a seed drawn from
        ``random_state``, and ``n_networks="auto"`` by 1 (unless
        ``member_params`` sets it): each member is one network, with its own
        held-out choices (``fit_plans_``).

    n_estimators : int, default=5
        Number of members.

    member_params : list of dict, default=None
        Parameters set on the members in turn, on top of ``estimator``'s:
        member ``i`` gets ``member_params[i % len(member_params)]``. Members
        that differ in their inductive bias disagree where the data leave
        the choice open, which an average of identically configured networks
        misses (hyperparameter ensembles, Wenzel et al. 2020). None (the
        default) trains every member as ``estimator``. On the UCI benchmark,
        ``[{}, {"input_l1": 0.05, "learning_rate_init": 6e-3}]`` (three
        default members and two with the L1 penalty on the inputs) is the
        recipe of ``benchmarks/README.md``.

    point_estimate : {"mean", "top", "mode"}, default="mean"
        What :meth:`predict` returns, as in :class:`MDNRegressor`.

    n_jobs : int, default=None
        Members fitted in parallel by joblib. None means 1 unless in a
        ``joblib.parallel_backend`` context; -1 means all processors.

    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds; None draws fresh entropy (numpy's global
        generator is not used).

    Attributes
    ----------
    estimators_ : list of MDNRegressor
        The fitted members.

    fit_plans_ : list of FitPlan
        Each member's ``fit_plan_``: what its fit did and why (None for a
        member that has none).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when ``X`` has string column
        names.

    See Also
    --------
    MDNRegressor : A single mixture density network.

    References
    ----------
    .. [1] B. Lakshminarayanan, A. Pritzel and C. Blundell, "Simple and
       Scalable Predictive Uncertainty Estimation using Deep Ensembles",
       NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn import MDNEnsembleRegressor, MDNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(100, 1))
    >>> y = X[:, 0] + 0.1 * rng.normal(size=100)
    >>> member = MDNRegressor(n_components=2, hidden_layer_sizes=(8,), max_iter=5)
    >>> ens = MDNEnsembleRegressor(member, n_estimators=3, random_state=0).fit(X, y)
    >>> # 3 members, each a network of 2 components averaged with its refit
    >>> ens.predict_dist(X[:4]).n_components
    12
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_dist"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "member_params": [list, None],
        "point_estimate": [StrOptions({"mean", "top", "mode"})],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_estimators=5,
        member_params=None,
        point_estimate="mean",
        n_jobs=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.member_params = member_params
        self.point_estimate = point_estimate
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        """Fit every member on ``X`` and ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; each member validates them.

        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, passed to every member.

        Returns
        -------
        self : MDNEnsembleRegressor
            The fitted ensemble.

        Notes
        -----
        A fit that raises (a member that diverges, for instance) leaves the
        ensemble unfitted, without the members of any previous fit.
        """
        return self._guarded_fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=False)
    def _fit(self, X, y, sample_weight):
        # X is validated (and its feature names recorded) here; members see
        # the validated array. y goes to the members as given, so that their
        # own rules (missing targets, for instance) apply.
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        base = (
            MDNRegressor(calibrate=False) if self.estimator is None else self.estimator
        )
        seeds = _random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=self.n_estimators
        )
        # The ensemble does the averaging: one network per member unless the
        # member asks for more.
        auto = base.get_params().get("n_networks") == "auto"
        one = {"n_networks": 1} if auto else {}
        variants = self._check_member_params(base)
        members = [
            clone(base).set_params(
                **{**one, **variants[i % len(variants)]}, random_state=int(s)
            )
            for i, s in enumerate(seeds)
        ]
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_member)(member, X, y, sample_weight) for member in members
        )
        self.fit_plans_ = [getattr(m, "fit_plan_", None) for m in self.estimators_]
        return self

    def _check_member_params(self, base) -> list:
        """``member_params`` as a non-empty list of dicts of ``base``'s
        parameters, or ValueError."""
        if self.member_params is None:
            return [{}]
        if not self.member_params or not all(
            isinstance(p, dict) for p in self.member_params
        ):
            raise ValueError(
                "member_params must be a non-empty list of dicts of member "
                f"parameters, got {self.member_params!r}."
            )
        valid = base.get_params(deep=False)
        for params in self.member_params:
            unknown = sorted(set(params) - set(valid))
            if unknown:
                raise ValueError(
                    f"member_params names {unknown}, which are not parameters "
                    f"of {type(base).__name__}."
                )
            if "random_state" in params:
                raise ValueError(
                    "member_params cannot set random_state: the ensemble "
                    "draws each member's seed from its own random_state."
                )
        return self.member_params

    def _target_scale(self):
        """The first member's training targets' standard deviations, the
        unit of ``predict_modes``' ``min_gap`` (the members share the
        targets); 1 (target units) for a member without them."""
        check_is_fitted(self)
        first = self.estimators_[0]
        scale = getattr(first, "_target_scale", None)
        return 1.0 if scale is None else scale()

    def _iter_dists(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        # The members share the training inputs, so one domain check serves
        # all of them (one warning, not one per member).
        first = self.estimators_[0]
        warn_out_of_domain(X, getattr(first, "input_bounds_", None))
        weight = 1.0 / len(self.estimators_)
        for chunk in np.array_split(X, max(1, -(-len(X) // _CHUNK_ROWS))):
            dists = [_member_dist(member, chunk) for member in self.estimators_]
            yield NormalMixture(
                np.concatenate([d.weights * weight for d in dists], axis=1),
                np.concatenate([d.means for d in dists], axis=1),
                np.concatenate([d.scale_tril for d in dists], axis=1),
                event_shape=dists[0].event_shape,
            )

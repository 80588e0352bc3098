"""Mixture density network regressor."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._nn._data import (
    CHUNK_ROWS,
    DEVICE_TYPE,
)
from .._nn._module import ACTIVATIONS, row_work
from .._nn._prediction import iter_mixtures
from .._nn._training import NetworkTrainer, check_device
from .._utils._compat import Interval, StrOptions, _fit_context
from .._utils._persistence import add_version, pop_version
from ._base import DistributionRegressorMixin
from ._fit_plan import FitPlan
from ._incremental import IncrementalMixin
from ._networks import set_fitted_state, train_networks, warn_if_not_converged
from ._plan import AUTO_COMPONENTS, gate_width, make_plan
from ._preprocessing import (
    check_hidden_layer_sizes,
    set_encoding,
    standardise,
    validate_fit_data,
    warn_out_of_domain,
)

# Rows predicted at once (tests patch it here).
_CHUNK_ROWS = CHUNK_ROWS


class MDNRegressor(
    IncrementalMixin, DistributionRegressorMixin, RegressorMixin, BaseEstimator
):
    """Mixture density network: a neural network predicting a Gaussian mixture.

    For every input row the network predicts the weights, means and
    covariances of a mixture of ``n_components`` Gaussians over the target,
    so the estimator returns a whole conditional distribution, not only a
    number: point estimates, intervals, quantiles, samples and densities all
    come from it. Targets may be multi-output; the mixture is then joint over
    the targets, with full covariance by default.

    It is trained by minimising the mixture negative log-likelihood with Adam
    over mini-batches. Inputs and targets are standardised internally
    (weighted by ``sample_weight``) and the predicted mixture is mapped back
    to the original target units exactly, so no scaler is needed. Every
    ``"auto"`` is resolved from the data when ``fit`` starts; ``fit_plan_``
    says what was chosen and why.

    Read more in the :ref:`User Guide <user_guide>` and in
    :ref:`What a default fit does <fit_plan>`.

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        Number of Gaussian components of each network's mixture. ``"auto"``
        trains 5, then keeps a network with 1 where the held-out rows show
        that one Gaussian fits better (it needs at least 30 held-out rows).
        The number kept is ``n_components_``.

    covariance_type : {"full", "diag", "spherical"}, default="full"
        Covariance of each component over the targets: ``"full"`` (joint,
        correlated targets), ``"diag"`` (independent targets within a
        component) or ``"spherical"`` (one variance shared by all targets,
        in standardised units). All three agree for a single target.

    hidden_layer_sizes : array-like of int, default=(100, 100, 100, 100, 100)
        Widths of the hidden layers of the network.

    activation : {"silu", "relu", "tanh", "logistic", "identity", "gelu"}, \
            default="silu"
        Activation function of the hidden layers. ``"silu"`` is
        ``x * sigmoid(x)``; ``"relu"`` is the reference implementation's.

    gate_size : int or "auto", default="auto"
        Units of a gate branch that computes the mixture weights: the
        weights' logits come from a hidden ReLU layer of ``gate_size`` units
        reading the last hidden layer, then a linear layer, rather than from
        the layer that outputs the means and scales. ReLU units switch off
        sharply, so a branch of solutions can end where its inputs end
        (inverse problems with joint limits or folds) rather than fade out
        over a band of inputs, putting probability on solutions that do not
        exist. It can also overfit small noisy data sooner, and costs a
        layer more a step. ``"auto"``: where 20% to 90% of the first
        network's held-out rows (from 100 of them) have more than one
        branch (a mode of at least 5% of the probability, apart from every
        higher one by a fall of the density of 80%), the number of branches
        changes across the inputs, and a network with a gate as wide as the
        last hidden layer replaces it, trained from the same seeds on the
        raw features (a network more of training, which stops after two
        cuts of the learning rate that did not help; ``input_encoding``'s
        network is then not tried, and the first network stops after 7,500
        steps where its branches end by then); elsewhere no gate, the fit
        unchanged. 0 (or no hidden layer): no gate, the weights come from
        the same layer as the rest. With early stopping, each gated
        network's gate is then fitted alone on its frozen components (at
        most 500 full-batch steps, the best on the held-out rows; a refit
        takes its network's count): training as a whole stops before the
        weights switch as sharply as the data allow. See :ref:`fit_plan`
        (mixture weights) for the measurements.

    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights (not the biases), on
        :class:`~sklearn.neural_network.MLPRegressor`'s scale: a step on a
        batch of ``b`` rows adds ``alpha / (2 b) * ||W||^2`` to the batch's
        mean negative log-likelihood.

    input_l1 : float, default=0.0
        Strength of an L1 penalty on the first layer's weights that switches
        input features off; with early stopping, the features kept are then
        trained without it (the relaxed lasso) if that helps on the hold-out.

    select_features : bool or "auto", default="auto"
        Whether to drop, by backward elimination on the held-out rows, the
        features whose shuffling does not raise the held-out NLL (kept:
        ``support_``). ``"auto"`` does so up to 100,000 rows; it needs 30
        held-out rows and ``input_l1=0``.

    input_encoding : {"auto", "none"}, default="auto"
        How the networks read the kept features. ``"auto"`` trains, after
        the first network and feature selection, one more from the same
        seeds on the kept features encoded piecewise-linearly, each in 16
        bins at its quantiles
        (:class:`~sklearn_mdn.PiecewiseLinearEncoder`, Gorishniy et al.,
        2022), and keeps the encoding where its held-out NLL is the lower:
        features with steps, thresholds and point masses gain, smooth
        problems keep the raw inputs (``fit_plan_``'s row "encoding kept",
        ``input_encoder_``); where several networks are averaged, the others
        then train on it too. It needs 30 held-out rows and ``input_l1=0``,
        and is not tried above 100,000 rows, nor where ``gate_size="auto"``
        tries a gated network, which reads the raw features. ``"none"``: the
        standardised features.

    batch_size : int or "auto", default="auto"
        Rows per gradient step. ``"auto"`` uses
        ``max(32, round(sqrt(n_train)), n_train // 1024)`` of the
        ``n_train`` rows left after the early-stopping hold-out.

    learning_rate_init : float, default=3e-3
        Initial learning rate of the Adam optimizer.

    learning_rate : {"adaptive", "constant"}, default="adaptive"
        Learning-rate schedule. ``"adaptive"`` divides the learning rate by
        5 whenever the monitored negative log-likelihood (held-out, or
        training without early stopping) has not improved by ``tol`` for a
        third of ``n_iter_no_change`` epochs; ``"constant"`` keeps
        ``learning_rate_init``.

    max_iter : int or "auto", default="auto"
        Maximum number of epochs; early stopping normally ends training
        sooner. ``"auto"`` allows about 30,000 gradient steps, within 20 to
        2000 epochs. Where it ends training before early stopping, ``fit``
        warns (:class:`~sklearn.exceptions.ConvergenceWarning`).

    early_stopping : bool, default=True
        Whether to hold out ``validation_fraction`` of the rows and stop
        when their negative log-likelihood has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, keeping the weights of the best epoch.
        Not applied below 20 rows.

    validation_fraction : float, default=0.2
        Fraction of the rows held out for early stopping.

    n_iter_no_change : int or "auto", default="auto"
        Epochs without improvement of the held-out negative log-likelihood
        before training stops. ``"auto"`` allows about 500 gradient steps
        (at least 5 epochs) per cut of the learning rate, and stops after
        one cut that did not help.

    tol : float, default=1e-4
        Minimum decrease of the validation negative log-likelihood, in nats
        per row, that counts as an improvement.

    refit : bool or "auto", default="auto"
        Whether to train each network again on all the rows for the epochs
        early stopping chose, and average it with the early-stopped one.
        ``"auto"`` refits a single network on up to 100,000 rows; see
        :ref:`fit_plan` for when it does not apply. A refit whose NLL on the
        rows its network held out (which the refit trained on) is above the
        network's by more than 3 standard errors has failed and is dropped
        (``fit_plan_``, row "refits kept").

    calibrate : bool or "conformal", default=True
        How to use the held-out rows once training ends. ``True`` fits one
        factor on every component's scale, ``spread_factor_``, by their
        likelihood (one network only). ``"conformal"`` keeps their
        split-conformal scores, ``conformal_``, so that intervals and
        regions cover at least the coverage asked for on new exchangeable
        rows; it needs one network and early stopping. ``False``: neither.
        With a tree blend, the blended mixtures are calibrated.

    tree_blend : {"auto", "none"} or float in [0, 1], default="auto"
        Share of the way each predicted mixture's mean moves toward the
        prediction of gradient-boosted trees
        (:class:`~sklearn.ensemble.HistGradientBoostingRegressor`, one per
        target, 250 rounds of trees with up to 63 leaves of at least 10
        rows, trained on the standardised inputs): every component moves by
        ``share * (trees - mean)``, the shape and spread stay. Trees fit the
        mean of some tabular data better than a network, and the two err
        differently. ``"auto"`` lets every network's held-out rows choose
        the share among 0.1, 0.25, 0.5, 0.75 and 1 (beside trees trained on
        that network's other rows): the one of least held-out NLL, kept only
        where it beats no blend by one standard error, row by row
        (``fit_plan_``'s row "tree blend kept"); then the trees train on
        every row. It needs held-out rows (early stopping). ``"none"`` or 0:
        the network's mixtures alone. ``partial_fit`` and ``warm_start=True``
        fits do not blend. A kept blend adds the trees' traversal to each
        prediction (about 12 µs a row on one thread).

    reg_covar : float, default=1e-6
        Floor on the variance of each component, in standardised target
        units. It keeps the likelihood bounded when targets repeat exactly.

    noise : float or "auto", default=0.0
        Standard deviation of the Gaussian noise added to the standardised
        inputs and targets of every training batch (Rothfuss et al., 2019),
        lowered with the learning rate. ``"auto"`` starts at
        ``min(0.2, 1 / sqrt(n_train))``.

    weight_averaging : "auto", "none" or float in (0, 1), default="auto"
        Whether each network also keeps the exponential moving average of
        its trained weights (Polyak averaging), updated after every step
        with this decay. Every epoch the held-out rows score both the
        trained weights and their average, and the better is the epoch's
        held-out loss and the weights early stopping keeps (the history's
        ``valid_averaged``); a refit ends on the average where its network
        kept the average, and a fit without held-out rows ends on it.
        ``"auto"`` averages with decay 0.99 (about the last 100 steps)
        where early stopping holds rows out; ``"none"`` keeps the trained
        weights. ``partial_fit`` does not average.

    n_networks : int or "auto", default="auto"
        Number of networks, each with its own seeds and held-out block,
        whose mixtures are averaged with equal weights. ``"auto"`` trains
        ``min(5, 1000 // n_samples)`` (one with ``calibrate="conformal"`` or
        ``warm_start=True``).

    point_estimate : {"mean", "top", "mode"}, default="mean"
        What :meth:`predict` returns: the mixture mean, the mean of the
        heaviest component (``"top"``) or the highest-density point
        (``"mode"``).

    missing_targets : {"error", "marginalize"}, default="error"
        What a NaN in ``y`` means. ``"error"`` raises a ``ValueError``;
        ``"marginalize"`` treats it as a missing target, integrated out of
        the likelihood exactly (rows with every target missing are dropped).

    device : str or torch.device, default="cpu"
        Device the network is trained on and predicts on.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling of the rows and the
        validation split, each drawn from a private generator. None draws
        fresh seeds from the operating system: numpy's global generator is
        not used, and the global numpy and torch random states are never
        touched.

    n_threads : int, "auto" or None, default="auto"
        Torch threads of each call, restored afterwards. ``"auto"``: one per
        ``1e7`` multiply-adds of a step, at most the idle cores; ``-1``: all
        CPUs, ``-2``: all but one; None leaves torch's setting alone. The
        count does not change the results.

    verbose : int, default=0
        Print the fit plan, then one line per epoch when positive (below a
        progress bar over the epochs when tqdm is installed).

    warm_start : bool, default=False
        When True, ``fit`` on a fitted model starts from its network's
        weights, planned afresh, keeping the standardisation, the features,
        the inputs' encoding and ``n_components_`` (one network). See
        :meth:`partial_fit` for one epoch at a time.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the torch module and
        ``net_.history`` the training history. With several networks, or
        with ``refit``, it is the first one's net, whose module is a
        ``StackedMixture`` of every network's module.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when ``X`` has string column
        names.

    n_outputs_ : int
        Number of targets.

    fit_plan_ : FitPlan
        What the last ``fit`` did and why: every ``"auto"`` resolved from
        the data, the features and components the held-out rows chose, and
        the size of the predicted mixture. Print it for a table.
        ``partial_fit`` does not set it.

    n_networks_ : int
        Number of networks trained and averaged (see ``n_networks``).

    refit_ : bool
        Whether each network was refitted on all the rows and averaged with
        its refit (see ``refit``). False where the refit was dropped: its
        NLL on the rows its network held out, which it trained on, was above
        the network's by more than 3 standard errors (``fit_plan_``'s row
        "refits kept").

    n_components_ : int
        Number of components of each network's mixture (see
        ``n_components``).

    support_ : ndarray of bool of shape (`n_features_in_`,)
        The features the networks read: those kept by ``select_features``
        (all of them when it is off or drops none).

    input_encoder_ : PiecewiseLinearEncoder or None
        The encoding of the kept features (in standardised units) that the
        networks read, where ``input_encoding="auto"`` chose it; else None.

    encoded_mean_, encoded_scale_ : ndarray of shape \
            (`input_encoder_.n_features_out_`,) or None
        The means and scales by which the encoding's columns are
        standardised; None without an encoding.

    n_iter_ : int
        Number of epochs run (by the first network, if several; with
        ``select_features`` or ``input_encoding``, by the one kept; not by
        a refit).

    n_steps_ : int
        Number of gradient steps taken, by all networks together (refits
        and networks trained and not kept included).

    loss_curve_ : list of float
        Training negative log-likelihood per epoch, in nats per row in the
        original target units (of the first network, if several).

    validation_loss_curve_ : list of float or None
        Validation negative log-likelihood per epoch (of the first network,
        if several), or None without early stopping.

    spread_factor_ : float
        Factor on the scale of every predicted component, fitted on the
        held-out rows when ``calibrate`` is True and one network is trained;
        otherwise 1.0.

    tree_blend_ : float
        The share of the way toward the trees' mean that predictions move
        (``tree_blend``); 0.0 where none.

    blend_trees_ : list of dict or None
        The trees of the blend, one per target, as arrays (their nodes and
        each tree's root); None where the share is 0.

    conformal_ : ConformalCalibration or None
        With ``calibrate="conformal"``, the held-out rows' conformal scores;
        otherwise None.

    input_bounds_ : ndarray of shape (2, `n_features_in_`)
        Lower and upper bounds of the input domain: each feature's training
        range, widened by half of it on each side. Predictions for rows
        outside it warn with :class:`~sklearn_mdn.OutOfDomainWarning`.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : Point predictions from an MLP.
    sklearn.mixture.GaussianMixture : Unconditional Gaussian mixtures.

    References
    ----------
    .. [1] C. M. Bishop, "Mixture Density Networks", Technical Report
       NCRG/94/004, Aston University, 1994.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mdn import MDNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(200, 1))
    >>> y = X[:, 0] + 0.1 * rng.normal(size=200)
    >>> reg = MDNRegressor(hidden_layer_sizes=(32,), max_iter=20,
    ...                    random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.predict_interval(X[:3], coverage=0.9).shape
    (3, 2)
    >>> reg.fit_plan_.n_networks  # "auto": five networks on 200 rows
    5
    """

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "covariance_type": [StrOptions({"full", "diag", "spherical"})],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "gate_size": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "input_l1": [Interval(Real, 0, None, closed="left")],
        "select_features": ["boolean", StrOptions({"auto"})],
        "input_encoding": [StrOptions({"auto", "none"})],
        "tree_blend": [
            StrOptions({"auto", "none"}),
            Interval(Real, 0, 1, closed="both"),
        ],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions({"adaptive", "constant"})],
        "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "tol": [Interval(Real, 0, None, closed="left")],
        "refit": ["boolean", StrOptions({"auto"})],
        "calibrate": ["boolean", StrOptions({"conformal"})],
        "reg_covar": [Interval(Real, 0, None, closed="neither")],
        "noise": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "weight_averaging": [
            StrOptions({"auto", "none"}),
            Interval(Real, 0, 1, closed="neither"),
        ],
        "n_networks": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "point_estimate": [StrOptions({"mean", "top", "mode"})],
        "missing_targets": [StrOptions({"error", "marginalize"})],
        "device": [str, DEVICE_TYPE],
        "random_state": ["random_state"],
        "n_threads": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            Interval(Integral, None, -1, closed="right"),
            None,
        ],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        covariance_type="full",
        hidden_layer_sizes=(100, 100, 100, 100, 100),
        activation="silu",
        gate_size="auto",
        alpha=1e-4,
        input_l1=0.0,
        select_features="auto",
        input_encoding="auto",
        batch_size="auto",
        learning_rate_init=3e-3,
        learning_rate="adaptive",
        max_iter="auto",
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change="auto",
        tol=1e-4,
        refit="auto",
        calibrate=True,
        tree_blend="auto",
        reg_covar=1e-6,
        noise=0.0,
        weight_averaging="auto",
        n_networks="auto",
        point_estimate="mean",
        missing_targets="error",
        device="cpu",
        random_state=None,
        n_threads="auto",
        verbose=0,
        warm_start=False,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.gate_size = gate_size
        self.alpha = alpha
        self.input_l1 = input_l1
        self.select_features = select_features
        self.input_encoding = input_encoding
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.refit = refit
        self.calibrate = calibrate
        self.tree_blend = tree_blend
        self.reg_covar = reg_covar
        self.noise = noise
        self.weight_averaging = weight_averaging
        self.n_networks = n_networks
        self.point_estimate = point_estimate
        self.missing_targets = missing_targets
        self.device = device
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Fit the mixture density network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets. With several outputs the mixture is joint over them.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the likelihood and in the
            internal standardisation.

        Returns
        -------
        self : MDNRegressor
            The fitted estimator.

        Raises
        ------
        FloatingPointError
            If the training loss stops being finite (a learning rate too
            large, for instance).

        Notes
        -----
        A fit that raises leaves the estimator unfitted: the state of any
        previous fit is discarded, never mixed with the new one. With
        ``warm_start=True`` a fitted estimator continues from its network
        instead, and keeps its fit if the new one raises.
        """
        # An invalid warm_start (not a bool) is a failed fit, which unfits.
        continues = isinstance(self.warm_start, bool | np.bool_) and self.warm_start
        if continues and hasattr(self, "net_"):
            return self._warm_fit(X, y, sample_weight)
        vars(self).pop("_partial_fit_state_", None)
        return self._guarded_fit(X, y, sample_weight)

    # Parameters are validated inside the try of fit, so that invalid ones
    # also leave the estimator unfitted.
    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, y, sample_weight):
        hidden = check_hidden_layer_sizes(self.hidden_layer_sizes)
        X, y, y2, sample_weight = validate_fit_data(self, X, y, sample_weight)
        plan = self._make_plan(X, y2, hidden)
        device = check_device(self.device)
        dataset = standardise(self, X, y, y2, sample_weight, device)
        if self.verbose:
            print(plan, flush=True)
        trainer = NetworkTrainer(self, plan, dataset, hidden=hidden, device=device)
        plan, nets, refits, trainer = train_networks(self, plan, trainer)
        set_encoding(self, trainer.encoding)
        self.support_ = np.array(plan.support)
        self.n_components_ = plan.components
        self.refit_ = plan.n_refits > 0
        warn_if_not_converged(self, nets, plan)
        self.fit_plan_ = set_fitted_state(self, nets, refits, trainer.dataset, plan, X)
        self.n_steps_ = trainer.n_steps
        return self

    def _make_plan(self, X, y2, hidden) -> FitPlan:
        """Every "auto" of this fit, resolved from the data (:mod:`._plan`)."""
        n_components = (
            AUTO_COMPONENTS if self.n_components == "auto" else self.n_components
        )
        work = row_work(
            X.shape[1],
            y2.shape[1],
            n_components,
            hidden,
            self.covariance_type,
            gate_width(self.gate_size, hidden),
        )
        return make_plan(self, *X.shape, y2.shape[1], row_work=work)

    # -------------------------------------------------------------- predict
    def _iter_dists(self, X, check_domain=True):
        """Yield the predicted mixture of each chunk of rows of ``X``.

        With ``check_domain``, warn (:class:`OutOfDomainWarning`) first if
        rows lie outside :attr:`input_bounds_`.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        if check_domain:
            warn_out_of_domain(X, getattr(self, "input_bounds_", None))
        event_shape = () if self._y_ndim == 1 else (self.n_outputs_,)
        yield from iter_mixtures(self, X, event_shape, _CHUNK_ROWS)

    def __getstate__(self):
        # Record the version of sklearn-mdn that pickles the estimator.
        return add_version(super().__getstate__())

    def __setstate__(self, state):
        # Warns (InconsistentVersionWarning) when another version pickled it.
        super().__setstate__(pop_version(state, type(self).__name__))

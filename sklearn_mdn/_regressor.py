"""Mixture density network regressor."""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import DistributionRegressorMixin
from ._calibration import ConformalCalibration, fit_conformal, fit_spread_factor
from ._checks import _random_state
from ._compat import Interval, StrOptions, _fit_context
from ._components import AUTO_COMPONENTS, choose_components
from ._incremental import partial_fit as _partial_fit
from ._incremental import warm_fit
from ._module import ACTIVATIONS, StackedMixture, to_distribution
from ._persistence import add_version, pop_version
from ._prediction import all_finite, forward, iter_mixtures
from ._preprocessing import (
    _weighted_moments,
    input_bounds,
    to_tensor,
    validate_fit_data,
    warn_out_of_domain,
)
from ._schedule import n_holdout, plan_budget, stopped_schedule
from ._selection import MIN_HELD_OUT, eliminate_features
from ._training import (
    CHUNK_ROWS,
    Seeds,
    TensorDataset,
    build_net,
    check_device,
    train,
)
from ._warnings import find_stack_level

# Rows predicted at once (tests patch it here).
_CHUNK_ROWS = CHUNK_ROWS

# select_features="auto": backward elimination up to this many rows
# (each round retrains a network; on 1,000,000 rows the defaults come within
# 0.001 nats of the truth with 4 noise features of 10,
# benchmarks/results/large.md).
_MAX_SELECTION_ROWS = 100_000

# refit="auto": a single network is refitted on all the rows up to this many
# rows. Several networks already train, together, on every row; on a million
# rows a fifth more rows changes the fit little and the refit would nearly
# double its time (benchmarks/README.md, round 9).
_MAX_REFIT_ROWS = 100_000

# n_networks="auto": networks averaged below this many rows (at most
# _MAX_NETWORKS), about _AUTO_NETWORK_ROWS / n_rows of them.
_AUTO_NETWORK_ROWS = 1000
_MAX_NETWORKS = 5


class MDNRegressor(DistributionRegressorMixin, RegressorMixin, BaseEstimator):
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
    to the original target units exactly, so no scaler is needed.

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        Number of Gaussian components of each predicted mixture (of each
        network's, with several networks). ``"auto"`` means 5, or 1 where
        the held-out rows show that one Gaussian fits better: after the
        first network has trained (and ``select_features`` has run), each
        held-out row's likelihood under the single Gaussian with its
        mixture's mean and covariance is compared with that under the
        mixture; where the Gaussian is better by more than one standard
        error of the paired differences, a network with one component is
        trained from the same seeds, and kept if its held-out negative
        log-likelihood is lower than the mixture's by more than two. On a
        conditional distribution close to one Gaussian, the extra
        components only add variance (three correlated targets: 0.071
        nats from the truth with 5 components, 0.053 with this choice;
        ``benchmarks/README.md``). It needs ``early_stopping=True`` and at
        least 30 held-out rows; otherwise ``"auto"`` means 5. An integer
        is used as given. The number kept is ``n_components_``.

    covariance_type : {"full", "diag", "spherical"}, default="full"
        Covariance of each component over the targets: ``"full"`` (joint,
        correlated targets), ``"diag"`` (independent targets within a
        component) or ``"spherical"`` (one variance shared by all targets,
        in standardised units). All three agree for a single target.

    hidden_layer_sizes : array-like of int, default=(100, 100, 100, 100, 100)
        Widths of the hidden layers of the network.

    activation : {"silu", "relu", "tanh", "logistic", "identity", "gelu"}, \
            default="silu"
        Activation function of the hidden layers. The smooth SiLU
        (``x * sigmoid(x)``) is the default: with the same trunk it came
        closer to the true density than ReLU on small, smooth and
        low-noise problems and on 5 of 7 UCI data sets (see the benchmarks).
        ``"relu"`` is the reference implementation's choice.

    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights (not the biases), on
        :class:`~sklearn.neural_network.MLPRegressor`'s scale: each step on
        a batch of ``b`` rows minimises the batch's mean negative
        log-likelihood (standardised units) plus ``alpha / (2 b) * ||W||^2``.

    input_l1 : float, default=0.0
        Strength of an L1 penalty that switches off input features, on the
        weights of the first layer only. After every step those weights are
        soft-thresholded by ``input_l1 * learning_rate_init`` (each moves
        that far towards zero, and stops at zero): a proximal step whose
        weight against the gradient steps grows as the adaptive schedule
        lowers the learning rate, so that a feature's weights survive only
        where the likelihood keeps pushing them away from zero. With early
        stopping, training then runs a second phase, as the relaxed lasso
        does (Meinshausen, 2007): when the penalised phase stops, the
        weights it set to zero stay zero and training goes on without the
        penalty, from ``learning_rate_init / 5`` (``learning_rate_init``
        with a constant rate), for the epochs that ``max_iter`` leaves. The
        second phase is kept only if it improves the held-out
        likelihood; its epochs count in ``n_iter_`` and the loss curves
        either way. Off by default. With many irrelevant features it
        closes most of the gap to the true density: on a synthetic truth
        with 37 noise features of 40 (4,000 rows),
        ``input_l1=0.05, learning_rate_init=6e-3`` came within 0.08 nats of
        it on average over five seeds, against 0.74 for the defaults
        without ``select_features`` (0.064 with it), and
        changed the gap on the two-feature truths by less than 0.005 nats;
        on small tables where every feature matters it can cost more (UCI
        yacht and boston), so compare it by cross-validation
        (``benchmarks/README.md``).

    select_features : bool or "auto", default="auto"
        Whether to drop the input features that the held-out likelihood
        shows the network does not use, by backward elimination
        (``"auto"``: up to 100,000 rows, above which each round of
        retraining costs much and noise features little). After the
        first network has trained, each feature is shuffled among the
        held-out rows; a feature is weak when that raises the held-out
        negative log-likelihood by less than two standard errors. The
        weaker half of the weak features (at most half of those read) are
        dropped and the network is trained again from the same seeds
        without them, and so on from the new network while features are
        weak. The network kept is the best on the held-out rows, where a
        network counts as better only when its held-out NLL is lower by
        two standard errors of the rows' paired differences; the path ends
        after two networks in a row that are not better. The
        networks trained after the first (``n_networks``) read the features
        kept; ``support_`` marks them. Where no feature is weak, nothing is
        retrained. It needs a hold-out (``early_stopping``) of at least 30
        rows and is not applied with ``input_l1 > 0`` (``True`` then
        warns). A feature constant among the held-out rows counts as weak.
        On a synthetic truth with 37 noise
        features of 40 (4,000 rows) it brings the test NLL from 0.74 nats
        above the true density's to 0.064 (five seeds), at ten times the
        fit time; on the UCI benchmark it changes only energy, dropping its
        orientation feature on 5 splits of 20 (``benchmarks/README.md``).

    batch_size : int or "auto", default="auto"
        Rows per gradient step. ``"auto"`` uses
        ``max(32, round(sqrt(n_train)), n_train // 1024)``: 32 up to about
        1,000 rows, then the square root of the rows, and beyond a million
        rows enough that an epoch is about 1024 steps. ``n_train`` is the
        number of rows left after the early-stopping hold-out (at most all
        of them).

    learning_rate_init : float, default=3e-3
        Initial learning rate of the Adam optimizer (higher than
        :class:`~sklearn.neural_network.MLPRegressor`'s 1e-3: the adaptive
        schedule lowers it when the held-out likelihood stalls).

    learning_rate : {"adaptive", "constant"}, default="adaptive"
        Learning-rate schedule. ``"adaptive"`` divides the learning rate by
        5 whenever the monitored negative log-likelihood (of the held-out
        rows, or of the training rows without early stopping) has not
        improved by ``tol`` for a third of ``n_iter_no_change`` epochs, so
        that training converges instead of hovering; ``"constant"`` keeps
        ``learning_rate_init``.

    max_iter : int or "auto", default="auto"
        Maximum number of epochs (passes over the training rows). Training
        normally stops earlier, by early stopping. ``"auto"`` allows at most
        about 30,000 gradient steps, within 20 to 2000 epochs. Where
        ``max_iter`` ends the training of a network before early stopping
        does (its held-out likelihood still improving), ``fit`` warns
        (:class:`~sklearn.exceptions.ConvergenceWarning`), as
        ``MLPRegressor`` does.

    early_stopping : bool, default=True
        Whether to hold out ``validation_fraction`` of the rows and stop
        when their negative log-likelihood has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; the weights of the best epoch are kept.
        Not applied when fewer than 20 rows are given.

    validation_fraction : float, default=0.2
        Fraction of the rows held out for early stopping.

    n_iter_no_change : int or "auto", default="auto"
        Epochs without improvement of the held-out negative log-likelihood
        before early stopping; the learning rate is reduced after a third
        of them. ``"auto"`` counts about 500 gradient steps (at least 5
        epochs) per reduction, and stops after two reductions that did not
        help.

    tol : float, default=1e-4
        Minimum decrease of the validation negative log-likelihood, in nats
        per row, that counts as an improvement for early stopping.

    refit : bool or "auto", default="auto"
        Whether to train the network again on all the rows, the held-out
        ones included, once early stopping has chosen its epochs, and to
        average it with the early-stopped network (each network, with
        several). The refit starts from the same initial weights and replays
        the epochs up to the one whose weights early stopping kept, at the
        learning rate each of them had; its mixture and the early-stopped
        network's are averaged with equal weights, so the predicted mixture
        has twice the components. The early-stopped network and its spread
        factor (``calibrate``) are those of a fit without refit. It brings
        in the fifth of the rows that the hold-out kept from training: on
        three correlated targets (4,000 rows) the test NLL came from 0.053
        nats above the true density's to 0.044, and on the five UCI sets
        fitted with one network by 0.03 to 0.10 nats (concrete 2.99 to 2.91,
        power 2.61 to 2.55), with a lower RMSE on each
        (``benchmarks/README.md``, round 9). The refit alone is not used:
        without held-out rows nothing checks that its last epoch is a good
        one, and alone it was worse on four of seven synthetic truths. It
        costs the epochs replayed (a fit takes about 1.5 to 2 times as long)
        and predictions run twice the networks. ``"auto"`` refits a single
        network on up to 100,000 rows: several networks (``n_networks``)
        already train, together, on every row, and on a million rows a fifth
        more changes the fit little for nearly twice its time. It needs
        early stopping (held-out rows that chose the epochs) and is not
        applied with ``input_l1 > 0`` (two phases of training) nor with
        ``calibrate="conformal"``, whose guarantee needs rows the network
        never trained on (``True`` then warns), nor with
        ``warm_start=True``, which continues a single network. ``refit_``
        says whether it was applied.

    calibrate : bool or "conformal", default=True
        How to use the rows held out for early stopping once training ends.

        - ``True``: calibrate the predicted spread. One factor,
          ``spread_factor_``, multiplies the scale of every component
          (means and weights are kept), chosen to minimise the held-out
          negative log-likelihood. It corrects the overconfidence of a
          network fitted to few rows. Held-out rows with a missing target
          are left out of this fit. Without early stopping, or with several
          networks (``n_networks``), the factor is 1.
        - ``"conformal"``: split-conformal calibration. The held-out rows'
          scores (``conformal_``) turn the coverage asked of
          :meth:`predict_interval`, :meth:`predict_hdr` and
          :meth:`in_region` into the level whose intervals or regions held
          at least that fraction of the held-out targets, in the
          finite-sample sense of conformal prediction: for ``n`` held-out
          rows, the ``ceil((n + 1) c)``-th smallest score, so that a new row
          exchangeable with them is covered with probability at least ``c``
          (marginally, over rows; per target for intervals). With fewer than
          about ``c / (1 - c)`` held-out rows (9 for 0.9, 19 for 0.95) no
          finite set is guaranteed and the whole line is returned
          (``-inf, inf``), with a warning. The held-out rows also chose the
          early-stopping epoch (and, with ``select_features``, the features
          and the network kept), which makes the guarantee slightly
          optimistic; it is exact for rows not used in training at all.
          The spread factor stays 1, and other predictions
          (``predict_quantiles``, ``predict_dist``) are not changed. Needs
          early stopping (held-out rows); without it, a warning is raised
          and every interval is the whole line.
        - ``False``: neither.

    reg_covar : float, default=1e-6
        Floor on the variance of each component, in standardised target
        units: every component's covariance has a determinant of at least
        ``reg_covar ** n_outputs`` in training (calibration then multiplies
        it by ``spread_factor_ ** (2 * n_outputs)``). It keeps the
        likelihood bounded when targets repeat exactly.

    noise : float or "auto", default=0.0
        Standard deviation of the Gaussian noise added to the standardised
        inputs and targets of every training batch, a regulariser of
        conditional density estimation (Rothfuss et al., 2019). It starts
        at this value and is lowered with the learning rate, so that
        training ends on the data themselves; early stopping keeps the
        weights whose held-out likelihood is best. ``"auto"`` starts at
        ``min(0.2, 1 / sqrt(n_train))``. Off by default: on the UCI
        benchmark it worsened the held-out likelihood of boston, concrete
        and yacht (yacht by 0.8 nats) and helped only energy, and on the
        small synthetic truth it made no difference
        (``benchmarks/README.md``).

    n_networks : int or "auto", default="auto"
        Number of networks trained, each from its own seeds (initial weights
        and shuffling), whose mixtures are averaged with equal weights: the
        predicted mixture has ``n_networks * n_components`` components
        (twice that with ``refit=True``). Averaging removes most of the
        variance between seeds, which dominates on small data sets. With
        early stopping, the networks hold out disjoint blocks of one random
        permutation of the rows (the folds of a cross-validation, as with
        five networks and ``validation_fraction=0.2``), so each stops on
        other rows and together they train on every row; where
        ``n_networks * validation_fraction`` exceeds 1 the blocks start
        evenly spaced and overlap. ``"auto"`` trains
        ``min(5, 1000 // n_samples)`` networks (at least one): five up to 200
        rows, two from 334 to 500, one from 501 rows up. Each network is fitted
        exactly as a single one would be, so a fit costs about ``n_networks``
        fits, and predictions run every network. With several networks no
        spread factor is fitted (``calibrate=True`` acts as False): their
        disagreement widens the average's spread, and networks calibrated on
        their own held-out rows made it over-dispersed (coverage of 90%
        intervals 0.93 against 0.91 on UCI boston and yacht).
        ``calibrate="conformal"`` and ``warm_start=True`` need a single
        network (``"auto"`` then means 1).

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
        validation split, each drawn from a private generator. An int gives
        reproducible fits, identical whether fits run one after another, in
        threads or in processes. None draws fresh seeds from the operating
        system: unlike scikit-learn's convention, numpy's global generator is
        not used. The global numpy and torch random states are never
        touched.

    n_threads : int, "auto" or None, default="auto"
        Torch threads of fitting and predicting, set for the duration of
        each call and restored afterwards. ``"auto"`` uses one thread unless
        the work of a step (rows per step times the network's multiply-adds
        per row) is large enough for more to pay off, and then no more than
        the cores that other processes leave idle at the start of the fit,
        nor more than the process's own setting. An int sets the count
        (``-1``: all CPUs, ``-2``: all but one, as ``n_jobs``); None leaves
        torch's setting alone. Unlike ``n_jobs`` elsewhere in
        scikit-learn, it does not start parallel jobs: it sizes torch's
        thread pool within one fit. The count does not change the results.

    verbose : int, default=0
        Print one line per epoch when positive, below a progress bar over
        the epochs when tqdm is installed (the ``progress`` extra).

    warm_start : bool, default=False
        When True, ``fit`` on a fitted model starts from its network's
        weights instead of new ones: a new run of ``fit`` on the rows given
        (hold-out, batch size, epochs, schedule from ``learning_rate_init``,
        early stopping and calibration planned afresh) that keeps the
        standardisation, the features (``support_``) and ``n_components_``
        of the first fit. It continues one network: ``n_networks="auto"``
        then means 1 and ``refit="auto"`` False. Other columns or targets, or
        another network (``hidden_layer_sizes``, ...), raise a ValueError and
        keep the fit. See :meth:`partial_fit` for one epoch at a time.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the torch module and
        ``net_.history`` the training history. With several networks, or
        with ``refit``, it is the first one's net, whose module is then a
        ``StackedMixture`` of every network's module
        (``net_.module_.members``: the early-stopped networks, then their
        refits).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when ``X`` has string column
        names.

    n_outputs_ : int
        Number of targets.

    n_networks_ : int
        Number of networks trained and averaged (see ``n_networks``).

    refit_ : bool
        Whether each network was refitted on all the rows and averaged with
        its refit (see ``refit``).

    n_components_ : int
        Number of components of each network's mixture (see
        ``n_components``).

    support_ : ndarray of bool of shape (`n_features_in_`,)
        The features the networks read: those kept by ``select_features``
        (all of them when it is off or drops none). The others do not
        change the predictions.

    n_iter_ : int
        Number of epochs run (by the first network, if several; with
        ``select_features``, by the one kept; not by a refit), both phases
        of ``input_l1`` included (also when the second is not kept).

    n_steps_ : int
        Number of gradient steps taken, by all networks together (the
        refits, and those that ``select_features`` and
        ``n_components="auto"`` trained and did not keep, included).

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

    conformal_ : ConformalCalibration or None
        With ``calibrate="conformal"``, the held-out rows' conformal scores
        (``interval_scores``, ``region_scores``, ``n_calibration``);
        otherwise None.

    input_bounds_ : ndarray of shape (2, `n_features_in_`)
        Lower and upper bounds of the input domain: each feature's range in
        the training rows, widened by half that range on each side.
        Predictions for rows outside it warn with
        :class:`~sklearn_mdn.OutOfDomainWarning`.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : Point predictions from an MLP.
    sklearn.mixture.GaussianMixture : Unconditional Gaussian mixtures.

    Notes
    -----
    *Threads.* Fitting and predicting run on the torch threads that
    ``n_threads`` asks for and restore torch's setting afterwards. With the
    default ``"auto"``, a fit on a busy machine does not slow down by
    spinning threads. ``"auto"`` never exceeds the process's own setting: in
    a search with ``n_jobs=k`` on joblib's default loky backend, each worker
    process starts with ``OMP_NUM_THREADS = max(n_cpus // k, 1)`` (unless
    you set it), which torch follows, and Dask ``distributed`` workers run
    one torch thread each, so workers share the cores without
    oversubscription. Torch's thread count is process-wide: fits running
    concurrently in threads share one setting.

    *Persistence.* A pickled model records the sklearn-mdn version and warns
    with :class:`~sklearn_mdn.InconsistentVersionWarning` when loaded by
    another version. A model fitted on CUDA loads and predicts on a machine
    without it: its network moves to the CPU, ``device`` keeps its value.

    *Extrapolation.* Far from the training inputs the network extrapolates
    its last linear pieces without limit, and its predicted spread follows
    no data: a row at 1e6 in a model fitted on inputs in [-2, 2] can get an
    interval hundreds of times narrower than in-range rows. Every
    prediction method warns with :class:`~sklearn_mdn.OutOfDomainWarning`,
    counting such rows, when a row lies outside ``input_bounds_``.

    *Divergence.* If the training loss or the weights stop being finite,
    ``fit`` raises ``FloatingPointError`` and leaves the estimator unfitted
    (a ``fit`` with ``warm_start`` and ``partial_fit`` leave it as it was
    before the call; the first ``partial_fit`` leaves it unfitted).

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
        "alpha": [Interval(Real, 0, None, closed="left")],
        "input_l1": [Interval(Real, 0, None, closed="left")],
        "select_features": ["boolean", StrOptions({"auto"})],
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
        "n_networks": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "point_estimate": [StrOptions({"mean", "top", "mode"})],
        "missing_targets": [StrOptions({"error", "marginalize"})],
        "device": [str, torch.device],
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
        alpha=1e-4,
        input_l1=0.0,
        select_features="auto",
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
        reg_covar=1e-6,
        noise=0.0,
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
        self.alpha = alpha
        self.input_l1 = input_l1
        self.select_features = select_features
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
        self.reg_covar = reg_covar
        self.noise = noise
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

    @_fit_context(prefer_skip_nested_validation=True)
    def _warm_fit(self, X, y, sample_weight):
        return warm_fit(self, X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over the given rows, continuing the model.

        As :meth:`sklearn.neural_network.MLPRegressor.partial_fit`: one pass
        over the rows, shuffled, in mini-batches, from where the previous
        call (or :meth:`fit`) left the network and its Adam optimizer. It
        trains on data larger than memory, block by block
        (:func:`sklearn_mdn.dask.fit_incremental` does so over a Dask array).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs: the same columns (number and names) at every
            call.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: the same number at every call.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, scaled to a mean of 1 within
            each call.

        Returns
        -------
        self : MDNRegressor
            The estimator, trained one more epoch.

        Raises
        ------
        ValueError
            If the rows have other columns or targets than the first call's
            (or the fit's), or if a parameter that needs held-out rows is set
            explicitly (below). The model is left as it was.

        Notes
        -----
        The first call on an unfitted estimator fixes, from its rows alone,
        the standardisation of inputs and targets (so they should be a fair
        sample of all the data), the features and targets, the network and
        the parameters below; later calls read no parameter again. Nothing is
        held out, so:

        - ``early_stopping``, ``validation_fraction`` and ``max_iter`` do not
          apply: each call is one epoch, and the caller decides how many;
        - ``n_components="auto"`` means 5 (the screen for one component needs
          held-out rows), ``select_features="auto"`` keeps every feature,
          ``refit="auto"`` means False and ``n_networks="auto"`` 1;
        - ``calibrate=True`` fits no spread factor (``spread_factor_`` is 1);
        - ``n_networks > 1``, ``select_features=True``, ``refit=True`` and
          ``calibrate="conformal"`` raise a ``ValueError``.

        ``batch_size="auto"`` and ``noise="auto"`` are set at the first call
        as ``fit`` sets them for its rows (at least 32 rows a step). With
        ``learning_rate="adaptive"`` the rate is divided by 5 when the
        training loss has not improved on its best by ``tol`` for a third of
        ``n_iter_no_change`` calls in a row (``"auto"``: about 500 steps,
        at least 5 calls). ``n_threads`` is resolved at each call.

        On a model fitted by :meth:`fit`, its network trains on with its
        optimizer, or, where ``n_networks`` or ``refit`` stacked several,
        all of them together on their averaged mixture's likelihood, with a
        new optimizer; its spread factor is dropped (1), and a model
        calibrated with ``calibrate="conformal"`` raises.

        The same sequence of calls with an int ``random_state`` gives the
        same model, bit for bit, in threads, on Dask workers and across a
        pickle between calls, which keeps the optimizer's state.
        ``loss_curve_`` and ``n_iter_`` count the calls; ``input_bounds_``
        spans every call's rows.
        """
        return _partial_fit(self, X, y, sample_weight)

    # Parameters are validated inside the try of fit, so that invalid ones
    # also leave the estimator unfitted.
    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, y, sample_weight):
        hidden = self._check_hidden_layer_sizes()
        X, y, y2, sample_weight = validate_fit_data(self, X, y, sample_weight)
        n_networks = self._check_n_networks(len(y2))
        rng = _random_state(self.random_state)
        budget = plan_budget(self, len(y2))
        device = check_device(self.device)
        dataset = self._standardise(X, y, y2, sample_weight, device)
        refit = self._refits(budget, len(y2), n_networks)
        nets, refits, split, n_steps = [], [], None, 0
        support = np.ones(X.shape[1], dtype=bool)
        n_components = (
            AUTO_COMPONENTS if self.n_components == "auto" else self.n_components
        )
        for i in range(n_networks):
            if self.verbose and n_networks > 1:
                print(f"Network {i + 1} of {n_networks}", flush=True)
            seeds = Seeds.draw(rng)
            # One permutation, disjoint held-out blocks (cross-validation
            # folds while they fit): each network stops on other rows.
            split = seeds.split if split is None else split
            seeds = seeds._replace(split=split)

            def fit_net(support, n_components, schedule=None, seeds=seeds, i=i):
                nonlocal n_steps
                net = build_net(
                    self,
                    X.shape[1],
                    n_components,
                    hidden,
                    budget,
                    device,
                    seeds,
                    i,
                    n_networks,
                    schedule,
                )
                train(net, dataset, self.n_threads, support)
                n_steps += int(sum(net.history[:, "train_batch_count"]))
                return net

            net = fit_net(support, n_components)
            if i == 0 and self._selects_features(budget, *X.shape):
                net, support = eliminate_features(
                    net,
                    dataset,
                    lambda support: fit_net(support, n_components),
                    self.n_threads,
                    seeds.split,
                    self.verbose,
                )
            if i == 0 and self._chooses_components(budget, len(y2)):
                net, n_components = choose_components(
                    net,
                    dataset,
                    lambda n_components: fit_net(support, n_components),
                    self.n_threads,
                    self.verbose,
                )
            nets.append(net)
            if refit:
                schedule = stopped_schedule(net)
                if self.verbose:
                    print(
                        f"Refit on all {len(y2)} rows for {len(schedule)} epochs",
                        flush=True,
                    )
                refits.append(fit_net(support, n_components, schedule))
        self.support_ = support
        self.n_components_ = n_components
        self.refit_ = refit
        self._warn_if_not_converged(nets, budget)
        self._set_fitted_state(nets, refits, dataset, budget)
        self.n_steps_ = n_steps
        return self

    def _warn_if_not_converged(self, nets, budget):
        """A ``ConvergenceWarning`` where ``max_iter`` ended a network's
        training before early stopping did: its held-out likelihood had
        improved within the last ``stop_patience`` epochs."""
        if not budget.use_valid:
            return  # a fixed budget: without a hold-out nothing else ends it
        stoppers = [dict(net.callbacks_)["early_stopping"] for net in nets]
        running = sum(stopper.misses_ < stopper.patience for stopper in stoppers)
        if running:
            cap = f"max_iter={self.max_iter!r}"
            if self.max_iter == "auto":
                cap += f" ({budget.max_iter} epochs here)"
            networks = f"{running} of {len(nets)} networks" if len(nets) > 1 else ""
            warnings.warn(
                f"Training {networks and networks + ' '}stopped at {cap} while "
                "the held-out negative log-likelihood was still improving: a "
                "larger max_iter may fit better.",
                ConvergenceWarning,
                stacklevel=find_stack_level(),
            )

    def _selects_features(self, budget, n_rows, n_features) -> bool:
        if not self.select_features or n_features < 2:
            return False
        if self.input_l1 > 0:
            reason = "input_l1 > 0 selects the features instead"
        elif not self._holds_out_enough(budget, n_rows):
            reason = (
                f"it needs early_stopping=True and at least {MIN_HELD_OUT} "
                "held-out rows"
            )
        else:
            return self.select_features != "auto" or n_rows <= _MAX_SELECTION_ROWS
        return self._not_applied("select_features", reason)

    def _refits(self, budget, n_rows, n_networks) -> bool:
        if not self.refit:
            return False
        if not budget.use_valid:
            reason = "it needs early_stopping=True (and at least 20 rows)"
        elif self.input_l1 > 0:
            reason = "input_l1 > 0 trains in two phases"
        elif self.calibrate == "conformal":
            reason = 'calibrate="conformal" needs rows the network never trained on'
        elif self.warm_start:
            reason = "warm_start=True continues a single network"
        else:
            return self.refit != "auto" or (
                n_networks == 1 and n_rows <= _MAX_REFIT_ROWS
            )
        return self._not_applied("refit", reason)

    def _not_applied(self, name, reason) -> bool:
        """False, with a warning giving ``reason`` where the option ``name``
        was set to True rather than left at "auto"."""
        if getattr(self, name) != "auto":
            warnings.warn(
                f"{name}=True is not applied: {reason}.",
                UserWarning,
                stacklevel=find_stack_level(),
            )
        return False

    def _chooses_components(self, budget, n_rows) -> bool:
        return self.n_components == "auto" and self._holds_out_enough(budget, n_rows)

    def _holds_out_enough(self, budget, n_rows) -> bool:
        """Whether the fit holds out the ``MIN_HELD_OUT`` rows on which the
        held-out choices (features, components) rest."""
        return (
            budget.use_valid
            and n_holdout(n_rows, self.validation_fraction) >= MIN_HELD_OUT
        )

    def _check_n_networks(self, n_rows) -> int:
        if self.n_networks != "auto":
            for refused, needs in [
                (self.calibrate == "conformal", 'calibrate="conformal" needs'),
                (self.warm_start, "warm_start=True continues"),
            ]:
                if self.n_networks > 1 and refused:
                    raise ValueError(
                        f"{needs} a single network: set n_networks=1 (or "
                        f'"auto"), got n_networks={self.n_networks}.'
                    )
            return self.n_networks
        if self.calibrate == "conformal" or self.warm_start:
            return 1
        return min(_MAX_NETWORKS, max(1, _AUTO_NETWORK_ROWS // n_rows))

    def _check_hidden_layer_sizes(self) -> tuple:
        hidden = np.atleast_1d(np.asarray(self.hidden_layer_sizes, dtype=object))
        if hidden.ndim != 1 or not all(
            isinstance(h, Integral | np.integer) and not isinstance(h, bool) and h > 0
            for h in hidden.tolist()
        ):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers, got "
                f"{self.hidden_layer_sizes!r}."
            )
        return tuple(int(h) for h in hidden)

    def _standardise(self, X, y, y2, sample_weight, device) -> TensorDataset:
        """Record the standardisation of ``X`` and ``y``; the training tensors."""
        self.x_mean_, self.x_scale_ = _weighted_moments(
            X.astype(np.float64), sample_weight
        )
        self.y_mean_, self.y_scale_ = _weighted_moments(
            y2, sample_weight, collapse_constant=True
        )
        self.input_bounds_ = input_bounds(X, self.x_scale_)
        self.n_outputs_ = y2.shape[1]
        self._y_ndim = y.ndim
        return self._dataset(X, y2, sample_weight, device)

    def _dataset(self, X, y2, sample_weight, device) -> TensorDataset:
        """The training tensors of ``X`` and ``y2`` under the recorded
        standardisation, the weights scaled to a mean of 1."""
        n = len(y2)
        return TensorDataset(
            to_tensor(X, self.x_mean_, self.x_scale_, device),
            to_tensor(y2, self.y_mean_, self.y_scale_, device),
            torch.as_tensor(
                sample_weight * (n / sample_weight.sum()), dtype=torch.float32
            ).to(device),
        )

    def _set_fitted_state(self, nets, refits, dataset, budget):
        """The fitted attributes of the trained ``nets``, calibration included.

        Several nets, or a net and its refit on all the rows (``refits``), are
        stacked into the first one's module (:class:`StackedMixture`); the
        spread factor of a single net is fitted before its refit joins it.
        """
        net = self.net_ = nets[0]
        history = net.history
        log_scale = float(np.log(self.y_scale_).sum())
        self.loss_curve_ = [v + log_scale for v in history[:, "train_loss"]]
        self.validation_loss_curve_ = (
            [v + log_scale for v in history[:, "valid_loss"]]
            if budget.use_valid
            else None
        )
        self.n_iter_ = len(history)
        self.n_networks_ = len(nets)
        self.spread_factor_ = 1.0
        self.conformal_ = None
        if self.calibrate == "conformal":
            self.conformal_ = ConformalCalibration(np.empty((0, 1)), np.empty(0))
            if not budget.use_valid:
                warnings.warn(
                    'calibrate="conformal" needs the rows held out by '
                    "early_stopping=True (and at least 20 rows): without them "
                    "every interval and region is the whole line.",
                    UserWarning,
                    stacklevel=find_stack_level(),
                )
        # No spread factor for several networks: the networks' disagreement
        # widens the average's spread, and networks calibrated on their own
        # held-out rows made it over-dispersed (benchmarks/README.md, round 5).
        if len(nets) == 1 and budget.use_valid and self.calibrate:
            self._calibrate(net, dataset)
        modules = [n.module_ for n in nets + refits]
        if len(modules) > 1:
            net.module_ = StackedMixture(modules)

    def _calibrate(self, net, dataset):
        """Fit the spread factor or the conformal scores on the rows that
        ``net`` held out."""
        # The held-out rows' mixtures, in standardised units.
        _, valid = net.train_split(dataset)
        params = forward(net.module_, valid.X, self.n_threads)
        if not all_finite(params):
            return
        dist = to_distribution(params, (self.n_outputs_,))
        y = valid.y.cpu().numpy()
        w = None if valid.sample_weight is None else valid.sample_weight.cpu().numpy()
        if self.calibrate == "conformal":
            self.conformal_ = fit_conformal(dist, y, w)
        else:
            self.spread_factor_ = fit_spread_factor(dist, y, w)

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

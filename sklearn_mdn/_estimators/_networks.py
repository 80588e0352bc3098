"""The networks of a fit: trained as the plan says, one after another or
stacked, the first one's held-out choices (features, components), the
refits, the warning where ``max_iter`` ended a network early, and the
fitted state they leave (their averaged module, curves, calibration)."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._nn._data import Seeds, to_numpy
from .._nn._held_out import (
    held_out_rows,
    held_out_threads,
    paired_differences,
    paired_t,
    t_statistic,
)
from .._nn._module import StackedMixture, to_distribution
from .._nn._prediction import all_finite, forward
from .._nn._schedule import stopped_schedule
from .._nn._stacked import stacked_supported, train_stacked
from .._nn._trees import blend, predict_trees, tree_inputs
from .._utils._warnings import find_stack_level
from ..distribution import NormalMixture
from ..distribution._checks import _random_state
from . import _plan
from ._blend import choose_share, fit_trees
from ._calibration import ConformalCalibration, fit_conformal, fit_spread_factor
from ._components import choose_components
from ._encoding import choose_encoding, fit_encoding
from ._fit_plan import _count
from ._selection import eliminate_features


def train_networks(estimator, plan, trainer):
    """Train the plan's networks, the first one's held-out choices and
    the refits on ``trainer`` (a :class:`NetworkTrainer`); the plan with
    those choices, the networks, the refits and the trainer of the inputs
    they read (another one where the held-out rows chose an encoding)."""
    support = np.ones(plan.n_features, dtype=bool)
    n_components = plan.n_components
    nets, refits = [], []
    all_seeds = Seeds.draw_networks(
        _random_state(estimator.random_state), plan.n_networks
    )
    if stacked_supported(estimator, plan):
        return _train_stacked(estimator, plan, trainer, all_seeds)
    for fold, seeds in enumerate(all_seeds):
        if estimator.verbose and plan.n_networks > 1:
            print(f"Network {fold + 1} of {plan.n_networks}", flush=True)
        net = trainer(seeds, fold, support, n_components)
        if fold == 0:
            net, plan, trainer = held_out_choices(
                estimator, net, plan, trainer, _one_by_one, seeds
            )
            support, n_components = np.array(plan.support), plan.components
        nets.append(net)
        if plan.refit:
            refits.append(_refit(estimator, plan, trainer, seeds, fold, net))
    return (*_keep_refits(estimator, plan, nets, refits, trainer.dataset), trainer)


def _one_by_one(trainer):
    """``trainer`` itself: it trains one network a call."""
    return trainer


def _stacked_one(trainer):
    """A ``train_network`` that trains one network on the stacked loop."""

    def train_one(seeds, fold, support, n_components, rates=None):
        return train_stacked(trainer, [seeds], support, n_components, [fold], rates)[0]

    return train_one


def _train_stacked(estimator, plan, trainer, all_seeds):
    """:func:`train_networks` with the networks trained together
    (:class:`~sklearn_mdn._nn._stacked.StackedRun`): all of them first,
    then the first one's held-out choices (each network these train, alone,
    on the same loop); where those change the features, the inputs or the
    components, the others are trained again, together, with them. Refits
    follow one by one, on the same loop."""
    support = np.ones(plan.n_features, dtype=bool)
    n_components = plan.n_components
    check = None
    if plan.choose_gate:
        check = (_plan.GATE_CHECK_STEPS, _branches_end_in(estimator, trainer.dataset))
    nets = train_stacked(trainer, all_seeds, support, n_components, check=check)
    net, plan, trainer = held_out_choices(
        estimator, nets[0], plan, trainer, _stacked_one, all_seeds[0]
    )
    new_support = np.array(plan.support)
    changed = plan.components != n_components or not new_support.all()
    changed |= plan.choose_gate and plan.gate_size > 0
    if len(nets) > 1 and (changed or trainer.encoding is not None):
        nets[1:] = train_stacked(
            trainer,
            all_seeds[1:],
            new_support,
            plan.components,
            folds=range(1, len(all_seeds)),
        )
    nets[0] = net
    refits = []
    if plan.refit:
        train_one = _stacked_one(trainer)
        for fold, (seeds, net) in enumerate(zip(all_seeds, nets)):
            refits.append(_refit(estimator, plan, train_one, seeds, fold, net))
    return (*_keep_refits(estimator, plan, nets, refits, trainer.dataset), trainer)


def _refit(estimator, plan, train_network, seeds, fold, net):
    """``net`` trained again, from its seeds, on every row for the epochs
    early stopping kept (their learning rates replayed), on the plan's
    features and components."""
    schedule = stopped_schedule(net)
    if estimator.verbose:
        print(
            f"Refit on all {plan.n_samples} rows for {len(schedule)} epochs",
            flush=True,
        )
    support = np.array(plan.support)
    return train_network(seeds, fold, support, plan.components, schedule)


def _keep_refits(estimator, plan, nets, refits, dataset):
    """The plan, the networks and the refits kept: a refit is dropped where
    it fails its network's held-out rows, on which it trained, by more than
    ``REFIT_FAILED_Z`` standard errors against the network, which did not
    (a refit has no held-out rows to stop on, and one that lands in a worse
    optimum would spoil the average)."""
    if not refits:
        return plan, nets, refits
    kept, worst = [], -np.inf
    for net, refit in zip(nets, refits):
        valid = held_out_rows(net, dataset)
        with held_out_threads(net, valid, estimator.n_threads):
            t = paired_t(refit, net, valid)
        if t > _plan.REFIT_FAILED_Z:
            worst = max(worst, t)
        else:
            kept.append(refit)
    rows = f"the {plan.n_valid:,} rows its network held out (which it trained on)"
    if len(kept) == len(refits):
        rule = (
            f"no refit's NLL on {rows} is above the network's by "
            f"{_plan.REFIT_FAILED_Z:g} standard errors"
        )
    else:
        rule = (
            f"{_count(len(refits) - len(kept), 'refit')} dropped, which failed: its "
            f"NLL on {rows} was above the network's by {worst:.1f} standard errors"
        )
    plan = plan.with_outcomes(refits=(len(kept), rule))
    if estimator.verbose:
        print(f"Refits kept: {len(kept)}: {rule}", flush=True)
    return plan, nets, kept


def held_out_choices(estimator, net, plan, trainer, train_with, seeds):
    """The features, the inputs' encoding, the components and the gate that
    the first network's held-out rows choose, where the plan says so (the candidates
    train from ``seeds`` with ``train_with(trainer)(seeds, fold, support,
    n_components)``); the network kept, the plan with the choices and the
    trainer of the inputs chosen."""
    features = encoding = components = gate = None
    support = np.ones(plan.n_features, dtype=bool)
    train_network = train_with(trainer)
    if plan.select_features:
        net, support, rule = eliminate_features(
            net,
            trainer.dataset,
            lambda support: train_network(seeds, 0, support, plan.n_components),
            estimator.n_threads,
            seeds.split,
            estimator.verbose,
        )
        features = (support, rule)
    # The first network's share of held-out rows with several branches: where
    # they end, a gated network reading the raw features replaces it, so
    # the encoding is not tried.
    share = (
        branching_share(estimator, net, trainer.dataset) if plan.choose_gate else None
    )
    if plan.choose_encoding and _branches_end(share):
        encoding = (
            "none",
            f"not tried: {share:.0%} of the held-out rows have more than one "
            "branch, where a gated network, which reads the raw features, is tried",
        )
    elif plan.choose_encoding:
        net, trainer, encoding = _encoding_choice(
            estimator, net, trainer, train_with, seeds, support, plan.n_components
        )
        train_network = train_with(trainer)
    if plan.choose_components:
        net, n_components, rule = choose_components(
            net,
            trainer.dataset,
            lambda n_components: train_network(seeds, 0, support, n_components),
            estimator.n_threads,
            estimator.verbose,
        )
        components = (n_components, rule)
    if plan.choose_gate:
        k = components[0] if components else plan.n_components
        net, trainer, gate = _gate_choice(
            estimator, net, trainer, train_with, seeds, support, k, share
        )
    plan = plan.with_outcomes(
        features=features, encoding=encoding, components=components, gate=gate
    )
    if estimator.verbose:
        chosen = ("features kept", "encoding kept", "components kept", "gate kept")
        for decision in plan.decisions:
            if decision.name in chosen:
                print(
                    f"{decision.name.capitalize()}: {decision.value}: {decision.rule}",
                    flush=True,
                )
    return net, plan, trainer


def _encoding_choice(estimator, net, trainer, train_with, seeds, support, k):
    """The first network or one on the encoding of the features ``support``
    (:mod:`._encoding`), the trainer of the inputs kept, and the outcome: the
    encoding kept and why."""
    encoding, dataset = fit_encoding(trainer.dataset, support, _plan.ENCODING_BINS)
    encoded = trainer.reading(dataset, encoding)
    if estimator.verbose:
        print("Input encoding: trying a network on the encoded features", flush=True)
    try:
        candidate = train_with(encoded)(seeds, 0, support, k)
    except FloatingPointError:  # diverged: the raw inputs stay
        keep, rule = False, "the network on the encoded features diverged"
    else:
        net, keep, rule = choose_encoding(
            net,
            candidate,
            trainer.dataset,
            encoded.dataset,
            _plan.ENCODING_Z,
            estimator.n_threads,
        )
    trainer.n_steps = encoded.n_steps
    outcome = ("piecewise_linear" if keep else "none", rule)
    return net, (encoded if keep else trainer), outcome


def _gate_choice(estimator, net, trainer, train_with, seeds, support, k, share):
    """The first network or one with a gate (``gate_size="auto"``), where
    ``share`` of the first network's held-out rows have several branches,
    some but not most (:data:`._plan.GATE_BRANCHING`); the trainer of the
    networks kept and the outcome: the gate's width and why."""
    width = _plan.auto_gate_width(trainer.hidden)
    lo, hi = _plan.GATE_BRANCHING
    if share is None:
        return net, trainer, (0, "the held-out rows' mixtures are not finite")
    seen = f"{share:.0%} of the held-out rows have more than one branch"
    if not _branches_end(share):
        where = "few" if share < lo else "most"
        return net, trainer, (0, f"{seen}: branches on {where} rows, none ends")
    if k == 1:
        return net, trainer, (0, f"{seen}, but one Gaussian was kept")
    patience = trainer.plan.n_iter_no_change
    if estimator.n_iter_no_change == "auto":
        patience = (_plan.GATE_STOP_AFTER_CUTS + 1) * trainer.plan.lr_patience
    gated = trainer.with_gate(width, patience)
    if estimator.verbose:
        print(f"Gate: {seen}; training a network with a gate", flush=True)
    try:
        candidate = train_with(gated)(seeds, 0, support, k)
    except FloatingPointError:  # diverged: the first network stays
        trainer.n_steps = gated.n_steps
        net = _trained_on(net, trainer, train_with, seeds, support, k)
        return net, trainer, (0, f"{seen}, but the gated network diverged")
    valid = held_out_rows(net, trainer.dataset)
    with held_out_threads(net, valid, estimator.n_threads):
        d = paired_differences(candidate, net, valid)
    gap = f"{float(d.mean()):+.2f} nats a row, paired t {t_statistic(d):+.1f}"
    if float(d.mean()) > _plan.GATE_FAILED_NATS:
        rule = (
            f"{seen}, but the gated network failed: its held-out NLL is above "
            f"the first network's by {gap} (more than "
            f"{_plan.GATE_FAILED_NATS:g}); the first network stays"
        )
        trainer.n_steps = gated.n_steps
        net = _trained_on(net, trainer, train_with, seeds, support, k)
        return net, trainer, (0, rule)
    rule = (
        f"{seen} (between {lo:.0%} and {hi:.0%}): the number of branches "
        "changes across the inputs; the gated network replaces the first "
        f"(held-out NLL, gated minus first: {gap}). It stops after "
        f"{patience} epochs without improvement"
    )
    if estimator.n_iter_no_change == "auto":
        rule += f" ({_plan.GATE_STOP_AFTER_CUTS} cuts of the rate that did not help)"
    rule += (
        ", never at the overfit stop; its gate, refitted alone on its frozen "
        f"components, kept {candidate.gate_steps_} full-batch steps"
    )
    if getattr(net, "checked_", None) is not None:
        rule += (
            f". The first network stopped at epoch {net.checked_}, where its "
            f"held-out rows already showed the branches ending (after "
            f"{_plan.GATE_CHECK_STEPS:,} steps)"
        )
    return candidate, gated, (width, rule, patience)


def _branches_end_in(estimator, dataset):
    """The first network's branch check, ``stop(net, module)`` (the
    stacked loop's ``check``): whether the share of ``net``'s held-out rows
    with several branches under ``module`` lies in
    :data:`._plan.GATE_CHECK_BRANCHING`. Where it does, a gated network
    will replace the first, which need not train on."""

    def stop(net, module):
        share = branching_share(estimator, net, dataset, module)
        return _branches_end(share, _plan.GATE_CHECK_BRANCHING)

    return stop


def _trained_on(net, trainer, train_with, seeds, support, k):
    """``net``, or where the branch check stopped it early (``checked_``),
    the same network trained to its end: it stays."""
    if getattr(net, "checked_", None) is None:
        return net
    return train_with(trainer)(seeds, 0, support, k)


def _branches_end(share, band=None):
    """Whether ``share`` of held-out rows with several branches (None: not
    measured) lies in ``band`` (default :data:`._plan.GATE_BRANCHING`): the
    branches change in number across the inputs."""
    lo, hi = _plan.GATE_BRANCHING if band is None else band
    return share is not None and lo <= share <= hi


def branching_share(estimator, net, dataset, module=None):
    """The share of (at most :data:`._plan.GATE_ROWS` of) the rows ``net``
    held out whose mixture (under ``module``, default its own) has more
    than one branch: modes of
    :data:`._plan.GATE_MIN_MASS` of the probability or more, with a fall of
    the density of :data:`._plan.GATE_MIN_DIP` between them
    (:meth:`~sklearn_mdn.distribution.NormalMixture.modes`); None where the
    mixtures are not finite."""
    held_out = _held_out_mixtures(estimator, net, dataset, _plan.GATE_ROWS, module)
    if held_out is None:
        return None
    branches = held_out[0].modes(
        min_mass=_plan.GATE_MIN_MASS, min_dip=_plan.GATE_MIN_DIP
    )
    return float(np.mean(branches.n_modes > 1))


def warn_if_not_converged(estimator, nets, plan):
    """A ``ConvergenceWarning`` where ``max_iter`` ended a network's
    training before early stopping did: its held-out likelihood had
    improved within the last ``n_iter_no_change`` epochs, and it was not
    stopped for overfitting."""
    if not plan.early_stopping:
        return  # a fixed budget: without a hold-out nothing else ends it
    stoppers = [dict(net.callbacks_)["early_stopping"] for net in nets]
    running = sum(
        stopper.misses_ < stopper.patience and not stopper.overfit_
        for stopper in stoppers
    )
    if running:
        cap = f"max_iter={estimator.max_iter!r}"
        if estimator.max_iter == "auto":
            cap += f" ({plan.max_iter} epochs here)"
        networks = f"{running} of {len(nets)} networks" if len(nets) > 1 else ""
        warnings.warn(
            f"Training {networks and networks + ' '}stopped at {cap} while "
            "the held-out negative log-likelihood was still improving: a "
            "larger max_iter may fit better.",
            ConvergenceWarning,
            stacklevel=find_stack_level(),
        )


def set_fitted_state(estimator, nets, refits, dataset, plan, X=None):
    """The fitted attributes of the trained ``nets``, calibration and tree
    blend included; the plan with the share of the blend kept.

    Several nets, or a net and its refit on all the rows (``refits``), are
    stacked into the first one's module (:class:`StackedMixture`); the
    spread factor and the tree blend of the first net are fitted before the
    others join it. ``X``, the validated inputs, trains the blend's trees;
    without it (a warm start) there is no blend.
    """
    net = estimator.net_ = nets[0]
    history = net.history
    log_scale = float(np.log(estimator.y_scale_).sum())
    estimator.loss_curve_ = [v + log_scale for v in history[:, "train_loss"]]
    estimator.validation_loss_curve_ = (
        [v + log_scale for v in history[:, "valid_loss"]]
        if plan.early_stopping
        else None
    )
    estimator.n_iter_ = len(history)
    estimator.n_networks_ = len(nets)
    estimator.spread_factor_ = 1.0
    estimator.conformal_ = None
    if estimator.calibrate == "conformal":
        # Without held-out rows, no scores: every interval is the line.
        estimator.conformal_ = ConformalCalibration(np.empty((0, 1)), np.empty(0))
    plan = _calibrate(estimator, nets, dataset, plan, X)
    modules = [n.module_ for n in nets + refits]
    if len(modules) > 1:
        net.module_ = StackedMixture(modules)
    return plan


def _calibrate(estimator, nets, dataset, plan, X):
    """Choose the tree blend, then fit the spread factor or the conformal
    scores, on the rows that the first of ``nets`` held out (the blend on
    every network's, each beside trees trained on its other rows); train the
    blend's trees on every row. The plan with the share kept, where the rows
    chose it."""
    net = nets[0]
    share = plan.tree_blend if X is not None else 0.0
    held_out = net.train_split is not None and (
        plan.calibrate != "off" or share is None
    )
    first = _held_out_mixtures(estimator, net, dataset) if held_out else None
    trees = _BlendData(estimator, dataset, X) if share != 0 else None
    trees_mean = None
    if first is not None and trees is not None:
        trees_mean = trees.held_out_mean(net.train_split)
    if share is None:
        others = [_held_out_mixtures(estimator, n, dataset) for n in nets[1:]]
        if trees_mean is None or any(o is None for o in others):
            share, rule = 0.0, "the held-out rows' mixtures are not finite"
        else:
            means = [trees_mean]
            means += [trees.held_out_mean(n.train_split) for n in nets[1:]]
            dist, y, w = _joined([first, *others])
            spread = plan.calibrate == "spread"
            share, rule = choose_share(dist, np.concatenate(means), y, w, spread)
        plan = plan.with_outcomes(tree_blend=(share, rule))
    if first is not None:
        dist, y, w = first
        if trees_mean is not None:
            dist = blend(dist, trees_mean, share)
        if plan.calibrate == "conformal":
            estimator.conformal_ = fit_conformal(dist, y, w)
        elif plan.calibrate == "spread":
            estimator.spread_factor_ = fit_spread_factor(dist, y, w)
    estimator.tree_blend_ = float(share)
    estimator.blend_trees_ = trees.all_rows() if share else None
    return plan


def _held_out_mixtures(estimator, net, dataset, max_rows=None, module=None):
    """The mixtures (standardised units), targets and weights of the rows
    ``net`` held out (the first ``max_rows`` of them, if given) under
    ``module`` (default ``net``'s); None where the mixtures are not finite."""
    valid = held_out_rows(net, dataset)
    rows = slice(max_rows)
    module = net.module_ if module is None else module
    params = forward(module, valid.X[rows], estimator.n_threads)
    if not all_finite(params):
        return None
    dist = to_distribution(params, (estimator.n_outputs_,))
    weight = valid.sample_weight
    return (
        dist,
        to_numpy(valid.y[rows]),
        to_numpy(None if weight is None else weight[rows]),
    )


def _joined(held_out):
    """The held-out mixtures, targets and weights of several networks, as
    one set of rows."""
    dists = [h[0] for h in held_out]
    if len(dists) == 1:
        return held_out[0]
    dist = NormalMixture.concatenate(dists)
    ws = [h[2] for h in held_out]
    w = None if ws[0] is None else np.concatenate(ws)
    return dist, np.concatenate([h[1] for h in held_out]), w


class _BlendData:
    """The rows that train the blend's trees: the validated inputs ``X``,
    standardised in float64 as prediction standardises them, and the
    standardised targets and weights of ``dataset``."""

    def __init__(self, estimator, dataset, X):
        self.X = tree_inputs(estimator, X)
        self.y = to_numpy(dataset.y).astype(np.float64)
        w = dataset.sample_weight
        self.w = None if w is None else to_numpy(w).astype(np.float64)
        # The seed of the first network's hold-out (the trees draw only
        # when they stop early, above 10,000 rows).
        split = getattr(estimator.net_, "train_split", None)
        self.seed = 0 if split is None else int(split.seed)
        # One OpenMP thread: beside torch's threads, more spin for a core.
        self.threads = 1

    def _fit(self, rows):
        w = None if self.w is None else self.w[rows]
        return fit_trees(self.X[rows], self.y[rows], w, self.seed, self.threads)

    def held_out_mean(self, split):
        """The trees' prediction of the rows ``split`` holds out, by trees
        trained on the others."""
        train, valid = (i.numpy() for i in split.indices(len(self.y)))
        return predict_trees(self._fit(train), self.X[valid])

    def all_rows(self):
        """Trees trained on every row."""
        return self._fit(slice(None))

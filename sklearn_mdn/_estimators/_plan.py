"""What a fit does: every ``"auto"`` resolved from the data, once.

:func:`make_plan` turns an estimator's parameters and the shape of its
training data into a :class:`FitPlan`, an immutable record that the fit then
follows step by step: whether it holds out rows, its batch size, epochs,
learning-rate schedule and patience, how many networks it trains, whether it
selects features, chooses the number of components and refits, how it
calibrates, and how many threads a step may use. Each choice carries the rule
that made it, in words, and the fitted estimator keeps the plan as
``fit_plan_``, with the choices made later on the held-out rows (the
features, the components and the refits kept,
:meth:`FitPlan.with_outcomes`).

Every threshold of a default fit is a constant of this module (but the
work a thread pays off, which the prediction path shares:
``_nn/_threads.py``); the measurement behind each is in
``docs/fit_plan.rst`` ("What a default fit does"). The record itself is in
``_fit_plan.py``.
"""

import dataclasses
import math
import warnings

from .._nn._data import n_holdout
from .._nn._schedule import OVERFIT_RISE, OVERFIT_TREND
from .._nn._threads import WORK_PER_THREAD, threads_by_work
from .._utils._warnings import find_stack_level
from ._fit_plan import Decision, FitPlan, _count, _mixture_decision, _sci
from ._preprocessing import check_hidden_layer_sizes

# Fewest rows with which ``early_stopping`` holds rows out.
MIN_ROWS_EARLY_STOPPING = 20
# Fewest held-out rows on which the held-out choices (features, components)
# trust their standard errors: 148 rows at validation_fraction=0.2.
MIN_HELD_OUT = 30
# batch_size="auto": at least AUTO_BATCH rows, the square root of the
# training rows from about 1,000 rows, and on very large data enough that an
# epoch stays near AUTO_EPOCH_STEPS steps.
AUTO_BATCH = 32
AUTO_EPOCH_STEPS = 1024
# max_iter="auto": at most about AUTO_STEPS gradient steps, within
# AUTO_EPOCHS epochs.
AUTO_STEPS = 30_000
AUTO_EPOCHS = (20, 2000)
# n_iter_no_change="auto": PATIENCE_STEPS steps (at least MIN_PATIENCE
# epochs) without improvement before the learning rate is divided by
# LR_FACTOR_INV; training stops after AUTO_STOP_AFTER_CUTS cuts that did not
# help. A given n_iter_no_change is the stop, and the cut comes after
# 1 / (STOP_AFTER_CUTS + 1) of it.
PATIENCE_STEPS = 500
MIN_PATIENCE = 5
LR_FACTOR_INV = 5
AUTO_STOP_AFTER_CUTS = 1
STOP_AFTER_CUTS = 2
# weight_averaging="auto": with early stopping, each epoch the held-out rows
# choose between the trained weights and their exponential moving average
# of decay AVERAGE_DECAY a step (about 1 / (1 - AVERAGE_DECAY) steps).
AVERAGE_DECAY = 0.99
# noise="auto": NOISE_C / sqrt(n_train) standardised units, at most NOISE_MAX.
NOISE_C = 1.0
NOISE_MAX = 0.2
# n_networks="auto": AUTO_NETWORK_ROWS // n_samples networks, at most
# MAX_NETWORKS (5 up to 200 rows, 4 to 250, 3 to 333, 2 to 500, then 1).
AUTO_NETWORK_ROWS = 1000
MAX_NETWORKS = 5
# n_components="auto": components of the first network.
AUTO_COMPONENTS = 5
# select_features="auto" and refit="auto": up to this many rows.
MAX_SELECTION_ROWS = 100_000
MAX_REFIT_ROWS = 100_000
# input_encoding="auto": a network on the kept features, each encoded in
# ENCODING_BINS piecewise-linear quantile bins, replaces the first network
# where the t statistic of its held-out NLL minus the first network's, row
# by row, is below ENCODING_Z (its held-out NLL is the lower).
ENCODING_BINS = 16
ENCODING_Z = 0.0
# It is not tried above MAX_ENCODING_ROWS rows, nor below
# MIN_ENCODING_HELD_OUT held-out rows (498 rows at validation_fraction=0.2).
MAX_ENCODING_ROWS = 100_000
MIN_ENCODING_HELD_OUT = 100
# gate_size="auto": a network with a gate as wide as the last hidden layer
# replaces the first network where the share of its held-out rows (at most
# GATE_ROWS of them) with more than one branch lies in GATE_BRANCHING: the
# number of branches changes across the inputs, so a branch ends somewhere.
# It reads the raw features: where it is tried, the piecewise-linear
# encoding is not (round 28: the encoded gated networks were the branching
# truths' worst fits, and the encoding's network cost a fourth of the fit).
# A branch is a mode of at least GATE_MIN_MASS of the probability whose
# density falls by GATE_MIN_DIP on the way to every higher mode
# (NormalMixture.modes' min_mass and min_dip): separate solutions, not the
# bumps of a skewed or heavy-tailed noise. Measured on the first networks
# (round 25): UCI at most 11% of the rows (protein 9-11%, power up to 7%,
# energy 2%, concrete and kin8nm 0), the branching truths 39% to 72%, the
# bimodal truth and the robot arm, whose branches never end, 98% and 100%.
# Not tried below MIN_ENCODING_HELD_OUT held-out rows.
GATE_BRANCHING = (0.2, 0.9)
GATE_ROWS = 2000
GATE_MIN_MASS = 0.05
GATE_MIN_DIP = 0.8
# The first network's held-out rows are looked at for branches once it has
# taken GATE_CHECK_STEPS steps (a quarter of AUTO_STEPS) too: where they end
# there already, it stops, since the gated network, trained from the same
# seeds whatever the first network became, replaces it (round 28: the first
# network was up to a third of a gated fit's steps). Elsewhere it trains on
# unchanged, and is looked at again at its end. Not on the skorch loop
# (verbose, input_l1, devices other than the CPU). Halfway through training
# the share is higher than at the end on some data, so the check asks for
# GATE_CHECK_BRANCHING: protein's first networks had 21% to 23% of their
# held-out rows with several branches at the check (splits 0-4; 9% to 11%
# at their end, ungated), the branching truths 39% to 73% (draws 0-4, seed
# 0; benchmarks/results/branch_check.md).
GATE_CHECK_STEPS = 7_500
GATE_CHECK_BRANCHING = (0.35, 0.9)
# The gated network stops after GATE_STOP_AFTER_CUTS cuts of the learning
# rate that did not help (n_iter_no_change="auto"), not AUTO_STOP_AFTER_CUTS,
# and never at the overfit stop: a gate switches sharply, and on noise-free
# branches its held-out loss jumps; one cut's patience stopped some runs
# before they came back (round 25: part-branch at epoch 49, test NLL -6.13,
# against -7.51 at epoch 135), and the overfit stop others (at epochs 12
# and 65 on two part-branch fits of ten, test NLL -1.89 and -3.76).
GATE_STOP_AFTER_CUTS = 2
# A gated network whose held-out NLL is above the first network's by more
# than GATE_FAILED_NATS a row has failed (a poor optimum: +2.28 nats on one
# part-branch fit of ten in round 25), and the first network stays. A gate
# that switches sharply can cost some held-out NLL on noise-free branches
# (the arm's test NLL +0.37 nats on average) and still put far less
# probability on solutions that do not exist, so the bar is not a
# standard error.
GATE_FAILED_NATS = 1.0
# A gated network's gate is then fitted alone, on its frozen components:
# at most GATE_FIT_STEPS full-batch steps, stopped on the held-out rows.
GATE_FIT_STEPS = 500
# tree_blend="auto": the share of the way each predicted mixture's mean moves
# toward boosted trees' prediction, the one of BLEND_SHARES of least held-out
# NLL among those whose t statistic against no blend, row by row, is below
# BLEND_Z (better by one standard error); else 0.
BLEND_SHARES = (0.1, 0.25, 0.5, 0.75, 1.0)
BLEND_Z = -1.0
# The blend's boosted trees: smaller leaves, larger trees and more rounds
# than HistGradientBoostingRegressor's defaults (20 rows a leaf, 31 leaves,
# 100 rounds), which underfit most UCI sets (the trees alone, RMSE over
# splits 0-9: yacht 1.44 against 0.43, energy 0.56 against 0.38, power 3.36
# against 3.02, boston 3.07 either way; design record round 24).
BLEND_TREES = {
    "learning_rate": 0.1,
    "max_iter": 250,
    "max_leaf_nodes": 63,
    "min_samples_leaf": 10,
}
# A refit is dropped where its NLL on the rows its network held out (on which
# the refit trained) is above the network's by more than this many standard
# errors of the rows' paired differences.
REFIT_FAILED_Z = 3.0


def make_plan(
    estimator, n_samples, n_features=1, n_outputs=1, row_work=None, *, warm=False
):
    """The :class:`FitPlan` of ``estimator`` on data of this shape.

    Each choice is made by one function below, which returns its value and
    the rule that made it, in words.

    Parameters
    ----------
    estimator : MDNRegressor
        Its parameters, validated.
    n_samples, n_features, n_outputs : int
        The shape of the training data (rows left after validation).
    row_work : int, default=None
        Multiply-adds of the first network's forward pass for one row, for
        the thread count of ``n_threads="auto"``; None leaves it out.
    warm : bool, default=False
        Whether the fit continues ``estimator``'s fitted network
        (``warm_start=True``): it keeps its features and components.

    Raises
    ------
    ValueError
        Where ``validation_fraction`` holds out every row, or
        ``calibrate="conformal"`` is asked of several networks.
    """
    est = estimator
    decisions = []

    def decide(name, value, rule, shown=None):
        decisions.append(Decision(name, str(value if shown is None else shown), rule))
        return value

    n_networks, networks_rule = _n_networks(est, n_samples)
    use_valid, n_valid = decide("early_stopping", *_early_stopping(est, n_samples))
    n_train = n_samples - n_valid
    batch_size = decide("batch_size", *_batch_size(est, n_train))
    n_batches = math.ceil(n_train / batch_size)
    max_iter = decide("max_iter", *_max_iter(est, n_batches))
    lr_patience, stop_patience, overfit_stop, patience_rule = _patience(
        est, n_batches, use_valid
    )
    lr_factor, relaxed_lr, rule = _learning_rate(est, lr_patience)
    decide("learning_rate", est.learning_rate, rule)
    decide("n_iter_no_change", stop_patience, patience_rule)
    noise = decide("noise", *_noise(est, n_train))
    average = decide("weight_averaging", *_weight_averaging(est, use_valid))
    gate_size, choose_gate = decide("gate_size", *_gate_size(est, n_valid, warm))
    if est.input_l1 > 0:
        decide(
            "input_l1",
            est.input_l1,
            f"L1 penalty on the first layer, then a relaxed phase from "
            f"learning rate {relaxed_lr:g}"
            + ("" if use_valid else " (not run: no early stopping)"),
        )
    decide("n_networks", n_networks, networks_rule)
    if warm:
        kept = "warm_start=True: those of the fitted network it continues"
        select_features = decide("select_features", False, kept)
        choose_encoding = decide("input_encoding", False, kept)
        choose_components, n_components = False, est.n_components_
    else:
        select_features = decide(
            "select_features", *_select_features(est, n_samples, n_features, n_valid)
        )
        choose_encoding = decide(
            "input_encoding", *_input_encoding(est, n_samples, n_valid)
        )
        choose_components, n_components, kept = _n_components(est, n_valid)
    decide("n_components", n_components, kept)
    refit = decide("refit", *_refit(est, n_samples, n_networks, use_valid))
    tree_blend = decide("tree_blend", *_tree_blend(est, use_valid, warm))
    calibrate = decide("calibrate", *_calibrate(est, n_networks, n_valid))
    # warm_start and partial_fit train on without the gate's own fit
    gated = use_valid and not warm and bool(gate_size or choose_gate)
    decide("n_threads", *_n_threads(est.n_threads, row_work, batch_size))
    plan = FitPlan(
        n_samples=n_samples,
        n_features=n_features,
        n_outputs=n_outputs,
        early_stopping=use_valid,
        n_valid=n_valid,
        batch_size=batch_size,
        max_iter=max_iter,
        lr_factor=lr_factor,
        lr_patience=lr_patience,
        n_iter_no_change=stop_patience,
        overfit_stop=overfit_stop,
        relaxed_lr=relaxed_lr,
        noise=noise,
        n_networks=n_networks,
        n_components=n_components,
        choose_components=choose_components,
        select_features=select_features,
        refit=refit,
        calibrate=calibrate,
        decisions=(),
        choose_encoding=choose_encoding,
        average=average,
        gate_size=gate_size,
        choose_gate=choose_gate,
        gate_fit_steps=GATE_FIT_STEPS if gated else 0,
        tree_blend=tree_blend,
    )
    return dataclasses.replace(plan, decisions=(*decisions, _mixture_decision(plan)))


def _early_stopping(est, n_samples) -> tuple:
    """Whether rows are held out, and how many, with the rule (the value
    shown is whether)."""
    use_valid = bool(est.early_stopping) and n_samples >= MIN_ROWS_EARLY_STOPPING
    n_valid = n_holdout(n_samples, est.validation_fraction) if use_valid else 0
    if n_valid >= n_samples:
        raise ValueError(
            f"validation_fraction={est.validation_fraction} holds out all "
            f"{n_samples} rows, leaving none to train on; lower it or set "
            "early_stopping=False."
        )
    if use_valid:
        rule = (
            f"{n_valid:,} of {n_samples:,} rows held out (validation_fraction="
            f"{est.validation_fraction}); the best epoch on them is kept"
        )
    elif est.early_stopping:
        rule = f"not applied below {MIN_ROWS_EARLY_STOPPING} rows"
    else:
        rule = "as given: every row trains, for max_iter epochs"
    return (use_valid, n_valid), rule, use_valid


def _batch_size(est, n_train) -> tuple:
    if est.batch_size == "auto":
        batch_size = max(
            AUTO_BATCH, round(math.sqrt(n_train)), n_train // AUTO_EPOCH_STEPS
        )
        rule = (
            f"'auto': max({AUTO_BATCH}, sqrt({n_train:,}), {n_train:,} // "
            f"{AUTO_EPOCH_STEPS}) of the {n_train:,} training rows"
        )
    else:
        batch_size, rule = est.batch_size, "as given"
    if batch_size > n_train:
        rule += f", at most the {n_train:,} training rows"
    return min(batch_size, n_train), rule


def _max_iter(est, n_batches) -> tuple:
    if est.max_iter != "auto":
        return est.max_iter, "as given"
    low, high = AUTO_EPOCHS
    max_iter = min(max(math.ceil(AUTO_STEPS / n_batches), low), high)
    return max_iter, (
        f"'auto': {AUTO_STEPS:,} steps at {n_batches:,} an epoch, within "
        f"{low} to {high} epochs; early stopping normally ends sooner"
    )


def _patience(est, n_batches, use_valid) -> tuple:
    """Epochs without improvement before a cut of the learning rate and
    before stopping, whether an overfitting network stops at its first cut,
    and the rule."""
    if est.n_iter_no_change == "auto":
        lr_patience = max(MIN_PATIENCE, math.ceil(PATIENCE_STEPS / n_batches))
        cuts = AUTO_STOP_AFTER_CUTS
        stop_patience = (cuts + 1) * lr_patience
        rule = (
            f"'auto': {cuts + 1} x {lr_patience} epochs ({PATIENCE_STEPS} "
            f"steps, at least {MIN_PATIENCE} epochs, between cuts of the rate): "
            f"stops after {_count(cuts, 'cut')} that did not help"
        )
        overfit_stop = use_valid and est.learning_rate == "adaptive"
        if overfit_stop:
            rule += (
                f", or at the first where the held-out loss, best within the "
                f"first {lr_patience} epochs, has since risen steadily (rank "
                f"correlation {OVERFIT_TREND:g} or more) {OVERFIT_RISE:.0%} of the "
                "way back to epoch 1's while the training loss fell"
            )
    else:
        stop_patience = est.n_iter_no_change
        lr_patience = max(1, stop_patience // (STOP_AFTER_CUTS + 1))
        overfit_stop, rule = False, "as given"
    if not use_valid:
        rule += "; without early stopping it only times the cuts"
    return lr_patience, stop_patience, overfit_stop, rule


def _learning_rate(est, lr_patience) -> tuple:
    """The factor of each cut (None: constant), the rate of the relaxed
    phase of ``input_l1``, and the rule."""
    if est.learning_rate == "constant":
        rule = f"{est.learning_rate_init:g} throughout"
        return None, est.learning_rate_init, rule
    rule = (
        f"from {est.learning_rate_init:g}, divided by {LR_FACTOR_INV} after "
        f"{lr_patience} epochs without improvement"
        + (" (a third of n_iter_no_change)" if est.n_iter_no_change != "auto" else "")
    )
    return 1.0 / LR_FACTOR_INV, est.learning_rate_init / LR_FACTOR_INV, rule


def _noise(est, n_train) -> tuple:
    if est.noise == "auto":
        noise = min(NOISE_MAX, NOISE_C / math.sqrt(n_train))
        rule = f"'auto': min({NOISE_MAX}, 1 / sqrt({n_train:,})), cut with the rate"
    else:
        noise = float(est.noise)
        rule = "as given" + (", cut with the learning rate" if noise else ": off")
    return noise, rule, f"{noise:.3g}"


def _weight_averaging(est, use_valid) -> tuple:
    averaging = getattr(est, "weight_averaging", "none")
    if averaging == "none":
        return 0.0, "as given: the trained weights", "none"
    if averaging == "auto":
        if not use_valid:
            return 0.0, "'auto': off without early stopping", "none"
        decay = AVERAGE_DECAY
        rule = "'auto': with early stopping, "
    else:
        decay, rule = float(averaging), "as given: "
    steps = round(1 / (1 - decay))
    rule += (
        f"each epoch the held-out rows choose between the trained weights "
        f"and their moving average over about {steps:,} steps (decay {decay:g})"
    )
    return decay, rule, f"{decay:g}"


def gate_width(gate_size, hidden) -> int:
    """The units of the gate branch of ``gate_size`` on hidden layers
    ``hidden`` before any choice: ``"auto"`` has none until the held-out
    rows choose one (:func:`auto_gate_width`); none without hidden layers,
    where it would have nothing to read."""
    if not hidden or gate_size == "auto":
        return 0
    return gate_size


def auto_gate_width(hidden) -> int:
    """The units of the gate that ``gate_size="auto"`` tries: as many as the
    last hidden layer."""
    return hidden[-1] if hidden else 0


_GATE_FIT = (
    "each gated network's gate is then refitted alone on its frozen "
    f"components (at most {GATE_FIT_STEPS} full-batch steps, the best on the "
    "held-out rows; a refit takes its network's)"
)


def _gate_size(est, n_valid, warm) -> tuple:
    """The gate's width, whether the held-out rows choose one, and the rule
    (the value shown is the parameter's for "auto"); a warm fit's "auto" is
    the fitted network's gate, set on the plan by the warm fit."""
    gate_size = getattr(est, "gate_size", 0)
    hidden = check_hidden_layer_sizes(est.hidden_layer_sizes)
    if not gate_size:
        return (0, False), "as given: no gate; the head outputs the mixture weights", 0
    if not hidden:
        rule = "no hidden layer for a gate to read: the head outputs the weights"
        return (0, False), rule, 0
    if gate_size == "auto":
        lo, hi = GATE_BRANCHING
        if warm:
            rule = "warm_start=True: that of the fitted network it continues"
            return (0, False), rule, "'auto'"
        if n_valid < MIN_ENCODING_HELD_OUT:
            rule = (
                f"'auto': no gate; not tried below {MIN_ENCODING_HELD_OUT} "
                "held-out rows"
            )
            return (0, False), rule, "'auto'"
        rule = (
            f"'auto': a network whose mixture weights come from a gate of "
            f"{auto_gate_width(hidden)} ReLU units, reading the raw features "
            f"(never their encoding), replaces the first network where "
            f"{lo:.0%} to {hi:.0%} of its held-out rows have more than one "
            f"branch (modes of {GATE_MIN_MASS:.0%} of the probability or more, "
            f"apart by a fall of the density of {GATE_MIN_DIP:.0%}): the branches "
            "change in number across the inputs, and the gate lets one end "
            f"sharply (after the first network); {_GATE_FIT}"
        )
        return (0, True), rule, "'auto'"
    rule = (
        f"as given: the mixture weights from a gate of {gate_size} ReLU units "
        "on the last hidden layer, which lets a branch of solutions end sharply"
    )
    if n_valid and not warm:
        rule += f"; {_GATE_FIT}"
    return (gate_size, False), rule, gate_size


def _n_networks(est, n_samples) -> tuple:
    warm_start = getattr(est, "warm_start", False)
    if est.n_networks != "auto":
        for refused, needs in [
            (est.calibrate == "conformal", 'calibrate="conformal" needs'),
            (warm_start, "warm_start=True continues"),
        ]:
            if est.n_networks > 1 and refused:
                raise ValueError(
                    f"{needs} a single network: set n_networks=1 (or "
                    f'"auto"), got n_networks={est.n_networks}.'
                )
        return est.n_networks, "as given"
    if est.calibrate == "conformal":
        return 1, "'auto': one, as calibrate='conformal' needs"
    if warm_start:
        return 1, "'auto': one, which warm_start=True continues"
    n_networks = min(MAX_NETWORKS, max(1, AUTO_NETWORK_ROWS // n_samples))
    rule = f"'auto': min({MAX_NETWORKS}, {AUTO_NETWORK_ROWS:,} // {n_samples:,})"
    if n_networks > 1:
        rule += ", averaged; each holds out its own block of the rows"
    else:
        rule += f" (several below {AUTO_NETWORK_ROWS // 2 + 1} rows)"
    return n_networks, rule


def _not_applied(est, name, reason) -> tuple:
    """False and ``reason``, with a warning where ``name`` was set to True
    rather than left at "auto"."""
    if getattr(est, name) != "auto":
        warnings.warn(
            f"{name}=True is not applied: {reason}.",
            UserWarning,
            stacklevel=find_stack_level(),
        )
    return False, f"{getattr(est, name)!r}, not applied: {reason}"


def _select_features(est, n_samples, n_features, n_valid) -> tuple:
    if not est.select_features:
        return False, "as given"
    if n_features < 2:
        return False, "a single feature: nothing to select"
    if est.input_l1 > 0:
        return _not_applied(
            est, "select_features", "input_l1 > 0 selects the features instead"
        )
    if n_valid < MIN_HELD_OUT:
        return _not_applied(
            est,
            "select_features",
            f"it needs early_stopping=True and at least {MIN_HELD_OUT} held-out rows",
        )
    if est.select_features == "auto" and n_samples > MAX_SELECTION_ROWS:
        return False, (
            f"'auto': off above {MAX_SELECTION_ROWS:,} rows, where retraining "
            "costs much and noise features little"
        )
    given = "True" if est.select_features is True else "'auto'"
    return True, (
        f"{given}: after the first network, drops the features whose shuffling "
        f"does not raise the NLL of the {n_valid:,} held-out rows"
    )


def _input_encoding(est, n_samples, n_valid) -> tuple:
    """Whether the held-out rows choose the piecewise-linear encoding of the
    inputs, with the rule (the value shown is the parameter's)."""
    if est.input_encoding == "none":
        return False, "as given", "'none'"
    if n_samples > MAX_ENCODING_ROWS:
        rule = (
            f"'auto': off above {MAX_ENCODING_ROWS:,} rows, where the encoded "
            "copy of the data and another network cost much"
        )
        return False, rule, "'auto'"
    if est.input_l1 > 0:
        rule = "'auto', not applied: input_l1 > 0 selects the raw features"
        return False, rule, "'auto'"
    if n_valid < MIN_ENCODING_HELD_OUT:
        rule = (
            f"'auto': not tried below {MIN_ENCODING_HELD_OUT} held-out rows, "
            "where it gained nothing for its network's cost"
        )
        return False, rule, "'auto'"
    return (
        True,
        f"'auto': the kept features, each in {ENCODING_BINS} piecewise-linear "
        f"bins, where the {n_valid:,} held-out rows favour them (after the "
        "first network; not tried where a gated network is)",
        "'auto'",
    )


def _n_components(est, n_valid) -> tuple:
    """Whether the held-out rows choose the components, the first network's
    components, and the rule."""
    if est.n_components != "auto":
        return False, est.n_components, "as given"
    if n_valid < MIN_HELD_OUT:
        rule = f"one Gaussian is not tried below {MIN_HELD_OUT} held-out rows"
        return False, AUTO_COMPONENTS, f"'auto': {AUTO_COMPONENTS}; {rule}"
    rule = f"1 where the {n_valid:,} held-out rows favour one Gaussian"
    return (
        True,
        AUTO_COMPONENTS,
        f"'auto': {AUTO_COMPONENTS}, or {rule} (after the first network)",
    )


def _refit(est, n_samples, n_networks, use_valid) -> tuple:
    if not est.refit:
        return False, "as given"
    if not use_valid:
        reason = (
            "it needs early_stopping=True (and at least "
            f"{MIN_ROWS_EARLY_STOPPING} rows)"
        )
    elif est.input_l1 > 0:
        reason = "input_l1 > 0 trains in two phases"
    elif est.calibrate == "conformal":
        reason = 'calibrate="conformal" needs rows the network never trained on'
    elif getattr(est, "warm_start", False):
        reason = "warm_start=True continues a single network"
    elif est.refit != "auto":
        return True, "True: each network retrained on every row, averaged with it"
    elif n_networks > 1:
        return False, (
            f"'auto' refits a single network; {n_networks} already train on "
            "every row together"
        )
    elif n_samples > MAX_REFIT_ROWS:
        return False, (
            f"'auto': off above {MAX_REFIT_ROWS:,} rows, where a fifth more rows "
            "changes little and the refit nearly doubles the time"
        )
    else:
        return True, (
            "'auto': the network retrained on every row for the epochs early "
            "stopping chose, averaged with it"
        )
    return _not_applied(est, "refit", reason)


def _tree_blend(est, use_valid, warm) -> tuple:
    """The share of the way toward the trees' mean, None where the held-out
    rows choose it, with the rule (:mod:`._blend`)."""
    if warm:
        return 0.0, "warm_start=True: the network it continues, alone", "none"
    tree_blend = getattr(est, "tree_blend", "none")  # pickled before it existed
    if tree_blend == "none":
        return 0.0, "as given", "none"
    if tree_blend != "auto":
        return float(tree_blend), "as given"
    if not use_valid:
        return 0.0, "'auto' needs held-out rows (early_stopping)", "none"
    shares = ", ".join(f"{s:g}" for s in BLEND_SHARES)
    rule = (
        "'auto': after training, the share of the way from each mixture's mean "
        "to boosted trees' prediction that the held-out rows choose among "
        f"{shares} (each network's, beside trees trained on its other rows): "
        f"the one of least NLL, if it beats none by {-BLEND_Z:g} standard error"
    )
    return None, rule, "auto"


def _calibrate(est, n_networks, n_valid) -> tuple:
    """How the held-out rows calibrate the fit: "spread" (a spread factor),
    "conformal" or "off", with the rule."""
    if not est.calibrate:
        return "off", "as given"
    if not n_valid:
        if est.calibrate == "conformal":
            warnings.warn(
                'calibrate="conformal" needs the rows held out by '
                f"early_stopping=True (and at least {MIN_ROWS_EARLY_STOPPING} "
                "rows): without them every interval and region is the whole "
                "line.",
                UserWarning,
                stacklevel=find_stack_level(),
            )
            return "off", (
                "'conformal' without held-out rows: every interval is the line"
            )
        return "off", "True needs held-out rows (early_stopping)"
    if est.calibrate == "conformal":
        return "conformal", f"scores of the {n_valid:,} held-out rows"
    if n_networks > 1:
        return "off", (
            "True fits no spread factor to several networks: their "
            "disagreement widens the spread already"
        )
    return "spread", f"a spread factor fitted on the {n_valid:,} held-out rows"


def _n_threads(n_threads, row_work, batch_size) -> tuple:
    if n_threads is None:
        return None, "None: torch's own setting"
    if n_threads != "auto":
        return n_threads, "as given" + (
            " (negative: counted back from all the CPUs)" if n_threads < 0 else ""
        )
    rule = f"'auto': one per {_sci(WORK_PER_THREAD)} multiply-adds of a step"
    if row_work is None:
        return "auto", rule
    work = row_work * batch_size
    by_work = threads_by_work(work)
    rule += f" (here {batch_size:,} rows x {row_work:,} = {_sci(work)})"
    if by_work == 1:
        return 1, rule
    rule += ", fewer where other processes keep cores busy"
    return by_work, rule, f"up to {by_work}"

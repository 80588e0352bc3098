"""Which input features a fit keeps: backward elimination on the hold-out.

A network trained on many features of which few matter fits the noise of
the others before it finds the signal, and early stopping then ends
training on a plateau far from the truth (docs/design_record.rst, the
``irrelevant`` truth). ``select_features=True`` removes such features
after the first network has trained, along a path of networks that read
fewer and fewer features:

1. Each feature the current network reads is shuffled among the held-out
   rows (ten times, fewer on many rows), and the rise of each row's
   held-out negative log-likelihood is recorded (permutation importance,
   Breiman 2001). A feature is *weak* when the mean rise is less than
   ``EVIDENCE_Z`` standard errors above zero (the held-out rows give no
   evidence that the network uses it) and the held-out rows' losses do not
   depend on it (a Kruskal-Wallis test over quantile bins of the feature,
   at a family-wise level of ``EVIDENCE_Z`` standard errors over the
   features): a feature that sets the noise level, say, which the network
   has not learnt yet, leaves its mark on the losses.
2. The weaker half of the weak features (at most half of the features
   read) are dropped, and a dropped feature on which the current network's
   losses depend comes back (once); a network is trained again from the
   same seeds on the features left (its first-layer weights of the others
   are held at zero, :meth:`MixtureNet.mask_inputs`). It becomes the
   current one.
3. It is the best so far if its held-out NLL is lower than the best one's
   by more than ``EVIDENCE_Z`` standard errors of the rows' paired
   differences. The path ends where no feature is weak and none comes
   back, or after ``_PATIENCE + 1`` networks in a row that were not the
   best; the best network is kept.

Halving, not dropping every weak feature at once, gives the features that
the first network learnt only faintly (overshadowed by the noise it
fitted) the chance to show their effect in a network that reads fewer
noise features; the paired test keeps a few hundred held-out rows from
choosing a network that is better on them by chance. A feature whose
effect the first network has not learnt can still look weak by both
measures, as noise features do (the ``irrelevant`` truth's noise level,
at a first network stopped after a few epochs): once the networks read
fewer noise features and have learnt the rest, the losses show what it
sets, and it comes back. Every network on the path holds out the same
rows. Where no feature is weak nothing is retrained, and the fit costs a
few predictions of the held-out rows more. A feature that is constant
among the held-out rows shows no effect there and counts as weak. With
fewer than ``MIN_HELD_OUT`` held-out rows
(:mod:`sklearn_mdn._estimators._plan`) the standard errors mean little,
and the fit plan does not select features.
"""

import math

import numpy as np
from scipy.special import ndtr

from .._nn._held_out import (
    held_out_rows,
    held_out_threads,
    loss_dependence_p,
    paired_t,
    permutation_t,
)

# Standard errors of evidence: a feature is weak when shuffling it raises
# the held-out NLL by less; a network is better when its held-out NLL is
# lower by more.
EVIDENCE_Z = 2.0
# Shuffles of each feature, whose rises of each row's NLL are averaged:
# enough for about _SHUFFLE_ROWS rows, at most _MAX_SHUFFLES.
_SHUFFLE_ROWS = 20_000
_MAX_SHUFFLES = 10
# Networks on the path that may fail to be the best before it ends.
_PATIENCE = 1
# Quantile bins of a feature among the held-out rows, in the test of the
# losses' dependence on it: at most _DEPENDENCE_BINS, _DEPENDENCE_ROWS rows
# or more in each.
_DEPENDENCE_BINS = 8
_DEPENDENCE_ROWS = 25


def importance_t(net, valid, support, seed) -> np.ndarray:
    """t statistics of each feature's permutation importance on the held-out
    rows ``valid`` (:func:`~sklearn_mdn._nn._held_out.permutation_t`), with
    enough shuffles for about ``_SHUFFLE_ROWS`` rows; NaN outside ``support``.
    """
    shuffles = min(_MAX_SHUFFLES, math.ceil(_SHUFFLE_ROWS / len(valid)))
    return permutation_t(net, valid, support, seed, shuffles)


def better(candidate, best, valid) -> bool:
    """Whether ``candidate``'s held-out NLL is below ``best``'s by more than
    ``EVIDENCE_Z`` standard errors of the rows' paired differences."""
    return paired_t(candidate, best, valid) < -EVIDENCE_Z


def dependent(net, valid, n_features) -> np.ndarray:
    """The features on which the held-out rows' NLL under ``net`` depends
    (:func:`~sklearn_mdn._nn._held_out.loss_dependence_p`), whether ``net``
    reads them or not, at a family-wise level of two-sided ``EVIDENCE_Z``
    standard errors (Bonferroni over the ``n_features``)."""
    bins = max(2, min(_DEPENDENCE_BINS, len(valid) // _DEPENDENCE_ROWS))
    return loss_dependence_p(net, valid, bins) < 2 * ndtr(-EVIDENCE_Z) / n_features


def weakest(t, support, keep=None) -> np.ndarray:
    """The features to drop next: the weaker half of the weak ones, at most
    half of those in ``support`` (empty when none is weak); a feature that
    ``keep`` marks is never weak."""
    weak = support & (t < EVIDENCE_Z)
    if keep is not None:
        weak &= ~keep
    weak = np.flatnonzero(weak)
    n_drop = min(math.ceil(len(weak) / 2), int(support.sum()) // 2)
    return weak[np.argsort(t[weak], kind="stable")[:n_drop]]


def eliminate_features(net, dataset, retrain, n_threads, seed, verbose=0):
    """Backward elimination from the trained ``net`` (see the module's
    docstring); the network kept, its support and why.

    Parameters
    ----------
    net : MixtureNet
        The first network, trained on every feature, with a hold-out.
    dataset : TensorDataset
        The training data, standardised.
    retrain : callable
        ``retrain(support)`` builds and trains a network from the same seeds
        reading only the features ``support`` marks.
    n_threads : int or "auto"
        The estimator's thread policy, for the held-out predictions.
    seed : int
        Seeds the shuffles.
    verbose : int, default=0
        Print a line per network trained on fewer features.

    Returns
    -------
    net : MixtureNet
    support : ndarray of bool of shape (n_features,)
    rule : str
        Why these features were kept, in words.
    """
    n_features = dataset.X.shape[1]
    support = np.ones(n_features, dtype=bool)
    valid = held_out_rows(net, dataset)  # the rows every network holds out
    best, best_support, misses, tried = net, support, 0, []
    returned = np.zeros(n_features, dtype=bool)  # each feature returns once
    rule = None
    for round_ in range(n_features):
        with held_out_threads(net, valid, n_threads):
            t = importance_t(net, valid, support, seed + round_)
            depends = dependent(net, valid, n_features)
        drop = weakest(t, support, keep=depends)
        back = np.flatnonzero(~support & depends & ~returned)
        if len(drop) == 0 and len(back) == 0:
            break
        support = support.copy()
        support[drop], support[back], returned[back] = False, True, True
        tried.append(int(support.sum()))
        if verbose:
            print(
                f"Feature selection: {_changes(len(drop), len(back))}; trying a "
                f"network on {support.sum()} of {n_features} features",
                flush=True,
            )
        try:
            net = retrain(support)
        except FloatingPointError:  # diverged: the path ends at the best so far
            rule = f"the best before the network on {tried[-1]}, which diverged"
            break
        with held_out_threads(net, valid, n_threads):
            improved = better(net, best, valid)
        if improved:
            best, best_support, misses = net, support, 0
        else:
            misses += 1
            if misses > _PATIENCE:
                break
    if rule is None:
        rule = _kept_rule(tried, best_support, len(valid))
    return best, best_support, rule


def _changes(n_drop, n_back) -> str:
    """The features a round drops and brings back, in words."""
    words = []
    if n_drop:
        words.append(f"{n_drop} weak feature{'s' if n_drop > 1 else ''}")
    if n_back:
        words.append(f"{n_back} dropped feature{'s' if n_back > 1 else ''} back")
    return ", ".join(words)


def _kept_rule(tried, support, n_valid) -> str:
    """Why the features ``support`` were kept, after networks on ``tried``
    features were trained, in words."""
    if not tried:
        return (
            f"none is weak: shuffling each raised the NLL of the {n_valid:,} "
            f"held-out rows by {EVIDENCE_Z:g} standard errors or more"
        )
    on = ", ".join(map(str, tried))
    if support.all():
        return (
            f"no network on fewer ({on}) was better on the {n_valid:,} held-out "
            f"rows by {EVIDENCE_Z:g} standard errors"
        )
    return (
        f"the best of the networks on {len(support)}, {on} features on the "
        f"{n_valid:,} held-out rows (better only by {EVIDENCE_Z:g} standard errors)"
    )

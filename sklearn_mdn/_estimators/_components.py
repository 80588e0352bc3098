"""How many components a fit keeps: the mixture, or one Gaussian.

Where the conditional distribution is close to one Gaussian, a mixture of
several components spends its freedom on the noise of the training rows,
and the estimate pays for it in variance (docs/design_record.rst, the
``multi3`` truth: three targets whose covariance varies with the inputs).
With ``n_components="auto"`` the first network is trained with
``AUTO_COMPONENTS`` components (:mod:`sklearn_mdn._estimators._plan`), and after it (and
feature selection) has trained, the held-out rows decide:

1. Each held-out row's NLL under the network's mixture is compared with its
   NLL under the single Gaussian of the same mean and covariance (moment
   matching, :func:`~sklearn_mdn._nn._held_out.moment_matched`). Unless
   that Gaussian is better by more than ``_SCREEN_Z`` standard errors of
   the rows' paired differences, the mixture is kept: its shape beyond
   the first two moments is then not shown to be noise.
2. Otherwise a network with one component is trained from the same seeds
   on the same features, and kept if its held-out NLL is lower than the
   mixture's by more than two standard errors (the test of feature
   selection, :func:`~sklearn_mdn._estimators._selection.better`).

Where the mixture is kept at step 1, the choice costs two predictions of
the held-out rows and nothing is retrained. With fewer than
``MIN_HELD_OUT`` held-out rows the fit plan does not make the choice.
"""

from .._nn._held_out import held_out_rows, held_out_threads, one_gaussian_t
from ._selection import EVIDENCE_Z, better

# Standard errors by which the moment-matched Gaussian must beat the mixture
# on the held-out rows before a one-component network is trained.
_SCREEN_Z = 1.0


def choose_components(net, dataset, retrain, n_threads, verbose=0):
    """The mixture ``net`` or a retrained one-component network, as the
    held-out rows decide (see the module's docstring).

    Parameters
    ----------
    net : MixtureNet
        The first network, trained with a hold-out of at least
        ``MIN_HELD_OUT`` rows.
    dataset : TensorDataset
        The training data, standardised.
    retrain : callable
        ``retrain(n_components)`` builds and trains a network from the same
        seeds, on the same features, with that many components.
    n_threads : int or "auto"
        The estimator's thread policy, for the held-out predictions.
    verbose : int, default=0
        Print a line when a one-component network is trained.

    Returns
    -------
    net : MixtureNet
    n_components : int
    rule : str
        Why, in words.
    """
    n_components = net.module_.n_components
    valid = held_out_rows(net, dataset)
    mixture_kept = (
        f"the {len(valid):,} held-out rows do not favour one Gaussian (the "
        f"mixture's mean and covariance) by {_SCREEN_Z:g} standard error"
    )
    t = one_gaussian_t(net, valid, n_threads)
    if t is None:  # a covariance singular in float64
        return net, n_components, "the mixture's covariance is singular"
    if t >= -_SCREEN_Z:
        return net, n_components, mixture_kept
    if verbose:
        print(
            f"Components: the held-out rows fit one Gaussian better than "
            f"{n_components} components; trying a network with one",
            flush=True,
        )
    try:
        single = retrain(1)
    except FloatingPointError:  # diverged: the mixture stays
        return net, n_components, "a network with one component diverged"
    with held_out_threads(net, valid, n_threads):
        improved = better(single, net, valid)
    if improved:
        rule = (
            f"a network with one component beat the mixture of {n_components} "
            f"on the {len(valid):,} held-out rows by {EVIDENCE_Z:g} standard errors"
        )
        return single, 1, rule
    rule = (
        "one Gaussian looked better, but a network with one component did "
        f"not beat the mixture on the {len(valid):,} held-out rows by "
        f"{EVIDENCE_Z:g} standard errors"
    )
    return net, n_components, rule

"""The tensor work of the held-out choices: losses, shuffles and screens.

The rules that read these numbers (thresholds, which network is kept) are in
:mod:`sklearn_mdn._estimators._selection` and
:mod:`sklearn_mdn._estimators._components`; here each held-out row's
negative log-likelihood under a trained net, the t statistics of paired
differences of those losses, and the single Gaussian of a mixture's first
two moments.
"""

import math

import numpy as np
import torch
from scipy import stats

from ._data import CHUNK_ROWS
from ._module import MixtureParams
from ._threads import forward_work, resolve_threads, torch_threads


def held_out_rows(net, dataset):
    """The rows of ``dataset`` that ``net`` holds out (its seeded split)."""
    _, valid = net.train_split(dataset)
    return valid


def held_out_losses(net, X, valid, transform=None) -> torch.Tensor:
    """Each held-out row's (weighted) NLL under ``net`` for inputs ``X``,
    or under ``transform`` of its mixtures (whose tensors may be on another
    device or of another dtype: the targets follow them)."""
    losses = []
    for x, y in zip(X.split(CHUNK_ROWS), valid.y.split(CHUNK_ROWS)):
        params = net.module_(x)
        if transform is not None:
            params = transform(params)
            y = y.to(params.means.device, params.means.dtype)
        losses.append(net.criterion_.row_losses(params, y))
    losses = torch.cat(losses).to("cpu", torch.float64)  # float64: none on MPS
    weight = valid.sample_weight
    return losses if weight is None else losses * weight.to("cpu", torch.float64)


def held_out_threads(net, valid, n_threads):
    """The torch threads, as a context, for ``net``'s predictions of the
    held-out rows ``valid`` under the thread policy ``n_threads``."""
    work = forward_work(net.module_) * min(len(valid), CHUNK_ROWS)
    return torch_threads(resolve_threads(n_threads, work))


def t_statistic(d) -> float:
    """The mean of ``d`` (a tensor or an array) in standard errors; 0 where
    ``d`` is all zero (a feature the network ignores raises nothing)."""
    d = torch.as_tensor(d)
    mean = float(d.mean())
    se = float(d.std()) / math.sqrt(len(d)) if len(d) > 1 else 0.0
    if se > 0:
        return mean / se
    return math.inf if mean > 0 else (-math.inf if mean < 0 else 0.0)


def paired_t(candidate, best, valid, candidate_valid=None) -> float:
    """The t statistic of ``candidate``'s held-out NLL minus ``best``'s, row
    by row (negative where ``candidate`` is better); ``candidate`` reads the
    rows as ``candidate_valid`` where given (an encoding of ``valid``)."""
    return t_statistic(paired_differences(candidate, best, valid, candidate_valid))


def paired_differences(candidate, best, valid, candidate_valid=None):
    """``candidate``'s held-out NLL minus ``best``'s, row by row (weighted),
    as in :func:`paired_t`."""
    for net in (candidate, best):
        net.module_.eval()
    theirs = valid if candidate_valid is None else candidate_valid
    with torch.inference_mode():
        return held_out_losses(candidate, theirs.X, theirs) - held_out_losses(
            best, valid.X, valid
        )


def permutation_t(net, valid, support, seed, shuffles) -> np.ndarray:
    """t statistics of the rise of the held-out NLL when each feature is
    shuffled (``shuffles`` times, rises averaged); NaN for features outside
    ``support``.

    Parameters
    ----------
    net : MixtureNet
        A trained net.
    valid : TensorDataset
        Its held-out rows.
    support : ndarray of bool
        The features it reads.
    seed : int
        Seeds the shuffles.
    shuffles : int
        Shuffles of each feature.
    """
    generator = torch.Generator().manual_seed(int(seed))
    t = np.full(len(support), np.nan)
    net.module_.eval()
    with torch.inference_mode():
        base = held_out_losses(net, valid.X, valid)
        for j in np.flatnonzero(support):
            rise = torch.zeros_like(base)
            for _ in range(shuffles):
                order = torch.randperm(len(valid), generator=generator)
                X = valid.X.clone()
                X[:, j] = valid.X[order.to(X.device), j]
                rise += (held_out_losses(net, X, valid) - base) / shuffles
            t[j] = t_statistic(rise)
    return t


def loss_dependence_p(net, valid, bins) -> np.ndarray:
    """p-values of the dependence of the held-out rows' NLL under ``net`` on
    each feature, read or not: Kruskal-Wallis tests of the losses grouped by
    ``bins`` quantile bins of the feature; 1 for a feature with a single bin
    among the held-out rows.

    A feature that the network does not read, or reads without having learnt
    its effect, leaves its mark here where the losses vary with it (a noise
    level it sets, a shift of the mean it adds).
    """
    net.module_.eval()
    with torch.inference_mode():
        losses = held_out_losses(net, valid.X, valid).numpy()
    X = valid.X.to("cpu", torch.float64).numpy()
    p = np.ones(X.shape[1])
    if np.ptp(losses) == 0:  # equal losses depend on nothing
        return p
    inner = np.linspace(0, 1, bins + 1)[1:-1]
    for j in range(X.shape[1]):
        group = np.searchsorted(np.unique(np.quantile(X[:, j], inner)), X[:, j])
        labels = np.unique(group)
        if len(labels) > 1:
            p[j] = stats.kruskal(*(losses[group == g] for g in labels)).pvalue
    return p


def moment_matched(params: MixtureParams) -> MixtureParams:
    """Each row's single Gaussian with its mixture's mean and covariance.

    On the CPU in float64 (MPS has no float64); with a diagonal covariance,
    the Gaussian's covariance is the diagonal of the mixture's (the family
    a one-component network of that ``covariance_type`` could reach, or
    wider).
    """
    params = MixtureParams(
        *(None if p is None else p.to("cpu", torch.float64) for p in params)
    )
    weights = torch.softmax(params.logits, dim=-1)[..., None]
    means = params.means
    mean = (weights * means).sum(1)
    dev = means - mean[:, None]
    scale = params.scale
    logits = mean.new_zeros(len(mean), 1)
    if params.offdiag is None:
        var = (weights * (scale**2 + dev**2)).sum(1)
        return MixtureParams(logits, mean[:, None], var.sqrt()[:, None])
    # Each component's covariance from its precision factor P (P P^T is the
    # precision), then the mixture's, then the factor of its precision.
    factor = torch.diag_embed(scale.reciprocal()) + params.offdiag
    eye = torch.eye(mean.shape[1], dtype=mean.dtype)
    inv = torch.linalg.solve_triangular(factor, eye, upper=False)
    cov = inv.transpose(-1, -2) @ inv + dev[..., :, None] * dev[..., None, :]
    cov = (weights[..., None] * cov).sum(1)
    factor = torch.linalg.cholesky(torch.linalg.inv(cov))
    diag = torch.diagonal(factor, dim1=-2, dim2=-1)
    offdiag = factor - torch.diag_embed(diag)
    return MixtureParams(
        logits, mean[:, None], diag.reciprocal()[:, None], offdiag[:, None]
    )


def one_gaussian_t(net, valid, n_threads) -> float | None:
    """The t statistic of the held-out rows' NLL under each row's
    :func:`moment_matched` Gaussian minus their NLL under ``net``'s mixture
    (negative where the Gaussian fits better).

    None where a mixture's covariance is singular in float64; ``inf`` where a
    difference is not finite (neither then favours the Gaussian).
    """
    net.module_.eval()
    with held_out_threads(net, valid, n_threads), torch.inference_mode():
        mixture = held_out_losses(net, valid.X, valid)
        try:
            gaussian = held_out_losses(net, valid.X, valid, transform=moment_matched)
        except torch.linalg.LinAlgError:
            return None
    difference = gaussian - mixture
    if not torch.isfinite(difference).all():
        return math.inf
    return t_statistic(difference)

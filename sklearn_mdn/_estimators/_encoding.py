"""Whether a fit's networks read their inputs piecewise-linearly encoded.

A network on standardised features fits smooth functions well, but the
steps, thresholds and point masses of single features (a concrete's age in
days, a building's discrete shape parameters) poorly: the piecewise-linear
encoding of each feature over quantile bins (Gorishniy et al., 2022,
:class:`~sklearn_mdn.PiecewiseLinearEncoder`) lets the first layer bend
each feature where its data are. On smooth problems it costs instead (the
``kin8nm`` arm: CRPS +18%). So with ``input_encoding="auto"`` the held-out
rows decide, after the first network and feature selection: a network is
trained from the same seeds on the kept features, each encoded in
``ENCODING_BINS`` bins (:mod:`sklearn_mdn._estimators._plan`), and it
replaces the first network where its NLL on the held-out rows is the lower
(the t statistic of the rows' paired differences below ``ENCODING_Z``).

The encoding is fitted on the standardised training inputs (bins at their
quantiles; the encoding of a feature does not depend on its units) and its
columns standardised in turn; the fitted estimator keeps it as
``input_encoder_``, ``encoded_mean_`` and ``encoded_scale_``, and every
prediction and later training (``partial_fit``) goes through it.
"""

import numpy as np

from .._nn._data import TensorDataset, to_numpy, to_tensor
from .._nn._held_out import held_out_rows, held_out_threads, paired_t
from ._embeddings import PiecewiseLinearEncoder
from ._preprocessing import _weighted_moments


def fit_encoding(dataset, support, n_bins):
    """The encoding of the standardised ``dataset``'s features ``support``
    (the fitted encoder and its columns' weighted means and scales), and
    ``dataset`` with its inputs so encoded: what
    :func:`~sklearn_mdn._nn._data.encode_inputs` makes of them, its rows
    transformed once."""
    X = to_numpy(dataset.X).astype(np.float64)[:, np.asarray(support)]
    encoder = PiecewiseLinearEncoder(n_bins=n_bins).fit(X)
    columns = encoder.transform(X)
    weight = dataset.sample_weight
    weight = np.ones(len(X)) if weight is None else to_numpy(weight).astype(float)
    mean, scale = _weighted_moments(columns, weight)
    inputs = to_tensor(columns, mean, scale, dataset.X.device)
    encoded = TensorDataset(inputs, dataset.y, dataset.sample_weight)
    return (encoder, mean, scale), encoded


def choose_encoding(net, candidate, dataset, encoded, threshold, n_threads):
    """The network kept, whether it is the encoded ``candidate``, and why.

    ``net`` reads the standardised ``dataset``, ``candidate`` the same rows
    ``encoded``; both hold out the same rows. The candidate is kept where
    the t statistic of its held-out NLL minus ``net``'s, row by row, is
    below ``threshold``.
    """
    valid = held_out_rows(net, dataset)
    with held_out_threads(candidate, valid, n_threads):
        t = paired_t(candidate, net, valid, held_out_rows(candidate, encoded))
    keep = t < threshold
    rule = (
        f"held-out NLL {'lower' if keep else 'not lower'} than on the raw inputs "
        f"(paired t {t:+.1f} over the {len(valid):,} held-out rows; kept below "
        f"{threshold:g})"
    )
    return (candidate if keep else net), keep, rule

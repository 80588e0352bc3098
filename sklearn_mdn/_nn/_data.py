"""The data of a training run: the rows as tensors, their batches and the
hold-out.

The estimators standardise with numpy (:mod:`sklearn_mdn._estimators._preprocessing`);
here the standardised arrays become float32 tensors on the fit's device (and
tensors that the estimators read become arrays), the rows' batches are
sliced from whole tensors (no DataLoader), and the seeded hold-out split and
the seeds of a fit are drawn.
"""

import math
from typing import NamedTuple

import numpy as np
import torch

# Rows the network sees at once outside training steps (validation and
# prediction): bounds the memory used on large inputs.
CHUNK_ROWS = 16_384


def n_holdout(n: int, fraction: float) -> int:
    """Rows that early stopping holds out of ``n``."""
    return max(1, round(fraction * n))


class Seeds(NamedTuple):
    """Seeds of a fit's private generators."""

    init: int
    split: int
    shuffle: int

    @classmethod
    def draw(cls, rng):
        return cls(*(int(s) for s in rng.randint(np.iinfo(np.int32).max, size=3)))

    @classmethod
    def draw_networks(cls, rng, n_networks) -> list:
        """Seeds of ``n_networks`` networks, drawn in turn from ``rng``,
        sharing the first one's split: one permutation whose disjoint blocks
        the networks hold out (:class:`HoldOut`), each stopping on other
        rows."""
        seeds = [cls.draw(rng) for _ in range(n_networks)]
        return [s._replace(split=seeds[0].split) for s in seeds]


class TensorDataset(torch.utils.data.Dataset):
    """Inputs, targets and optional sample weights held as tensors.

    Parameters
    ----------
    X : torch.Tensor of shape (n, p)
    y : torch.Tensor of shape (n, d)
    sample_weight : torch.Tensor of shape (n,) or None
    """

    def __init__(self, X, y, sample_weight=None):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        w = None if self.sample_weight is None else self.sample_weight[index]
        return self.X[index], (self.y[index], w)

    def subset(self, index):
        """Rows ``index`` of this data set, as a new data set."""
        # index_select: a quarter of the time of advanced indexing.
        w = self.sample_weight
        w = None if w is None else w.index_select(0, index)
        return TensorDataset(
            self.X.index_select(0, index), self.y.index_select(0, index), w
        )


def _randn_like(a: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    noise = torch.randn(a.shape, generator=generator, dtype=a.dtype)
    return noise.to(a.device)


class TensorBatches:
    """Mini-batches sliced from whole tensors, without a DataLoader.

    A shuffled epoch permutes the tensors once and yields contiguous views,
    so the cost of a batch is one slice, not ``batch_size`` calls to
    ``Dataset.__getitem__`` and a collate.

    Parameters
    ----------
    dataset : TensorDataset
    batch_size : int
    shuffle : bool, default=False
    seed : int or None, default=None
        Seed of the private generator that shuffles the rows and draws the
        noise.
    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to inputs and
        targets of shuffled (training) epochs; the net lowers it as training
        goes on.
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=None, noise=0.0):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.noise = noise
        self.generator = None
        if shuffle:
            self.generator = torch.Generator().manual_seed(int(seed or 0))
        # Unit weights (no sample_weight given) are not passed on: weighting
        # by 1 costs a few tensor operations per step, for rounding only.
        w = dataset.sample_weight
        self.weighted = w is not None and not bool((w == 1).all())

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        data = self.dataset
        if self.shuffle:
            perm = torch.randperm(len(data), generator=self.generator)
            data = data.subset(perm.to(data.X.device))
        X, y = data.X, data.y
        if self.shuffle and self.noise > 0:
            X = X + self.noise * _randn_like(X, self.generator)
            y = y + self.noise * _randn_like(y, self.generator)
        w = data.sample_weight if self.weighted else None
        for start in range(0, len(X), self.batch_size):
            stop = start + self.batch_size
            yield X[start:stop], (y[start:stop], None if w is None else w[start:stop])


class HoldOut:
    """A seeded random train/validation split of a :class:`TensorDataset`.

    Parameters
    ----------
    fraction : float
        Fraction of the rows held out for validation (:func:`n_holdout`).
    seed : int
        Seed of the split: a random permutation of the rows.
    fold : int, default=0
        Which of ``n_folds`` blocks of the permutation is held out: its
        ``n_valid`` rows from ``fold * n_valid`` on, wrapping around. The
        ``n_folds`` splits of one seed hold out disjoint rows when
        ``n_folds * n_valid`` rows fit in the data; otherwise their blocks
        start ``n / n_folds`` rows apart and overlap as little as they can.
    n_folds : int, default=1
        Number of splits sharing the seed.
    """

    def __init__(self, fraction, seed, fold=0, n_folds=1):
        self.fraction = fraction
        self.seed = seed
        self.fold = fold
        self.n_folds = n_folds

    def __call__(self, dataset, y=None, **fit_params):
        train, valid = self.indices(len(dataset))
        device = dataset.X.device
        return dataset.subset(train.to(device)), dataset.subset(valid.to(device))

    def indices(self, n):
        """The training and held-out rows of ``n`` rows, as index tensors."""
        n_valid = n_holdout(n, self.fraction)
        generator = torch.Generator().manual_seed(int(self.seed))
        perm = torch.randperm(n, generator=generator)
        if self.n_folds * n_valid <= n:
            start = self.fold * n_valid
        else:
            start = self.fold * n // self.n_folds
        perm = perm.roll(-start)
        return perm[n_valid:], perm[:n_valid]


# What ``device`` may be besides a string (``MDNRegressor``'s constraint).
DEVICE_TYPE = torch.device


def to_tensor(a, mean, scale, device) -> torch.Tensor:
    """``(a - mean) / scale`` in float64, as a float32 tensor on ``device``."""
    a = (np.asarray(a, dtype=np.float64) - mean) / scale
    return torch.as_tensor(a, dtype=torch.float32).to(device)


def encode_inputs(inputs, support, encoding) -> torch.Tensor:
    """The standardised ``inputs`` (a tensor) as networks read them that
    read the encoding ``(encoder, mean, scale)`` of the features
    ``support``: ``(encoder.transform(inputs[:, support]) - mean) / scale``."""
    encoder, mean, scale = encoding
    X = inputs.cpu().numpy().astype(np.float64)[:, np.asarray(support, dtype=bool)]
    return to_tensor(encoder.transform(X), mean, scale, inputs.device)


def input_encoding(estimator):
    """The fitted ``estimator``'s encoding of its inputs, or None."""
    encoder = getattr(estimator, "input_encoder_", None)
    if encoder is None:
        return None
    return encoder, estimator.encoded_mean_, estimator.encoded_scale_


def standardised_dataset(X, y2, sample_weight, moments, device) -> TensorDataset:
    """The training tensors of ``X`` and ``y2`` standardised by ``moments``
    (``x_mean, x_scale, y_mean, y_scale``), the weights scaled to a mean of 1."""
    x_mean, x_scale, y_mean, y_scale = moments
    n = len(y2)
    return TensorDataset(
        to_tensor(X, x_mean, x_scale, device),
        to_tensor(y2, y_mean, y_scale, device),
        torch.as_tensor(
            sample_weight * (n / sample_weight.sum()), dtype=torch.float32
        ).to(device),
    )


def to_numpy(tensor) -> np.ndarray | None:
    """``tensor`` as a numpy array on the CPU (None stays None)."""
    return None if tensor is None else tensor.cpu().numpy()

"""Synthetic truths with exact conditional densities: how far is MDNRegressor?

Each truth is a generator of ``(X, y)`` and, except the robot arm, its exact
conditional density ``p(y | x)`` in closed form (float64). A model is fitted
with its defaults (no per-truth tuning) on a fresh training draw per seed and
scored on one large test set per truth (10,000 rows, the same for every seed
and model):

- the held-out NLL minus the oracle NLL (nats per row; 0 is perfect, the gap
  is the average KL divergence from the truth to the prediction), its mean
  and standard deviation over seeds;
- the empirical coverage of the central 90% interval (multi-output: the
  per-target marginal intervals, coverage averaged over the targets);
- the RMSE of the predictive mean over the Bayes RMSE (that of the true
  conditional mean, on the same test rows; multi-output: over all entries);
- the CPU seconds of the fit (``time.process_time``, one torch thread) and
  ``n_iter_`` / ``n_steps_`` (the raw records also keep ``spread_factor_``
  and the early-stopped network's best held-out NLL).

The robot arm has no density (its targets are a deterministic two-valued
function of the inputs): it reports the forward-kinematics error of one
sample per test row instead, with the NLL. Its low-noise twin
``robot-noisy`` (joint angles measured with an error of 0.01 rad) has an
exact density, and reports both.

The branch truths (``arm-limits``, ``fold``, ``part-branch`` and their
``-noisy`` twins) are inverse problems whose number of solutions changes
across the input space, so that branches end abruptly: an arm with joint
limits, the inverse of a function with folds, a branch on part of the
domain. Noise-free, they report the forward error of one sample per row and
of the heaviest component, the share of samples within a tolerance, the
*phantom mass* (predicted probability outside every true solution's
neighbourhood) and whether the modes that ``predict_modes`` reports match
the true solutions; the noisy twins add Gaussian noise of 0.01 to the
targets, which keeps the density exact (a mixture on the solutions), and
report the NLL gap as well. ``--draws N`` fits every seed on each of N
training draws, so that the spread over the data shows apart from that
over ``random_state``.

Usage::

    python benchmarks/bench_synthetic.py [--truths hetero,skew] [--seeds 5] \\
        [--jobs 2] [--model mdn] [--model "mdn:max_iter=300,n_components=10"] \\
        [--model ngboost] [--draws 5] [--out benchmarks/results/synthetic.md]
    python benchmarks/bench_synthetic.py --check      # validate the oracles
    python benchmarks/bench_synthetic.py --fast       # smoke run, to /tmp
    python benchmarks/bench_synthetic.py --table-only # re-tabulate the raw JSONL

Every fit appends a JSON line to ``<out stem>_raw.jsonl``; a rerun skips the
(model, truth, seed, scale) fits already there.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import inspect
import math
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _raw import read_raw, run_and_append
from scipy import special, stats

COVERAGE = 0.9
N_TEST = 10_000
LOG_2PI = math.log(2 * math.pi)


# ------------------------------------------------------------------ truths
def _normal_logpdf(y, loc, scale):
    z = (y - loc) / scale
    return -0.5 * z * z - np.log(scale) - 0.5 * LOG_2PI


class Truth:
    """A data-generating process: ``sample_x``, ``sample_y``, ``logpdf``."""

    name = ""
    description = ""
    n_train = 4000
    n_features = 2
    n_targets = 1
    has_density = True
    ngboost = True  # a univariate Normal peer makes sense
    unimodal = True  # p(y | x) has one mode: any second predicted mode is spurious

    def sample_x(self, rng, n):
        return rng.uniform(-2, 2, size=(n, self.n_features))

    def sample(self, rng, n):
        X = self.sample_x(rng, n)
        return X, self.sample_y(rng, X)

    def sample_y(self, rng, X):
        raise NotImplementedError

    def logpdf(self, X, y):
        """Exact ``log p(y | x)``, row by row; ``y`` may have leading axes."""
        raise NotImplementedError

    def mean(self, X):
        """True conditional mean ``E[y | x]``."""
        raise NotImplementedError

    def center_scale(self, X):
        """A location and a (smallest) scale of ``p(y | x)``, for quadrature."""
        raise NotImplementedError

    def entropy(self, X):
        """Differential entropy of ``p(y | x)``, independently of ``logpdf``
        where a closed form exists (else by quadrature of ``logpdf``)."""
        return _quad_entropy(self, X)


class Hetero(Truth):
    name = "hetero"
    description = "x ~ U(-2,2)^2, y = sin(2 x1) + (0.1 + 0.4 |x2|) N(0,1)"

    def _scale(self, X):
        return 0.1 + 0.4 * np.abs(X[:, 1])

    def sample_y(self, rng, X):
        return np.sin(2 * X[:, 0]) + self._scale(X) * rng.standard_normal(len(X))

    def logpdf(self, X, y):
        return _normal_logpdf(y, np.sin(2 * X[:, 0]), self._scale(X))

    def mean(self, X):
        return np.sin(2 * X[:, 0])

    def center_scale(self, X):
        return self.mean(X), self._scale(X)

    def entropy(self, X):
        return 0.5 * np.log(2 * math.pi * math.e * self._scale(X) ** 2)


class Skew(Truth):
    name = "skew"
    description = (
        "x ~ U(-2,2)^2, y = cos(x1) + 0.5 x2 + skew-normal noise of scale "
        "0.2 + 0.1 (x1 + 2) and shape a = 3 x2 (skewed left or right by x2)"
    )

    def _params(self, X):
        loc = np.cos(X[:, 0]) + 0.5 * X[:, 1]
        scale = 0.2 + 0.1 * (X[:, 0] + 2)
        return loc, scale, 3 * X[:, 1]

    def sample_y(self, rng, X):
        loc, scale, a = self._params(X)
        return stats.skewnorm.rvs(a, loc=loc, scale=scale, random_state=rng)

    def logpdf(self, X, y):
        loc, scale, a = self._params(X)
        return stats.skewnorm.logpdf(y, a, loc=loc, scale=scale)

    def mean(self, X):
        loc, scale, a = self._params(X)
        return loc + scale * a / np.sqrt(1 + a * a) * math.sqrt(2 / math.pi)

    def center_scale(self, X):
        loc, scale, _ = self._params(X)
        return loc, scale


class Heavy(Truth):
    name = "heavy"
    description = "x ~ U(-2,2)^2, y = tanh(x1) + 0.5 x2 + (0.2 + 0.2 |x1|) t_3"
    df = 3

    def _scale(self, X):
        return 0.2 + 0.2 * np.abs(X[:, 0])

    def mean(self, X):
        return np.tanh(X[:, 0]) + 0.5 * X[:, 1]

    def sample_y(self, rng, X):
        return self.mean(X) + self._scale(X) * rng.standard_t(self.df, len(X))

    def logpdf(self, X, y):
        return stats.t.logpdf(y, self.df, loc=self.mean(X), scale=self._scale(X))

    def center_scale(self, X):
        return self.mean(X), self._scale(X)

    def entropy(self, X):
        return stats.t.entropy(self.df) + np.log(self._scale(X))


class Multi3(Truth):
    name = "multi3"
    description = (
        "x ~ U(-2,2)^2, y ~ N3(mu(x), L(x) L(x)^T): mu = (sin x1, cos x2, "
        "x1 x2 / 2), L = [[0.3 + 0.1 x1, 0, 0], [0.3 x2, 0.2, 0], "
        "[0.2 x1, -0.2 x2, 0.15 + 0.05 |x1|]] (correlations change sign with x)"
    )
    n_targets = 3
    ngboost = False

    def mean(self, X):
        x1, x2 = X[:, 0], X[:, 1]
        return np.stack([np.sin(x1), np.cos(x2), x1 * x2 / 2], axis=1)

    def _tril(self, X):
        x1, x2 = X[:, 0], X[:, 1]
        L = np.zeros((len(X), 3, 3))
        L[:, 0, 0] = 0.3 + 0.1 * x1
        L[:, 1, 0] = 0.3 * x2
        L[:, 1, 1] = 0.2
        L[:, 2, 0] = 0.2 * x1
        L[:, 2, 1] = -0.2 * x2
        L[:, 2, 2] = 0.15 + 0.05 * np.abs(x1)
        return L

    def sample_y(self, rng, X):
        z = rng.standard_normal((len(X), 3))
        return self.mean(X) + np.einsum("nij,nj->ni", self._tril(X), z)

    def logpdf(self, X, y):
        L = self._tril(X)
        diff = y - self.mean(X)  # (..., n, 3)
        # forward substitution, row by row of the lower triangle
        z0 = diff[..., 0] / L[:, 0, 0]
        z1 = (diff[..., 1] - L[:, 1, 0] * z0) / L[:, 1, 1]
        z2 = (diff[..., 2] - L[:, 2, 0] * z0 - L[:, 2, 1] * z1) / L[:, 2, 2]
        half_log_det = np.log(L[:, 0, 0] * L[:, 1, 1] * L[:, 2, 2])
        return -0.5 * (z0**2 + z1**2 + z2**2) - half_log_det - 1.5 * LOG_2PI

    def boxes(self, X):
        """Where ``p(y | x)`` has its mass: (centres, scales) of each mode."""
        L = self._tril(X)
        return [(self.mean(X), np.sqrt((L**2).sum(axis=2)))]

    def entropy(self, X):
        L = self._tril(X)
        cov = L @ np.swapaxes(L, 1, 2)
        return 0.5 * np.linalg.slogdet(2 * math.pi * math.e * cov)[1]


class Small(Truth):
    name = "small"
    description = "150 rows, x ~ N(0,1)^5, y = 1 + 2 x1 + 0.5 N(0,1)"
    n_train = 150
    n_features = 5

    def sample_x(self, rng, n):
        return rng.standard_normal((n, self.n_features))

    def mean(self, X):
        return 1 + 2 * X[:, 0]

    def sample_y(self, rng, X):
        return self.mean(X) + 0.5 * rng.standard_normal(len(X))

    def logpdf(self, X, y):
        return _normal_logpdf(y, self.mean(X), 0.5)

    def center_scale(self, X):
        return self.mean(X), np.full(len(X), 0.5)

    def entropy(self, X):
        return np.full(len(X), 0.5 * math.log(2 * math.pi * math.e * 0.25))


class Irrelevant(Truth):
    name = "irrelevant"
    description = (
        "x ~ U(-2,2)^40, y = sin(2 x1) + 0.5 x2 + (0.1 + 0.3 |x3|) N(0,1); "
        "37 features are noise"
    )
    n_features = 40

    def _scale(self, X):
        return 0.1 + 0.3 * np.abs(X[:, 2])

    def mean(self, X):
        return np.sin(2 * X[:, 0]) + 0.5 * X[:, 1]

    def sample_y(self, rng, X):
        return self.mean(X) + self._scale(X) * rng.standard_normal(len(X))

    def logpdf(self, X, y):
        return _normal_logpdf(y, self.mean(X), self._scale(X))

    def center_scale(self, X):
        return self.mean(X), self._scale(X)

    def entropy(self, X):
        return 0.5 * np.log(2 * math.pi * math.e * self._scale(X) ** 2)


class Bimodal(Truth):
    name = "bimodal"
    unimodal = False
    description = (
        "x ~ U(0,1), y = s sqrt(x) + 0.05 N(0,1) with s = +1 with probability "
        "0.3 + 0.4 x, else -1 (the inverse of x = y^2)"
    )
    n_features = 1
    sigma = 0.05

    def sample_x(self, rng, n):
        return rng.uniform(0, 1, size=(n, 1))

    def _p_plus(self, X):
        return 0.3 + 0.4 * X[:, 0]

    def sample_y(self, rng, X):
        s = np.where(rng.uniform(size=len(X)) < self._p_plus(X), 1.0, -1.0)
        return s * np.sqrt(X[:, 0]) + self.sigma * rng.standard_normal(len(X))

    def logpdf(self, X, y):
        r, p = np.sqrt(X[:, 0]), self._p_plus(X)
        return np.logaddexp(
            np.log(p) + _normal_logpdf(y, r, self.sigma),
            np.log1p(-p) + _normal_logpdf(y, -r, self.sigma),
        )

    def mean(self, X):
        return (2 * self._p_plus(X) - 1) * np.sqrt(X[:, 0])

    def center_scale(self, X):
        return np.zeros(len(X)), np.full(len(X), self.sigma)


class Robot(Truth):
    """Two-link arm, both links of length 1 (reach 0 to 2), no noise.

    Joint angles are uniform on the parallelogram ``theta1 = phi - theta2 / 2``
    with ``phi ~ U(0, pi/2)`` (the hand's polar angle) and ``|theta2| ~
    U(0.5, 2.5)`` of random sign: the region is closed under the elbow flip
    ``(theta1, theta2) -> (theta1 + theta2, -theta2)``, so every hand position
    has exactly two solutions of equal probability (elbow up and down).
    """

    name = "robot"
    unimodal = False
    description = (
        "two-link arm, links 1 and 1; inputs: hand (x, y) = FK(theta), no "
        "noise; targets: (theta1, theta2) uniform on theta1 = phi - theta2/2, "
        "phi ~ U(0, pi/2), |theta2| ~ U(0.5, 2.5), sign +-1: two equally "
        "likely solutions (elbow up/down) for every hand position"
    )
    n_train = 5000
    n_targets = 2
    has_density = False
    ngboost = False

    @staticmethod
    def fk(theta):
        t1, t2 = theta[..., 0], theta[..., 1]
        return np.stack(
            [np.cos(t1) + np.cos(t1 + t2), np.sin(t1) + np.sin(t1 + t2)], axis=-1
        )

    def sample_angles(self, rng, n):
        phi = rng.uniform(0, math.pi / 2, n)
        t2 = rng.uniform(0.5, 2.5, n) * rng.choice([-1.0, 1.0], n)
        return np.stack([phi - t2 / 2, t2], axis=1)

    def sample(self, rng, n):
        theta = self.sample_angles(rng, n)
        return self.fk(theta), theta

    def mean(self, X):
        # the two solutions are (phi -+ t/2, +-t): their average is (phi, 0)
        phi = np.arctan2(X[:, 1], X[:, 0])
        return np.stack([phi, np.zeros(len(X))], axis=1)


class NoisyRobot(Robot):
    """The two-link arm of :class:`Robot`, with the measured joint angles
    off by Gaussian noise of ``sigma`` radians (an encoder's error).

    The hand position is exact and the targets are ``theta + sigma N(0, I)``,
    so ``p(y | x)`` is the equal mixture of two Gaussians of scale ``sigma``
    centred on the two solutions of the inverse kinematics: the prior of
    the angles is uniform and ``|det J| = |sin theta2|`` is the same at both,
    so each has posterior weight 1/2. The two centres are at least
    ``1 / sigma`` standard deviations apart (``|theta2| >= 0.5``), so the
    entropy ``log 2 + log(2 pi e sigma^2)`` is exact in double precision.
    """

    name = "robot-noisy"
    sigma = 0.01
    description = (
        "the robot arm's inputs, with targets theta + 0.01 N(0, I) (joint "
        "angles measured with an error of 0.01 rad): p(y | x) is the equal "
        "mixture of two Gaussians of scale 0.01 on the two solutions"
    )
    has_density = True

    def sample_x(self, rng, n):
        return self.fk(self.sample_angles(rng, n))

    def solutions(self, X):
        """The two joint-angle solutions of hand positions ``X``, (n, 2) each."""
        phi = np.arctan2(X[:, 1], X[:, 0])
        t = np.arccos(np.clip((X**2).sum(axis=1) / 2 - 1, -1.0, 1.0))
        return (
            np.stack([phi - t / 2, t], axis=1),
            np.stack([phi + t / 2, -t], axis=1),
        )

    def sample_y(self, rng, X):
        up, down = self.solutions(X)
        theta = np.where(rng.random((len(X), 1)) < 0.5, up, down)
        return theta + self.sigma * rng.standard_normal(theta.shape)

    def sample(self, rng, n):
        return Truth.sample(self, rng, n)

    def logpdf(self, X, y):
        up, down = self.solutions(X)
        return math.log(0.5) + np.logaddexp(
            _normal_logpdf(y, up, self.sigma).sum(axis=-1),
            _normal_logpdf(y, down, self.sigma).sum(axis=-1),
        )

    def boxes(self, X):
        up, down = self.solutions(X)
        sd = np.full_like(up, self.sigma)
        return [(up, sd), (down, sd)]

    def entropy(self, X):
        return np.full(
            len(X), math.log(2) + math.log(2 * math.pi * math.e * self.sigma**2)
        )


# ------------------------------------------------- truths whose branches end
class BranchTruth(Truth):
    """An inverse problem whose number of solutions changes with ``x``.

    ``sample_latent`` draws ``(x, theta)`` with ``theta`` one exact solution
    from the prior, and ``solutions(x)`` returns every solution the prior
    admits with its posterior probability. Noise-free (``sigma = 0``), the
    targets are ``theta`` and there is no density; with ``sigma > 0`` they are
    ``theta + sigma N(0, I)``, so that ``p(y | x)`` is exactly the mixture of
    Gaussians of scale ``sigma`` centred on the solutions, with their
    posterior weights (the noise is added after the solution is drawn, so it
    does not change which solutions exist or their weights).

    ``radius`` is a solution's neighbourhood in target units: predicted mass
    outside every neighbourhood is *phantom*, and a predicted mode inside
    one matches that solution. Solutions closer than ``2 radius`` to each
    other (near a fold) make one cluster, one expected mode. A target whose
    forward error is below ``tolerance`` counts as a solution.
    """

    has_density = False
    ngboost = False
    unimodal = False
    n_train = 5000
    sigma = 0.0
    radius = 0.05
    tolerance = 0.01
    max_solutions = 1

    def sample_latent(self, rng, n):
        """``(X, theta)``: inputs and one exact solution per row, (n, d)."""
        raise NotImplementedError

    def solutions(self, X):
        """Admissible solutions (n, S, d), NaN padded, and their posterior
        weights (n, S), zero on the padding."""
        raise NotImplementedError

    def forward_error(self, X, y):
        """How far targets ``y`` (n, d) are from solving the problem at ``X``;
        here the distance to the nearest admissible solution."""
        sol, _ = self.solutions(X)
        gap = np.linalg.norm(sol - y.reshape(len(X), 1, -1), axis=2)
        return np.nanmin(gap, axis=1)

    def _shape(self, theta):
        return theta[:, 0] if self.n_targets == 1 else theta

    def sample(self, rng, n):
        X, theta = self.sample_latent(rng, n)
        if self.sigma:
            theta = theta + self.sigma * rng.standard_normal(theta.shape)
        return X, self._shape(theta)

    def sample_x(self, rng, n):
        return self.sample_latent(rng, n)[0]

    def sample_y(self, rng, X):
        """Draws from ``p(y | x)``: a solution by its weight, plus the noise."""
        sol, w = self.solutions(X)
        pick = (rng.random((len(X), 1)) > np.cumsum(w, axis=1)).sum(axis=1)
        theta = sol[np.arange(len(X)), np.minimum(pick, sol.shape[1] - 1)]
        return self._shape(theta + self.sigma * rng.standard_normal(theta.shape))

    def logpdf(self, X, y):
        sol, w = self.solutions(X)
        y = np.asarray(y, dtype=float)
        if self.n_targets == 1:
            y = y[..., None]
        diff = y[..., None, :] - np.where(np.isnan(sol), 0.0, sol)
        log_n = _normal_logpdf(diff, 0.0, self.sigma).sum(axis=-1)
        with np.errstate(divide="ignore"):
            return special.logsumexp(np.log(w) + log_n, axis=-1)

    def mean(self, X):
        sol, w = self.solutions(X)
        return self._shape(np.nansum(w[:, :, None] * sol, axis=1))

    def center_scale(self, X):
        sol, _ = self.solutions(X)
        return np.nanmean(sol[:, :, 0], axis=1), np.full(len(X), self.sigma)

    def boxes(self, X):
        """The solutions present in every row of ``X``, each of scale sigma."""
        sol, w = self.solutions(X)
        sd = np.full(sol.shape[::2], self.sigma)
        return [(sol[:, j], sd) for j in range(sol.shape[1]) if np.all(w[:, j] > 0)]

    def entropy(self, X):
        if self.n_targets == 1:
            return _quad_entropy(self, X)
        # several targets (the arm): solutions 0.8 apart, 80 sigma, no overlap
        _, w = self.solutions(X)
        h_w = -np.where(w > 0, w * np.log(np.where(w > 0, w, 1.0)), 0.0).sum(axis=1)
        return h_w + 0.5 * self.n_targets * math.log(
            2 * math.pi * math.e * self.sigma**2
        )

    def clusters(self, X):
        """Cluster label (n, S) of each solution (-1 on the padding): solutions
        closer than ``2 radius`` are joined, transitively."""
        sol, w = self.solutions(X)
        S = sol.shape[1]
        near = np.linalg.norm(sol[:, :, None] - sol[:, None], axis=3) < 2 * self.radius
        label = np.broadcast_to(np.arange(S), w.shape).copy()
        for _ in range(S):
            label = np.where(near, label[:, None, :], S).min(axis=2)
        return np.where(w > 0, label, -1)


class ArmLimits(BranchTruth):
    """Two-link arm, links 1 and 0.6, with joint limits.

    The joint angles are uniform on ``theta1`` in [0, pi/2] and ``theta2`` in
    [-1.5, -0.4] or [0.4, 2.5]. A hand position has two elbow solutions
    (``theta2 = +-t``); for about 60% of the workspace only one lies inside
    the limits, so the second branch ends where a limit cuts it. Both
    solutions have ``|det J| = l1 l2 |sin t|`` and the prior is uniform, so
    the admissible ones are equally likely.
    """

    name = "arm-limits"
    description = (
        "two-link arm, links 1 and 0.6, joint limits theta1 in [0, pi/2], "
        "theta2 in [-1.5, -0.4] or [0.4, 2.5] (uniform); inputs: hand (x, y) = "
        "FK(theta), no noise; targets: (theta1, theta2), one or two equally "
        "likely solutions (61% / 39% of the rows)"
    )
    n_targets = 2
    max_solutions = 2
    radius = 0.1  # rad; the two elbow solutions are at least 0.8 apart
    l1, l2 = 1.0, 0.6
    t2_parts = ((-1.5, -0.4), (0.4, 2.5))

    def fk(self, theta):
        t1, t2 = theta[..., 0], theta[..., 1]
        return np.stack(
            [
                self.l1 * np.cos(t1) + self.l2 * np.cos(t1 + t2),
                self.l1 * np.sin(t1) + self.l2 * np.sin(t1 + t2),
            ],
            axis=-1,
        )

    def _admissible(self, theta, slack=1e-9):
        t1, t2 = theta[..., 0], theta[..., 1]
        ok = (t1 >= -slack) & (t1 <= math.pi / 2 + slack)
        part = np.zeros_like(ok)
        for lo, hi in self.t2_parts:
            part |= (t2 >= lo - slack) & (t2 <= hi + slack)
        return ok & part

    def sample_latent(self, rng, n):
        t1 = rng.uniform(0, math.pi / 2, n)
        lengths = [hi - lo for lo, hi in self.t2_parts]
        u = rng.uniform(0, sum(lengths), n)
        (lo0, _), (lo1, _) = self.t2_parts
        t2 = np.where(u < lengths[0], lo0 + u, lo1 + u - lengths[0])
        theta = np.stack([t1, t2], axis=1)
        return self.fk(theta), theta

    def elbow_solutions(self, X):
        """Both elbow solutions (theta1, theta2) of each hand position,
        admissible or not: (n, 2, 2)."""
        phi = np.arctan2(X[:, 1], X[:, 0])
        c = ((X**2).sum(axis=1) - self.l1**2 - self.l2**2) / (2 * self.l1 * self.l2)
        t = np.arccos(np.clip(c, -1.0, 1.0))
        sol = np.empty((len(X), 2, 2))
        for j, s in enumerate((1.0, -1.0)):
            t2 = s * t
            t1 = phi - np.arctan2(self.l2 * np.sin(t2), self.l1 + self.l2 * np.cos(t2))
            sol[:, j] = np.stack([(t1 + math.pi) % (2 * math.pi) - math.pi, t2], 1)
        return sol

    def solutions(self, X):
        sol = self.elbow_solutions(X)
        ok = self._admissible(sol)
        w = ok / ok.sum(axis=1, keepdims=True)
        return np.where(ok[:, :, None], sol, np.nan), w

    def forward_error(self, X, y):
        return np.linalg.norm(self.fk(y.reshape(len(X), 2)) - X, axis=1)


class Fold(BranchTruth):
    """Bishop's (1994) toy inverse problem: ``x = y + 0.3 sin(2 pi y)``,
    ``y ~ U(0, 1)``, predicted the other way round.

    The map folds back on ``y`` in [0.339, 0.661], so that ``x`` in (0.407,
    0.593) has three solutions and the rest one; two branches meet and end
    at each fold. Solution ``y_i`` has posterior weight proportional to
    ``1 / |g'(y_i)|`` (uniform prior, change of variables), which grows
    without bound near a fold. The roots are found by bisection on the three
    monotone pieces, to machine precision.
    """

    name = "fold"
    description = (
        "x = y + 0.3 sin(2 pi y), y ~ U(0, 1) (Bishop 1994), no noise; "
        "inverse: y given x, three branches for x in (0.407, 0.593), one "
        "elsewhere, weights proportional to 1 / |dx/dy|"
    )
    n_features = 1
    max_solutions = 3
    a, b = 0.3, 2 * math.pi

    def g(self, y):
        return y + self.a * np.sin(self.b * y)

    def dg(self, y):
        return 1 + self.a * self.b * np.cos(self.b * y)

    def _pieces(self):
        c = math.acos(-1 / (self.a * self.b)) / self.b
        return ((0.0, c), (c, 1 - c), (1 - c, 1.0))

    def sample_latent(self, rng, n):
        y = rng.uniform(0, 1, size=(n, 1))
        return self.g(y), y

    def solutions(self, X):
        x = X[:, 0]
        sol = np.full((len(X), 3, 1), np.nan)
        for j, (lo, hi) in enumerate(self._pieces()):
            g_lo, g_hi = self.g(lo), self.g(hi)
            inside = (x >= min(g_lo, g_hi)) & (x <= max(g_lo, g_hi))
            a, b = np.full(len(x), lo), np.full(len(x), hi)
            sign = 1.0 if g_hi > g_lo else -1.0
            for _ in range(64):  # bisection, to the last bit
                mid = 0.5 * (a + b)
                up = sign * (self.g(mid) - x) > 0
                a, b = np.where(up, a, mid), np.where(up, mid, b)
            sol[inside, j, 0] = 0.5 * (a + b)[inside]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(np.isnan(sol[:, :, 0]), 0.0, 1 / np.abs(self.dg(sol[:, :, 0])))
        return sol, w / w.sum(axis=1, keepdims=True)

    def forward_error(self, X, y):
        return np.abs(self.g(y.reshape(len(X))) - X[:, 0])


class PartBranch(BranchTruth):
    """A branch that exists on part of the domain only.

    ``x ~ U(-1, 1)``; ``y = 0.6 x + 0.3 sin(3 x)`` everywhere, and for ``x``
    in [-0.2, 0.6] it is instead ``1.2 - 0.5 x`` with probability 0.3: a
    second branch that starts and ends abruptly inside the domain (at least
    0.25 above the first). There is no forward map: the forward error is
    the distance to the nearest branch that exists at ``x``.
    """

    name = "part-branch"
    description = (
        "x ~ U(-1, 1), y = 0.6 x + 0.3 sin(3 x), or for x in [-0.2, 0.6] "
        "1.2 - 0.5 x with probability 0.3 (a branch on part of the domain), "
        "no noise"
    )
    n_features = 1
    max_solutions = 2
    span = (-0.2, 0.6)
    p_second = 0.3

    def _branches(self, x):
        return 0.6 * x + 0.3 * np.sin(3 * x), 1.2 - 0.5 * x

    def sample_latent(self, rng, n):
        x = rng.uniform(-1, 1, n)
        first, second = self._branches(x)
        on = (x >= self.span[0]) & (x <= self.span[1])
        y = np.where(on & (rng.random(n) < self.p_second), second, first)
        return x[:, None], y[:, None]

    def solutions(self, X):
        x = X[:, 0]
        first, second = self._branches(x)
        on = (x >= self.span[0]) & (x <= self.span[1])
        sol = np.stack([first, np.where(on, second, np.nan)], axis=1)[:, :, None]
        w = np.stack([np.where(on, 1 - self.p_second, 1.0), on * self.p_second], 1)
        return sol, w


class ArmLimitsNoisy(ArmLimits):
    name = "arm-limits-noisy"
    sigma = 0.01
    has_density = True
    description = (
        "the inputs of arm-limits, targets theta + 0.01 N(0, I) (rad): p(y | x) "
        "is the equal mixture of Gaussians of scale 0.01 on the admissible "
        "solutions"
    )


class FoldNoisy(Fold):
    name = "fold-noisy"
    sigma = 0.01
    has_density = True
    description = (
        "the inputs of fold, targets y + 0.01 N(0, 1): p(y | x) is the mixture "
        "of Gaussians of scale 0.01 on the solutions, weights 1 / |dx/dy|"
    )


class PartBranchNoisy(PartBranch):
    name = "part-branch-noisy"
    sigma = 0.01
    has_density = True
    description = (
        "part-branch with y + 0.01 N(0, 1): p(y | x) is one Gaussian of scale "
        "0.01, or two (weights 0.7 and 0.3) for x in [-0.2, 0.6]"
    )


TRUTHS = {
    t.name: t
    for t in (
        Hetero(),
        Skew(),
        Heavy(),
        Multi3(),
        Small(),
        Irrelevant(),
        Bimodal(),
        Robot(),
        NoisyRobot(),
        ArmLimits(),
        ArmLimitsNoisy(),
        Fold(),
        FoldNoisy(),
        PartBranch(),
        PartBranchNoisy(),  # last: a truth's data seeds follow its place here
    )
}


def truth_data(truth, seed, scale=1.0):
    """(X_train, y_train) of this seed and the truth's fixed test set."""
    tid = list(TRUTHS).index(truth.name)
    n_train = max(50, round(truth.n_train * scale))
    n_test = max(500, round(N_TEST * scale))
    train = truth.sample(np.random.default_rng([tid, seed]), n_train)
    test = truth.sample(np.random.default_rng([tid, 10**6]), n_test)
    return train, test


# ---------------------------------------------------------------- checks
def _sinh_grid(center, scale, n=20001, span=1e4):
    """Quadrature nodes ``center + scale sinh(t)`` (per row) and weights."""
    t = np.linspace(-math.asinh(span), math.asinh(span), n)
    w = np.full(n, t[1] - t[0])
    w[[0, -1]] /= 2
    y = center[None, :] + scale[None, :] * np.sinh(t)[:, None]
    return y, w[:, None] * scale[None, :] * np.cosh(t)[:, None]


def _quad_entropy(truth, X):
    y, w = _sinh_grid(*truth.center_scale(X))
    logp = truth.logpdf(X, y)
    p = np.exp(logp)
    return -(w * np.where(p > 0, p * logp, 0.0)).sum(axis=0)


def _check_branches(truth, rng, report, n=20_000):
    """The solutions of a branch truth against its generator."""
    X, theta = truth.sample_latent(rng, n)
    sol, w = truth.solutions(X)
    gap = np.nanmin(np.linalg.norm(sol - theta[:, None], axis=2), axis=1)
    report("the drawn solution is among solutions(x), max gap", f"{gap.max():.1e}",
           gap.max() < 1e-9)  # fmt: skip
    err = max(
        truth.forward_error(X[w[:, j] > 0], sol[w[:, j] > 0, j]).max()
        for j in range(sol.shape[1])
        if np.any(w[:, j] > 0)
    )
    report("forward error of every solution, max", f"{err:.1e}", err < 1e-9)
    counts = np.bincount((w > 0).sum(axis=1), minlength=truth.max_solutions + 1)
    report(
        "rows with 1, 2, ... solutions (none with 0)",
        ", ".join(str(c) for c in counts[1:]),
        counts[0] == 0 and np.abs(w.sum(axis=1) - 1).max() < 1e-12,
    )
    # Posterior weights: E[1{drawn solution is slot j} - w_j(x)] = 0 given x,
    # tested on the rows with several solutions, in four bins of x.
    slot = np.nanargmin(np.linalg.norm(sol - theta[:, None], axis=2), axis=1)
    several = (w > 0).sum(axis=1) > 1
    edges = np.quantile(X[several, 0], [0, 0.25, 0.5, 0.75, 1])
    worst = 0.0
    for j in range(sol.shape[1]):
        resid = (slot == j) - w[:, j]
        for lo, hi in zip(edges[:-1], edges[1:]):
            r = resid[several & (X[:, 0] >= lo) & (X[:, 0] <= hi)]
            worst = max(worst, abs(r.mean()) / (r.std() / math.sqrt(len(r)) + 1e-300))
    # The measures, on the truth itself as a mixture: nothing phantom.
    X = X[:4000]
    got = branch_measures(truth, oracle_dist(truth, X), X, seed=0)
    report(
        "the truth as a mixture: phantom mass, share within tolerance, modes "
        "right at min_mass 0",
        f"{got['phantom']:.1e}, {got['fe_within']:.4f}, {got['modes_match']['0']}",
        got["phantom"] < 1e-5
        and (truth.sigma or got["fe_within"] > 0.9999)  # noise: 0.5 to 0.7
        and got["modes_match"]["0"] == 1.0,
    )
    report(
        "posterior weights vs the generator's choice of solution "
        "(largest |mean residual| / s.e. over slots and 4 bins of x)",
        f"{worst:.2f}",
        worst < 4,
    )


def check_truth(truth, rng, n_x=8, n_y=2000):
    """Numerical checks of an oracle; returns (lines, all passed)."""
    lines, ok = [], True

    def report(what, value, passed):
        nonlocal ok
        ok &= bool(passed)
        lines.append(f"  {'ok  ' if passed else 'FAIL'} {what}: {value}")

    if isinstance(truth, BranchTruth):
        _check_branches(truth, rng, report)
        if not truth.has_density:
            return lines, ok
    elif not truth.has_density:  # the robot arm
        X, theta = truth.sample(rng, 10_000)
        err = np.abs(truth.fk(theta) - X).max()
        report("FK(theta) == x, max abs error", f"{err:.1e}", err < 1e-12)
        flip = np.stack([theta[:, 0] + theta[:, 1], -theta[:, 1]], axis=1)
        err = np.abs(truth.fk(flip) - X).max()
        report("elbow flip reaches the same hand, max error", f"{err:.1e}", err < 1e-12)
        phi = flip[:, 0] + flip[:, 1] / 2
        t = np.abs(flip[:, 1])
        inside = (phi >= 0) & (phi <= math.pi / 2) & (t >= 0.5) & (t <= 2.5)
        report(
            "flipped solutions inside the sampling region", inside.mean(), inside.all()
        )
        mean_err = np.abs(truth.mean(X) - (theta + flip) / 2).max()
        report(
            "conditional mean = average of the two solutions",
            f"{mean_err:.1e}",
            mean_err < 1e-12,
        )
        return lines, ok

    X = truth.sample_x(rng, n_x)
    if truth.n_targets == 1:
        y, w = _sinh_grid(*truth.center_scale(X))
        p = np.exp(truth.logpdf(X, y))
        mass = (w * p).sum(axis=0)
        err = np.abs(mass - 1).max()
        report(
            f"integral of p(y|x) dy at {n_x} x (max |1 - mass|)",
            f"{err:.1e}",
            err < 1e-6,
        )
        mean = (w * p * y).sum(axis=0)
        err = np.abs(mean - truth.mean(X)).max()
        report("integral of y p(y|x) dy = mean(x), max error", f"{err:.1e}", err < 1e-5)
    else:
        masses, mean_errs = [], []
        for i in range(n_x):
            x = X[i : i + 1]
            mass, first = 0.0, 0.0
            # a grid over +-8 sd around each mode (the modes are far apart)
            for center, sd in truth.boxes(x):
                axes = [
                    m + s * np.linspace(-8, 8, 121) for m, s in zip(center[0], sd[0])
                ]
                grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
                grid = grid.reshape(-1, 1, truth.n_targets)
                p = np.exp(truth.logpdf(x, grid))[:, 0]
                cell = np.prod([a[1] - a[0] for a in axes])
                mass += p.sum() * cell
                first = first + (p[:, None] * grid[:, 0]).sum(axis=0) * cell
            masses.append(mass)
            mean_errs.append(np.abs(first - truth.mean(x)[0]).max())
        err = np.abs(np.array(masses) - 1).max()
        report(
            f"integral of p(y|x) dy over 121^{truth.n_targets} grids at {n_x} x "
            "(max |1 - mass|)",
            f"{err:.1e}",
            err < 1e-6,
        )
        report(
            "integral of y p(y|x) dy = mean(x), max error",
            f"{max(mean_errs):.1e}",
            max(mean_errs) < 1e-6,
        )
    if isinstance(truth, NoisyRobot):
        err = max(np.abs(truth.fk(theta) - X).max() for theta in truth.solutions(X))
        report("FK of both inverse solutions == x, max error", f"{err:.1e}", err < 1e-9)
    # NLL of samples from the generator against the entropy, at the same x:
    # E[-log p(y|x)] = H(y|x) + KL(generator || p) >= H, equal only if p is
    # the generator's density.
    X = truth.sample_x(rng, 200)
    Xr = np.repeat(X, n_y // 10, axis=0)
    nll = -truth.logpdf(Xr, truth.sample_y(rng, Xr))
    h = np.repeat(truth.entropy(X), n_y // 10)
    se = (nll - h).std() / math.sqrt(len(nll))
    diff = (nll - h).mean()
    report(
        f"oracle NLL of {len(nll)} generated rows minus entropy",
        f"{diff:+.4f} (s.e. {se:.4f}, NLL {nll.mean():.4f})",
        abs(diff) < 4 * se,
    )
    return lines, ok


def run_checks(names):
    rng = np.random.default_rng(0)
    all_ok = True
    for name in names:
        lines, ok = check_truth(TRUTHS[name], rng)
        all_ok &= ok
        print(f"{name}:")
        print("\n".join(lines))
    print("all checks passed" if all_ok else "SOME CHECKS FAILED")
    return all_ok


# -------------------------------------------------------- branch measures
# Thresholds of mode mass at which the mode counts are recorded; the main
# table shows those at the default min_mass of predict_modes.
MIN_MASSES = (0.0, 0.001, 0.01, 0.02, 0.05)
# Draws per row behind the Monte Carlo phantom mass of several targets.
PHANTOM_DRAWS = 100


def _all_modes(dist, gap=0.0):
    """Every mode of each row with its mass, whatever its mass, shallow modes
    merged as ``modes``' default ``min_dip`` merges them, and modes closer
    than ``gap`` (target units; ``predict_modes``' ``min_gap`` times the
    training targets' standard deviation): (n, M, d), (n, M)."""
    modes, masses, _ = dist.modes(min_mass=0, min_gap=gap)
    return modes.reshape(len(dist), masses.shape[1], -1), masses


def _mixture_cdf(dist, y):
    """Cdf of each row's one-target mixture at ``y`` (n, S); +-inf allowed."""
    w, mu = dist.weights[:, None, :], dist.means[:, None, :, 0]
    z = (y[:, :, None] - mu) / dist.scale_tril[:, None, :, 0, 0]
    return (w * special.ndtr(z)).sum(axis=2)


def phantom_mass(truth, dist, X, seed=0):
    """Predicted probability outside every solution's neighbourhood, per row.

    One target: exact, from the mixture cdf over the union of the intervals
    ``[y_i - radius, y_i + radius]``. Several: the share of ``PHANTOM_DRAWS``
    draws per row farther than ``radius`` from every solution.
    """
    sol, w = truth.solutions(X)
    r = truth.radius
    if truth.n_targets == 1:
        lo = np.sort(np.where(w > 0, sol[:, :, 0] - r, np.inf), axis=1)
        inside, covered = np.zeros(len(X)), np.full(len(X), -np.inf)
        for j in range(lo.shape[1]):
            start, end = np.maximum(lo[:, j], covered), lo[:, j] + 2 * r
            take = end > start
            ends = np.stack([np.where(take, start, 0.0), np.where(take, end, 0.0)], 1)
            mass = np.diff(_mixture_cdf(dist, ends), axis=1)[:, 0]
            inside += np.where(take, mass, 0.0)
            covered = np.maximum(covered, end)
        return np.clip(1 - inside, 0.0, 1.0)
    rng = np.random.RandomState(seed)
    out = np.empty(len(X))
    for start in range(0, len(X), 1000):
        rows = slice(start, start + 1000)
        draws = dist[rows].sample(PHANTOM_DRAWS, random_state=rng)
        gap = np.linalg.norm(draws[:, :, None] - sol[rows, None], axis=3)
        gap = np.where(np.isnan(gap), np.inf, gap).min(axis=2)
        out[rows] = (gap > r).mean(axis=1)
    return out


def mode_match(truth, X, modes, masses):
    """Which predicted modes are real, row by row.

    A mode within ``radius`` of a solution belongs to that solution's
    cluster; a cluster of ``m`` solutions (closer than ``2 radius``, near a
    fold) may hold one to ``m`` modes. A mode is *real* if it belongs to a
    cluster and fewer than ``m`` heavier modes belong to it; every other
    mode is *extra*. Returns the number of clusters (n,) and the real mask
    and the cluster of each mode (n, M), -1 for a mode far from every
    solution.
    """
    sol, w = truth.solutions(X)
    label = truth.clusters(X)
    S = sol.shape[1]
    n_clusters = (label == np.arange(S)).sum(axis=1)
    gap = np.linalg.norm(modes[:, :, None] - sol[:, None], axis=3)
    gap = np.where(np.isnan(gap), np.inf, gap)
    nearest = gap.argmin(axis=2)
    within = np.take_along_axis(gap, nearest[..., None], 2)[..., 0] <= truth.radius
    cluster = np.where(within, np.take_along_axis(label, nearest, 1), -1)
    size = (label[:, :, None] == np.arange(S)).sum(axis=1)  # (n, S) by cluster
    room = np.take_along_axis(size, np.maximum(cluster, 0), 1)
    # modes come heaviest first: rank = heavier modes in the same cluster
    rank = (
        (cluster[:, :, None] == cluster[:, None, :])
        & np.tri(modes.shape[1], k=-1, dtype=bool)
    ).sum(axis=2)
    real = within & (rank < room) & ~np.isnan(masses)
    return n_clusters, real, cluster


def _quantiles(values, qs):
    v = np.asarray(values, dtype=float)
    return {f"{q:g}": float(np.quantile(v, q)) if v.size else None for q in qs}


def kept_modes(masses, min_mass):
    """The modes ``predict_modes`` lists at ``min_mass``: those of at least
    that mass, the heaviest always (n, M)."""
    listed = ~np.isnan(masses)
    keep = listed & (masses >= min_mass)
    keep[:, 0] = listed[:, 0]
    return keep


def count_right(n_modes, n_clusters, n_solutions):
    """Rows whose number of listed modes is the truth's: at least one per
    cluster of solutions, at most one per solution (``mode_match``)."""
    return (n_modes >= n_clusters) & (n_modes <= n_solutions)


def mode_measures(truth, dist, X, gap=0.0):
    """Mode counts against the truth's at each of ``MIN_MASSES``, and the
    masses of real and extra modes (``mode_match``)."""
    modes, masses = _all_modes(dist, gap)
    n_clusters, real, cluster = mode_match(truth, X, modes, masses)
    listed = ~np.isnan(masses)
    _, w = truth.solutions(X)
    label = truth.clusters(X)
    n_solutions = (w > 0).sum(axis=1)
    cluster_w = np.stack([(w * (label == j)).sum(axis=1) for j in range(w.shape[1])])
    lightest = np.where(cluster_w > 0, cluster_w, np.inf).min(axis=0)
    rec = {
        "truth_clusters": float(n_clusters.mean()),
        "truth_solutions": float(n_solutions.mean()),
    }
    count_ok, match, mean_modes = {}, {}, {}
    for t in MIN_MASSES:
        keep = kept_modes(masses, t)
        n_modes = keep.sum(axis=1)
        hit = np.zeros(len(X), dtype=int)
        for c in range(cluster_w.shape[0]):
            hit += (keep & real & (cluster == c)).any(axis=1)
        count_ok[f"{t:g}"] = float(count_right(n_modes, n_clusters, n_solutions).mean())
        match[f"{t:g}"] = float(
            ((hit == n_clusters) & ~(keep & ~real).any(axis=1)).mean()
        )
        mean_modes[f"{t:g}"] = float(n_modes.mean())
    rec.update(
        modes_count_ok=count_ok,
        modes_match=match,
        modes_mean=mean_modes,
        extra_mass=_quantiles(masses[listed & ~real], (0.5, 0.9, 0.99, 1.0)),
        real_mass=_quantiles(masses[real], (0.0, 0.01, 0.05)),
        truth_lightest=_quantiles(lightest, (0.0, 0.01, 0.05)),
        rows_with_extra=float((listed & ~real).any(axis=1).mean()),
    )
    return rec


def oracle_dist(truth, X, scale=None):
    """The truth as a ``NormalMixture``: a Gaussian of ``scale`` (default
    ``sigma``, or 1e-4 noise-free) on each solution, with its weight."""
    from sklearn_mdn.distribution import NormalMixture

    sol, w = truth.solutions(X)
    scale = scale or truth.sigma or 1e-4
    n, S, d = sol.shape
    tril = np.broadcast_to(scale * np.eye(d), (n, S, d, d))
    return NormalMixture(w, np.nan_to_num(sol), tril)


def branch_measures(truth, dist, X, seed, gap=0.0):
    """Forward error, phantom mass and modes of a prediction of a branch truth."""
    n, d = len(X), truth.n_targets
    err = truth.forward_error(X, dist.sample(1, random_state=seed).reshape(n, d))
    err_top = truth.forward_error(X, dist.top().reshape(n, d))
    tol = truth.tolerance
    rec = {
        "fe_rms": float(np.sqrt(np.mean(err**2))),
        "fe_median": float(np.median(err)),
        "fe_within": float((err < tol).mean()),
        "fe_over_005": float((err > 0.05).mean()),
        "fe_max": float(err.max()),
        "fe_top_rms": float(np.sqrt(np.mean(err_top**2))),
        "fe_top_median": float(np.median(err_top)),
        "fe_top_within": float((err_top < tol).mean()),
        "phantom": float(phantom_mass(truth, dist, X, seed).mean()),
    }
    rec.update(mode_measures(truth, dist, X, gap))
    return rec


def unimodal_measures(dist, gap=0.0):
    """Second modes of a prediction of a unimodal truth: all spurious."""
    _, masses = _all_modes(dist, gap)
    extra = masses[:, 1:]
    extra = extra[~np.isnan(extra)]
    second = np.nan_to_num(masses[:, 1], nan=0.0) if masses.shape[1] > 1 else 0.0
    return {
        "second_mode": {
            f"{t:g}": float(np.mean(second >= t if t else second > 0))
            for t in MIN_MASSES
        },
        "modes_mean_all": float((~np.isnan(masses)).sum(axis=1).mean()),
        "extra_mass": _quantiles(extra, (0.5, 0.9, 0.99, 1.0)),
    }


# ---------------------------------------------------------------- models
def _literal(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare string such as covariance_type=diag


def parse_model(spec):
    """``mdn``, ``mdn:key=value,...`` (MDNRegressor parameters), ``ngboost``."""
    kind, _, rest = spec.partition(":")
    if kind not in ("mdn", "ngboost"):
        raise ValueError(f"unknown model {spec!r}: use mdn, mdn:k=v,... or ngboost")
    params = {}
    if rest.strip():
        # split at the commas that start a new key=, not inside tuples
        for item in re.split(r",(?=\s*[A-Za-z_]\w*\s*=)", rest):
            key, eq, value = item.partition("=")
            if not eq:
                raise ValueError(f"bad model parameter {item!r} in {spec!r}")
            params[key.strip()] = _literal(value.strip())
    return kind, params


def _ngboost_dist(reg, X):
    from sklearn_mdn.distribution import NormalMixture

    pred = reg.pred_dist(X).params
    n = len(X)
    return NormalMixture(
        np.ones((n, 1)),
        pred["loc"].reshape(n, 1, 1),
        pred["scale"].reshape(n, 1, 1, 1),
        event_shape=(),
    )


def run_task(truth_name, seed, model, scale, data_seed=None):
    """Fit one model on one seed's draw of one truth; its raw record.

    With ``data_seed``, the training set is that seed's draw whatever
    ``seed`` is, and only ``random_state`` (``seed``) changes.
    """
    import torch

    from sklearn_mdn import MDNRegressor, metrics
    from sklearn_mdn.distribution._multimodal import _MIN_GAP

    warnings.filterwarnings("ignore")
    torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "1")))
    truth = TRUTHS[truth_name]
    draw = seed if data_seed is None else data_seed
    (X, y), (X_test, y_test) = truth_data(truth, draw, scale)
    kind, params = parse_model(model)
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    if kind == "mdn":
        reg = MDNRegressor(**params, random_state=seed).fit(X, y)
        fit_cpu = time.process_time() - start_cpu
        fit_wall = time.perf_counter() - start_wall
        dist = reg.predict_dist(X_test)
        extra = {
            "n_iter": int(reg.n_iter_),
            "n_steps": int(reg.n_steps_),
            "spread_factor": float(getattr(reg, "spread_factor_", float("nan"))),
            # the early-stopped network's best held-out NLL (original units)
            "best_valid_nll": min(reg.validation_loss_curve_ or [float("nan")]),
            # the held-out choices of the fit plan: value and rule
            "kept": {
                d.name: [d.value, d.rule]
                for d in reg.fit_plan_.decisions
                if d.name.endswith(" kept")
            },
        }
    else:
        import contextlib
        import io

        from ngboost import NGBRegressor

        reg = NGBRegressor(**params, random_state=seed, verbose=False)
        with contextlib.redirect_stdout(io.StringIO()):
            reg.fit(X, y)
        fit_cpu = time.process_time() - start_cpu
        fit_wall = time.perf_counter() - start_wall
        dist = _ngboost_dist(reg, X_test)
        extra = {"n_iter": int(reg.best_val_loss_itr or reg.n_estimators)}
    rec = dict(
        truth=truth_name,
        seed=seed,
        model=model,
        scale=scale,
        data_seed=data_seed,
        n_train=len(X),
        n_test=len(X_test),
        fit_cpu_s=round(fit_cpu, 2),
        fit_wall_s=round(fit_wall, 2),
        nll=float(metrics.mean_negative_log_likelihood(y_test, dist)),
        coverage=float(metrics.interval_coverage(y_test, dist.interval(COVERAGE))),
        rmse=float(np.sqrt(np.mean((y_test - dist.mean()) ** 2))),
        bayes_rmse=float(np.sqrt(np.mean((y_test - truth.mean(X_test)) ** 2))),
        **extra,
    )
    if truth.has_density:
        rec["oracle_nll"] = float(-truth.logpdf(X_test, y_test).mean())
    # predict_modes' listing: min_gap in the training targets' sds.
    gap = _MIN_GAP * reg.y_scale_ if kind == "mdn" else 0.0
    if isinstance(truth, BranchTruth):
        rec.update(branch_measures(truth, dist, X_test, seed, gap))
        # the listing without min_gap (before round 25), for comparison
        before = mode_measures(truth, dist, X_test)
        rec["modes_count_ok_no_gap"] = before["modes_count_ok"]
        rec["modes_match_no_gap"] = before["modes_match"]
    elif truth.unimodal and kind == "mdn":
        rec.update(unimodal_measures(dist, gap))
    if isinstance(truth, Robot):
        sample = dist.sample(1, random_state=seed)
        sample = sample.reshape(len(X_test), truth.n_targets)
        err = np.linalg.norm(truth.fk(sample) - X_test, axis=1)
        err_top = np.linalg.norm(truth.fk(dist.top()) - X_test, axis=1)
        rec.update(
            fk_mean=float(err.mean()),
            fk_median=float(np.median(err)),
            fk_within_0005=float((err < 0.005).mean()),
            fk_top_mean=float(err_top.mean()),
            fk_top_median=float(np.median(err_top)),
        )
    return rec


# ---------------------------------------------------------------- tables
def _report(rec):
    gap = rec["nll"] - rec.get("oracle_nll", float("nan"))
    print(
        f"{rec['truth']:>10} seed {rec['seed']} {rec['model']:>8}: "
        f"gap {gap:7.3f} nll {rec['nll']:7.3f} cov {rec['coverage']:.3f} "
        f"rmse/bayes {rec['rmse'] / rec['bayes_rmse']:.3f} "
        f"({rec['fit_cpu_s']:.0f} cpu s)",
        flush=True,
    )


def _stat(values):
    v = np.asarray(values, dtype=float)
    sd = v.std(ddof=1) if len(v) > 1 else float("nan")
    return float(v.mean()), float(sd)


def summarise(records):
    groups = {}
    for r in records:
        groups.setdefault((r["model"], r["truth"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        s = {"n_seeds": len(rs), "n_train": rs[0]["n_train"], "n_test": rs[0]["n_test"]}
        for m in ("nll", "coverage", "rmse", "fit_cpu_s", "n_iter", "n_steps"):
            if all(m in r for r in rs):
                s[m] = _stat([r[m] for r in rs])
        s["rmse_ratio"] = _stat([r["rmse"] / r["bayes_rmse"] for r in rs])
        if "oracle_nll" in rs[0]:
            s["oracle_nll"] = rs[0]["oracle_nll"]
            s["gap"] = _stat([r["nll"] - r["oracle_nll"] for r in rs])
        if "fk_mean" in rs[0]:
            for m in (
                "fk_mean",
                "fk_median",
                "fk_within_0005",
                "fk_top_mean",
                "fk_top_median",
            ):
                s[m] = _stat([r[m] for r in rs])
        out[key] = s
    return out


def _pm(stat, digits=3):
    mean, sd = stat
    return (
        f"{mean:.{digits}f}"
        if math.isnan(sd)
        else f"{mean:.{digits}f} ± {sd:.{digits}f}"
    )


def _draw(r):
    return r["seed"] if r.get("data_seed") is None else r["data_seed"]


def worst_draw(records, key="fe_top_rms"):
    """The largest over training draws of the mean of ``key`` over that
    draw's seeds."""
    by_draw = {}
    for r in records:
        by_draw.setdefault(_draw(r), []).append(r[key])
    return max(np.mean(v) for v in by_draw.values())


def listed_min_mass():
    """``predict_modes``' default ``min_mass``, as the records key the mode
    counts by it."""
    from sklearn_mdn.distribution import NormalMixture

    return f"{inspect.signature(NormalMixture.modes).parameters['min_mass'].default:g}"


def _mean_sd(rs, key, sub=None):
    return _stat([r[key] if sub is None else r[key][sub] for r in rs])


def _branch_markdown(records, models):
    """Tables of the branch truths and of second modes on unimodal truths."""
    groups = {}
    for r in records:
        groups.setdefault((r["truth"], r["model"]), []).append(r)
    branch = [
        (t, m) for t in TRUTHS for m in models
        if isinstance(TRUTHS[t], BranchTruth) and (t, m) in groups
    ]  # fmt: skip
    lines = []
    mm = listed_min_mass()
    # The truth itself as a mixture (scale 1e-4 noise-free, else sigma), on the
    # same test rows: the best each measure can be.
    for t in dict.fromkeys(t for t, _ in branch):
        truth = TRUTHS[t]
        X_test = truth_data(truth, 0, groups[branch[0]][0]["scale"])[1][0]
        rec = branch_measures(truth, oracle_dist(truth, X_test), X_test, seed=0)
        groups[(t, "truth")] = [dict(rec, seed=0, data_seed=0)]
    branch = [
        key for t in dict.fromkeys(t for t, _ in branch)
        for key in [(t, "truth")] + [(t, m) for m in models if (t, m) in groups]
    ]  # fmt: skip
    if branch:
        lines += [
            "### Branching truths: forward error, phantom mass, modes",
            "",
            "One sample from the predictive mixture per test row and the mean "
            "of its heaviest component (`top`), scored by their forward error "
            "(the arm: distance between the hand given as input and FK of the "
            "angles; fold: `|g(y) - x|`; part-branch: distance to the nearest "
            "branch that exists at x); *within tol*: share of samples with a "
            "forward error under the truth's tolerance (0.01 for all three). On "
            "the noisy twins the noise itself moves samples (median about "
            "0.01): there the NLL gap above is the measure. *Phantom*: "
            "predicted probability farther than the truth's radius (arm 0.1 "
            "rad, others 0.05) from every admissible solution (1-D: exact from "
            "the cdf; arm: 100 draws per row). *Modes right*: share of rows "
            f"where the modes of mass >= {mm} (`predict_modes`' default) are "
            "all within the radius of a solution and every solution has one "
            "(solutions closer than twice the radius, near a fold, may share "
            "one; shallow modes merged by `min_dip`'s default, and modes closer "
            "than `min_gap`'s, 1% of the training target's standard deviation, "
            "since round 25); *count right*: "
            "share of rows whose number of such modes is "
            "the truth's. Mean ± sd over all fits; *worst draw*: the largest "
            "over training draws of the mean over that draw's seeds. *The truth "
            "itself*: the measures of the true mixture (scale 1e-4 noise-free, "
            "else the noise's), the best each can be.",
            "",
            "| truth | model | draws x seeds | sample: RMS | sample: median "
            "| sample: within tol | sample: > 0.05 | top: RMS | top: RMS, worst "
            "draw | phantom mass | modes right | count right | modes per row "
            "(truth) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for t, m in branch:
            rs = groups[(t, m)]
            draws = len({_draw(r) for r in rs})
            seeds = len({r["seed"] for r in rs})
            cells = [t, _label(m), f"{draws} x {seeds}"]
            cells += [
                _pm(_mean_sd(rs, "fe_rms"), 4),
                _pm(_mean_sd(rs, "fe_median"), 4),
                _pm(_mean_sd(rs, "fe_within"), 3),
                _pm(_mean_sd(rs, "fe_over_005"), 3),
                _pm(_mean_sd(rs, "fe_top_rms"), 4),
                f"{worst_draw(rs):.4f}",
                _pm(_mean_sd(rs, "phantom"), 4),
                _pm(_mean_sd(rs, "modes_match", mm), 3),
                _pm(_mean_sd(rs, "modes_count_ok", mm), 3),
                f"{_mean_sd(rs, 'modes_mean', mm)[0]:.2f} "
                f"({rs[0]['truth_solutions']:.2f})",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines += [
            "",
            "Per training draw (mean over its seeds):",
            "",
            "| truth | model | draw | seeds | sample: within tol | top: RMS "
            "| phantom mass | modes right |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for t, m in branch:
            if m == "truth":
                continue
            by_draw = {}
            for r in groups[(t, m)]:
                by_draw.setdefault(_draw(r), []).append(r)
            for d in sorted(by_draw):
                rs = by_draw[d]
                cells = [t, f"`{m}`", str(d), str(len(rs))]
                cells += [
                    f"{_mean_sd(rs, 'fe_within')[0]:.3f}",
                    f"{_mean_sd(rs, 'fe_top_rms')[0]:.4f}",
                    f"{_mean_sd(rs, 'phantom')[0]:.4f}",
                    f"{_mean_sd(rs, 'modes_match', mm)[0]:.3f}",
                ]
                lines.append("| " + " | ".join(cells) + " |")
        lines += [
            "",
            "#### The mass of real and extra modes",
            "",
            "Every mode of the predictive density (`min_mass=0`) is *real* if it "
            "lies within the radius of a solution (and the solution's cluster "
            "has room for it), else *extra*. *Modes right* at each threshold: "
            "as above, keeping the modes of at least that mass (the heaviest "
            "always kept). Masses: means over fits of each fit's quantile "
            "(min and max: over all fits). *Truth's lightest*: the smallest "
            "posterior weight of a branch, a threshold above which would drop "
            "a real branch even from a perfect prediction.",
            "",
            "| truth | model | modes right at "
            + " / ".join(f"{t:g}" for t in MIN_MASSES)
            + " | rows with an extra mode | extra: median | extra: 99% | extra: "
            "max | real: min | real: 1% | truth's lightest: min | 1% |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for t, m in branch:
            rs = groups[(t, m)]
            right = " / ".join(
                f"{_mean_sd(rs, 'modes_match', f'{x:g}')[0]:.3f}" for x in MIN_MASSES
            )
            cells = [t, _label(m), right, f"{_mean_sd(rs, 'rows_with_extra')[0]:.3f}"]
            cells += _mass_cells(rs, "extra_mass", ("0.5", "0.99"), "1", max)
            cells += _mass_cells(rs, "real_mass", (), "0", min)
            cells.append(f"{np.mean([r['real_mass']['0.01'] for r in rs]):.3g}")
            cells.append(f"{min(r['truth_lightest']['0'] for r in rs):.3g}")
            cells.append(f"{rs[0]['truth_lightest']['0.01']:.3g}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    uni = [
        (t, m) for t in TRUTHS for m in models
        if TRUTHS[t].unimodal and (t, m) in groups
        and all("second_mode" in r for r in groups[(t, m)])
    ]  # fmt: skip
    if uni:
        lines += [
            "### Unimodal truths: spurious second modes",
            "",
            "Share of test rows on which `predict_modes` lists a second mode "
            "when modes lighter than each threshold are left out (every second "
            "mode of a unimodal truth is spurious), the mean number of modes "
            "per row with none left out, and the masses of the modes after the "
            "heaviest (means over fits of each fit's quantile; max over all).",
            "",
            "| truth | model | fits | rows with a second mode at min_mass "
            + " / ".join(f"{t:g}" for t in MIN_MASSES)
            + " | modes per row (all) | extra: median | extra: 99% | extra: max |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for t, m in uni:
            rs = groups[(t, m)]
            second = " / ".join(
                f"{_mean_sd(rs, 'second_mode', f'{x:g}')[0]:.3f}" for x in MIN_MASSES
            )
            cells = [t, f"`{m}`", str(len(rs)), second]
            cells.append(f"{_mean_sd(rs, 'modes_mean_all')[0]:.2f}")
            cells += _mass_cells(rs, "extra_mass", ("0.5", "0.99"), "1", max)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _label(model):
    return "the truth itself" if model == "truth" else f"`{model}`"


def _mass_cells(rs, key, means, extreme, pick):
    """Cells of mode-mass quantiles: the means over fits of ``means``, then
    ``pick`` (min or max) over fits of ``extreme``; '-' where a fit had none."""
    cells = []
    for q in means:
        v = [r[key][q] for r in rs if r[key][q] is not None]
        cells.append(f"{np.mean(v):.2g}" if v else "-")
    v = [r[key][extreme] for r in rs if r[key][extreme] is not None]
    cells.append(f"{pick(v):.2g}" if v else "-")
    return cells


def markdown(records, models):
    summary = summarise(records)
    truths = [t for t in TRUTHS if any((m, t) in summary for m in models)]
    lines = [
        "### NLL gap to the oracle, coverage, RMSE over Bayes RMSE",
        "",
        "Mean ± standard deviation over seeds. NLL gap: test NLL minus the "
        "oracle's on the same rows (nats/row, 0 is perfect). Coverage: of the "
        "central 90% interval (multi-output: per-target marginal intervals, "
        "averaged). RMSE / Bayes: RMSE of the predictive mean over that of the "
        "true conditional mean (1 is perfect). Fit: CPU seconds of the fit on "
        "one torch thread.",
        "",
    ]
    head = [
        "truth", "model", "n train", "seeds", "oracle NLL", "NLL gap",
        "coverage", "RMSE / Bayes", "fit CPU s", "n_iter_", "n_steps_",
    ]  # fmt: skip
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in truths:
        for m in models:
            s = summary.get((m, t))
            if not s:
                continue
            cells = [t, f"`{m}`", str(s["n_train"]), str(s["n_seeds"])]
            if "gap" in s:
                cells += [f"{s['oracle_nll']:.3f}", _pm(s["gap"])]
            else:
                cells += ["(none)", f"NLL {_pm(s['nll'])}"]
            cells += [_pm(s["coverage"]), _pm(s["rmse_ratio"], 2)]
            cells.append(f"{s['fit_cpu_s'][0]:.1f}")
            for k in ("n_iter", "n_steps"):
                cells.append(f"{s[k][0]:.0f}" if k in s else "-")
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    robot = [
        (t, m, summary[(m, t)])
        for t in truths
        if isinstance(TRUTHS[t], Robot)
        for m in models
        if (m, t) in summary
    ]
    if robot:
        lines += [
            "### Robot arm: forward-kinematics error",
            "",
            "Euclidean distance between the hand position given as input and "
            "FK of the predicted angles (links of length 1, hand radius 0.63 to 1.94): "
            "one sample from the predictive mixture per test row, and the mean "
            "of its heaviest component (`top`). Target: samples within 0.005 "
            "on the noise-free arm (on `robot-noisy` the angles' noise alone "
            "moves a sample of the truth by 0.015 on average). Mean ± sd over "
            "seeds.",
            "",
            "| truth | model | sample: mean | sample: median | sample: share < 0.005 "
            "| top: mean | top: median |",
            "|---|---|---|---|---|---|---|",
        ]
        for t, m, s in robot:
            cells = [t, f"`{m}`"]
            for k in (
                "fk_mean",
                "fk_median",
                "fk_within_0005",
                "fk_top_mean",
                "fk_top_median",
            ):
                cells.append(_pm(s[k], 4 if "within" not in k else 3))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += _branch_markdown(records, models)
    lines += ["### Truths", ""]
    for t in truths:
        lines.append(
            f"- **{t}** ({TRUTHS[t].n_train} training rows): {TRUTHS[t].description}."
        )
    lines.append("")
    return "\n".join(lines)


def plot(records, models, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(records)
    truths = [t for t in TRUTHS if any((m, t) in summary for m in models)]
    present = [m for m in models if any((m, t) in summary for t in truths)]
    if not truths:
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    width = 0.8 / max(1, len(present))
    for i, m in enumerate(present):
        xs, gaps, sds, xc, covs, covsd = [], [], [], [], [], []
        for j, t in enumerate(truths):
            s = summary.get((m, t))
            if not s:
                continue
            x = j + (i - (len(present) - 1) / 2) * width
            if "gap" in s:
                xs.append(x)
                gaps.append(s["gap"][0])
                sds.append(0 if math.isnan(s["gap"][1]) else s["gap"][1])
            xc.append(x)
            covs.append(s["coverage"][0])
            covsd.append(0 if math.isnan(s["coverage"][1]) else s["coverage"][1])
        ax1.bar(xs, gaps, width, yerr=sds, capsize=3, label=m)
        ax2.errorbar(xc, covs, yerr=covsd, fmt="o", capsize=3, label=m)
    for ax in (ax1, ax2):
        ax.set_xticks(range(len(truths)))
        ax.set_xticklabels(truths, rotation=30, ha="right")
        ax.grid(axis="y", alpha=0.3)
    ax1.axhline(0, color="k", lw=0.8)
    ax1.set_yscale("symlog", linthresh=0.1)
    ax1.set_title(
        "test NLL minus oracle NLL (nats/row, symlog; ± sd over seeds)", fontsize=10
    )
    ax2.axhline(COVERAGE, color="k", lw=0.8, ls="--")
    ax2.set_title("coverage of the 90% interval", fontsize=10)
    ax1.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _provenance():
    import sklearn_mdn

    pkg = Path(sklearn_mdn.__file__).resolve().parent

    def git(*a):
        try:
            out = subprocess.run(
                ["git", "-C", str(pkg), *a], capture_output=True, text=True, timeout=30
            )
            return out.stdout.strip()
        except OSError:
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    last = git("log", "-1", "--format=%h", "--", str(pkg))
    if last and not commit.startswith(last):
        commit += f" (sklearn_mdn/ last changed in {last})"
    if git("status", "--porcelain", "--", str(pkg)):
        commit += " (with uncommitted changes)"
    try:
        load = os.getloadavg()
        load = f"load average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"
    except OSError:
        load = "load unknown"
    import torch

    return {
        "commit": commit,
        "package": str(pkg),
        "version": getattr(sklearn_mdn, "__version__", "?"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip()
        + f", {os.cpu_count()} logical CPUs, {load}",
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


# ------------------------------------------------------------------ main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--truths", default=",".join(TRUTHS), help="comma-separated")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument(
        "--model",
        action="append",
        help="repeatable: mdn (defaults), 'mdn:key=value,...' (MDNRegressor "
        "parameters, Python literals), ngboost (1-D truths only). Default: "
        "mdn and ngboost",
    )
    parser.add_argument("--jobs", type=int, default=1, help="parallel fits")
    parser.add_argument("--scale", type=float, default=1.0, help="rows x SCALE")
    parser.add_argument(
        "--fast", action="store_true", help="smoke run: --scale 0.1 --seeds 2, to /tmp"
    )
    parser.add_argument("--out", default=None, help="benchmarks/results/synthetic.md")
    parser.add_argument("--raw", default=None, help="default <out stem>_raw.jsonl")
    parser.add_argument(
        "--data-seed",
        type=int,
        default=None,
        help="every seed fits this seed's training draw: only random_state "
        "changes, so the spread over seeds is that of random_state alone",
    )
    parser.add_argument(
        "--draws",
        type=int,
        default=None,
        help="fit every seed on each of the training draws 0..N-1 (N x seeds "
        "fits per truth and model): the spread over the data and over "
        "random_state apart",
    )
    parser.add_argument("--table-only", action="store_true", help="no fits")
    parser.add_argument("--check", action="store_true", help="validate the oracles")
    args = parser.parse_args(argv)

    names = args.truths.split(",")
    for n in names:
        if n not in TRUTHS:
            parser.error(f"unknown truth {n!r}; known: {', '.join(TRUTHS)}")
    if args.check:
        sys.exit(0 if run_checks(names) else 1)
    if args.fast:
        args.scale, args.seeds = 0.1, min(args.seeds, 2)
        args.out = args.out or "/tmp/synthetic_fast.md"
    out = Path(args.out or "benchmarks/results/synthetic.md")
    raw = Path(args.raw) if args.raw else out.with_name(out.stem + "_raw.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    models = args.model or ["mdn", "ngboost"]
    for m in models:
        parse_model(m)

    if args.draws is not None and args.data_seed is not None:
        parser.error("--draws and --data-seed exclude each other")
    draws = range(args.draws) if args.draws else [args.data_seed]
    records = [
        r
        for r in read_raw(raw)
        if r["scale"] == args.scale and r.get("data_seed") in draws
    ]
    if not args.table_only:
        done = {
            (r["model"], r["truth"], r["seed"], r.get("data_seed")) for r in records
        }
        tasks = [
            (t, s, m, args.scale, d)
            for m in models  # model by model: the first one's table fills first
            for t in names
            for d in draws
            for s in range(args.seeds)
            if (m, t, s, d) not in done
            and not (parse_model(m)[0] == "ngboost" and not TRUTHS[t].ngboost)
        ]
        records += run_and_append(raw, run_task, tasks, args.jobs, _report)
    records = [r for r in records if r["truth"] in names]
    all_models = list(dict.fromkeys(models + [r["model"] for r in records]))
    prov = _provenance()
    given = argv if argv is not None else sys.argv[1:]
    given = [a for a in given if a != "--table-only"]
    command = " ".join(a if " " not in a else f'"{a}"' for a in given)
    header = [
        "# Synthetic truths with exact densities",
        "",
        f"Made by `python benchmarks/bench_synthetic.py {command}` on "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"with sklearn_mdn {prov['version']} at commit {prov['commit']} "
        f"({prov['package']}), Python {prov['python']}, torch {prov['torch']} "
        f"on one thread per fit; machine: {prov['machine']} (when the table "
        f"was written). Raw per-fit results in `{raw.name}`; rows x {args.scale:g}.",
        "",
        "Every model is fitted with its defaults plus the parameters shown "
        "(`random_state` = seed). "
        + (
            "Each seed draws its own training set from the truth (seed s, "
            "truth t: `numpy.random.default_rng([t, s])`), so the spread over "
            "seeds is that of the data and of `random_state` together; the "
            if args.data_seed is None and not args.draws
            else f"Each of the first {args.draws} training draws of a truth "
            "(draw d, truth t: `numpy.random.default_rng([t, d])`) is fitted "
            "with every seed, so that the spread over the data and that over "
            "`random_state` can be told apart; the "
            if args.draws
            else f"Every seed fits the same training set, the draw of seed "
            f"{args.data_seed} (`numpy.random.default_rng([t, {args.data_seed}])`"
            " for truth t): only `random_state` changes, and the spread over "
            "seeds is its own; the "
        )
        + f"test set ({N_TEST * args.scale:,.0f} rows) is drawn once per truth and "
        "shared by all seeds and models. `ngboost` is `NGBRegressor()` with its "
        "defaults (Normal, 500 stages, learning rate 0.01), on 1-D truths only.",
        "",
    ]
    text = "\n".join(header) + "\n" + markdown(records, all_models)
    out.write_text(text)
    plot(records, all_models, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()

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

Usage::

    python benchmarks/bench_synthetic.py [--truths hetero,skew] [--seeds 5] \\
        [--jobs 2] [--model mdn] [--model "mdn:max_iter=300,n_components=10"] \\
        [--model ngboost] [--out benchmarks/results/synthetic.md]
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
from scipy import stats

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
        NoisyRobot(),  # last: a truth's data seeds follow its place here
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


def check_truth(truth, rng, n_x=8, n_y=2000):
    """Numerical checks of an oracle; returns (lines, all passed)."""
    lines, ok = [], True

    def report(what, value, passed):
        nonlocal ok
        ok &= bool(passed)
        lines.append(f"  {'ok  ' if passed else 'FAIL'} {what}: {value}")

    if not truth.has_density:  # the robot arm
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
    if hasattr(truth, "solutions"):  # the noisy arm
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

    records = [
        r
        for r in read_raw(raw)
        if r["scale"] == args.scale and r.get("data_seed") == args.data_seed
    ]
    if not args.table_only:
        done = {(r["model"], r["truth"], r["seed"]) for r in records}
        tasks = [
            (t, s, m, args.scale, args.data_seed)
            for m in models  # model by model: the first one's table fills first
            for t in names
            for s in range(args.seeds)
            if (m, t, s) not in done
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
            if args.data_seed is None
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

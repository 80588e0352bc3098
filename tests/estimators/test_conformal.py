"""Split-conformal calibration: calibrate="conformal"."""

import numpy as np
import pytest

from sklearn_mdn import MDNRegressor, NormalMixture, predict_hdr, predict_interval
from sklearn_mdn._estimators._calibration import (
    ConformalCalibration,
    conformal_quantile,
    fit_conformal,
)


def test_conformal_quantile_index():
    scores = np.arange(1, 20) / 20  # 19 scores: 0.05, ..., 0.95
    # k = ceil((n + 1) c): 18 of 19 for 0.9, 10 of 19 for 0.5.
    assert conformal_quantile(scores, 0.9) == scores[17]
    assert conformal_quantile(scores, 0.5) == scores[9]
    # ceil(20 * 0.95) = 19 <= 19 rows; 0.96 needs a 20th score: whole line.
    assert conformal_quantile(scores, 0.95) == scores[18]
    assert conformal_quantile(scores, 0.96) == 1.0
    # The order of the scores does not matter, NaN (missing targets) is skipped.
    shuffled = np.concatenate([scores[::-1], [np.nan]])
    assert conformal_quantile(shuffled, 0.9) == scores[17]
    assert conformal_quantile(np.empty(0), 0.5) == 1.0
    # (n + 1) c computed as 9.000000000000002 still means k = 9.
    assert conformal_quantile(np.arange(1, 9) / 10, 0.9 * 10 / 9) == 1.0
    assert conformal_quantile(np.arange(1, 10) / 10, 0.9) == 0.9


def _gaussians(n, scale, seed=0):
    rng = np.random.RandomState(seed)
    dist = NormalMixture(np.ones((n, 1)), np.zeros((n, 1, 1)), np.ones((n, 1, 1, 1)))
    return dist, scale * rng.normal(size=n)


def test_scores_match_the_sets_they_calibrate():
    # Predicted N(0, 1), truth N(0, 2^2): the 0.9 interval covers far less.
    dist, y = _gaussians(300, 2.0)
    calibration = fit_conformal(dist, y[:, None])
    assert calibration.interval_scores.shape == (300, 1)
    q = calibration.level(0.9, "interval")[0]
    iv = dist.ppf([(1 - q) / 2, (1 + q) / 2])
    inside = (y >= iv[:, 0]) & (y <= iv[:, 1])
    assert inside.mean() >= 0.9 and q > 0.99
    q = calibration.level(0.9, "region")
    assert np.mean(dist.in_hdr(y, q)) >= 0.9
    # Missing targets and rows of weight zero are left out.
    y2 = np.where(np.arange(300) % 3 == 0, np.nan, y)[:, None]
    weights = (np.arange(300) % 3 != 1).astype(float)
    calibration = fit_conformal(dist, y2, weights)
    assert calibration.n_calibration == 200
    assert np.isnan(calibration.region_scores).sum() == 100


def test_conformal_coverage_over_random_splits_fast():
    # A deliberately overconfident prediction; 100 splits of 50 calibration
    # rows: the mean coverage is at least nominal (E = 46/51 = 0.902).
    dist, y = _gaussians(4000, 1.5, seed=1)
    scores = fit_conformal(dist, y[:, None])
    s = scores.region_scores
    rng = np.random.RandomState(0)
    cover = []
    for _ in range(100):
        perm = rng.permutation(len(y))
        q = ConformalCalibration(scores.interval_scores[perm[:50]], s[perm[:50]])
        cover.append(np.mean(s[perm[50:1050]] <= q.level(0.9, "region")))
    cover = np.array(cover)
    assert cover.mean() >= 0.9 - 2 * cover.std() / 10
    assert np.mean(s <= 0.9) < 0.8  # uncalibrated, it would not be


@pytest.mark.slow
@pytest.mark.parametrize("n_cal", [50, 200, 2000])
def test_conformal_coverage_over_200_splits(n_cal):
    rng = np.random.RandomState(n_cal)
    n = 30_000
    x = rng.uniform(0, 2, n)
    s_true = 0.5 + x
    # Heteroscedastic bimodal truth; the prediction ignores the heteroscedasticity.
    z = np.where(rng.uniform(size=n) < 0.5, -1, 1) + 0.35 * rng.normal(size=n)
    y = s_true * z
    w = np.full((n, 2), 0.5)
    means = np.stack([-np.ones(n), np.ones(n)], 1)[:, :, None] * 1.2
    dist = NormalMixture(w, means, np.full((n, 2, 1, 1), 0.4))
    scores = fit_conformal(dist, y[:, None])
    for kind, s in (("interval", scores.interval_scores[:, 0]), ("region", None)):
        s = scores.region_scores if s is None else s
        cover = []
        for _ in range(200):
            perm = rng.permutation(n)
            cal = ConformalCalibration(
                scores.interval_scores[perm[:n_cal]], scores.region_scores[perm[:n_cal]]
            )
            q = np.ravel(cal.level(0.9, kind))[0]
            cover.append(np.mean(s[perm[n_cal : n_cal + 1000]] <= q))
        cover = np.array(cover)
        se = cover.std(ddof=1) / np.sqrt(200)
        assert cover.mean() >= 0.9 - 2 * se, (kind, cover.mean(), se)


def _heteroscedastic(n, seed):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 1))
    y = X[:, 0] + (0.1 + 0.3 * (X[:, 0] + 1)) * rng.normal(size=n)
    return X, y


def test_calibrate_conformal_on_a_small_fit():
    X, y = _heteroscedastic(1600, seed=0)
    model = MDNRegressor(
        n_components=2,
        hidden_layer_sizes=(8,),
        max_iter=30,
        random_state=0,
        calibrate="conformal",
    ).fit(X[:800], y[:800])
    assert model.spread_factor_ == 1.0
    assert model.conformal_.n_calibration == 160
    Xt, yt = X[800:], y[800:]
    for coverage in (0.8, 0.9):
        # Three standard errors of the difference between a coverage on the
        # 160 calibration rows and one on the 800 test rows.
        se = np.sqrt(coverage * (1 - coverage) * (1 / 160 + 1 / len(yt)))
        iv = model.predict_interval(Xt, coverage)
        inside = (yt >= iv[:, 0]) & (yt <= iv[:, 1])
        assert abs(inside.mean() - coverage) < 3 * se
        intervals, n_intervals = model.predict_hdr(Xt, coverage)
        in_hdr = np.any(
            (yt[:, None] >= intervals[..., 0]) & (yt[:, None] <= intervals[..., 1]), 1
        )
        assert abs(in_hdr.mean() - coverage) < 3 * se
        np.testing.assert_array_equal(model.in_region(Xt, yt, coverage), in_hdr)
    # Wrapper functions follow the conformal levels.
    np.testing.assert_allclose(predict_interval(model, Xt, 0.9), iv)
    np.testing.assert_allclose(predict_hdr(model, Xt, 0.9)[0], intervals)
    # Too few rows for 0.995 (needs 199 held-out rows): the whole line, with
    # a warning that says why.
    with pytest.warns(UserWarning, match="held out 160 rows, and about 199") as rec:
        iv = model.predict_interval(Xt[:3], 0.995)
    assert "finite interval" in str(rec[0].message) and rec[0].filename == __file__
    np.testing.assert_array_equal(iv, [[-np.inf, np.inf]] * 3)
    with pytest.warns(UserWarning, match="finite region"):
        intervals, n_intervals = model.predict_hdr(Xt[:3], 0.995)
    np.testing.assert_array_equal(intervals[:, 0], [[-np.inf, np.inf]] * 3)
    np.testing.assert_array_equal(n_intervals, [1, 1, 1])
    with pytest.warns(UserWarning, match="finite region"):
        assert model.in_region(Xt[:3], yt[:3], 0.995).all()


def test_calibrate_conformal_without_held_out_rows_warns():
    X, y = _heteroscedastic(60, seed=1)
    model = MDNRegressor(
        n_components=1,
        hidden_layer_sizes=(4,),
        max_iter=2,
        early_stopping=False,
        calibrate="conformal",
        random_state=0,
    )
    with pytest.warns(UserWarning, match="conformal"):
        model.fit(X, y)
    with pytest.warns(UserWarning, match="held out 0 rows, and about 1 are"):
        interval = model.predict_interval(X[:2], 0.5)
    np.testing.assert_array_equal(interval, [[-np.inf, np.inf]] * 2)


def test_calibrate_rejects_other_strings():
    X, y = _heteroscedastic(30, seed=2)
    with pytest.raises(ValueError, match="calibrate"):
        MDNRegressor(calibrate="isotonic", max_iter=1).fit(X, y)


def test_calibrate_conformal_multi_output():
    rng = np.random.RandomState(3)
    X = rng.uniform(-1, 1, size=(400, 1))
    Y = np.column_stack([X[:, 0], -X[:, 0]]) + 0.2 * rng.normal(size=(400, 2))
    Y[::7, 1] = np.nan
    model = MDNRegressor(
        n_components=2,
        hidden_layer_sizes=(4,),
        max_iter=5,
        random_state=0,
        calibrate="conformal",
        missing_targets="marginalize",
    ).fit(X, Y)
    calibration = model.conformal_
    assert calibration.interval_scores.shape == (80, 2)
    assert np.isnan(calibration.interval_scores[:, 1]).any()
    assert not np.isnan(calibration.interval_scores[:, 0]).any()
    levels = calibration.level(0.8, "interval")
    assert levels.shape == (2,) and levels[0] != levels[1]
    iv = model.predict_interval(X[:5], 0.8)
    assert iv.shape == (5, 2, 2)
    dist = model.predict_dist(X[:5])
    for j in range(2):
        q = levels[j]
        np.testing.assert_allclose(
            iv[:, j], dist.marginal(j).ppf([(1 - q) / 2, (1 + q) / 2])
        )
    inside = model.in_region(X[:50], np.nan_to_num(Y[:50]), 0.8)
    assert inside.dtype == bool and inside.shape == (50,)


def test_conformal_survives_pickling_and_ensembles_get_the_methods():
    import pickle

    from sklearn_mdn import MDNEnsembleRegressor

    X, y = _heteroscedastic(200, seed=4)
    model = MDNRegressor(
        n_components=2,
        hidden_layer_sizes=(4,),
        max_iter=3,
        random_state=0,
        calibrate="conformal",
    ).fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        loaded.predict_interval(X[:5], 0.8), model.predict_interval(X[:5], 0.8)
    )
    assert loaded.conformal_.n_calibration == 40
    ensemble = MDNEnsembleRegressor(
        MDNRegressor(n_components=2, hidden_layer_sizes=(4,), max_iter=3),
        n_estimators=2,
        random_state=0,
    ).fit(X, y)
    intervals, n_intervals = ensemble.predict_hdr(X[:5], 0.8)
    dist = ensemble.predict_dist(X[:5])
    np.testing.assert_allclose(intervals, dist.hdr(0.8).intervals)
    modes, masses, n_modes = ensemble.predict_modes(X[:5], min_mass=0)
    np.testing.assert_allclose(np.nansum(masses, axis=1), 1.0)

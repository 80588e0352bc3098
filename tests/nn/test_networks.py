"""Several networks averaged: ``MDNRegressor(n_networks=...)``."""

import pickle

import numpy as np
import pytest
import torch
from _helpers import TINY, linear_data, tiny_mdn
from scipy.special import logsumexp

from sklearn_mdn import MDNEnsembleRegressor, MDNRegressor
from sklearn_mdn._nn._data import to_tensor
from sklearn_mdn._nn._module import to_distribution
from sklearn_mdn._nn._prediction import forward


@pytest.mark.parametrize(("n", "expected"), [(150, 5), (400, 2), (999, 1), (1000, 1)])
def test_auto_networks_follow_the_rows(n, expected):
    X, y = linear_data(n)
    reg = tiny_mdn().fit(X, y)
    assert reg.n_networks_ == expected
    # A single network is averaged with its refit on all the rows; several
    # train on every row together and are not refitted.
    assert reg.refit_ == (expected == 1)
    n_components = (1 + reg.refit_) * expected * TINY["n_components"]
    assert reg.predict_dist(X[:2]).n_components == n_components


def test_first_network_is_the_single_fit():
    # The same network up to rounding: the networks train together, in
    # batched products (_stacked.py) that sum in another order.
    X, y = linear_data(120)
    stacked = tiny_mdn(n_networks=3, refit=False).fit(X, y)
    single = tiny_mdn(n_networks=1, refit=False).fit(X, y)
    first = stacked.net_.module_.members[0].state_dict()
    for name, value in single.net_.module_.state_dict().items():
        torch.testing.assert_close(first[name], value, rtol=1e-5, atol=1e-6)
    assert stacked.n_iter_ == single.n_iter_
    assert stacked.n_steps_ > single.n_steps_


def test_networks_hold_out_disjoint_blocks_of_one_permutation(monkeypatch):
    import sklearn_mdn._nn._training as training_module

    splits = []
    build = training_module.build_net

    def record(*args, **kwargs):
        net = build(*args, **kwargs)
        splits.append(net.train_split)
        return net

    monkeypatch.setattr(training_module, "build_net", record)
    X, y = linear_data(150)
    tiny_mdn(
        n_networks=4, select_features=False, input_encoding="none", refit=False
    ).fit(X, y)
    assert [(s.fold, s.n_folds) for s in splits] == [(0, 4), (1, 4), (2, 4), (3, 4)]
    assert len({s.seed for s in splits}) == 1
    held_out = [set(_rows(s(_index_dataset(150))[1])) for s in splits]
    assert all(len(rows) == 30 for rows in held_out)
    assert len(set().union(*held_out)) == 4 * 30  # disjoint


def _index_dataset(n):
    """A data set whose inputs are the row numbers."""
    from sklearn_mdn._nn._data import TensorDataset

    index = torch.arange(n, dtype=torch.float64).reshape(-1, 1)
    return TensorDataset(index, index)


def _rows(dataset):
    return dataset.X.ravel().long().tolist()


def test_hold_out_blocks_wrap_around():
    from sklearn_mdn._nn._data import HoldOut

    blocks = [_rows(HoldOut(0.2, 7, fold)(_index_dataset(100))[1]) for fold in range(6)]
    assert sorted(sum(blocks[:5], [])) == list(range(100))  # five folds
    assert blocks[5] == blocks[0]
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(7))
    # Block 3 of 3 rows runs past row 10 of the permutation and wraps around.
    train, valid = HoldOut(0.3, 7, 3)(_index_dataset(10))
    assert _rows(valid) == perm[[9, 0, 1]].tolist()
    assert sorted(_rows(train) + _rows(valid)) == list(range(10))
    # Five blocks of 3 rows do not fit in 10: they start 10 / 5 rows apart.
    starts = [_rows(HoldOut(0.3, 7, f, 5)(_index_dataset(10))[1])[0] for f in range(5)]
    assert starts == perm[[0, 2, 4, 6, 8]].tolist()


@pytest.mark.parametrize("targets", [1, 2])
def test_prediction_is_the_equal_weight_average(targets):
    X, y = linear_data(150, p=3)
    if targets == 2:
        y = np.column_stack([y, X[:, 1] * y])
    reg = MDNRegressor(
        n_components=2,
        hidden_layer_sizes=(8,),
        max_iter=5,
        n_networks=3,
        refit=False,
        input_encoding="none",
        tree_blend="none",  # the networks' own mixtures
        random_state=0,
    ).fit(X, y)
    members = reg.net_.module_.members
    assert len(members) == 3
    # Not calibrated: the networks' disagreement widens the spread.
    assert reg.spread_factor_ == 1.0
    X_test, y_test = X[:20], y[:20]
    inputs = to_tensor(X_test, reg.x_mean_, reg.x_scale_, "cpu")
    event_shape = () if targets == 1 else (targets,)
    log_probs = [
        to_distribution(forward(member, inputs), event_shape)
        .affine(reg.y_mean_, reg.y_scale_)
        .log_prob(y_test)
        for member in members
    ]
    expected = logsumexp(log_probs, axis=0) - np.log(3)
    got = reg.predict_dist(X_test).log_prob(y_test)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_conformal_calibration_needs_one_network():
    X, y = linear_data(150)
    assert tiny_mdn(calibrate="conformal").fit(X, y).n_networks_ == 1
    with pytest.raises(ValueError, match="conformal.*single network"):
        tiny_mdn(calibrate="conformal", n_networks=2).fit(X, y)


def test_same_seed_same_networks():
    X, y = linear_data(150)
    a = tiny_mdn(n_networks=3).fit(X, y).predict_interval(X)
    b = tiny_mdn(n_networks=3).fit(X, y).predict_interval(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "many"])
def test_bad_n_networks(bad):
    X, y = linear_data(50)
    with pytest.raises(ValueError, match="n_networks"):
        tiny_mdn(n_networks=bad).fit(X, y)


def test_ensemble_members_train_one_network_unless_asked():
    X, y = linear_data(150)
    ens = MDNEnsembleRegressor(tiny_mdn(), n_estimators=2, random_state=0).fit(X, y)
    assert [m.n_networks_ for m in ens.estimators_] == [1, 1]
    ens = MDNEnsembleRegressor(tiny_mdn(n_networks=2), n_estimators=2).fit(X, y)
    assert [m.n_networks_ for m in ens.estimators_] == [2, 2]


def test_verbose_names_each_network(capsys):
    X, y = linear_data(150)
    tiny_mdn(n_networks=2, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "Network 1 of 2" in out and "Network 2 of 2" in out
    assert out.index("Network 2 of 2") > out.index("Network 1 of 2")
    tiny_mdn(n_networks=1, verbose=1).fit(X, y)
    assert "Network" not in capsys.readouterr().out


def test_stacked_model_pickles_bit_identically():
    X, y = linear_data(150)
    reg = tiny_mdn(n_networks=3).fit(X, y)
    again = pickle.loads(pickle.dumps(reg))
    assert again.n_networks_ == 3
    np.testing.assert_array_equal(again.predict_interval(X), reg.predict_interval(X))

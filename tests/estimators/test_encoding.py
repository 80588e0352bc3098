"""The inputs' encoding that the held-out rows choose:
``MDNRegressor(input_encoding="auto")``."""

import pickle

import numpy as np
import pytest
import torch
from _helpers import SMALL, sine_data, tiny_mdn
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_mdn import (
    OutOfDomainWarning,
    PiecewiseLinearEncoder,
    load_model,
    save_model,
)
from sklearn_mdn._estimators import _networks, _plan
from sklearn_mdn._nn._module import StackedMixture
from sklearn_mdn._nn._prediction import forward
from sklearn_mdn._nn._training import NetworkTrainer

# No tree blend: these tests read the networks' own mixtures.
PARAMS = {
    **SMALL,
    "max_iter": 30,
    "n_iter_no_change": 6,
    "random_state": 0,
    "tree_blend": "none",
}


# The default threshold of held-out rows, before the fixture below lowers it.
MIN_ENCODING_HELD_OUT = _plan.MIN_ENCODING_HELD_OUT


@pytest.fixture(autouse=True)
def _small_held_out(monkeypatch):
    """The encoding's machinery on small fits: tried from 30 held-out rows
    (``test_not_tried_below_a_hundred_held_out_rows`` sets the default back)."""
    monkeypatch.setattr(_plan, "MIN_ENCODING_HELD_OUT", 30)


def _fit(X, y, z=None, monkeypatch=None, **params):
    """A fit whose encoding is always kept (``z=inf``) or never (``-inf``)."""
    if z is not None:
        monkeypatch.setattr(_plan, "ENCODING_Z", z)
    return tiny_mdn({**PARAMS, **params}).fit(X, y)


def _members(reg):
    module = reg.net_.module_
    return module.members if isinstance(module, StackedMixture) else [module]


@pytest.mark.parametrize("stacked", [True, False])
@pytest.mark.parametrize("n_networks", [1, 3])
def test_a_kept_encoding_is_what_every_network_reads(monkeypatch, n_networks, stacked):
    if not stacked:  # skorch's loop, one network after another
        monkeypatch.setattr(_networks, "stacked_supported", lambda est, plan: False)
    X, y = sine_data(300, p=3)
    reg = _fit(X, y, np.inf, monkeypatch, n_networks=n_networks)
    assert reg.fit_plan_.encoding == "piecewise_linear"
    encoder = reg.input_encoder_
    assert isinstance(encoder, PiecewiseLinearEncoder)
    assert encoder.n_features_in_ == reg.support_.sum()
    n_columns = encoder.n_features_out_
    assert reg.encoded_mean_.shape == reg.encoded_scale_.shape == (n_columns,)
    # Networks and refits alike read the encoded columns.
    members = _members(reg)
    assert len(members) == n_networks * (2 if reg.refit_ else 1)
    assert all(m.trunk[0].in_features == n_columns for m in members)
    # A prediction is the module's mixture of the encoded, standardised rows.
    Xs = (X[:20] - reg.x_mean_) / reg.x_scale_
    encoded = encoder.transform(Xs[:, reg.support_])
    inputs = (encoded - reg.encoded_mean_) / reg.encoded_scale_
    params = forward(reg.net_.module_, torch.as_tensor(inputs, dtype=torch.float32))
    means = params.means[..., 0] * reg.y_scale_[0] + reg.y_mean_[0]
    weights = np.exp(params.logits - params.logits.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    assert_allclose(reg.predict(X[:20]), (weights * means).sum(1), rtol=1e-5)


def test_a_rejected_encoding_leaves_the_fit_on_the_raw_inputs(monkeypatch):
    X, y = sine_data(300, p=3)
    reg = _fit(X, y, -np.inf, monkeypatch, n_networks=1)
    plain = _fit(X, y, input_encoding="none", n_networks=1)
    assert reg.fit_plan_.encoding == "none" and reg.input_encoder_ is None
    # The candidate draws from no generator the raw networks use: the fit is
    # the one without an encoding, but for the candidate's steps.
    assert_array_equal(reg.predict(X), plain.predict(X))
    assert reg.n_steps_ > plain.n_steps_
    rows = {d.name: d for d in reg.fit_plan_.decisions}
    assert "not lower" in rows["encoding kept"].rule
    assert "encoding kept" not in {d.name for d in plain.fit_plan_.decisions}
    assert plain.fit_plan_.encoding == "none" and plain.input_encoder_ is None


def test_the_encoding_is_chosen_on_the_held_out_rows():
    # A target that is a step function of a feature with ten levels: the
    # encoding's bins end at the levels, the raw input has to learn steps.
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randint(0, 10, 600), rng.uniform(-1, 1, 600)])
    table = rng.normal(size=10) * 2
    y = table[X[:, 0].astype(int)] + 0.1 * rng.normal(size=600)
    params = {"hidden_layer_sizes": (32, 32), "max_iter": 200, "random_state": 0}
    reg = tiny_mdn(params, n_components=1, n_networks=1).fit(X, y)
    rule = {d.name: d.rule for d in reg.fit_plan_.decisions}["encoding kept"]
    assert reg.fit_plan_.encoding == "piecewise_linear", rule


def test_an_encoded_fit_survives_files_and_pickles(monkeypatch, tmp_path):
    X, y = sine_data(300, p=3)
    reg = _fit(X, y, np.inf, monkeypatch, n_networks=1)
    path = tmp_path / "model.mdn"
    save_model(reg, path)
    for other in (load_model(path), pickle.loads(pickle.dumps(reg))):
        assert other.fit_plan_.encoding == "piecewise_linear"
        assert_array_equal(other.predict(X), reg.predict(X))


def test_partial_fit_and_warm_start_continue_on_the_encoding(monkeypatch):
    X, y = sine_data(300, p=3)
    reg = _fit(X, y, np.inf, monkeypatch, n_networks=1, refit=False)
    encoder = reg.input_encoder_
    reg.partial_fit(X, y)
    assert reg.input_encoder_ is encoder
    assert np.isfinite(reg.predict(X)).all()
    warm = _fit(X, y, np.inf, monkeypatch, n_networks=1, refit=False)
    warm.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert warm.input_encoder_ is not None
    rows = {d.name: d for d in warm.fit_plan_.decisions}
    assert rows["input_encoding"].value == "False"
    assert np.isfinite(warm.predict(X)).all()


def test_a_new_fit_forgets_the_previous_encoding(monkeypatch):
    X, y = sine_data(300, p=3)
    reg = _fit(X, y, np.inf, monkeypatch, n_networks=1)
    reg.set_params(input_encoding="none").fit(X, y)
    assert reg.input_encoder_ is None and reg.encoded_mean_ is None
    assert all(m.trunk[0].in_features == X.shape[1] for m in _members(reg))


@pytest.mark.parametrize(("n", "tried"), [(497, False), (498, True)])
def test_not_tried_below_a_hundred_held_out_rows(n, tried, monkeypatch):
    # 99 and 100 held-out rows at validation_fraction=0.2.
    monkeypatch.setattr(_plan, "MIN_ENCODING_HELD_OUT", MIN_ENCODING_HELD_OUT)
    plan = _plan.make_plan(tiny_mdn(PARAMS), n, n_features=3)
    assert plan.choose_encoding == tried
    rule = next(d.rule for d in plan.decisions if d.name == "input_encoding")
    assert ("not tried below 100 held-out rows" in rule) != tried


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"input_l1": 0.01}, "input_l1"),
        ({"validation_fraction": 0.05}, "held-out rows"),
        ({"input_encoding": "none"}, "as given"),
    ],
)
def test_when_the_encoding_is_not_tried(params, reason):
    X, y = sine_data(300, p=3)
    reg = tiny_mdn(PARAMS, n_networks=1, **params).fit(X, y)
    rows = {d.name: d for d in reg.fit_plan_.decisions}
    assert reason in rows["input_encoding"].rule
    assert "encoding kept" not in rows
    assert reg.input_encoder_ is None


def test_the_encoding_is_validated():
    X, y = sine_data(50)
    with pytest.raises(ValueError, match="input_encoding"):
        tiny_mdn(input_encoding="ple").fit(X, y)


def test_weights_and_several_targets_go_through_the_encoding(monkeypatch):
    X, y = sine_data(300, p=3)
    Y = np.column_stack([y, X[:, 1] * y])
    weight = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    reg = _fit(X, Y, np.inf, monkeypatch, n_networks=1)
    weighted = _fit(X, Y, np.inf, monkeypatch, n_networks=1).fit(
        X, Y, sample_weight=weight
    )
    for model in (reg, weighted):
        assert model.fit_plan_.encoding == "piecewise_linear"
        assert model.predict(X[:10]).shape == (10, 2)
        assert np.isfinite(model.predict_dist(X[:10]).log_prob(Y[:10])).all()
    # The encoded columns are standardised with the rows' weights.
    assert not np.allclose(reg.encoded_mean_, weighted.encoded_mean_)


def test_a_diverging_candidate_leaves_the_raw_inputs(monkeypatch):
    X, y = sine_data(300, p=3)
    plain = _fit(X, y, input_encoding="none", n_networks=1)
    reading = NetworkTrainer.reading

    def diverging(self, dataset, encoding):
        trainer = reading(self, dataset, encoding)

        def fail(*args, **kwargs):
            raise FloatingPointError("Training diverged")

        trainer.build = fail
        return trainer

    monkeypatch.setattr(NetworkTrainer, "reading", diverging)
    reg = _fit(X, y, np.inf, monkeypatch, n_networks=1)
    assert reg.fit_plan_.encoding == "none" and reg.input_encoder_ is None
    rows = {d.name: d for d in reg.fit_plan_.decisions}
    assert "diverged" in rows["encoding kept"].rule
    assert_array_equal(reg.predict(X), plain.predict(X))


def test_a_warm_fit_records_the_encoding_it_continues(monkeypatch):
    X, y = sine_data(300, p=3)
    reg = _fit(X, y, np.inf, monkeypatch, n_networks=1, refit=False)
    reg.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert reg.fit_plan_.encoding == "piecewise_linear"
    assert (
        "continues"
        in {d.name: d for d in reg.fit_plan_.decisions}["encoding kept"].rule
    )


def test_far_off_rows_raise_the_clear_error(monkeypatch):
    X, y = sine_data(300, p=3)
    reg = _fit(X, y, np.inf, monkeypatch, n_networks=1)
    with pytest.warns(OutOfDomainWarning), pytest.raises(ValueError, match="too far"):
        reg.predict(np.full((2, 3), 1e39))


def test_the_encoding_is_not_tried_on_many_rows(monkeypatch):
    monkeypatch.setattr(_plan, "MAX_ENCODING_ROWS", 299)
    X, y = sine_data(300, p=3)
    reg = tiny_mdn(PARAMS, n_networks=1).fit(X, y)
    rows = {d.name: d for d in reg.fit_plan_.decisions}
    assert "off above 299 rows" in rows["input_encoding"].rule
    assert reg.input_encoder_ is None

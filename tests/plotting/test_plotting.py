"""Display objects, drawn with matplotlib's Agg backend."""

import builtins
import importlib

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib", reason="the displays need matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection, QuadMesh  # noqa: E402
from matplotlib.contour import QuadContourSet  # noqa: E402
from scipy.integrate import trapezoid  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_mdn import MDNRegressor, NormalMixture  # noqa: E402
from sklearn_mdn.plotting import (  # noqa: E402
    CoverageDisplay,
    PITDisplay,
    PredictiveDensityDisplay,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(150, 2))
    y = np.column_stack([X[:, 0], X[:, 0] - X[:, 1]]) + 0.1 * rng.normal(size=(150, 2))
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    reg = MDNRegressor(2, hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    return reg.fit(X, y[:, 0])


@pytest.fixture(scope="module")
def fitted_multi(data):
    X, y = data
    reg = MDNRegressor(2, hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    return reg.fit(X, y)


def standard_normals(n):
    return NormalMixture(np.ones((n, 1)), np.zeros((n, 1, 1)), np.ones((n, 1, 1, 1)))


# ------------------------------------------------------ predictive density
def test_density_display_draws_density_band_points_and_samples(fitted, data):
    X, y = data
    display = PredictiveDensityDisplay.from_estimator(
        fitted,
        X,
        y[:, 0],
        feature=1,
        n_points=30,
        y_grid=40,
        coverage=0.8,
        point_estimate=["mean", "mode", "top"],
        n_samples=3,
        random_state=0,
    )
    ax = display.ax_
    assert isinstance(display.density_, QuadMesh)
    assert display.density_.get_array().shape == (40, 30)
    assert isinstance(display.interval_band_, PolyCollection)
    assert set(display.point_lines_) == {"mean", "mode", "top"}
    assert display.point_lines_["mean"] in ax.lines
    # Grid along feature 1, the other feature at its median.
    grid = np.linspace(X[:, 1].min(), X[:, 1].max(), 30)
    np.testing.assert_allclose(display.x_grid, grid)
    rows = np.column_stack([np.full(30, np.median(X[:, 0])), grid])
    dist = fitted.predict_dist(rows)
    np.testing.assert_allclose(display.point_lines_["mean"].get_ydata(), dist.mean())
    np.testing.assert_allclose(display.point_lines_["mode"].get_ydata(), dist.mode())
    np.testing.assert_allclose(display.interval, dist.interval(0.8))
    y_grid = display.y_grid
    np.testing.assert_allclose(
        display.density,
        dist.pdf(np.broadcast_to(y_grid[:, None], (40, 30))),
    )
    # The density is a probability density over y in every column.
    assert display.density.min() >= 0
    assert display.samples_scatter_.get_offsets().shape == (30 * 3, 2)
    assert display.data_scatter_.get_offsets().shape == (150, 2)
    np.testing.assert_allclose(display.data_scatter_.get_offsets()[:, 0], X[:, 1])
    assert ax.get_xlabel() == "x1"
    assert "80% interval" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert display.figure_ is ax.figure


def test_density_display_on_given_axes_and_grids_with_contours(fitted, data):
    X, _ = data
    fig, ax = plt.subplots()
    display = PredictiveDensityDisplay.from_estimator(
        fitted,
        X,
        grid=[-0.5, 0.0, 0.5],
        y_grid=np.linspace(-2, 2, 11),
        coverage=None,
        point_estimate=None,
        kind="contour",
        legend=False,
        ax=ax,
    )
    assert display.ax_ is ax
    assert isinstance(display.density_, QuadContourSet)
    assert display.interval_band_ is None
    assert display.point_lines_ == {}
    assert display.samples_scatter_ is None and display.data_scatter_ is None
    assert display.density.shape == (11, 3)
    assert ax.get_legend() is None
    assert ax.get_ylim() == (-2.0, 2.0)


def test_density_display_multi_output_dataframe_and_pipeline(fitted_multi, data):
    pd = pytest.importorskip("pandas", reason="DataFrame input needs pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=["depth", "temp"])
    targets = pd.DataFrame(y, columns=["a", "b"])
    pipe = make_pipeline(
        StandardScaler(),
        MDNRegressor(2, hidden_layer_sizes=(8,), max_iter=3, random_state=0),
    ).fit(frame, targets)
    display = PredictiveDensityDisplay.from_estimator(
        pipe, frame, targets, feature="temp", target=1, n_points=20
    )
    assert display.ax_.get_xlabel() == "temp"
    assert display.ax_.get_ylabel() == "b"
    np.testing.assert_allclose(display.y_data, y[:, 1])
    rows = pd.DataFrame(
        {"depth": np.full(20, frame["depth"].median()), "temp": display.x_grid}
    )
    dist = pipe[-1].predict_dist(pipe[0].transform(rows)).marginal(1)
    np.testing.assert_allclose(display.point_estimates["mean"], dist.mean())
    with pytest.raises(ValueError, match="choose one with target=j"):
        PredictiveDensityDisplay.from_estimator(fitted_multi, X)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"feature": 5}, "feature must be a column index"),
        ({"feature": "temp"}, "is not a column name"),
        ({"point_estimate": "median"}, "point_estimate must be among"),
        ({"n_samples": -1}, "n_samples must be a non-negative integer"),
        ({"grid": [0.0]}, "grid must be 1-D with at least 2 values"),
        ({"kind": "surface"}, "kind must be 'image' or 'contour'"),
    ],
)
def test_density_display_bad_arguments(fitted, data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        PredictiveDensityDisplay.from_estimator(fitted, data[0], **kwargs)


def test_density_display_needs_predict_dist(data):
    from sklearn.linear_model import LinearRegression

    X, y = data
    match = r"PredictiveDensityDisplay\.from_estimator takes a fitted MDNRegressor"
    with pytest.raises(TypeError, match=match):
        PredictiveDensityDisplay.from_estimator(LinearRegression().fit(X, y), X)


# ------------------------------------------------------------- calibration
def test_pit_display_is_flat_for_calibrated_predictions():
    from scipy.stats import norm

    n = 4000
    # Observations at evenly spaced quantiles: PIT values exactly uniform.
    y = norm.ppf((np.arange(n) + 0.5) / n)
    display = PITDisplay.from_predictions(y, standard_normals(n), n_bins=8)
    heights = np.array([bar.get_height() for bar in display.bars_])
    np.testing.assert_allclose(heights, np.ones(8))
    np.testing.assert_allclose(display.uniform_line_.get_ydata(), [1, 1])
    # Bars of uniform values: counts Binomial(n, 1/8), 2 sd as a density.
    half = 2 * np.sqrt(n * (1 / 8) * (7 / 8)) * 8 / n
    band = display.band_.get_paths()[0].vertices[:, 1]
    np.testing.assert_allclose([band.min(), band.max()], [1 - half, 1 + half])


def test_pit_display_shows_over_confidence_as_a_u_shape():
    rng = np.random.RandomState(0)
    n = 4000
    display = PITDisplay.from_predictions(3 * rng.normal(size=n), standard_normals(n))
    heights = np.array([bar.get_height() for bar in display.bars_])
    assert heights[0] > 2 and heights[-1] > 2 and heights[4] < 0.5


def test_pit_display_from_estimator_multi_output(fitted_multi, data):
    X, y = data
    display = PITDisplay.from_estimator(fitted_multi, X, y)
    assert len(display.pit_values) == 2 * len(X)
    assert "MDNRegressor" in display.ax_.get_title()
    display = PITDisplay.from_estimator(fitted_multi, X, y, target=1)
    expected = fitted_multi.predict_dist(X).marginal(1).cdf(y[:, 1])
    np.testing.assert_allclose(np.sort(display.pit_values), np.sort(expected))


def test_coverage_display_matches_interval_coverage(fitted, data):
    from sklearn_mdn.metrics import interval_coverage

    X, y = data
    display = CoverageDisplay.from_estimator(fitted, X, y[:, 0], levels=[0.5, 0.9])
    intervals = [fitted.predict_interval(X, c) for c in (0.5, 0.9)]
    expected = [interval_coverage(y[:, 0], i) for i in intervals]
    np.testing.assert_allclose(display.line_.get_ydata(), expected)
    np.testing.assert_allclose(display.line_.get_xdata(), [0.5, 0.9])
    np.testing.assert_allclose(display.diagonal_.get_xydata(), [[0, 0], [1, 1]])
    assert display.line_.get_label() == "MDNRegressor"


def test_coverage_display_on_calibrated_predictions():
    rng = np.random.RandomState(0)
    fig, ax = plt.subplots()
    display = CoverageDisplay.from_predictions(
        rng.normal(size=5000), standard_normals(5000), ax=ax, estimator_name="N(0, 1)"
    )
    assert display.ax_ is ax
    np.testing.assert_allclose(display.line_.get_ydata(), display.nominal, atol=0.03)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: PITDisplay.from_predictions([0.0], np.zeros(1)), "NormalMixture"),
        (lambda: PITDisplay.from_predictions([0.0], standard_normals(1), n_bins=0),
         "n_bins must be a positive integer"),
        (lambda: CoverageDisplay.from_predictions(
            [0.0], standard_normals(1), levels=[0.5, 1.0]), "levels must be"),
        (lambda: PITDisplay.from_predictions([np.nan], standard_normals(1)),
         "no PIT values"),
    ],
)  # fmt: skip
def test_calibration_displays_bad_arguments(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


# ---------------------------------------------------------------- optional
def test_clear_error_without_matplotlib(monkeypatch):
    import sklearn_mdn.plotting as plotting

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    # The module itself imports without matplotlib ...
    importlib.reload(plotting)
    # ... and drawing says how to install it.
    with pytest.raises(ImportError, match=r'pip install "\.\[plot\]"'):
        plotting.PITDisplay(pit_values=[0.5]).plot()
    monkeypatch.undo()
    importlib.reload(plotting)


# ------------------------------------------------------- target transforms
def _log_target_models():
    from sklearn.compose import TransformedTargetRegressor

    rng = np.random.RandomState(3)
    X = rng.uniform(-1, 1, size=(120, 2))
    y = np.exp(X[:, 0] + 0.2 * rng.normal(size=120))

    def mdn():
        return MDNRegressor(2, hidden_layer_sizes=(8,), max_iter=5, random_state=0)

    ttr = TransformedTargetRegressor(mdn(), func=np.log, inverse_func=np.exp)
    pipe = make_pipeline(
        StandardScaler(),
        TransformedTargetRegressor(mdn(), func=np.log, inverse_func=np.exp),
    )
    return X, y, {"ttr": ttr.fit(X, y), "pipeline": pipe.fit(X, y)}


@pytest.fixture(scope="module")
def log_target():
    return _log_target_models()


def _inner(model, X):
    """The inner MDNRegressor's mixtures of a (Pipeline of a) log-target TTR."""
    if hasattr(model, "steps"):
        return model[-1].regressor_.predict_dist(model[0].transform(X))
    return model.regressor_.predict_dist(X)


@pytest.mark.parametrize("name", ["ttr", "pipeline"])
def test_pit_and_coverage_displays_through_a_target_transform(log_target, name):
    from sklearn_mdn import predict_interval
    from sklearn_mdn.metrics import interval_coverage

    X, y, models = log_target
    model = models[name]
    display = PITDisplay.from_estimator(model, X, y)
    # PIT values are unchanged by the monotone transform.
    np.testing.assert_allclose(display.pit_values, _inner(model, X).cdf(np.log(y)))
    display = CoverageDisplay.from_estimator(model, X, y, levels=[0.5, 0.9])
    expected = [interval_coverage(y, predict_interval(model, X, c)) for c in (0.5, 0.9)]
    np.testing.assert_allclose(display.line_.get_ydata(), expected)
    assert display.line_.get_label() == type(model).__name__


def test_pit_display_through_a_decreasing_target_transform(log_target):
    from sklearn.compose import TransformedTargetRegressor

    X, y, _ = log_target
    model = TransformedTargetRegressor(
        MDNRegressor(2, hidden_layer_sizes=(8,), max_iter=5, random_state=0),
        func=lambda v: -np.log(v),
        inverse_func=lambda v: np.exp(-v),
    ).fit(X, y)
    display = PITDisplay.from_estimator(model, X, y)
    # P(Y <= y) = P(-log Y >= -log y) = 1 - F(-log y).
    expected = 1.0 - model.regressor_.predict_dist(X).cdf(-np.log(y))
    np.testing.assert_allclose(display.pit_values, expected, atol=1e-12)


@pytest.mark.parametrize("name", ["ttr", "pipeline"])
def test_density_display_through_a_target_transform(log_target, name):
    from sklearn_mdn import predict_interval

    X, y, models = log_target
    model = models[name]
    display = PredictiveDensityDisplay.from_estimator(
        model, X, y, n_points=6, y_grid=4000, point_estimate=["mean", "mode"]
    )
    rows = np.column_stack([display.x_grid, np.full(6, np.median(X[:, 1]))])
    y_grid = display.y_grid
    assert y_grid.min() > 0
    # The density of Y = exp(Z) is p_Z(log y) / y, and integrates to one.
    inner = _inner(model, rows)
    expected = inner.pdf(np.broadcast_to(np.log(y_grid)[:, None], (4000, 6)))
    np.testing.assert_allclose(display.density, expected / y_grid[:, None], rtol=1e-6)
    mass = trapezoid(display.density, y_grid, axis=0)
    np.testing.assert_allclose(mass, 1.0, atol=5e-3)
    np.testing.assert_allclose(display.interval, predict_interval(model, rows))
    np.testing.assert_allclose(display.point_estimates["mean"], model.predict(rows))
    np.testing.assert_allclose(display.point_estimates["mode"], np.exp(inner.mode()))


def test_density_display_refuses_a_transform_that_is_not_monotone(log_target):
    from sklearn.compose import TransformedTargetRegressor

    X, y, models = log_target
    square = TransformedTargetRegressor(
        MDNRegressor(2, hidden_layer_sizes=(8,), max_iter=5, random_state=0),
        func=np.square,
        inverse_func=np.sqrt,
        check_inverse=False,
    ).fit(X, y)
    with pytest.raises(ValueError, match="not monotone over the plotted y grid"):
        PredictiveDensityDisplay.from_estimator(
            square, X, y_grid=np.linspace(-1, 1, 11)
        )
    with pytest.raises(ValueError, match="not finite over the plotted y grid"):
        PredictiveDensityDisplay.from_estimator(
            models["ttr"], X, y_grid=np.linspace(-1, 1, 11)
        )


# ---------------------------------------------------------- drawing fixes
def test_pit_band_below_the_bars_and_legend_clear_of_them():
    """Issue #31: the band drawn over the bars changed their colour, so they
    no longer matched their legend entry."""
    from matplotlib.colors import to_rgba

    rng = np.random.RandomState(1)
    n = 300
    display = PITDisplay.from_predictions(rng.normal(size=n), standard_normals(n))
    ax = display.ax_
    bar_zorder = min(bar.get_zorder() for bar in display.bars_)
    assert display.band_.get_zorder() < bar_zorder
    # Nothing filled lies over the bars: only the lines (band bounds, y = 1).
    filled = [a for a in [*ax.patches, *ax.collections] if a not in display.bars_]
    assert filled and all(a.get_zorder() < bar_zorder for a in filled)
    # The bars look as their legend entry does.
    legend = ax.get_legend()
    handles = dict(
        zip([t.get_text() for t in legend.get_texts()], legend.legend_handles)
    )
    for bar in display.bars_:
        assert bar.get_facecolor() == to_rgba(handles["PIT"].get_facecolor())
    # The band's bounds are drawn over the bars, where the band is hidden.
    half = 2.0 * np.sqrt(n * 0.1 * 0.9) * 10 / n
    lower, upper = display.band_bounds_
    assert lower.get_zorder() > bar_zorder and upper.get_zorder() > bar_zorder
    np.testing.assert_allclose(lower.get_ydata(), 1 - half)
    np.testing.assert_allclose(upper.get_ydata(), 1 + half)
    display.figure_.canvas.draw()
    box = legend.get_window_extent()
    for bar in display.bars_:
        assert not box.overlaps(bar.get_window_extent())


def _luminance(color):
    """Relative luminance (WCAG) of a colour: 0 for black, 1 for white."""
    from matplotlib.colors import to_rgb

    rgb = np.asarray(to_rgb(color))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def test_density_contour_lines_stand_out_from_the_white_background(fitted, data):
    X, _ = data
    display = PredictiveDensityDisplay.from_estimator(
        fitted, X, n_points=20, y_grid=30, kind="contour"
    )
    contours = display.density_
    assert isinstance(contours, QuadContourSet)
    try:  # matplotlib >= 3.8: a ContourSet is one collection
        colors = contours.get_edgecolor()
    except AttributeError:
        colors = [c.get_edgecolor()[0] for c in contours.collections]
    assert len(colors) >= 3
    # Contrast with white of at least 2.5:1 for every line (the light end of
    # "Blues", drawn before, is near white: luminance above 0.9).
    assert max(_luminance(c[:3]) for c in colors) < 0.37
    # The colour bar shows the colours the lines have.
    assert display.colorbar_.mappable is contours


def test_density_display_layers_have_colours_of_their_own(fitted, data):
    """Issue #31: the mean was blue on the blue density; samples and modes
    were both red dots."""
    from matplotlib import colormaps
    from matplotlib.colors import to_rgb
    from matplotlib.patheffects import Stroke

    X, y = data
    display = PredictiveDensityDisplay.from_estimator(
        fitted,
        X,
        y[:, 0],
        n_points=20,
        y_grid=30,
        modes=True,
        n_samples=3,
        point_estimate=["mean", "mode", "top"],
        random_state=0,
    )
    mean = np.asarray(to_rgb(display.point_lines_["mean"].get_color()))
    blues = colormaps["Blues"](np.linspace(0, 1, 50))[:, :3]
    assert np.min(np.linalg.norm(blues - mean, axis=1)) > 0.3
    # A white edge keeps the (dark) mean visible on the darkest blue.
    strokes = display.point_lines_["mean"].get_path_effects()
    assert any(isinstance(effect, Stroke) for effect in strokes)
    samples, modes = display.samples_scatter_, display.modes_scatter_
    sample_color = to_rgb(samples.get_facecolor()[0])
    colors = {
        "samples": sample_color,
        "modes": to_rgb(modes.get_facecolor()[0]),
        "mode": to_rgb(display.point_lines_["mode"].get_color()),
        "top": to_rgb(display.point_lines_["top"].get_color()),
        "mean": tuple(mean),
    }
    assert len(set(colors.values())) == len(colors), colors
    # Different markers too: dots for the samples, diamonds for the modes.
    sample_marker = samples.get_paths()[0].vertices
    mode_marker = modes.get_paths()[0].vertices
    assert sample_marker.shape != mode_marker.shape or not np.allclose(
        sample_marker / np.abs(sample_marker).max(),
        mode_marker / np.abs(mode_marker).max(),
    )


def test_coverage_display_one_diagonal_for_two_curves_and_a_title(fitted, data):
    X, y = data
    fig, ax = plt.subplots()
    first = CoverageDisplay.from_estimator(fitted, X, y[:, 0], ax=ax)
    second = CoverageDisplay.from_predictions(
        y[:, 0], fitted.predict_dist(X), ax=ax, estimator_name="again"
    )
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["calibrated", "MDNRegressor", "again"]
    assert second.diagonal_ is first.diagonal_
    assert ax.get_title()


def test_density_interval_bounds_are_open_lines_with_a_colorbar(fitted, data):
    X, y = data
    display = PredictiveDensityDisplay.from_estimator(fitted, X, n_points=20)
    lower, upper = display.interval_lines_
    # Two open lines along the grid: no vertical edge closes them.
    for line, column in ((lower, 0), (upper, 1)):
        np.testing.assert_allclose(line.get_xdata(), display.x_grid)
        np.testing.assert_allclose(line.get_ydata(), display.interval[:, column])
    assert np.all(display.interval_band_.get_linewidths() == 0)
    assert display.colorbar_.mappable is display.density_
    assert display.colorbar_.ax.get_ylabel() == "predictive density"
    display = PredictiveDensityDisplay.from_estimator(
        fitted, X, n_points=20, colorbar=False
    )
    assert display.colorbar_ is None

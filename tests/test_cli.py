"""The command line, end to end: ``python -m sklearn_mdn`` in a subprocess.

Every subprocess pays for importing torch (seconds on a loaded machine), so
the default run starts a handful; each error path also runs in-process
through ``main`` (the console script's entry point), and all of them run
again in subprocesses under ``-m slow``.
"""

import csv
import subprocess
import sys

import joblib
import numpy as np
import pytest

from sklearn_mdn import MDNRegressor
from sklearn_mdn._cli import main

TINY = ["--max-iter", "5", "--hidden-layer-sizes", "8", "--n-components", "2"]


def run_cli(*args, cwd):
    """Run ``python -m sklearn_mdn ARGS``; return the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "sklearn_mdn", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], np.array(rows[1:], dtype=float)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A CSV with two features, a text column and two positive targets."""
    path = tmp_path_factory.mktemp("cli")
    rng = np.random.RandomState(0)
    a, b = rng.uniform(-1, 1, size=(2, 60))
    y = np.exp(a + 0.1 * rng.normal(size=60))
    z = 2.0 + b + 0.1 * rng.normal(size=60)
    names = [f"site{i}" for i in range(60)]
    write_csv(
        path / "train.csv",
        ["a", "name", "b", "y", "z"],
        [
            [float(a[i]), names[i], float(b[i]), float(y[i]), float(z[i])]
            for i in range(60)
        ],
    )
    # New rows with the columns in another order and without the targets.
    write_csv(path / "new.csv", ["b", "a"], [[0.5, -0.5], [0.0, 0.0], [-1, 1]])
    return path


@pytest.fixture(scope="module")
def model(workdir):
    """``fit`` on every other numeric column, in a subprocess."""
    proc = run_cli(
        "fit", "train.csv", "--target", "y", "--model", "m.joblib",
        "--random-state", "0", *TINY, cwd=workdir,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "a, b, z -> y" in proc.stdout
    return workdir / "m.joblib"


def test_fit_saves_our_model(model):
    saved = joblib.load(model)
    assert saved["format"] == "sklearn-mdn/model"
    # The text column is left out; the other numeric target is a feature.
    assert saved["features"] == ["a", "b", "z"]
    assert saved["targets"] == ["y"]
    assert saved["log_target"] is False
    assert isinstance(saved["estimator"], MDNRegressor)
    assert saved["estimator"].n_iter_ == 5
    assert saved["estimator"].n_features_in_ == 3


def test_predict_writes_estimates_intervals_and_samples(model, workdir):
    write_csv(
        workdir / "new3.csv",
        ["z", "b", "extra", "a"],
        [[2.0, 0.5, "x", -0.5], [1.0, 0.0, "y", 0.0]],
    )
    proc = run_cli(
        "predict", model, "new3.csv", "--out", "out.csv", "--coverage", "0.8",
        "--samples", "3", "--random-state", "0", cwd=workdir,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    header, values = read_csv(workdir / "out.csv")
    assert header == ["y_pred", "y_lower", "y_upper"] + [
        f"y_sample{i}" for i in (1, 2, 3)
    ]
    assert values.shape == (2, 6)
    # The same numbers as the estimator's own methods, on reordered columns.
    est = joblib.load(model)["estimator"]
    X = np.array([[-0.5, 0.5, 2.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(values[:, 0], est.predict(X))
    np.testing.assert_allclose(values[:, 1:3], est.predict_interval(X, 0.8))
    np.testing.assert_allclose(values[:, 3:], est.sample(X, 3, random_state=0))


def test_log_target_multi_output_round_trip(workdir):
    proc = run_cli(
        "fit", "train.csv", "--target", "y", "--target", "z", "--features",
        "a", "b", "--log-target", "--model", "log.joblib", "--random-state",
        "0", "--verbose", *TINY, cwd=workdir,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "(log scale)" in proc.stdout
    proc = run_cli(
        "predict", "log.joblib", "new.csv", "--out", "log.csv", "--samples",
        "50", "--random-state", "1", cwd=workdir,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    header, values = read_csv(workdir / "log.csv")
    assert header[:3] == ["y_pred", "y_lower", "y_upper"]
    assert header[53:56] == ["z_pred", "z_lower", "z_upper"]
    assert values.shape == (3, 106)
    # Back on the original scale: positive, ordered bounds, and the samples
    # follow the exponentiated log-space mixture.
    assert np.all(values > 0)
    for start in (0, 53):
        pred, lower, upper = values[:, start : start + 3].T
        samples = values[:, start + 3 : start + 53]
        assert np.all((lower < pred) & (pred < upper))
        inside = (samples >= lower[:, None]) & (samples <= upper[:, None])
        assert 0.6 < inside.mean() <= 1.0
    saved = joblib.load(workdir / "log.joblib")
    est = saved["estimator"]
    X = np.array([[-0.5, 0.5], [0.0, 0.0], [1.0, -1.0]])
    np.testing.assert_allclose(
        values[:, [1, 2]], np.exp(est.regressor_.predict_interval(X, 0.9)[:, 0])
    )
    np.testing.assert_allclose(values[:, [0, 53]], est.predict(X))


def test_demo_runs_on_generated_data(tmp_path):
    proc = run_cli("demo", "--max-iter", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "90% interval" in proc.stdout
    assert "Held-out negative log-likelihood" in proc.stdout
    assert "2 epochs" in proc.stdout


def test_verbose_fit_draws_a_progress_bar(workdir, capsys):
    pytest.importorskip("tqdm", reason="the progress bar needs tqdm")
    status = main(
        ["fit", str(workdir / "train.csv"), "--target", "y", "--model",
         str(workdir / "v.joblib"), "--verbose", "--random-state", "0", *TINY]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert status == 0
    assert "5/5" in captured.err and "epoch" in captured.err
    assert "train_loss" in captured.out  # the per-epoch table


# ------------------------------------------------------------------ errors
def error_cases(workdir, model):
    """(argv, words expected in the message) for every error path."""
    write_csv(workdir / "ragged.csv", ["a", "y"], [[1, 2], [3]])
    write_csv(workdir / "text.csv", ["a", "y"], [[1, 2], ["oops", 3]])
    write_csv(workdir / "gap.csv", ["a", "b", "z", "y"], [[1, 2, 3, 4], ["", 1, 2, 3]])
    write_csv(workdir / "negative.csv", ["a", "y"], [[1, 2], [3, -1]])
    write_csv(workdir / "nofeat.csv", ["a", "z"], [[1, 2], [3, 4]])
    write_csv(workdir / "notnum.csv", ["a", "b", "z"], [[1, "two", 3]])
    write_csv(workdir / "dup.csv", ["a", "a", "y"], [[1, 2, 3]])
    write_csv(workdir / "full.csv", ["a", "b", "z"], [[1, 2, 3]])
    (workdir / "empty.csv").write_text("")
    (workdir / "notjoblib.joblib").write_text("just some text\n")
    joblib.dump({"features": ["a"]}, workdir / "foreign.joblib")
    joblib.dump(MDNRegressor(), workdir / "bare.joblib")
    w, x, out = workdir, workdir / "x", workdir / "err_out.csv"
    return [
        (["fit", w / "absent.csv", "--target", "y", "--model", x],
         "no such file"),
        (["fit", w / "empty.csv", "--target", "y", "--model", x],
         "is empty"),
        (["fit", w / "dup.csv", "--target", "y", "--model", x],
         "appears twice"),
        (["fit", w / "ragged.csv", "--target", "y", "--model", x],
         "line 3 has 1 fields"),
        (["fit", w / "train.csv", "--target", "nope", "--model", x],
         "no column named 'nope'"),
        (["fit", w / "train.csv", "--target", "y", "--features", "a",
          "nope", "--model", x], "no column named 'nope'"),
        (["fit", w / "train.csv", "--target", "name", "--model", x],
         "column 'name' is not numeric: line 2 holds 'site0'"),
        (["fit", w / "text.csv", "--target", "y", "--features", "a",
          "--model", x], "column 'a' is not numeric: line 3 holds 'oops'"),
        (["fit", w / "gap.csv", "--target", "y", "--model", x],
         "column 'a' has a missing value on line 3"),
        (["fit", w / "negative.csv", "--target", "y", "--log-target",
          "--model", x], "needs positive targets"),
        (["fit", w / "train.csv", "--target", "y", "--features", "y",
          "--model", x], "both a feature and a target"),
        (["predict", w / "absent.joblib", w / "new.csv", "--out", out],
         "no such file"),
        (["predict", w / "notjoblib.joblib", w / "new.csv", "--out",
          out], "not a model file saved by 'sklearn-mdn fit'"),
        (["predict", w / "foreign.joblib", w / "new.csv", "--out",
          out], "not a model file saved by 'sklearn-mdn fit'"),
        (["predict", w / "bare.joblib", w / "new.csv", "--out", out],
         "not a model file saved by 'sklearn-mdn fit'"),
        (["predict", model, w / "nofeat.csv", "--out", out],
         "needs the feature column(s) 'b'"),
        (["predict", model, w / "notnum.csv", "--out", out],
         "column 'b' is not numeric"),
        (["predict", model, w / "full.csv", "--out", w], "cannot write"),
    ]  # fmt: skip


def test_every_error_path_in_process(workdir, model, capsys):
    for argv, words in error_cases(workdir, model):
        status = main([str(a) for a in argv])
        captured = capsys.readouterr()
        assert status == 2, argv
        assert words in captured.err, (argv, captured.err)
        assert captured.err.startswith("sklearn-mdn: error: ")
        assert captured.err.count("\n") == 1, captured.err
        assert captured.out == ""
    assert not (workdir / "x").exists()
    assert not (workdir / "err_out.csv").exists()


def test_error_exits_2_without_traceback(workdir, model):
    error_cases(workdir, model)
    proc = run_cli(
        "predict", "foreign.joblib", "new.csv", "--out", "o.csv", cwd=workdir
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("sklearn-mdn: error: foreign.joblib: not a model")
    assert proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_every_error_path_in_a_subprocess(workdir, model):
    for argv, words in error_cases(workdir, model):
        proc = run_cli(*argv, cwd=workdir)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert words in proc.stderr, (argv, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "argv, words",
    [
        (["fit", "data.csv", "--model", "m"], "--target"),
        (["predict", "m", "data.csv", "--out", "o", "--coverage", "1.5"],
         "expected a number in (0, 1)"),
        (["fit", "d.csv", "--target", "y", "--model", "m", "--hidden-layer-sizes",
          "0,3"], "positive integers"),
        (["predict", "m", "d.csv", "--out", "o", "--samples", "-1"],
         "non-negative integer"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(argv, words, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert words in capsys.readouterr().err


def test_help_and_package_import_leave_torch_unloaded(tmp_path):
    """torch (and skorch) load on first use of an estimator, not before."""
    code = (
        "import sys, sklearn_mdn\n"
        "from sklearn_mdn import NormalMixture, metrics\n"
        "assert 'torch' not in sys.modules, 'import'\n"
        "from sklearn_mdn._cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'torch' not in sys.modules, '--help'\n"
        "assert sklearn_mdn.MDNEnsembleRegressor.__name__ == 'MDNEnsembleRegressor'\n"
        "assert 'torch' in sys.modules\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        import sklearn_mdn

        sklearn_mdn.Missing

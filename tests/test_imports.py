"""What importing a part of the package loads: the numpy layers without torch."""

import subprocess
import sys

import pytest


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )


def test_the_distribution_module_does_not_import_torch():
    # The issue's own check, word for word: the package's __init__ runs
    # first, and loads the estimators (torch, skorch) only on first use.
    code = "import sklearn_mdn.distribution, sys; assert 'torch' not in sys.modules"
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr


def test_the_estimators_load_on_first_use():
    proc = _run(
        "import sys\n"
        "import sklearn_mdn\n"
        "assert 'torch' not in sys.modules and 'skorch' not in sys.modules\n"
        "from sklearn_mdn import MDNRegressor\n"
        "assert 'torch' in sys.modules\n"
        "assert {'MDNRegressor', 'MDNEnsembleRegressor'} <= set(sklearn_mdn.__all__)\n"
        "assert all(hasattr(sklearn_mdn, name) for name in sklearn_mdn.__all__)\n"
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.xfail(
    strict=True,
    reason=(
        "the quantile solver's normal cdf is torch's erfc (_solvers._erfc); "
        "scipy.special.erfc differs from it in the last bits, which moves "
        "quantiles and intervals by up to 6e-12 relative and would break the "
        "exact comparison of the pinned fits (issue 27)"
    ),
)
def test_quantiles_of_a_mixture_do_not_import_torch():
    proc = _run(
        "import sys\n"
        "import numpy as np\n"
        "from sklearn_mdn import NormalMixture\n"
        "dist = NormalMixture(np.ones((2, 1)), np.zeros((2, 1, 1)), "
        "np.ones((2, 1, 1, 1)))\n"
        "dist.ppf(0.3)\n"
        "assert 'torch' not in sys.modules\n"
    )
    assert proc.returncode == 0, proc.stderr

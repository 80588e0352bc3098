"""Every private name of scikit-learn and skorch that sklearn-mdn relies on.

scikit-learn documents parameter validation (``Interval``, ``StrOptions``,
``HasMethods`` and ``_fit_context``) and ``_check_sample_weight`` for
third-party estimators, but keeps them in private modules; ``_BaseScorer``
gives the distribution scorers metadata routing (``set_score_request``),
which a plain callable scorer lacks. A release may move any of them. They
are imported here only, so that such a move is fixed in one file, and
``tests/test_compat.py`` checks them on the versions CI installs (the newest,
and the declared minimum in ``tox -e mindeps``).

The safe model format (``_safe_format.py``) sets two private fitted
attributes of scikit-learn classes, ``TransformedTargetRegressor._training_dim``
and ``FunctionTransformer._sklearn_output_config`` (its ``_PRIVATE_STATE``),
as unpickling would; the round trips of ``tests/test_safe_format.py`` check
them on the installed scikit-learn.

The skorch hooks named in :data:`SKORCH_PRIVATE_METHODS` are methods of
``NeuralNet`` that the training fast path calls (see ``_training.py``): skorch
has no public hook to put the modules in train mode once per epoch or to step
the optimizers without a closure.
"""

from sklearn.base import _fit_context
from sklearn.metrics._scorer import _BaseScorer
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

# NeuralNet methods, private in skorch, that MixtureNet calls; checked by
# tests/test_compat.py on the skorch versions CI installs.
SKORCH_PRIVATE_METHODS = ("_set_training", "_zero_grad_optimizer", "_step_optimizer")

__all__ = [
    "SKORCH_PRIVATE_METHODS",
    "HasMethods",
    "Interval",
    "StrOptions",
    "_BaseScorer",
    "_check_sample_weight",
    "_fit_context",
]

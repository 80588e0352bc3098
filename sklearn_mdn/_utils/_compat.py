"""Every private name of scikit-learn, skorch and torch that sklearn-mdn relies on.

scikit-learn documents parameter validation (``Interval``, ``StrOptions``,
``HasMethods`` and ``_fit_context``) and ``_check_sample_weight`` for
third-party estimators, but keeps them in private modules; ``_BaseScorer``
gives the distribution scorers metadata routing (``set_score_request``),
which a plain callable scorer lacks. A release may move any of them. They
are imported here only, so that such a move is fixed in one file, and
``tests/test_compat.py`` checks them, with the skorch and torch names below,
on the versions CI installs (the newest, and the declared minimum in
``tox -e mindeps``).

``tree_blend`` reads the trees of a fitted
``HistGradientBoostingRegressor`` and predicts with its compiled traversal
(:func:`boosted_trees`, :func:`tree_predict`).

The safe model format (``_safe_format.py``) sets private fitted attributes
of scikit-learn classes (:data:`SKLEARN_PRIVATE_STATE`), as unpickling would;
the round trips of ``tests/test_safe_format.py`` check them on the installed
scikit-learn.

The skorch hooks named in :data:`SKORCH_PRIVATE_METHODS` are methods of
``NeuralNet`` that the training fast path calls (see ``_training.py``): skorch
has no public hook to put the modules in train mode once per epoch or to step
the optimizers without a closure (:func:`optimizers_of` reads their names).

torch: the fast path (``_fused_loss.py``) runs the backward pass by hand with
autograd's own kernels (``torch.ops.aten``), and steps a fused Adam through
its kernel (``torch._fused_adam_``) without ``Adam.step``'s Python, where
the optimizer's private hook registries say nothing else would have run.
:func:`torch_private` loads them with torch, on first use, so that this
module imports without torch (the numpy layers import it). torch wraps the
optimizer methods named in :data:`TORCH_DYNAMO_WRAPPED_METHODS` in wrappers
that import ``torch._dynamo`` on first call; :func:`undecorated` reads the
methods they wrap (``__wrapped__``), which ``_nn/_adam.py`` calls instead.
"""

import functools
import inspect
from types import SimpleNamespace

import numpy as np
from sklearn.base import _fit_context
from sklearn.metrics._scorer import _BaseScorer
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

# Fitted attributes of scikit-learn classes that do not end in "_", by class:
# the safe model format saves and restores them.
SKLEARN_PRIVATE_STATE = {
    "TransformedTargetRegressor": {"_training_dim"},
    "FunctionTransformer": {"_sklearn_output_config"},
}

# NeuralNet methods, private in skorch, that MixtureNet calls.
SKORCH_PRIVATE_METHODS = ("_set_training", "_zero_grad_optimizer")


# Methods of torch.optim.Adam that torch wraps in ``torch._disable_dynamo``
# (``step``: in ``_use_grad_for_differentiable``); each wrapper imports
# torch._dynamo on its first call.
TORCH_DYNAMO_WRAPPED_METHODS = (
    "add_param_group",
    "zero_grad",
    "state_dict",
    "load_state_dict",
    "step",
)


def undecorated(cls, name: str):
    """The function that ``cls.name`` wraps (through ``__wrapped__``, as
    ``functools.wraps`` records it), or ``cls.name`` itself if unwrapped."""
    return inspect.unwrap(getattr(cls, name))


def optimizers_of(net) -> list:
    """The optimizers of an initialised skorch ``net`` (its private
    ``_optimizers`` lists their names)."""
    return [getattr(net, name + "_") for name in net._optimizers]


@functools.cache
def torch_private() -> SimpleNamespace:
    """torch's private functions that the training fast path calls."""
    import torch
    from torch.optim import optimizer

    aten = torch.ops.aten
    return SimpleNamespace(
        # The registries of hooks that every optimizer's step runs.
        global_optimizer_pre_hooks=optimizer._global_optimizer_pre_hooks,
        global_optimizer_post_hooks=optimizer._global_optimizer_post_hooks,
        # The kernels of a fused Adam's step.
        foreach_add_=torch._foreach_add_,
        # The running average of the weights (weight_averaging).
        foreach_lerp_=torch._foreach_lerp_,
        foreach_copy_=torch._foreach_copy_,
        fused_adam_=torch._fused_adam_,
        # Autograd's backward kernels of the activations (derivatives.yaml),
        # and SiLU's forward into a given buffer.
        threshold_backward=aten.threshold_backward.grad_input,
        tanh_backward=aten.tanh_backward.grad_input,
        sigmoid_backward=aten.sigmoid_backward.grad_input,
        silu_backward=aten.silu_backward.grad_input,
        silu_out=aten.silu.out,
    )


def optimizer_has_hooks(optimizer) -> bool:
    """Whether a step of ``optimizer`` runs hooks: its own, or global ones."""
    names = torch_private()
    return bool(
        optimizer._optimizer_step_pre_hooks
        or optimizer._optimizer_step_post_hooks
        or names.global_optimizer_pre_hooks
        or names.global_optimizer_post_hooks
    )


def wrapped_by_lr_scheduler(step) -> bool:
    """Whether an optimizer's instance ``step`` is the counting wrapper that a
    torch learning-rate scheduler puts in place (rather than someone else's
    patch)."""
    return getattr(step, "_wrapped_by_lr_sched", False)


def mark_stepped(optimizer) -> None:
    """Record that ``optimizer`` has stepped, as ``Optimizer.step`` does (a
    learning-rate scheduler warns otherwise)."""
    optimizer._opt_called = True


def boosted_trees(model) -> tuple:
    """The node arrays of a fitted ``HistGradientBoostingRegressor``, one per
    iteration, and its baseline prediction (its private ``_predictors`` and
    ``_baseline_prediction``): what ``tree_blend`` keeps of it."""
    nodes = [predictors[0].nodes for predictors in model._predictors]
    return nodes, float(np.ravel(model._baseline_prediction)[0])


def tree_predict(fields, X) -> np.ndarray:
    """One tree's prediction of the float64 rows ``X`` by scikit-learn's
    compiled traversal (its private ``TreePredictor``), from the node
    ``fields`` of :func:`boosted_trees`' arrays (value, feature_idx,
    num_threshold, missing_go_to_left, is_leaf, left, right)."""
    from sklearn.ensemble._hist_gradient_boosting.common import (
        PREDICTOR_RECORD_DTYPE,
    )
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    nodes = np.zeros(len(fields["value"]), dtype=PREDICTOR_RECORD_DTYPE)
    for name, values in fields.items():
        nodes[name] = values
    no_categories = np.zeros((0, 8), dtype=np.uint32)
    tree = TreePredictor(nodes, no_categories, no_categories)
    f_idx_map = np.zeros(X.shape[1], dtype=np.uint32)
    return tree.predict(X, no_categories, f_idx_map, 1)


def has_forward_hooks(module) -> bool:
    """Whether forward hooks are registered on ``module``."""
    return bool(module._forward_hooks)


__all__ = [
    "SKLEARN_PRIVATE_STATE",
    "SKORCH_PRIVATE_METHODS",
    "TORCH_DYNAMO_WRAPPED_METHODS",
    "HasMethods",
    "Interval",
    "StrOptions",
    "_BaseScorer",
    "_check_sample_weight",
    "_fit_context",
    "boosted_trees",
    "has_forward_hooks",
    "mark_stepped",
    "optimizer_has_hooks",
    "optimizers_of",
    "torch_private",
    "tree_predict",
    "undecorated",
    "wrapped_by_lr_scheduler",
]

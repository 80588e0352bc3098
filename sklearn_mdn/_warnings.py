"""Warnings that sklearn-mdn raises (importable without torch)."""


class OutOfDomainWarning(UserWarning):
    """Some rows to predict lie far outside the inputs seen in ``fit``.

    A neural network extrapolates its last linear pieces without limit: far
    from the training inputs, the predicted means, weights and spreads
    follow no data, and intervals can be absurdly narrow or wide. A row is
    *far* when any feature lies beyond the training range of that feature
    by more than half that range (see ``MDNRegressor.input_bounds_``). The
    warning counts such rows; filter it with
    ``warnings.simplefilter("ignore", OutOfDomainWarning)``.
    """

"""Encoding a model as a JSON header and numeric arrays (writing a model file)."""

import json

import numpy as np

from ._schema import (
    _CLASSES,
    _FUNCTIONS,
    _NOT_SAVED,
    _SUPPORTED,
    _class,
    _is_state_name,
    _plan_fields,
)


class _Writer:
    """Encodes values as JSON, collecting their arrays in ``arrays``."""

    def __init__(self):
        self.arrays = {}

    def array(self, value, where) -> dict:
        value = np.asarray(value)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{where}: cannot store an array of dtype {value.dtype}.")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = value
        return {"array": name}

    def value(self, value, where):
        if isinstance(value, np.bool_ | np.integer | np.floating | np.str_):
            return value.item()
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"tuple": self.value(list(value), where)}
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError(f"{where}: cannot store a dict with non-str keys.")
            return {
                "dict": {k: self.value(v, f"{where}[{k!r}]") for k, v in value.items()}
            }
        if isinstance(value, np.ndarray):
            if value.dtype == object and all(isinstance(v, str) for v in value.flat):
                if value.ndim != 1:
                    raise TypeError(f"{where}: cannot store a {value.ndim}-d array.")
                return {"str_array": value.tolist()}
            return self.array(value, where)
        if type(value) is np.random.RandomState:
            kind, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            return {
                "random_state": {
                    "keys": self.array(keys, where),
                    "pos": int(pos),
                    "has_gauss": int(has_gauss),
                    "cached_gaussian": float(cached),
                }
            }
        for name, function in _FUNCTIONS.items():
            if value is function:
                return {"function": name}
        name = type(value).__name__
        if name in _CLASSES and type(value) is _class(name):
            return {"estimator": self.estimator(value, where)}
        return self.special(value, where)

    def special(self, value, where):
        """The values only a fitted MDNRegressor holds: its calibration, its
        net, a torch device and its fit plan; TypeError for anything else."""
        from .._estimators._calibration import ConformalCalibration

        if type(value) is ConformalCalibration:
            return {
                "conformal": {
                    "interval_scores": self.array(value.interval_scores, where),
                    "region_scores": self.array(value.region_scores, where),
                }
            }
        if type(value).__module__ == "torch" and type(value).__name__ == "device":
            return {"torch_device": str(value)}
        from .._estimators._fit_plan import FitPlan

        if type(value) is FitPlan:
            fields = {k: getattr(value, k) for k in _plan_fields()}
            fields["decisions"] = [[d.name, d.value, d.rule] for d in value.decisions]
            return {"fit_plan": self.value(fields, where)}
        from .._nn._training import MixtureNet

        if type(value) is MixtureNet:
            return {
                "net": {
                    "device": str(value.device),
                    "module": self.module(value.module_, f"{where}.module_"),
                    "history": json.loads(
                        json.dumps(list(value.history), default=_plain)
                    ),
                }
            }
        what = type(value).__name__
        raise TypeError(
            f"save_model cannot store {where}, a {what}: it stores {_SUPPORTED}."
        )

    def module(self, module, where) -> dict:
        from .._nn._files import module_config, module_weights
        from .._nn._module import MixtureDensityModule, StackedMixture

        if type(module) is StackedMixture:
            return {
                "stacked": [
                    self.module(m, f"{where}.members[{i}]")
                    for i, m in enumerate(module.members)
                ]
            }
        if type(module) is not MixtureDensityModule:
            raise TypeError(f"{where}: cannot store a {type(module).__name__}.")
        config = module_config(module)
        state = {
            key: self.array(array, f"{where}.{key}")
            for key, array in module_weights(module).items()
        }
        return {"mixture": {"config": config, "state": state}}

    def estimator(self, estimator, where) -> dict:
        name = type(estimator).__name__
        params = estimator.get_params(deep=False)
        skip = _NOT_SAVED.get(name, set())
        state = {
            k: v
            for k, v in vars(estimator).items()
            if k not in params and k not in skip
        }
        for key in state:
            if not _is_state_name(name, key):
                raise TypeError(
                    f"save_model cannot store the attribute {key!r} of {name} "
                    f"({where})."
                )
        return {
            "class": name,
            "params": {k: self.value(v, f"{where}.{k}") for k, v in params.items()},
            "state": {k: self.value(v, f"{where}.{k}") for k, v in state.items()},
        }


def _plain(value):
    """JSON's fallback for numpy scalars in a training history."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store a {type(value).__name__} in a training history")

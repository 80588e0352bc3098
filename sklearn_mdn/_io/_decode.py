"""Rebuilding a model from a JSON header and numeric arrays (reading a model file)."""

import numpy as np

from ._schema import _CLASSES, _FUNCTIONS, _HEADER, _class, _is_state_name, _plan_fields


class _MalformedError(ValueError):
    """A file of the format whose content does not decode."""


def _single(value, what) -> tuple:
    """(tag, body) of a tagged JSON object ``{tag: body}``."""
    if not (isinstance(value, dict) and len(value) == 1):
        raise _MalformedError(f"expected a tagged {what}, got {_short(value)}")
    return next(iter(value.items()))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Reader:
    """Decodes the JSON values of :class:`_Writer`, reading arrays from the
    archive ``data``."""

    def __init__(self, data):
        self.data = data

    def array(self, value):
        """The array of an entry ``{"array": name}``."""
        tag, name = _single(value, "array")
        if tag != "array":
            raise _MalformedError(f"expected an array, got {_short(value)}")
        # .files: numpy < 1.25's NpzFile tests membership by loading the array.
        if not isinstance(name, str) or name == _HEADER or name not in self.data.files:
            raise _MalformedError(f"no array named {_short(name)}")
        try:
            value = self.data[name]
        except ValueError as exc:  # an object array, refused by allow_pickle
            raise _MalformedError(
                f"the array {name!r} holds Python objects, which are never "
                f"unpickled ({exc})"
            ) from None
        if value.dtype.kind not in "biuf":
            raise _MalformedError(f"the array {name!r} has dtype {value.dtype}")
        return value

    def value(self, value):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self.value(v) for v in value]
        tag, body = _single(value, "value")
        if tag == "tuple":
            return tuple(self.value(_typed(body, list, tag)))
        if tag == "dict":
            return {k: self.value(v) for k, v in _typed(body, dict, tag).items()}
        if tag == "array":
            return self.array(value)
        if tag == "str_array":
            body = _typed(body, list, tag)
            if not all(isinstance(v, str) for v in body):
                raise _MalformedError("a str_array holds other values than strings")
            return np.asarray(body, dtype=object)
        if tag == "function":
            if body not in _FUNCTIONS:
                raise _MalformedError(
                    f"unknown function {_short(body)}; a file may name only "
                    + ", ".join(_FUNCTIONS)
                )
            return _FUNCTIONS[body]
        if tag == "random_state":
            body = _typed(body, dict, tag)
            keys = self.array(body["keys"])
            generator = np.random.RandomState(0)
            generator.set_state(
                (
                    "MT19937",
                    keys,
                    body["pos"],
                    body["has_gauss"],
                    body["cached_gaussian"],
                )
            )
            return generator
        if tag == "torch_device":
            from .._nn._files import torch_device

            return torch_device(_typed(body, str, tag))
        if tag == "estimator":
            return self.estimator(_typed(body, dict, tag))
        if tag == "conformal":
            from .._estimators._calibration import ConformalCalibration

            body = _typed(body, dict, tag)
            return ConformalCalibration(
                self.array(body["interval_scores"]), self.array(body["region_scores"])
            )
        if tag == "net":
            return self.net(_typed(body, dict, tag))
        if tag == "fit_plan":
            return self.fit_plan(self.value(body))
        raise _MalformedError(f"unknown entry {_short(value)}")

    def fit_plan(self, fields):
        """A ``fit_plan_``: its fields, and decisions as triples of strings."""
        from .._estimators._fit_plan import Decision, FitPlan

        # Files written before a field with a default existed lack it.
        if not isinstance(fields, dict) or not (
            {*_plan_fields(required=True), "decisions"}
            <= set(fields)
            <= {*_plan_fields(), "decisions"}
        ):
            raise _MalformedError("a fit plan with other fields than FitPlan's")
        decisions = _typed(fields["decisions"], list, "fit plan")
        if not all(
            isinstance(d, list) and len(d) == 3 and all(isinstance(v, str) for v in d)
            for d in decisions
        ):
            raise _MalformedError("a fit plan's decisions are triples of strings")
        return FitPlan(
            **{**fields, "decisions": tuple(Decision(*d) for d in decisions)}
        )

    def estimator(self, node):
        name = node["class"]
        if name not in _CLASSES:
            raise _MalformedError(
                f"unknown class {_short(name)}; a file may hold only "
                + ", ".join(_CLASSES)
            )
        cls = _class(name)
        params = {k: self.value(v) for k, v in _typed(node["params"], dict).items()}
        unknown = sorted(set(params) - set(cls().get_params(deep=False)))
        if unknown:
            raise _MalformedError(f"{name} has no parameters {unknown}")
        estimator = cls(**params)
        for key, value in _typed(node["state"], dict).items():
            if not _is_state_name(name, key):
                raise _MalformedError(f"{name} has no fitted attribute {key!r}")
            # As unpickling does: into the instance's dict, past any property.
            vars(estimator)[key] = self.value(value)
        return estimator

    def module(self, value):
        from .._nn._files import load_weights
        from .._nn._module import ACTIVATIONS, MixtureDensityModule, StackedMixture

        tag, body = _single(value, "module")
        if tag == "stacked":
            members = [self.module(m) for m in _typed(body, list, tag)]
            if not members:
                raise _MalformedError("a stacked module without members")
            return StackedMixture(members)
        if tag != "mixture":
            raise _MalformedError(f"unknown module {_short(tag)}")
        config = _typed(body["config"], dict)
        ints = ["n_features", "n_targets", "n_components"]
        hidden = _typed(config["hidden_layer_sizes"], list)
        keys = {
            *ints,
            "hidden_layer_sizes",
            "activation",
            "covariance_type",
            "min_scale",
        }
        if (
            set(config) - {"gate_size"} != keys
            or ("gate_size" in config and not _positive_int(config["gate_size"]))
            or not all(_positive_int(config[k]) for k in ints)
            or not all(_positive_int(h) for h in hidden)
            or config["activation"] not in ACTIVATIONS
            or config["covariance_type"] not in ("full", "diag", "spherical")
            or not isinstance(config["min_scale"], float)
        ):
            raise _MalformedError(f"invalid module configuration {_short(config)}")
        module = MixtureDensityModule(**{**config, "hidden_layer_sizes": tuple(hidden)})
        arrays = {
            key: self.array(entry) for key, entry in _typed(body["state"], dict).items()
        }
        try:
            load_weights(module, arrays)
        except RuntimeError as exc:
            raise _MalformedError(f"the network's weights do not fit it: {exc}")
        return module

    def net(self, body):
        from .._nn._files import prediction_net, usable_device

        device = usable_device(_typed(body["device"], str))
        history = _typed(body["history"], list)
        if not all(isinstance(row, dict) for row in history):
            raise _MalformedError("the training history is not a list of epochs")
        return prediction_net(self.module(body["module"]), device, history)


def _typed(value, kind, tag="entry"):
    if not isinstance(value, kind):
        raise _MalformedError(f"a {tag} of the wrong type: {_short(value)}")
    return value


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0

"""The record of a fit plan: ``FitPlan``, what a fit does and why, and how it
prints (the table of ``fit_plan_``). The rules that fill it are in ``_plan.py``."""

import dataclasses
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """One choice of a fit: its name, its value and the rule that made it."""

    name: str
    value: str
    rule: str


@dataclass(frozen=True)
class FitPlan:
    """What a fit does, resolved from its parameters and data.

    Print it for a table of every choice, its value and why. The fields are
    the values the fit follows; ``decisions`` holds the rows of the table.
    """

    n_samples: int
    n_features: int
    n_outputs: int
    early_stopping: bool
    n_valid: int
    batch_size: int
    max_iter: int
    lr_factor: float | None
    lr_patience: int
    n_iter_no_change: int
    relaxed_lr: float
    noise: float
    n_networks: int
    n_components: int
    choose_components: bool
    select_features: bool
    refit: bool
    calibrate: str
    decisions: tuple[Decision, ...]
    features_kept: tuple[bool, ...] | None = None
    components_kept: int | None = None
    # Last, with defaults: files written before they existed lack them.
    overfit_stop: bool = False
    refits_kept: int | None = None
    choose_encoding: bool = False
    encoding_kept: str | None = None
    average: float = 0.0
    gate_size: int = 0
    choose_gate: bool = False
    gate_fit_steps: int = 0
    # None: the held-out rows choose it (tree_blend="auto").
    tree_blend: float | None = 0.0
    tree_blend_kept: float | None = None

    @property
    def n_train(self) -> int:
        """Rows each network trains on."""
        return self.n_samples - self.n_valid

    @property
    def support(self) -> tuple[bool, ...]:
        """The features the networks read: those kept, or all of them."""
        return self.features_kept or (True,) * self.n_features

    @property
    def components(self) -> int:
        """Components of each network: those kept, or the first network's."""
        return self.components_kept or self.n_components

    @property
    def n_refits(self) -> int:
        """Refits in the predicted mixture: those kept, or one a network."""
        if self.refits_kept is not None:
            return self.refits_kept
        return self.n_networks if self.refit else 0

    @property
    def encoding(self) -> str:
        """How the networks read the features: ``"piecewise_linear"`` where
        the held-out rows chose the encoding, else ``"none"``."""
        return self.encoding_kept or "none"

    def with_outcomes(
        self,
        *,
        features=None,
        encoding=None,
        components=None,
        refits=None,
        tree_blend=None,
        gate=None,
    ) -> "FitPlan":
        """The plan with the choices made on the held-out rows: ``features``
        (the features kept, a boolean mask, and why), ``encoding`` (the
        inputs' encoding kept and why), ``components`` and ``refits`` (the
        number kept and why), ``tree_blend`` (the share kept and why), each a
        pair or None; ``gate`` (the gate's width kept, why and, where it
        replaced the first network, that network's ``n_iter_no_change``)
        sets the ``gate_size`` that the networks trained after it follow."""
        changes, rows = {}, []
        if features is not None:
            support, rule = features
            changes["features_kept"] = tuple(bool(s) for s in support)
            kept = f"{sum(changes['features_kept'])} of {len(support)}"
            rows.append(Decision("features kept", kept, rule))
        if encoding is not None:
            changes["encoding_kept"], rule = encoding
            rows.append(Decision("encoding kept", encoding[0], rule))
        if components is not None:
            changes["components_kept"], rule = int(components[0]), components[1]
            rows.append(Decision("components kept", str(components[0]), rule))
        if gate is not None:
            changes["gate_size"], rule = int(gate[0]), gate[1]
            if len(gate) > 2:  # the gated network's patience
                changes["n_iter_no_change"] = int(gate[2])
            rows.append(Decision("gate kept", str(gate[0]), rule))
        if refits is not None:
            changes["refits_kept"], rule = int(refits[0]), refits[1]
            rows.append(Decision("refits kept", str(refits[0]), rule))
        if tree_blend is not None:
            changes["tree_blend_kept"], rule = float(tree_blend[0]), tree_blend[1]
            rows.append(Decision("tree blend kept", f"{tree_blend[0]:g}", rule))
        plan = dataclasses.replace(self, **changes)
        mixture = _mixture_decision(plan)
        decisions = [d for d in self.decisions if d.name != "mixture"]
        return dataclasses.replace(plan, decisions=(*decisions, *rows, mixture))

    def __str__(self) -> str:
        shape = [(self.n_samples, "row"), (self.n_features, "feature")]
        shape.append((self.n_outputs, "target"))
        head = "Fit plan: " + ", ".join(_count(n, what) for n, what in shape)
        width = max(len(d.name) for d in self.decisions) + 2
        value_width = max(len(d.value) for d in self.decisions) + 2
        lines = [head]
        indent = " " * (2 + width + value_width)
        for d in self.decisions:
            first = f"  {d.name:<{width}}{d.value:<{value_width}}"
            lines.append(
                textwrap.fill(
                    d.rule,
                    width=max(88, len(indent) + 40),
                    initial_indent=first,
                    subsequent_indent=indent,
                )
            )
        return "\n".join(lines)

    __repr__ = __str__


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _sci(x: float) -> str:
    """``x`` to two figures, as 1.7e4 rather than 1.7e+04."""
    return f"{x:.2g}".replace("e+0", "e").replace("e+", "e")


def _mixture_decision(plan: FitPlan) -> Decision:
    """The predicted mixture's size: networks, components and refits."""
    k, n, r = plan.components, plan.n_networks, plan.n_refits
    rule = "components: " + (f"{n} networks of {k}" if n > 1 else f"one network of {k}")
    if r == n:
        rule += (", each averaged" if n > 1 else ", averaged") + " with its refit"
    elif r:
        rule += f", averaged with {_count(r, 'refit')}"
    if n > 1:
        rule += ", with equal weights"
    return Decision("mixture", str((n + r) * k), rule)

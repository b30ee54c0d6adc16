"""Named variants: alternative readings of the 1997 paper, each applied to a row beside its as-written form.

A variant never replaces the as-written configuration; results name the variant they ran. The readings
come from the reproduction notes (spec §9) and from this package's own runs (docs/reproduction.md):

===================  ==================================================================================
``as-written``       the spec as written: logistic output unit, e_k = f'_k (t^k − y^k), Δw = α e y
``linear-output``    identity output unit (so e_k = t^k − y^k): near y ≈ 0.5 a logistic output scales
                     every error by f' ≈ 0.25; with no f' the output also reaches targets near 0 and 1
``no-fprime``        logistic output kept, its f' dropped from e_k (a cross-entropy-like error term)
``grad2``            the literal eq. 17 with E of eq. 16: Δw = −α ∂E/∂w = 2α e y (every change doubled)
``per-sequence``     the same changes summed over each sequence and applied at its end (the group's C
                     simulator has this option; it differs from per-step updates only where error comes
                     at several steps of a sequence: Exps 1, 2a, 2b)
``end-error``        Exp 2b only: error injected at the last step only, not at the random middle steps
``centred-g``        Exps 2a, 2b only: cell input squash g = 4σ − 2 ∈ [−2, 2] (the g of every other
                     experiment) instead of the logistic ∈ [0, 1], so the state does not grow every step
===================  ==================================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ...core.errors import OptionError, message
from .rows import Row


@dataclass(frozen=True)
class Variant:
    """A named reading: how it changes a row, and why it is worth running."""

    name: str
    summary: str
    reason: str
    change: Callable[[Row], Row]

    def apply(self, row: Row) -> Row:
        if row.method != "lstm" and self.name != "as-written":
            raise OptionError(
                message(f"variant {self.name!r} for row {row.id!r}", "variant 'as-written' for a baseline net",
                        self.name)
            )
        return self.change(row)


def _output(row: Row, kind: str) -> Row:
    return replace(row, net=replace(row.net, output=kind))


def _end_error(row: Row) -> Row:
    if row.exp != "2b":
        raise OptionError(message(f"variant 'end-error' for row {row.id!r}", "a row of Exp 2b", row.exp))
    return replace(row, task={**row.task, "end_error_only": True})


def _centred_g(row: Row) -> Row:
    if row.exp not in ("2a", "2b"):
        raise OptionError(message(f"variant 'centred-g' for row {row.id!r}", "a row of Exp 2a or 2b", row.exp))
    return replace(row, net=replace(row.net, g="g1997"))


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant("as-written", "the spec as written (eqs. 19–28, logistic output)",
                "the paper's text, Appendix A.1 and Table 10", lambda row: row),
        Variant(
            "linear-output", "identity output unit: e_k = t − y",
            "no source supports it (every primary source has a logistic output), but it removes the f' ≈ 0.25 "
            "factor at y ≈ 0.5 and lets the output reach targets near 0 and 1 (spec §9)",
            lambda row: _output(row, "identity"),
        ),
        Variant(
            "no-fprime", "logistic output, its derivative left out of e_k",
            "a logistic output unit whose error term omits f' (cross-entropy gradient); not in the paper's "
            "equations, tested in spec §9",
            lambda row: replace(row, output_derivative=False),
        ),
        Variant(
            "grad2", "Δw = 2α e y (eq. 17 read literally with E of eq. 16)",
            "eqs. 16–18 as printed give e_k = 2 f'(t − y); eq. 19 and the group's C code drop the 2",
            lambda row: replace(row, error_scale=2.0),
        ),
        Variant(
            "per-sequence", "weights changed once per sequence (the summed per-step changes)",
            "the paper says 'on-line' without saying whether weights change every step; the group's C "
            "simulator updates after each sequence or epoch (spec §9.2)",
            lambda row: replace(row, per_sequence=True),
        ),
        Variant(
            "end-error", "Exp 2b: error at the last step only (not at the random middle steps)",
            "the paper's 2b text says only the final x / y is predictable and names no error at the middle "
            "steps; with Table 10's net (one cell fed by the inputs only, h = identity, no output gate) an "
            "error at every step asks a monotone readout of one growing state to fire only at the end "
            "(docs/reproduction.md, Exp 2b)",
            _end_error,
        ),
        Variant(
            "centred-g", "Exps 2a, 2b: cell input squash g = 4σ − 2 ∈ [−2, 2], as in every other experiment",
            "as written, g logistic ≥ 0 with the input gate near 0.5 adds ≈ 0.25 to the state at every step "
            "(|s| ≈ 25 after p = 100); with h = identity and α = 1 the output weights from the cell then "
            "move by ≈ α f' s² ≈ 150 times an error and saturate the outputs at 0 (measured, "
            "docs/reproduction.md, Exp 2a). Table 10 names 2a/2b's g 'g1', every other row's 'g2', and its "
            "caption is garbled for these symbols (spec §8); the text says 'logistic'",
            _centred_g,
        ),
    ]
}


def get_variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise OptionError(message("variant", "one of " + ", ".join(repr(v) for v in VARIANTS), repr(name)))
    return VARIANTS[name]


__all__ = ["VARIANTS", "Variant", "get_variant"]

"""Analysis: error flow (Jacobian products per lag, Hochreiter's scaling factor, bounds, the CEC).

Never mutates models. See docs/errorflow/README.md for the definitions and the named scenarios.
"""

from . import bounds
from .bounds import (
    coth_weight,
    fprime_max,
    logistic_scaling,
    max_logistic_scaling,
    row_sum_norm,
    stationary_weights,
    tau,
    tau_bound,
    weak_upper_bound,
)
from .errorflow import (
    Curve,
    Flow,
    carousel_flow,
    error_flow,
    finite_difference_flow,
    hochreiter_path_sum,
    path_sum,
)
from .layout import StateLayout
from .linearise import Linearisation, linearise
from .scenarios import SCENARIOS, run_scenario, scenario_names
from .unitnet import UnitNet

__all__ = [
    "bounds",
    "coth_weight",
    "fprime_max",
    "logistic_scaling",
    "max_logistic_scaling",
    "row_sum_norm",
    "stationary_weights",
    "tau",
    "tau_bound",
    "weak_upper_bound",
    "Curve",
    "Flow",
    "carousel_flow",
    "error_flow",
    "finite_difference_flow",
    "hochreiter_path_sum",
    "path_sum",
    "StateLayout",
    "Linearisation",
    "linearise",
    "SCENARIOS",
    "run_scenario",
    "scenario_names",
    "UnitNet",
]

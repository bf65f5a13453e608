"""Co-design search: objectives (MnasNet, TuNAS, energy / EDP targets, multi-model), controllers (random,
regularized evolution, REINFORCE, PPO, optuna TPE / NSGA-II; ask/tell with state_dict), the batched evaluator,
Pareto archive with hypervolume, and the checkpointed search loop with its strategies (joint, phase-wise,
network-only, hardware-only). Importing this package needs numpy only (the TPE / NSGA-II controllers import optuna
when constructed); training an accuracy proxy imports torch."""
from __future__ import annotations

from .evaluator import FixedNetworks, JointEvaluator, SearchEvaluator, SurrogateAccuracy
from .evolution import RandomSearch, RegularizedEvolution
from .objective import HARD, SOFT, MultiModelObjective, Objective, Result, abs_reward, fitness, mnas_reward
from .optuna_sampler import OptunaSampler
from .pareto import DEFAULT_OBJECTIVES, EDGETPU_OBJECTIVES, ParetoArchive, dominates, hypervolume, nondominated
from .policy import PPO, CategoricalPolicy, PolicyGradient, Reinforce
from .loop import Search
from .runner import CONTROLLERS, DEFAULTS, STRATEGIES, SearchSummary, load_trials, make_controller, run_search

__all__ = [
    "RandomSearch",
    "RegularizedEvolution",
    "Reinforce",
    "PPO",
    "OptunaSampler",
    "PolicyGradient",
    "CategoricalPolicy",
    "HARD",
    "SOFT",
    "Objective",
    "MultiModelObjective",
    "Result",
    "fitness",
    "mnas_reward",
    "abs_reward",
    "DEFAULT_OBJECTIVES",
    "EDGETPU_OBJECTIVES",
    "ParetoArchive",
    "dominates",
    "hypervolume",
    "nondominated",
    "DEFAULTS",
    "STRATEGIES",
    "CONTROLLERS",
    "SearchEvaluator",
    "JointEvaluator",
    "SurrogateAccuracy",
    "FixedNetworks",
    "SearchSummary",
    "load_trials",
    "make_controller",
    "run_search",
    "Search",
]

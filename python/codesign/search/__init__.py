"""Joint search: objective (MnasNet reward), controllers (regularized evolution, random search), Pareto
archive and the search loop. Importing this package needs numpy only; :func:`run_search` imports torch
when it trains the accuracy proxy."""
from __future__ import annotations

from .evolution import RandomSearch, RegularizedEvolution
from .objective import HARD, SOFT, Objective, Result, fitness, mnas_reward
from .pareto import DEFAULT_OBJECTIVES, ParetoArchive, dominates, hypervolume, nondominated
from .runner import DEFAULTS, JointEvaluator, SearchSummary, load_trials, run_search

__all__ = [
    "RandomSearch",
    "RegularizedEvolution",
    "HARD",
    "SOFT",
    "Objective",
    "Result",
    "fitness",
    "mnas_reward",
    "DEFAULT_OBJECTIVES",
    "ParetoArchive",
    "dominates",
    "hypervolume",
    "nondominated",
    "DEFAULTS",
    "JointEvaluator",
    "SearchSummary",
    "load_trials",
    "run_search",
]

"""Built-in strategies, grouped by family: gradient, stochastic and hybrid.

They are found through the registry (``hybridopt.get_strategy``); import a module
from here directly only to subclass a strategy.
"""

"""DEAP glue without ``deap.creator`` globals and without leaking the global RNG.

DEAP's usual setup creates classes at run time as attributes of ``deap.creator``
(re-creating them warns), and its operators draw from Python's global ``random``
module. Here the individual type is an ordinary class defined once, and every call
of a DEAP operator happens inside :func:`seeded_random`, which points DEAP's
operator modules at a private ``random.Random`` seeded from the run's numpy
generator. The global ``random`` module is never touched, so neither the user's
own use of it nor other threads can change a run, and a run changes nothing for
them. Operators are only ever called in the driver process, so a run's stream does
not depend on which worker evaluates what.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterable, Iterator

import numpy as np
from deap import base
from deap.tools import crossover, mutation, selection

__all__ = ["Individual", "MinimizingFitness", "seeded_random"]

# The operator modules' ``random`` attribute is shared by every thread of the
# process, so two runs in threads must not swap it under each other.
_RANDOM_LOCK = threading.RLock()
_OPERATOR_MODULES = (crossover, mutation, selection)


class MinimizingFitness(base.Fitness):
    """A single objective value, smaller is better (DEAP maximizes weighted values)."""

    weights = (-1.0,)


class Individual(list):  # type: ignore[type-arg]
    """A list of genes with a :class:`MinimizingFitness`, as DEAP operators expect.

    Args:
        genes: The coordinates.
        value: The objective value, or ``None`` if not evaluated.
    """

    __slots__ = ("fitness",)

    def __init__(self, genes: Iterable[float] = (), value: float | None = None) -> None:
        super().__init__(float(g) for g in genes)
        self.fitness = MinimizingFitness()
        if value is not None:
            self.fitness.values = (float(value),)


@contextlib.contextmanager
def seeded_random(rng: np.random.Generator) -> Iterator[random.Random]:
    """Gives DEAP's operators a private random stream seeded from ``rng``.

    One integer is drawn from ``rng``, so the run's numpy stream advances by a fixed
    amount whatever the DEAP operators inside consume. Inside the block, DEAP's
    crossover, mutation and selection modules draw from the yielded stream instead
    of the global ``random`` module; they are pointed back on exit, also when the
    block raises.

    Args:
        rng: The run's generator.

    Yields:
        The private stream, for the block's own draws.
    """
    stream = random.Random(int(rng.integers(2**63)))
    with _RANDOM_LOCK:
        saved = [module.random for module in _OPERATOR_MODULES]
        for module in _OPERATOR_MODULES:
            module.random = stream
        try:
            yield stream
        finally:
            for module, original in zip(_OPERATOR_MODULES, saved, strict=True):
                module.random = original

"""DEAP glue without ``deap.creator`` globals and without leaking the global RNG.

DEAP's usual setup creates classes at run time as attributes of ``deap.creator``
(re-creating them warns), and its operators draw from Python's global ``random``
module. Here the individual type is an ordinary class defined once, and every call
of a DEAP operator happens inside :func:`seeded_random`, which seeds ``random`` from
the run's numpy generator and puts the previous ``random`` state back afterwards.
Operators are only ever called in the driver process, so a run's stream does not
depend on which worker evaluates what.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterable, Iterator

import numpy as np
from deap import base

__all__ = ["Individual", "MinimizingFitness", "seeded_random"]

# The global ``random`` state is shared by every thread of the process, so two runs
# in threads must not reseed it in the middle of each other's operator calls.
_RANDOM_LOCK = threading.RLock()


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
def seeded_random(rng: np.random.Generator) -> Iterator[None]:
    """Seeds the global ``random`` module from ``rng`` for the duration of a block.

    One integer is drawn from ``rng``, so the run's numpy stream advances by a fixed
    amount whatever the DEAP operators inside consume. The previous state of
    ``random`` is restored on exit, also when the block raises.

    Args:
        rng: The run's generator.

    Yields:
        Nothing; call DEAP operators inside the ``with`` block.
    """
    seed = int(rng.integers(2**63))
    with _RANDOM_LOCK:
        saved = random.getstate()
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(saved)

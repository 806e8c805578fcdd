"""Child runs advanced in lockstep, the shared machinery of the hybrid strategies.

A hybrid that runs several children (restarts, the local phase of memetic search)
asks every running child for its batch, concatenates the batches into one, and
hands each child back its own slice of the values. One combined batch per step
means an executor evaluates the children together: with Ray, the local runs of a
restart wave run in parallel across cores.

All functions here are pure: they take a :class:`Children` record and return a new
one. Child seeds are drawn from the hybrid's generator in the driver, never on
workers, so a run does not depend on the executor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hybridopt._records import Record, frozen_array
from hybridopt.errors import InvalidOptionError
from hybridopt.problem import Space
from hybridopt.registry import get_strategy
from hybridopt.strategy import Batch, Evaluations, State, Strategy

__all__ = [
    "Children",
    "add_children",
    "ask_children",
    "min_child_budget",
    "resolve_child",
    "split_finished",
    "tell_children",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Children(Record):
    """The part of a hybrid's state that holds its running children.

    Attributes:
        states: One state per child.
        pending: The batch each child was asked for and not yet told, or ``None``.
        waited: Steps each pending batch has been held back because the combined
            batch was serving children with the other gradient need.
        slices: Where each child's rows sit in the current combined batch, or
            ``None`` for a child that is not part of it.
        need_grad: Whether the current combined batch asks for gradients.
    """

    states: tuple[State, ...] = ()
    pending: tuple[Batch | None, ...] = ()
    waited: tuple[int, ...] = ()
    slices: tuple[tuple[int, int] | None, ...] = ()
    need_grad: bool = False


def resolve_child(
    option: str, value: Any, options: Mapping[str, Any] | None
) -> Strategy:
    """Builds a child strategy from a registered name and options, or takes an object.

    Args:
        option: The hybrid's option name (for messages), e.g. ``"local"``.
        value: A registered name or a :class:`~hybridopt.strategy.Strategy`.
        options: Options for a named strategy (``<option>_options``).

    Raises:
        InvalidOptionError: If ``value`` is neither, if options come with an
            object, or if the options are not a dict or name unknown options.
        UnknownStrategyError: If the name is not registered.
    """
    if isinstance(value, Strategy):
        if options:
            raise InvalidOptionError(
                f"option '{option}_options' applies only when '{option}' is a "
                "registered name; a strategy object carries its own options"
            )
        return value
    if not isinstance(value, str):
        raise InvalidOptionError(
            f"option {option!r} must be a registered strategy name or a "
            f"hybridopt.Strategy, got {type(value).__name__}"
        )
    if options is not None and not isinstance(options, Mapping):
        raise InvalidOptionError(
            f"option '{option}_options' must be a dict, got {type(options).__name__}"
        )
    return get_strategy(value, **dict(options or {}))


def min_child_budget(strategy: Strategy, space: Space) -> int:
    """The smallest budget worth a child run: two candidates at the child's cost."""
    return 2 * space.evaluation_cost(strategy.info.needs_gradient)


def add_children(
    children: Children,
    strategy: Strategy,
    space: Space,
    starts: Sequence[np.ndarray | None],
    budgets: Sequence[int],
    rng: np.random.Generator,
) -> Children:
    """Starts one child run of ``strategy`` per start point.

    Args:
        children: The running children.
        strategy: The children's strategy.
        space: The hybrid's space; each child gets it with its own start point.
        starts: Start points (``None`` keeps the space's own ``x0``).
        budgets: Each child's budget, ``>= 1``.
        rng: The hybrid's generator; one seed per child is drawn from it.

    Returns:
        The children with the new ones appended.
    """
    new = []
    for x, budget in zip(starts, budgets, strict=True):
        child_space = space if x is None else space.with_x0(x)
        seed = int(rng.integers(2**63))
        new.append(strategy.init(child_space, seed, budget=int(budget)))
    k = len(new)
    return dataclasses.replace(
        children,
        states=(*children.states, *new),
        pending=(*children.pending, *([None] * k)),
        waited=(*children.waited, *([0] * k)),
        slices=(*children.slices, *([None] * k)),
    )


def ask_children(
    strategy: Strategy, children: Children, space: Space
) -> tuple[np.ndarray, Children]:
    """Asks the running children and concatenates their batches.

    Children whose batches differ in ``need_grad`` cannot share one batch: the
    group of the child that has waited longest is served, the others keep their
    batch for a later step, so no child starves.

    Returns:
        The combined candidates ``(n, dim)`` (``n`` may be 0 when every child has
        stopped) and the updated children.
    """
    states = list(children.states)
    pending = list(children.pending)
    waited = list(children.waited)
    for i, state in enumerate(states):
        if pending[i] is not None or strategy.should_stop(state):
            continue
        batch, state = strategy.ask(state)
        if batch.x.shape[0] == 0:
            # The child's budget cannot pay for one candidate: ending it now keeps
            # empty batches away from the executor.
            states[i] = strategy.tell(state, batch, _no_evaluations(batch, space))
            continue
        states[i], pending[i] = state, batch

    ready = [i for i, b in enumerate(pending) if b is not None]
    slices: list[tuple[int, int] | None] = [None] * len(states)
    if not ready:
        empty = frozen_array(np.empty((0, space.dim)))
        out = Children(tuple(states), tuple(pending), tuple(waited), tuple(slices))
        return empty, out

    lead = max(ready, key=lambda i: waited[i])
    need_grad = bool(pending[lead].need_grad)  # type: ignore[union-attr]
    parts = []
    offset = 0
    for i in ready:
        pending_batch = pending[i]
        assert pending_batch is not None
        batch = pending_batch
        if batch.need_grad != need_grad:
            waited[i] += 1
            continue
        rows = batch.x.shape[0]
        slices[i] = (offset, offset + rows)
        parts.append(batch.x)
        offset += rows
        waited[i] = 0
    out = Children(
        tuple(states), tuple(pending), tuple(waited), tuple(slices), need_grad
    )
    return np.concatenate(parts, axis=0), out


def tell_children(
    strategy: Strategy, children: Children, evaluations: Evaluations
) -> Children:
    """Tells each child in the last combined batch the values of its slice."""
    states = list(children.states)
    pending = list(children.pending)
    for i, where in enumerate(children.slices):
        if where is None:
            continue
        batch = pending[i]
        assert batch is not None
        states[i] = strategy.tell(states[i], batch, evaluations.take(*where))
        pending[i] = None
    return dataclasses.replace(
        children,
        states=tuple(states),
        pending=tuple(pending),
        slices=(None,) * len(states),
    )


def split_finished(
    strategy: Strategy, children: Children
) -> tuple[Children, tuple[State, ...]]:
    """Separates stopped children from running ones.

    Returns:
        The running children and the final states of the stopped ones, each in
        their original order.
    """
    keep = [i for i, s in enumerate(children.states) if not strategy.should_stop(s)]
    done = tuple(s for s in children.states if strategy.should_stop(s))
    running = Children(
        states=tuple(children.states[i] for i in keep),
        pending=tuple(children.pending[i] for i in keep),
        waited=tuple(children.waited[i] for i in keep),
        slices=tuple(children.slices[i] for i in keep),
        need_grad=children.need_grad,
    )
    return running, done


def _no_evaluations(batch: Batch, space: Space) -> Evaluations:
    grad = frozen_array(np.empty((0, space.dim))) if batch.need_grad else None
    return Evaluations(
        f=frozen_array(np.empty(0)),
        failed=frozen_array(np.empty(0), dtype=bool),
        grad=grad,
        cost=space.evaluation_cost(batch.need_grad),
    )

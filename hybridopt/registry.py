"""Finding strategies by name: built-ins and plugins alike.

Strategies are declared under the entry-point group ``hybridopt.strategies``; the
built-in ones are declared in hybridopt's own ``pyproject.toml`` in exactly the way a
plugin declares its own. Entry points are read once and each strategy class is
imported only when it is first asked for. A strategy can also be registered at run
time with :func:`register_strategy`.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import logging
import threading
import warnings
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from hybridopt.errors import InvalidOptionError, UnknownStrategyError
from hybridopt.strategy import Strategy, StrategyInfo

__all__ = [
    "ENTRY_POINT_GROUP",
    "Registry",
    "RegistryEntry",
    "get_strategy",
    "register_strategy",
    "registry",
    "strategies",
]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "hybridopt.strategies"
BUILT_IN = "built-in"

S = TypeVar("S", bound=type[Strategy])


@dataclasses.dataclass(frozen=True)
class RegistryEntry:
    """One registered name.

    Attributes:
        name: The name users pass as ``strategy=``.
        origin: ``"built-in"``, the plugin's distribution name, or ``"runtime"``.
        target: ``"module:attr"`` of the class, for messages.
    """

    name: str
    origin: str
    target: str
    loader: Callable[[], type[Strategy]] = dataclasses.field(repr=False, compare=False)


class Registry:
    """A mapping from names to strategy classes, filled from entry points."""

    def __init__(self, group: str = ENTRY_POINT_GROUP) -> None:
        self.group = group
        self._entries: dict[str, RegistryEntry] = {}
        self._classes: dict[str, type[Strategy]] = {}
        self._conflicts: dict[str, list[RegistryEntry]] = {}
        self._discovered = False
        self._lock = threading.Lock()

    # -- discovery ---------------------------------------------------------------

    def _discover(self) -> None:
        with self._lock:
            if self._discovered:
                return
            for ep in sorted(entry_points(group=self.group), key=_ep_sort_key):
                entry = RegistryEntry(
                    name=ep.name,
                    origin=_origin(ep),
                    target=ep.value,
                    loader=_loader(ep),
                )
                self._add(entry)
            self._discovered = True

    def _add(self, entry: RegistryEntry) -> None:
        old = self._entries.get(entry.name)
        if old is not None and old.target != entry.target:
            self._conflicts.setdefault(entry.name, [old]).append(entry)
            return
        self._entries[entry.name] = entry

    # -- public ------------------------------------------------------------------

    def register(
        self, name: str, cls: type[Strategy] | None = None, *, origin: str = "runtime"
    ) -> Any:
        """Registers a strategy class; usable as a decorator.

        Raises:
            ValueError: If the name is taken by another class.
            TypeError: If ``cls`` is not a :class:`~hybridopt.strategy.Strategy`.
        """

        def decorate(klass: S) -> S:
            if not (isinstance(klass, type) and issubclass(klass, Strategy)):
                raise TypeError(f"{klass!r} is not a subclass of hybridopt.Strategy")
            self._discover()
            target = f"{klass.__module__}:{klass.__qualname__}"
            old = self._entries.get(name)
            if old is not None and old.target != target:
                raise ValueError(
                    f"strategy name {name!r} is already registered by {old.origin} "
                    f"({old.target}); cannot register {target} from {origin}"
                )
            self._entries[name] = RegistryEntry(name, origin, target, lambda: klass)
            self._classes[name] = klass
            return klass

        return decorate if cls is None else decorate(cls)

    def names(self) -> list[str]:
        """Sorted registered names."""
        self._discover()
        return sorted(self._entries)

    def entry(self, name: str) -> RegistryEntry:
        """The entry of a name.

        Raises:
            UnknownStrategyError: With close names as suggestions.
            ValueError: If two distributions declare the name.
        """
        self._discover()
        if name in self._conflicts:
            origins = ", ".join(
                f"{e.origin} ({e.target})" for e in self._conflicts[name]
            )
            raise ValueError(
                f"strategy name {name!r} is declared by more than one package: "
                f"{origins}; uninstall one of them"
            )
        if name not in self._entries:
            if not isinstance(name, str):
                raise TypeError(
                    f"a strategy name must be a string, got {type(name).__name__}"
                )
            close = difflib.get_close_matches(
                name, list(self._entries), n=3, cutoff=0.5
            )
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise UnknownStrategyError(
                f"unknown strategy {name!r}{hint} Registered: {', '.join(self.names())}"
            )
        return self._entries[name]

    def load(self, name: str) -> type[Strategy]:
        """The class registered under ``name``, imported on first use.

        Raises:
            ImportError: If the plugin that declares it fails to import.
        """
        entry = self.entry(name)
        if name not in self._classes:
            try:
                cls = entry.loader()
            except Exception as err:
                raise ImportError(
                    f"strategy {name!r} from {entry.origin} ({entry.target}) failed "
                    f"to load: {type(err).__name__}: {err}"
                ) from err
            if not (isinstance(cls, type) and issubclass(cls, Strategy)):
                raise TypeError(
                    f"entry point {name!r} from {entry.origin} points at {cls!r}, "
                    "which is not a hybridopt.Strategy subclass"
                )
            self._classes[name] = cls
        return self._classes[name]

    def info(self, name: str) -> StrategyInfo:
        """Capabilities of a registered strategy."""
        return self.load(name).info

    def create(self, name: str, /, **options: Any) -> Strategy:
        """Builds the strategy ``name`` with the given options.

        Raises:
            UnknownStrategyError: For an unknown name.
            InvalidOptionError: For an unknown option, naming the accepted ones.
        """
        cls = self.load(name)
        check_option_names(cls, name, options)
        strategy = cls(**options)
        if strategy.name != name:
            # A plugin may register a class under a name of its choosing.
            strategy.name = name  # type: ignore[misc]
        return strategy

    def available(self) -> list[tuple[RegistryEntry, type[Strategy] | None]]:
        """Every entry with its class, or ``None`` (and a warning) if it is broken."""
        out = []
        for name in self.names():
            entry = self._entries[name]
            try:
                cls: type[Strategy] | None = self.load(name)
            except (ImportError, TypeError) as err:
                warnings.warn(str(err), RuntimeWarning, stacklevel=2)
                cls = None
            out.append((entry, cls))
        return out


def check_option_names(cls: type[Strategy], name: str, options: dict[str, Any]) -> None:
    """Raises if ``options`` holds names the strategy's ``__init__`` does not take."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [
        p.name
        for p in params.values()
        if p.name != "self"
        and p.kind
        in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, accepted, n=1)
            hints.append(
                f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            )
        raise InvalidOptionError(
            f"unknown option(s) for strategy {name!r}: {', '.join(hints)}. "
            f"Accepted: {', '.join(accepted) or 'none'}"
        )


def _origin(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    dist_name = getattr(dist, "name", None) or "unknown distribution"
    return BUILT_IN if dist_name == "hybridopt" else dist_name


def _loader(ep: EntryPoint) -> Callable[[], type[Strategy]]:
    return lambda: ep.load()


def _ep_sort_key(ep: EntryPoint) -> tuple[int, str, str]:
    # Built-ins first, so a plugin that reuses a built-in name is the one reported.
    return (0 if _origin(ep) == BUILT_IN else 1, ep.name, ep.value)


registry = Registry()


def strategies() -> list[str]:
    """Names of all registered strategies, built-in and from plugins."""
    return registry.names()


def get_strategy(name: str, /, **options: Any) -> Strategy:
    """Builds a registered strategy by name.

    Example:
        >>> import hybridopt
        >>> hybridopt.get_strategy("adam", learning_rate=0.01).name
        'adam'
    """
    return registry.create(name, **options)


def register_strategy(
    name: str, cls: type[Strategy] | None = None, *, origin: str = "runtime"
) -> Any:
    """Registers a strategy class at run time (a decorator when ``cls`` is omitted)."""
    return registry.register(name, cls, origin=origin)

"""Evaluation on Ray: a private instance on this machine, or a cluster.

:class:`RayExecutor` sends the function once to the object store and then only the
items (chunks of points), one task per item, and returns results in submission
order. :func:`ensure_ray` starts or joins Ray once per process; Ray is imported
only when one of them is first called.

A local instance is started for this machine alone. Measured with Ray 2.60 on
Linux: a plain ``ray.init(include_dashboard=False)`` listens on all interfaces
(GCS, raylet node and object managers, the core-worker server of the driver and
of every worker, the runtime-env agent on the outward address) and starts the
dashboard head process. Ray binds every server to loopback when the node's IP
address is loopback, but it rewrites a requested ``127.0.0.1`` (and a cluster
address on ``127.0.0.1``) into the machine's outward address unless its
single-machine mode, its default on macOS and Windows, is on. So the local
instance is started with node address ``127.0.0.1`` and that mode on for the
duration of ``ray.init``; every listening socket of its processes is then on
``127.0.0.1``, and a cluster whose nodes use ``127.0.0.1`` can be joined at its
loopback address. The dashboard head is not started unless asked for: without
the dashboard it only hosts the usage-statistics reporter, and usage statistics
are off (``RAY_USAGE_STATS_ENABLED=0`` unless the environment already sets it).
The per-node dashboard *agent* is part of every Ray node and still runs, on
loopback. Starting Ray draws from Python's global ``random`` module, so its state
and numpy's legacy global state are restored afterwards.

Both switches reach into Ray internals (``ray._private``); when a Ray release
lacks them a message is logged and Ray starts with its own defaults, and the
tests of this module then fail on the listening sockets.
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import logging
import os
import random
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, TypeVar

__all__ = ["RayExecutor", "ensure_ray", "shutdown_ray"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_LOOPBACK = "127.0.0.1"
# Functions kept in the object store per executor; a run uses one or two.
_FN_CACHE_SIZE = 8

# Serializes starting Ray and building the remote wrapper.
_lock = threading.RLock()
_remote_call: Any = None


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "the Ray executor needs the 'ray' package, a dependency of hybridopt "
            "that is missing from this environment; reinstall hybridopt or run "
            "`pip install ray`"
        ) from err
    return ray


def ensure_ray(
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    include_dashboard: bool = False,
) -> None:
    """Starts or joins Ray, once per process.

    If this process is already connected to Ray, that connection is kept and the
    arguments are ignored. Otherwise ``address=None`` starts a new local instance
    whose servers listen on ``127.0.0.1`` only, and an address (``"auto"``,
    ``"host:port"`` or ``"ray://host:port"``) joins that cluster. Usage
    statistics are off unless ``RAY_USAGE_STATS_ENABLED`` is already set, Ray
    logs at WARNING, and the global states of ``random`` and ``numpy.random``
    are the same afterwards as before.

    Args:
        address: Cluster to join, or ``None`` for a local instance.
        num_cpus: CPUs of the local instance; by default those Ray detects on
            this machine (respecting container limits).
        include_dashboard: Whether the local instance runs the dashboard, on
            ``127.0.0.1``.

    Raises:
        ImportError: If Ray is not installed.
        ValueError: If ``num_cpus`` or ``include_dashboard`` is given with an
            address, or ``num_cpus`` is not positive.
    """
    if address is not None and (num_cpus is not None or include_dashboard):
        raise ValueError(
            "num_cpus and include_dashboard apply to a local Ray instance only; "
            f"the cluster at address={address!r} has its own settings"
        )
    if num_cpus is not None and num_cpus < 1:
        raise ValueError(f"num_cpus must be a positive integer, got {num_cpus!r}")
    with _lock:
        # Ray reads this when it starts; set before the import to be safe.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray = _import_ray()
        if ray.is_initialized():
            logger.debug("reusing this process's Ray connection")
            return
        with _global_random_state_kept(), _sigterm_handler_kept():
            if address is None:
                _start_local(ray, num_cpus, include_dashboard)
            else:
                _join(ray, address)


def shutdown_ray() -> None:
    """Disconnects from Ray, stopping the local instance if this process started it.

    Meant for tests and the command line: executors never shut Ray down, since
    other code in the process may still use it.
    """
    ray = sys.modules.get("ray")
    with _lock:
        if ray is not None and ray.is_initialized():
            ray.shutdown()


class RayExecutor:
    """Evaluates items as Ray tasks, on this machine or on a cluster.

    The function given to :meth:`map` is put in the object store once and reused
    by later calls with the same function object; each item becomes one task
    taking one CPU. Creating the executor starts or joins Ray through
    :func:`ensure_ray`; closing it keeps Ray running (see :func:`shutdown_ray`).

    Args:
        address: Cluster to join, or ``None`` for a local instance (see
            :func:`ensure_ray`).
        num_cpus: CPUs of the local instance.
        include_dashboard: Whether the local instance runs the dashboard.

    An executor belongs to the Ray connection it was created under; after
    :func:`shutdown_ray`, create a new one.

    Attributes:
        n_workers: CPUs in the cluster when the executor was created.

    Examples:
        >>> with RayExecutor(num_cpus=2) as executor:  # doctest: +SKIP
        ...     executor.map(sum, [[1, 2], [3, 4]])
        [3, 7]
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        include_dashboard: bool = False,
    ) -> None:
        ensure_ray(address, num_cpus=num_cpus, include_dashboard=include_dashboard)
        ray = _import_ray()
        self.n_workers: int = max(1, int(ray.cluster_resources().get("CPU", 1)))
        # Keyed by id(fn); holding fn itself keeps its id from being reused.
        self._refs: collections.OrderedDict[int, tuple[Callable[..., Any], Any]] = (
            collections.OrderedDict()
        )
        self._refs_lock = threading.Lock()
        self._closed = False

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Applies ``fn`` to every item as Ray tasks; results in item order.

        Args:
            fn: A picklable function of one item.
            items: The items, usually chunks of points.

        Returns:
            ``[fn(item) for item in items]``, computed on the cluster.

        Raises:
            RuntimeError: If the executor is closed or Ray was shut down.
            Exception: What ``fn`` raised, with its own type when it can be
                rebuilt in this process, else Ray's ``RayTaskError``.
        """
        if self._closed:
            raise RuntimeError("this RayExecutor is closed")
        ray = _import_ray()
        if not ray.is_initialized():
            raise RuntimeError("Ray was shut down after this RayExecutor was created")
        if len(items) == 0:
            return []
        fn_ref = self._put_once(ray, fn)
        call = _remote_wrapper(ray)
        refs = [call.remote(fn_ref, item) for item in items]
        try:
            return list(ray.get(refs))
        except ray.exceptions.RayTaskError as err:
            cause = getattr(err, "cause", None)
            if isinstance(cause, Exception):
                # Chained so the worker's traceback text is still shown.
                raise cause from err
            raise

    def close(self) -> None:
        """Drops the functions held in the object store; Ray keeps running."""
        with self._refs_lock:
            self._refs.clear()
            self._closed = True

    def _put_once(self, ray: ModuleType, fn: Callable[..., Any]) -> Any:
        with self._refs_lock:
            entry = self._refs.get(id(fn))
            if entry is not None and entry[0] is fn:
                self._refs.move_to_end(id(fn))
                return entry[1]
            ref = ray.put(fn)
            self._refs[id(fn)] = (fn, ref)
            if len(self._refs) > _FN_CACHE_SIZE:
                self._refs.popitem(last=False)
            return ref

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RayExecutor(n_workers={self.n_workers})"


def _call(fn: Callable[[T], R], item: T) -> R:
    return fn(item)


def _remote_wrapper(ray: ModuleType) -> Any:
    global _remote_call
    with _lock:
        if _remote_call is None:
            _remote_call = ray.remote(num_cpus=1)(_call)
        return _remote_call


def _start_local(
    ray: ModuleType, num_cpus: int | None, include_dashboard: bool
) -> None:
    with contextlib.ExitStack() as stack:
        stack.enter_context(_single_machine_mode())
        if not include_dashboard:
            stack.enter_context(_without_dashboard_head())
        # "local" rather than None: never attach to a cluster that `ray start`
        # or RAY_ADDRESS points to.
        ray.init(
            address="local",
            num_cpus=num_cpus,
            include_dashboard=include_dashboard,
            dashboard_host=_LOOPBACK,
            configure_logging=True,
            logging_level=logging.WARNING,
            _node_ip_address=_LOOPBACK,
        )
    resources = ray.cluster_resources()
    logger.info("started a local Ray instance with %s CPUs", resources.get("CPU"))


def _join(ray: ModuleType, address: str) -> None:
    logger.info("joining the Ray cluster at %s", address)
    _check_reachable(address)
    with contextlib.ExitStack() as stack:
        # Ray would replace a loopback host by the machine's outward address, where
        # a cluster listening on loopback only cannot be reached.
        if _is_loopback_address(address):
            stack.enter_context(_single_machine_mode())
        try:
            ray.init(
                address=address,
                configure_logging=True,
                logging_level=logging.WARNING,
            )
        except (ValueError, RuntimeError) as err:
            # Ray reports a malformed address, or a Ray Client address without
            # ray[client] installed, as a ValueError.
            raise ConnectionError(
                f"Ray cannot use address {address!r}: {err}"
            ) from None


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fails fast on a ``host:port`` nobody listens on.

    Ray itself retries such an address for ever, printing only its own logs.

    Raises:
        ConnectionError: If no connection can be opened within ``timeout``.
    """
    if "://" in address or ":" not in address:
        return  # "auto", or a Ray Client address that Ray checks itself
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as err:
        raise ConnectionError(
            f"no Ray cluster answers at {address} ({err}); check the address "
            "and that the head node is running (`ray status` on it)"
        ) from None


def _is_loopback_address(address: str) -> bool:
    """Whether a ``host:port`` cluster address names this machine's loopback."""
    if "://" in address:
        return False
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def _single_machine_mode() -> Iterator[None]:
    """Keeps Ray from replacing ``127.0.0.1`` by the machine's outward address."""
    try:
        from ray._private import ray_constants
    except ImportError:
        ray_constants = None  # type: ignore[assignment]
    if ray_constants is None or not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):
        logger.warning(
            "this Ray version has no single-machine switch: a local instance may "
            "listen on all network interfaces, and a loopback address may not "
            "reach its cluster"
        )
        yield
        return
    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved


@contextlib.contextmanager
def _without_dashboard_head() -> Iterator[None]:
    """Skips the dashboard head process, which Ray starts even without a dashboard."""
    try:
        from ray._private.node import Node
    except ImportError:
        Node = None  # type: ignore[assignment,misc]  # noqa: N806
    if Node is None or not hasattr(Node, "start_api_server"):
        logger.debug("cannot skip the Ray dashboard head in this Ray version")
        yield
        return
    saved = Node.start_api_server

    # Without the dashboard the head only reports usage statistics, which are off.
    def start_no_api_server(self: Any, **_: Any) -> None:
        return None

    Node.start_api_server = start_no_api_server  # type: ignore[method-assign]
    try:
        yield
    finally:
        Node.start_api_server = saved  # type: ignore[method-assign]


@contextlib.contextmanager
def _sigterm_handler_kept() -> Iterator[None]:
    """Puts back the application's own SIGTERM handler, which Ray replaces."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if callable(previous):
            signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _global_random_state_kept() -> Iterator[None]:
    """Restores the global ``random`` and ``numpy.random`` states on exit."""
    import numpy as np

    py_state = random.getstate()
    np_state = np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)

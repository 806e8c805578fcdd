"""Tests of the Ray executor: results, object-store use, and a closed-off local Ray.

The session's local instance (``ray_session`` in ``tests/conftest.py``) serves the
in-process tests. The checks that need a fresh interpreter (lazy import, global
random state) or a second cluster run in subprocesses, since a process can be
attached to one Ray cluster only.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hybridopt.evaluation.ray import RayExecutor, ensure_ray

pytestmark = pytest.mark.ray

ray = pytest.importorskip("ray")

REPO_ROOT = Path(__file__).resolve().parents[2]
SUBPROCESS_TIMEOUT = 120


@pytest.fixture
def executor(ray_session: None) -> Iterator[RayExecutor]:
    with RayExecutor() as ex:
        yield ex


def _run_python(code: str) -> dict:
    """Runs code in a fresh interpreter and returns the JSON it prints last."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p
    )
    env.pop("RAY_ADDRESS", None)
    # A session of its own, so a hung run can be ended with all Ray it started.
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the subprocess took more than {SUBPROCESS_TIMEOUT} s")
    assert proc.returncode == 0, stderr[-4000:]
    return json.loads(stdout.strip().splitlines()[-1])


# Executor behaviour


def test_map_returns_results_in_item_order(executor: RayExecutor) -> None:
    rng = np.random.default_rng(0)
    chunks = np.array_split(rng.normal(size=(23, 3)), 7)
    row_norms = functools.partial(np.linalg.norm, axis=1)

    results = executor.map(row_norms, chunks)

    assert len(results) == len(chunks)
    for got, chunk in zip(results, chunks, strict=True):
        np.testing.assert_array_equal(got, np.linalg.norm(chunk, axis=1))


def test_n_workers_counts_cluster_cpus(executor: RayExecutor) -> None:
    assert executor.n_workers == int(ray.cluster_resources()["CPU"])


def test_function_is_put_once_per_function_object(
    executor: RayExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_args: list[object] = []
    real_put = ray.put

    def spy_put(value: object, *args: object, **kwargs: object) -> object:
        put_args.append(value)
        return real_put(value, *args, **kwargs)

    monkeypatch.setattr(ray, "put", spy_put)
    total = functools.partial(np.sum)
    product = functools.partial(np.prod)
    items = [np.arange(1.0, 4.0), np.arange(2.0, 5.0)]

    assert executor.map(total, items) == [6.0, 9.0]
    assert executor.map(total, items[::-1]) == [9.0, 6.0]
    assert executor.map(product, items) == [6.0, 24.0]
    assert executor.map(total, items) == [6.0, 9.0]

    assert put_args == [total, product]


def test_empty_items_give_empty_list(executor: RayExecutor) -> None:
    assert executor.map(np.sum, []) == []


def test_objective_error_keeps_its_type(executor: RayExecutor) -> None:
    with pytest.raises(ValueError, match="math domain error") as info:
        executor.map(math.sqrt, [4.0, -1.0])
    assert type(info.value) is ValueError
    assert isinstance(info.value.__cause__, ray.exceptions.RayTaskError)


def test_closed_executor_refuses_work(ray_session: None) -> None:
    ex = RayExecutor()
    ex.close()
    with pytest.raises(RuntimeError, match="closed"):
        ex.map(np.sum, [np.ones(2)])
    assert ray.is_initialized()


def test_cluster_settings_with_address_are_rejected() -> None:
    with pytest.raises(ValueError, match="local Ray instance only"):
        ensure_ray("127.0.0.1:6379", num_cpus=2)


# The local instance is closed to the network


def _is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(addr, "ipv4_mapped", None)
    return (mapped or addr).is_loopback


def _ray_processes() -> list:
    """This process and its descendants: the Ray it started, no other Ray."""
    # Ray ships psutil in its own third-party folder, importable once Ray is.
    psutil = pytest.importorskip("psutil", reason="psutil lists sockets per process")
    me = psutil.Process()
    return [me, *me.children(recursive=True)]


def _cmdline(proc: object) -> str:
    psutil = pytest.importorskip("psutil")
    try:
        return " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return ""


def _listeners(procs: list) -> list[tuple[str, str, int]]:
    """(process command line, ip, port) of every listening TCP socket."""
    psutil = pytest.importorskip("psutil")
    found = []
    for proc in procs:
        try:
            conns = proc.net_connections(kind="inet")
            cmd = " ".join(proc.cmdline())
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        found += [
            (cmd, c.laddr.ip, c.laddr.port)
            for c in conns
            if c.status == psutil.CONN_LISTEN
        ]
    return found


def _wait_for_runtime_env_agent(timeout: float = 20.0) -> list[tuple[str, str, int]]:
    """Listeners once the last server Ray starts (the runtime-env agent) is up."""
    deadline = time.monotonic() + timeout
    while True:
        found = _listeners(_ray_processes())
        if any("RuntimeEnv" in cmd or "runtime_env" in cmd for cmd, _, _ in found):
            return found
        if time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_every_ray_server_listens_on_loopback_only(executor: RayExecutor) -> None:
    # Running tasks first makes sure worker processes and their servers exist.
    executor.map(np.sum, [np.ones(3)] * 4)
    found = _wait_for_runtime_env_agent()

    servers = " ".join(cmd for cmd, _, _ in found)
    assert "gcs_server" in servers and "raylet" in servers, found
    exposed = [entry for entry in found if not _is_loopback(entry[1])]
    assert exposed == []


def test_no_dashboard_head_is_started(executor: RayExecutor) -> None:
    # The per-node dashboard agent belongs to every Ray node and is allowed.
    cmdlines = [_cmdline(p) for p in _ray_processes()]
    heads = [c for c in cmdlines if "dashboard/dashboard.py" in c]
    assert heads == []
    assert all(port != 8265 for _, _, port in _listeners(_ray_processes()))


# Fresh interpreters and a second cluster


def test_lazy_import_and_global_random_state_kept() -> None:
    out = _run_python(
        """
        import json, random, sys
        import numpy as np
        from hybridopt.evaluation.ray import ensure_ray, shutdown_ray

        lazy = "ray" not in sys.modules
        random.seed(1234)
        np.random.seed(1234)
        py_before, np_before = random.getstate(), np.random.get_state()
        ensure_ray(num_cpus=1)
        ensure_ray(num_cpus=1)
        py_same = random.getstate() == py_before
        np_after = np.random.get_state()
        np_same = np_after[0] == np_before[0] and bool(
            (np_after[1] == np_before[1]).all()
        ) and np_after[2:] == np_before[2:]
        shutdown_ray()
        print(json.dumps({"lazy": lazy, "py_same": py_same, "np_same": np_same}))
        """
    )
    assert out == {"lazy": True, "py_same": True, "np_same": True}


def test_map_across_a_two_node_cluster() -> None:
    out = _run_python(
        """
        import json, time
        import numpy as np
        from ray.cluster_utils import Cluster
        from hybridopt.evaluation.ray import RayExecutor, shutdown_ray

        def scaled_sum(chunk):
            import ray
            time.sleep(0.3)
            return float(chunk.sum()) * 2, ray.get_runtime_context().get_node_id()

        node = {"num_cpus": 1, "node_ip_address": "127.0.0.1"}
        cluster = Cluster(
            initialize_head=True,
            head_node_args={**node, "include_dashboard": False},
        )
        try:
            cluster.add_node(**node)
            with RayExecutor(address=cluster.address) as ex:
                n_workers = ex.n_workers
                chunks = np.array_split(np.arange(12.0), 6)
                results = ex.map(scaled_sum, chunks)
        finally:
            shutdown_ray()
            cluster.shutdown()
        print(json.dumps({
            "n_workers": n_workers,
            "values": [value for value, _ in results],
            "nodes": len({node_id for _, node_id in results}),
        }))
        """
    )
    chunks = np.array_split(np.arange(12.0), 6)
    assert out == {
        "n_workers": 2,
        "values": [float(c.sum()) * 2 for c in chunks],
        "nodes": 2,
    }

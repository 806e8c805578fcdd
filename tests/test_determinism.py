"""Same seed, same result: serially, on Ray, with one worker or many."""

from __future__ import annotations

import numpy as np
import pytest

import hybridopt


def rastrigin(x):
    return float(10 * x.size + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))


class OneWorker:
    """The Ray executor, but handed one chunk per batch."""

    def __init__(self, inner):
        self.inner = inner
        self.n_workers = 1

    def map(self, fn, items):
        return self.inner.map(fn, items)

    def close(self):
        pass


CASES = [
    ("ga", {"population_size": 12}),
    ("memetic", {}),
    ("restarts", {"n_starts": 4}),
    ("adam", {"learning_rate": 0.05}),
    ("lbfgsb", {}),
]


@pytest.mark.ray
@pytest.mark.parametrize(("name", "options"), CASES, ids=[c[0] for c in CASES])
def test_serial_and_ray_agree_exactly(name, options, ray_session):
    from hybridopt.evaluation.ray import RayExecutor

    kwargs = dict(
        bounds=[(-5.12, 5.12)] * 3,
        strategy=name,
        options=options,
        budget=600,
        seed=11,
    )
    serial = hybridopt.minimize(rastrigin, **kwargs)
    ray_exe = RayExecutor()
    assert ray_exe.n_workers >= 2
    on_ray = hybridopt.minimize(rastrigin, executor=ray_exe, **kwargs)
    one = hybridopt.minimize(rastrigin, executor=OneWorker(ray_exe), **kwargs)
    for other in (on_ray, one):
        assert np.array_equal(serial.x, other.x)
        assert serial.fun == other.fun
        assert serial.nfev == other.nfev and serial.nit == other.nit
        assert np.array_equal(serial.history, other.history)
        assert hybridopt.dumps(serial.state) == hybridopt.dumps(other.state)

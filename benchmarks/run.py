"""Benchmarks that print numbers; nothing here is asserted.

Run with ``make bench``. Each figure is a ratio measured within this one run, so the
numbers are comparable across machines of different speed:

1. Driver overhead: hybridopt's ``lbfgsb`` against ``scipy.optimize.minimize``
   (L-BFGS-B) on the same cheap problem: wall-time ratio and evaluation counts.
2. Ray speed-up: a GA on an objective costing about 20 ms of CPU per evaluation,
   serial against the local Ray instance: wall-time ratio (ideal: the core count).
3. Quality: best precision (f - f_opt) of ga, restarts, memetic and auto on a few
   10-D BBOB functions at a fixed budget, median over seeds.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import scipy.optimize

import hybridopt


def _rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def _rosenbrock_grad(x: np.ndarray) -> np.ndarray:
    return scipy.optimize.rosen_der(x)


def driver_overhead() -> None:
    """Prints hybridopt lbfgsb against scipy L-BFGS-B: evaluations and time."""
    x0 = np.full(20, -1.2)
    repeats = 5
    t0 = time.perf_counter()
    for _ in range(repeats):
        ref = scipy.optimize.minimize(
            _rosenbrock, x0, jac=_rosenbrock_grad, method="L-BFGS-B"
        )
    t_scipy = (time.perf_counter() - t0) / repeats
    t0 = time.perf_counter()
    for _ in range(repeats):
        res = hybridopt.minimize(
            _rosenbrock, x0, jac=_rosenbrock_grad, strategy="lbfgsb", budget=10_000
        )
    t_ours = (time.perf_counter() - t0) / repeats
    print("1. driver overhead, 20-D Rosenbrock with analytic gradient")
    print(f"   scipy L-BFGS-B: nfev={ref.nfev} f={ref.fun:.3e} {t_scipy * 1e3:.1f} ms")
    print(f"   hybridopt lbfgsb: nfev={res.nfev} f={res.fun:.3e} {t_ours * 1e3:.1f} ms")
    print(f"   wall-time ratio hybridopt/scipy: {t_ours / t_scipy:.2f}")


def _costly(x: np.ndarray) -> float:
    # About 20 ms of real CPU work, so that parallel evaluation can pay off.
    end = time.process_time() + 0.02
    acc = 0.0
    while time.process_time() < end:
        acc += float(np.sum(np.sin(x)))
    return float(np.sum(x**2)) + 0.0 * acc


def ray_speedup() -> None:
    """Prints the serial/Ray wall-time ratio of a GA on a costly objective."""
    from hybridopt.evaluation.ray import RayExecutor

    kwargs = dict(
        bounds=[(-3, 3)] * 5,
        strategy="ga",
        options={"population_size": 32},
        budget=192,
        seed=0,
    )
    t0 = time.perf_counter()
    serial = hybridopt.minimize(_costly, **kwargs)
    t_serial = time.perf_counter() - t0
    executor = RayExecutor()
    hybridopt.minimize(
        _costly,
        executor=executor,
        budget=32,
        **{k: v for k, v in kwargs.items() if k != "budget"},
    )  # warm the workers up
    t0 = time.perf_counter()
    parallel = hybridopt.minimize(_costly, executor=executor, **kwargs)
    t_ray = time.perf_counter() - t0
    same = np.array_equal(serial.x, parallel.x)
    print(
        f"2. Ray speed-up, GA pop 32, 192 evaluations of ~20 ms, {os.cpu_count()} cores"
    )
    print(
        f"   serial {t_serial:.2f} s, Ray {t_ray:.2f} s ({executor.n_workers} workers)"
    )
    print(f"   speed-up serial/Ray: {t_serial / t_ray:.2f}; identical result: {same}")


def quality() -> None:
    """Prints median precision of the global strategies on 10-D BBOB functions."""
    from hybridopt.experiments.problems import build_problem

    functions = {15: "Rastrigin", 20: "Schwefel", 21: "Gallagher101", 8: "Rosenbrock"}
    names = ["ga", "restarts", "memetic", "auto"]
    budget, seeds = 10_000, (0, 1, 2)
    print(
        f"3. quality: median precision f - f_opt, 10-D BBOB, budget {budget}, "
        f"seeds {list(seeds)}"
    )
    print("   " + "function".ljust(14) + "".join(n.rjust(12) for n in names))
    for fid, label in functions.items():
        spec = {"type": "bbob", "function": fid, "dimension": 10, "instance": 1}
        built = build_problem(spec)
        row = []
        for name in names:
            precisions = [
                hybridopt.run(
                    hybridopt.get_strategy(name), built.problem, budget=budget, seed=s
                ).fun
                - built.f_opt
                for s in seeds
            ]
            row.append(statistics.median(precisions))
        print("   " + label.ljust(14) + "".join(f"{v:12.3g}" for v in row))


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore", hybridopt.BadObjectiveWarning)
    driver_overhead()
    ray_speedup()
    quality()

"""Problems of an experiment, built from plain-data specs where the run happens.

A spec is a small JSON-compatible dict (see :mod:`hybridopt.experiments.config`)
so that it can be stored with each run and sent to a Ray worker; the problem is
built on the worker because COCO's problem objects cannot be pickled. Three kinds:

``bbob``
    A function of COCO's noiseless BBOB suite (Hansen et al., "COCO: a platform
    for comparing continuous optimizers in a black-box setting", Optimization
    Methods and Software 36, 2021), on its box ``[-5, 5]^d``, with its optimal
    value ``f_opt`` so that results can be reported as precision ``f - f_opt``.
``callable``
    Any importable ``module:attr`` objective, with optional gradient.
``classification``
    Training a multinomial logistic regression or a one-hidden-layer tanh network
    on a dataset shipped with scikit-learn: the objective is the mean
    cross-entropy on a fixed training split plus an L2 penalty on the weights,
    with an analytic gradient.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from hybridopt.experiments.config import resolve_callable
from hybridopt.problem import Problem

__all__ = [
    "BuiltProblem",
    "ClassificationObjective",
    "bbob_f_opt",
    "build_problem",
    "load_dataset",
]

logger = logging.getLogger(__name__)

# Fraction of the data held out to report test accuracy, and the fixed seed of
# the split, so that every run of every strategy sees the same training set.
TEST_FRACTION = 0.25
SPLIT_SEED = 0
# Seed of the fixed start point of the MLP (zero weights are a saddle point).
MLP_INIT_SEED = 0

_EXTRAS_HINT = 'install the experiment extras: pip install "hybridopt[experiments]"'


@dataclasses.dataclass(frozen=True)
class BuiltProblem:
    """A problem ready to run, with what the report needs to know about it.

    Attributes:
        problem: The problem handed to :func:`hybridopt.run`.
        f_opt: The known optimal value, or ``None``.
        describe: Computes extra facts about a solution (for example test
            accuracy), stored with the run; ``None`` if there are none.
    """

    problem: Problem
    f_opt: float | None = None
    describe: Callable[[np.ndarray], dict[str, Any]] | None = None


def build_problem(spec: Mapping[str, Any], label: str | None = None) -> BuiltProblem:
    """Builds the problem described by a spec.

    Args:
        spec: A dict with a ``type`` key, as produced by the configuration.
        label: Name of the problem; defaults to one derived from the spec.

    Returns:
        The problem, its optimal value when known, and a describer.

    Raises:
        ValueError: For an unknown type.
        ImportError: If the package a problem type needs is missing.
    """
    kind = spec.get("type")
    if kind == "bbob":
        return _build_bbob(spec, label)
    if kind == "callable":
        return _build_callable(spec, label)
    if kind == "classification":
        return _build_classification(spec, label)
    raise ValueError(f"unknown problem type {kind!r}")


# -- BBOB ----------------------------------------------------------------------


def _build_bbob(spec: Mapping[str, Any], label: str | None) -> BuiltProblem:
    f, d, i = int(spec["function"]), int(spec["dimension"]), int(spec["instance"])
    coco = _coco_problem(f, d, i)

    def fun(x: np.ndarray) -> float:
        return float(coco(x))

    problem = Problem.create(
        fun,
        bounds=list(zip(coco.lower_bounds, coco.upper_bounds, strict=True)),
        name=label or f"f{f}-i{i}-d{d}",
    )
    return BuiltProblem(problem=problem, f_opt=bbob_f_opt(f, d, i))


def _coco_problem(function: int, dimension: int, instance: int) -> Any:
    try:
        import cocoex
    except ImportError as err:
        raise ImportError(f"BBOB problems need cocoex; {_EXTRAS_HINT}") from err
    suite = cocoex.Suite(
        "bbob",
        "",
        f"function_indices:{function} dimensions:{dimension} "
        f"instance_indices:{instance}",
    )
    if len(suite) != 1:
        raise ValueError(
            f"COCO has no BBOB problem f{function} in {dimension}-D, instance "
            f"{instance}"
        )
    return suite[0]


# Writing the optimum to a file changes the working directory for a moment.
_cwd_lock = threading.Lock()


@functools.lru_cache(maxsize=256)
def bbob_f_opt(function: int, dimension: int, instance: int) -> float | None:
    """The optimal value of a BBOB problem, or ``None`` if COCO does not expose it.

    COCO's final target is ``f_opt + 1e-8``; builds that publish it as
    ``final_target_fvalue1`` are read directly. The compiled problem class of
    coco-experiment 2.8 lacks that attribute, so otherwise the optimum's location
    is asked for (COCO writes it to a file in the working directory, here a
    temporary one) and ``f_opt`` is the value there.
    """
    problem = _coco_problem(function, dimension, instance)
    target = getattr(problem, "final_target_fvalue1", None)
    if target is not None:
        return float(target) - 1e-8
    writer = getattr(problem, "_best_parameter", None)
    if writer is None:
        logger.warning("this cocoex version does not expose f_opt of BBOB problems")
        return None
    try:
        with _in_temporary_directory():
            writer("print")
            x_opt = np.loadtxt("._bbob_problem_best_parameter.txt", ndmin=1)
    except (OSError, ValueError, RuntimeError) as err:
        logger.warning("cannot read f_opt of BBOB f%d: %s", function, err)
        return None
    if x_opt.shape != (dimension,):
        return None
    return float(problem(x_opt))


@contextlib.contextmanager
def _in_temporary_directory() -> Iterator[None]:
    with _cwd_lock, tempfile.TemporaryDirectory(prefix="hybridopt-coco-") as tmp:
        old = os.getcwd()
        os.chdir(tmp)
        try:
            yield
        finally:
            os.chdir(old)


# -- callables -----------------------------------------------------------------


def _build_callable(spec: Mapping[str, Any], label: str | None) -> BuiltProblem:
    fun = resolve_callable(spec["function"])
    jac = resolve_callable(spec["jac"]) if spec.get("jac") else None
    bounds = [tuple(pair) for pair in spec["bounds"]]
    if len(bounds) == 1:
        bounds = bounds * int(spec["dimension"])
    problem = Problem.create(
        fun,
        spec.get("x0"),
        bounds=bounds,
        jac=jac,
        name=label or spec["function"].rpartition(":")[2],
    )
    return BuiltProblem(problem=problem)


# -- classification --------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A standardized train/test split of a scikit-learn dataset.

    The split is stratified with a fixed seed; features are scaled with the
    training set's mean and standard deviation.

    Returns:
        ``(x_train, y_train, x_test, y_test)``, labels as integers ``0..k-1``.
    """
    try:
        from sklearn import datasets
        from sklearn.model_selection import train_test_split
    except ImportError as err:
        raise ImportError(
            f"classification problems need scikit-learn; {_EXTRAS_HINT}"
        ) from err
    loader = getattr(datasets, f"load_{name}")
    x, y = loader(return_X_y=True)
    _, y = np.unique(y, return_inverse=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y
    )
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    # Constant pixels in digits have zero spread; leave them at zero.
    scale[scale == 0] = 1.0
    return (
        (x_train - mean) / scale,
        y_train.astype(np.intp),
        (x_test - mean) / scale,
        y_test.astype(np.intp),
    )


class ClassificationObjective:
    """Mean cross-entropy of a softmax classifier plus an L2 penalty, with gradient.

    The parameter vector packs, in order, for ``model="logistic"``: weights
    ``W`` of shape ``(p, k)`` and biases ``b`` of shape ``(k,)``, with logits
    ``X W + b``; for ``model="mlp"``: ``W1 (p, h)``, ``b1 (h,)``, ``W2 (h, k)``,
    ``b2 (k,)``, with logits ``tanh(X W1 + b1) W2 + b2``. The loss is

    ``mean_i [logsumexp(z_i) - z_i[y_i]] + l2 / 2 * sum of squared weights``

    (biases are not penalized). The gradient is computed by backpropagation, and
    the log-softmax subtracts each row's maximum so large logits do not overflow.

    Args:
        x: Features, shape ``(n, p)``.
        y: Labels ``0..k-1``, shape ``(n,)``.
        n_classes: ``k``.
        model: ``"logistic"`` or ``"mlp"``.
        hidden: Hidden units of the MLP.
        l2: Penalty weight.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        n_classes: int,
        *,
        model: str = "logistic",
        hidden: int = 8,
        l2: float = 1e-3,
    ) -> None:
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=np.intp)
        self.n_classes = int(n_classes)
        self.model = model
        self.l2 = float(l2)
        p, k = self.x.shape[1], self.n_classes
        if model == "logistic":
            self.shapes = [(p, k), (k,)]
        elif model == "mlp":
            self.shapes = [(p, hidden), (hidden,), (hidden, k), (k,)]
        else:
            raise ValueError(f"model must be 'logistic' or 'mlp', got {model!r}")
        self.dim = sum(int(np.prod(s)) for s in self.shapes)
        self._onehot = np.eye(k)[self.y]

    def unpack(self, theta: np.ndarray) -> list[np.ndarray]:
        """Splits a parameter vector into the model's arrays."""
        out, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            out.append(theta[start : start + size].reshape(shape))
            start += size
        return out

    def initial_point(self) -> np.ndarray:
        """Zeros for logistic regression; small fixed random weights for the MLP."""
        if self.model == "logistic":
            return np.zeros(self.dim)
        rng = np.random.default_rng(MLP_INIT_SEED)
        parts = []
        for shape in self.shapes:
            scale = 1.0 / np.sqrt(shape[0]) if len(shape) == 2 else 0.0
            parts.append((scale * rng.standard_normal(shape)).ravel())
        return np.concatenate(parts)

    def __call__(self, theta: np.ndarray) -> float:
        """The loss at ``theta``."""
        return self.value_and_grad(theta, need_grad=False)[0]

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """The gradient of the loss at ``theta``."""
        grad = self.value_and_grad(theta, need_grad=True)[1]
        assert grad is not None
        return grad

    def value_and_grad(
        self, theta: np.ndarray, *, need_grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        """The loss and (optionally) its gradient, sharing the forward pass."""
        theta = np.asarray(theta, dtype=float)
        params = self.unpack(theta)
        n = self.x.shape[0]
        if self.model == "logistic":
            w, b = params
            hidden_out = None
            logits = self.x @ w + b
            weights = [w]
        else:
            w1, b1, w2, b2 = params
            hidden_out = np.tanh(self.x @ w1 + b1)
            logits = hidden_out @ w2 + b2
            weights = [w1, w2]

        log_probs = _log_softmax(logits)
        data_loss = -float(np.mean(log_probs[np.arange(n), self.y]))
        penalty = 0.5 * self.l2 * sum(float(np.sum(w * w)) for w in weights)
        loss = data_loss + penalty
        if not need_grad:
            return loss, None

        # d(mean cross-entropy)/d(logits) = (softmax - onehot) / n
        d_logits = (np.exp(log_probs) - self._onehot) / n
        if self.model == "logistic":
            grads = [self.x.T @ d_logits + self.l2 * w, d_logits.sum(axis=0)]
        else:
            assert hidden_out is not None
            d_w2 = hidden_out.T @ d_logits + self.l2 * w2
            d_pre = (d_logits @ w2.T) * (1.0 - hidden_out**2)
            d_w1 = self.x.T @ d_pre + self.l2 * w1
            grads = [d_w1, d_pre.sum(axis=0), d_w2, d_logits.sum(axis=0)]
        return loss, np.concatenate([g.ravel() for g in grads])

    def predict(self, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Predicted labels for features ``x``."""
        params = self.unpack(np.asarray(theta, dtype=float))
        if self.model == "logistic":
            logits = x @ params[0] + params[1]
        else:
            logits = np.tanh(x @ params[0] + params[1]) @ params[2] + params[3]
        return np.argmax(logits, axis=1)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def _build_classification(spec: Mapping[str, Any], label: str | None) -> BuiltProblem:
    x_train, y_train, x_test, y_test = load_dataset(spec["dataset"])
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    objective = ClassificationObjective(
        x_train,
        y_train,
        n_classes,
        model=spec.get("model", "logistic"),
        hidden=int(spec.get("hidden", 8)),
        l2=float(spec.get("l2", 1e-3)),
    )
    low, high = spec.get("bounds", (-10.0, 10.0))
    x0 = np.clip(objective.initial_point(), low, high)
    problem = Problem.create(
        objective,
        x0,
        bounds=[(low, high)] * objective.dim,
        jac=objective.gradient,
        name=label or f"{spec['dataset']}-{objective.model}",
    )

    def describe(theta: np.ndarray) -> dict[str, Any]:
        return {
            "train_accuracy": float(
                np.mean(objective.predict(theta, x_train) == y_train)
            ),
            "test_accuracy": float(np.mean(objective.predict(theta, x_test) == y_test)),
        }

    return BuiltProblem(problem=problem, describe=describe)

"""The library logger: silent unless the application configures it.

Every module logs under the ``hybridopt`` root logger. The library adds only a
``NullHandler``; the CLI, or :func:`set_verbosity`, adds a handler that writes to
stderr. INFO reports run and phase events, DEBUG one line per iteration, and no
level reports single evaluations.
"""

from __future__ import annotations

import logging

__all__ = ["get_logger", "set_verbosity"]

_ROOT = "hybridopt"
_handler: logging.Handler | None = None

logging.getLogger(_ROOT).addHandler(logging.NullHandler())


def get_logger(name: str) -> logging.Logger:
    """The logger of a hybridopt module."""
    return logging.getLogger(name)


def set_verbosity(level: int | str) -> None:
    """Sends hybridopt's log records at ``level`` and above to stderr.

    Args:
        level: A ``logging`` level such as ``logging.INFO`` or ``"DEBUG"``.
    """
    global _handler
    root = logging.getLogger(_ROOT)
    if _handler is None:
        _handler = logging.StreamHandler()
        _handler.setFormatter(
            logging.Formatter("[hybridopt %(levelname)s] %(message)s")
        )
        root.addHandler(_handler)
    root.setLevel(level)

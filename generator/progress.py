"""Progress bars that suit both a terminal and a CI log."""

from __future__ import annotations

import logging
import os
import sys


def quiet_bars_when_logged() -> None:
    """When stderr is not a terminal (CI, a log file), redraw tqdm bars every 20 s instead of many
    times a second, so a log keeps a heartbeat without thousands of carriage-return updates."""
    if not sys.stderr.isatty():
        os.environ.setdefault("TQDM_MININTERVAL", "20")


def bars_wanted(logger: logging.Logger) -> bool:
    """Bars only where the log shows INFO lines: `mkdocs build -q` sets MkDocs' logger to ERROR, and a
    quiet build must print nothing but errors."""
    return logger.isEnabledFor(logging.INFO)

"""What the lab and a saved script's stand-in (`standin.py`) both decide about the processes a
scenario starts: the name of the n-th child, the `lock=` argument a lock mode asks for, and how
an exit reads. Standard library only, so `statelab source` copies it into a saved script."""

from __future__ import annotations

import signal

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from multiprocessing.context import BaseContext
    from typing import Any


def child_role(n: int) -> str:
    """The role of the n-th child a parent starts (from 1): child, child-2, child-3, ..."""
    return "child" if n == 1 else f"child-{n}"


def lock_argument(mode: str, ctx: BaseContext) -> Any:
    """The `lock=` argument the lock mode asks for: True, False, a Lock() or an RLock()."""
    if mode in ("true", "false"):
        return mode == "true"
    return ctx.Lock() if mode == "lock" else ctx.RLock()


def exit_text(exitcode: int | None) -> tuple[str, dict[str, Any]]:
    """How a process ended, in words and as data."""
    if exitcode is None:
        return "is still running", {"exitcode": None}
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        return f"was killed by {name}", {"exitcode": exitcode, "signal": name}
    return f"exited with code {exitcode}", {"exitcode": exitcode}

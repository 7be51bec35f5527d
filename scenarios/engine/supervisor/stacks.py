"""At the deadline: the stack of every stuck process, and where each one waited.

Each process that installed the probe dumps its threads' stacks (faulthandler)
on STACK_SIGNAL to its stderr connection; the supervisor collects them for up to
STACK_WAIT seconds, reports each as an error event, then ends the run. Imported
only when a run times out.
"""

from __future__ import annotations

import os
import re
import time

from scenarios.engine import probe, procfs
from scenarios.engine.protocol import Error

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from scenarios.engine.supervisor.core import Core
    from scenarios.engine.supervisor.reaping import Reaper
    from scenarios.engine.supervisor.streams import Streams

STACK_WAIT = 0.6  # seconds to collect the stacks of stuck processes
ENGINE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # scenarios/engine


def where_stuck(stack: str) -> str:
    """The innermost frame of the thread the signal interrupted, and the scenario's own frame."""
    lines = stack.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Current thread")), 0)
    frames = []
    for line in lines[start + 1 :]:
        m = re.match(r'\s*File "(.+)", line (\d+) in (\S+)', line)
        if not m:
            break
        frames.append((os.path.basename(m.group(1)), m.group(2), m.group(3), m.group(1)))
    if not frames:
        return "somewhere the stack did not show"
    f, n, func, _ = frames[0]
    here = f"in {func} ({f}:{n})"
    stdlib = os.path.dirname(os.__file__)
    own = next((fr for fr in frames if not fr[3].startswith((stdlib, "<", ENGINE))), None)
    if own and own is not frames[0]:
        here += f", called from {own[2]} ({own[0]}:{own[1]})"
    return here


def on_timeout(sup: Core, streams: Streams, reaper: Reaper) -> None:
    stuck = [p for p in sup.talking if not sup.exited(p) and procfs.alive(p)]
    sup.emit(Error, f"timeout: the run did not finish in {sup.cfg.timeout:g} s; "
             f"taking the stacks of {len(stuck)} process(es)",
             data={"timeout": sup.cfg.timeout, "stuck": [sup.roles.get(p) for p in stuck]})
    collecting = streams.collecting = {p: "" for p in stuck}  # their stderr goes here
    for pid in stuck:
        try:
            os.kill(pid, probe.STACK_SIGNAL)
        except OSError:
            pass
    until = time.monotonic() + STACK_WAIT
    while time.monotonic() < until:
        ready = streams.read_for(0.1)
        streams.flush_partial()  # a stack written and quiet since is collected now, not at the end
        if not ready and all("most recent call first" in s for s in collecting.values()):
            break
    streams.flush_partial(quiet=0)
    streams.collecting = None
    for pid, stack in collecting.items():
        role = sup.roles.get(pid, "?")
        sup.emit(Error, f"{role} was stuck {where_stuck(stack)}", pid=pid, role=role,
                 data={"stack": stack[-2500:], "where": where_stuck(stack)})
        sup.state.stacks[role] = stack  # whole: the event may carry only a trimmed one
    reaper.kill_all()

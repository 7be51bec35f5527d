"""Pass via queue: can a shared Value travel through a Queue, a Pipe, or a Process argument?

A synchronized or raw ctypes object refuses to be pickled except while a
process is being started ("only through inheritance"). Where that refusal
surfaces depends on the channel: a Queue pickles in a background feeder
thread, so ``put()`` returns and the error is printed by that thread, while
the receiver waits for something that never comes; a SimpleQueue and a Pipe
pickle in the caller and raise at once; a Process argument is inheritance,
so it works.
"""

from __future__ import annotations

import queue
from collections.abc import Callable

from scenarios.engine.api import (
    Any,
    Finding,
    Knob,
    Lab,
    RunState,
    Scenario,
    checkpoint,
    missing,
    observe,
    run_as_script,
)

SPEC = Scenario(
    name="pass-via-queue",
    order=4,
    title="A shared Value through a Queue",
    summary="put a Value on a Queue, SimpleQueue or Pipe, or pass it to Process: what arrives",
    uses=("typecode", "lock", "value"),
    own=(
        Knob("channel", "how the Value is sent",
             ("queue", "simple-queue", "pipe", "process-arg"), default="queue"),
        Knob("wait", "seconds the receiver waits for the Value, from when the parent has tried "
             "to send it", kind="float", low=0.1, high=5.0, default=1.0),
    ),
    defaults={"typecode": "I", "lock": "false"},
    from_lesson=True,
)


def receive(channel: str, end: Any, wait: float) -> Any:
    """Take the Value from the channel, or raise queue.Empty after `wait` seconds."""
    if channel == "process-arg":
        return end  # it came as an argument of the Process
    if channel == "queue":
        return end.get(timeout=wait)
    # SimpleQueue.get() and Connection.recv() take no timeout: poll first
    ready = end._reader.poll(wait) if channel == "simple-queue" else end.poll(wait)
    if not ready:
        raise queue.Empty
    return end.get() if channel == "simple-queue" else end.recv()


def receiver(channel: str, end: Any, wait: float, sent: Any = None) -> None:
    if sent is not None:
        # the wait starts once the parent has tried to send, so however long the parent takes
        # to get there (a pause in step mode, a slow machine), the receiver waits the same
        sent.acquire()
    try:
        var = receive(channel, end, wait)
    except queue.Empty:
        observe("receiver-result", f"receiver waited {wait:g} s on the {channel}: nothing arrived",
                received=False)
        return
    observe("receiver-result", f"receiver got {type(var).__name__} holding {var.value!r}, "
            f"id {id(var):#x}", received=True, value=var.value, id=id(var), type=type(var).__name__)


def parent(lab: Lab) -> None:
    channel, wait = lab.cfg["channel"], lab.cfg["wait"]
    var = lab.ctx.Value(lab.cfg.typecode, lab.cfg.value, lock=lab.lock())
    observe("parent-created", f"parent made a {type(var).__name__} holding {var.value!r}",
            value=var.value, id=id(var), type=type(var).__name__)

    if channel == "process-arg":
        process = lab.start(receiver, channel, var, wait)
        observe("send-result", "parent passed the Value as a Process argument: start() returned",
                raised=False)
        lab.join(process)
        return

    receive_end: Any
    send: Callable[[Any], None]
    if channel == "queue":
        receive_end = lab.ctx.Queue()
        send = receive_end.put
    elif channel == "simple-queue":
        receive_end = lab.ctx.SimpleQueue()
        send = receive_end.put
    else:
        receive_end, send_end = lab.ctx.Pipe(duplex=False)
        send = send_end.send
    sent = lab.ctx.Semaphore(0)
    process = lab.start(receiver, channel, receive_end, wait, sent)
    checkpoint("before-send", f"the receiver waits; the parent is about to send the Value on the {channel}")
    try:
        send(var)
    except Exception as exc:
        observe("send-result", f"sending on the {channel} raised {type(exc).__name__}: {exc}",
                raised=True, exception=type(exc).__name__, message=str(exc))
    else:
        observe("send-result", f"sending on the {channel} returned normally", raised=False)
    finally:
        sent.release()  # the receiver's --wait seconds start now
    lab.join(process)


def findings(run: RunState) -> list[Finding]:
    channel = run.config.get("channel", "queue")
    inherited = channel == "process-arg"
    sent, got = run.first("send-result"), run.first("receiver-result")
    feeder = [e.text for e in run.of_kind("output", "parent")
              if e.data.get("thread") == "QueueFeederThread"]
    feeder_error = next((line.strip() for text in feeder for line in text.splitlines()
                         if "Error" in line and ":" in line), None)

    raises: bool | None = None
    raise_evidence = missing(run, "send-result")
    if sent:
        raises = bool(sent["raised"])
        if raises:
            raise_evidence = f"the {channel} pickles in the caller: {sent['exception']}: {sent['message']}"
        elif feeder_error:
            raise_evidence = (f"put() returned normally; the Queue's feeder thread raised and "
                              f"printed it instead: {feeder_error}")
        elif inherited:
            raise_evidence = "passing the Value to Process() is inheritance, which is allowed"
        else:
            raise_evidence = f"sending on the {channel} returned and no error was printed"

    gets: bool | None = None
    get_evidence = missing(run, "receiver-result")
    if got:
        gets = bool(got["received"])
        get_evidence = (f"the receiver got a {got.get('type')} holding {got.get('value')!r}"
                        if gets else f"the receiver waited {run.config.get('wait')} s and got nothing")
        if not gets and channel == "queue":
            get_evidence += "; the lesson's child, waiting on get() with no timeout, would wait for ever"
    return [
        Finding("put-raises", f"Sending the Value on the {channel} raises an error in the sender",
                raises, not inherited, raise_evidence),
        Finding("receiver-gets-object", "The receiver gets the shared Value",
                gets, inherited, get_evidence),
    ]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)

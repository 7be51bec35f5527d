"""Copy-on-write: a big object in the parent, a child that only reads it.

The parent builds a large object and starts a child with it as an argument.
Under fork the child does not get a copy: it starts with the parent's memory
pages, shared, and the kernel copies a page only when either process writes
to it. Reading a list of ints writes too: every item read has its reference
count raised, and the count lives in the object, in the page. A bytearray is
one raw buffer with one count, so reading it leaves its pages shared.

Under spawn and forkserver the same `Process(args=(data,))` pickles the object
and the child unpickles its own copy: there is no shared page to copy.

Each process reads its own USS (pages only it maps), PSS (its fair share of
every page) and RSS from /proc/self/smaps_rollup; three semaphores make the
measurements happen in order: the child before, the parent, the child's
touch, the child after, the parent after.
"""

from __future__ import annotations

import os

from scenarios.engine.api import (
    Any,
    Config,
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

MiB = 1024 * 1024
ROLLUP = "/proc/self/smaps_rollup"
PAGE = os.sysconf("SC_PAGE_SIZE")
BIG = 0.5  # "a large fraction": at least half of the object's pages


def _check(cfg: Config) -> str | None:
    if not os.path.exists(ROLLUP):
        return f"copy-on-write reads {ROLLUP}, which this system does not have (Linux 4.14+)"
    return None


SPEC = Scenario(
    name="copy-on-write",
    order=8,
    title="Copy-on-write",
    summary="a big object in the parent; the child reads or writes it; USS and PSS show the copies",
    own=(
        Knob("size", "size of the object in MiB", kind="int", low=4, high=256, default=64),
        Knob("touch", "what the child does to every element", ("read", "write"), default="read"),
        Knob("object", "a list of ints (one object per item) or a bytearray (one raw buffer)",
             ("list", "bytearray"), default="list"),
    ),
    check=_check,
)


def memory() -> dict[str, int]:
    """This process's RSS, PSS and USS in bytes (USS: pages mapped by this process only)."""
    kib: dict[str, int] = {}
    with open(ROLLUP) as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                kib[key] = int(parts[0])
    return {"rss": kib["Rss"] * 1024, "pss": kib["Pss"] * 1024,
            "uss": (kib["Private_Clean"] + kib["Private_Dirty"]) * 1024}


def mib(n: int) -> str:
    return f"{n / MiB:.1f} MiB"


def report(what: str, text: str, **data: Any) -> None:
    mem = memory()
    observe(what, f"{text}: USS {mib(mem['uss'])}, PSS {mib(mem['pss'])}, RSS {mib(mem['rss'])}",
            **mem, **data)


def build(kind: str, size: int) -> list[int] | bytearray:
    if kind == "list":
        # about 40 bytes an item: an 8-byte slot in the list and a 32-byte int object
        return list(range(1000, 1000 + size // 40))  # above 256: each int is its own object
    return bytearray(range(256)) * (size // 256)  # written, so every page is really there


def touch(data: list[int] | bytearray, how: str) -> int:
    if how == "read":
        # sum() takes a reference to every item it reads; for a list of ints that writes the
        # count in each int object, for a bytearray the items are made fresh from the bytes
        return sum(data)
    if isinstance(data, list):
        for i in range(len(data)):
            data[i] += 1
    else:
        # the kernel copies a whole page the first time any byte of it is written
        for i in range(0, len(data), PAGE):
            data[i] = (data[i] + 1) % 256
    return sum(data)


def child(data: list[int] | bytearray, how: str, measured: Any, go: Any, touched: Any,
          done: Any) -> None:
    report("child-before", f"the child has the {type(data).__name__} of {len(data):,} items "
           "and has not touched it")
    measured.release()
    go.acquire()  # the parent measures itself first
    checkpoint("before-touch", f"the child is about to {how} every element")
    total = touch(data, how)
    report("child-after", f"the child {'read' if how == 'read' else 'wrote'} every element "
           f"(sum {total})", sum=total)
    checkpoint("after-touch", "the child has touched every element; the parent measures next")
    touched.release()
    done.acquire()  # stay alive: the parent's pages are shared with ours until we exit


def parent(lab: Lab) -> None:
    size, how, kind = lab.cfg["size"] * MiB, lab.cfg["touch"], lab.cfg["object"]
    measured, go = lab.ctx.Semaphore(0), lab.ctx.Semaphore(0)
    touched, done = lab.ctx.Semaphore(0), lab.ctx.Semaphore(0)

    report("parent-empty", "the parent, before building the object")
    data = build(kind, size)
    total = sum(data)  # read before the fork: the parent's own reads are done by then
    report("parent-built", f"the parent built a {kind} of {len(data):,} items "
           f"(asked for {mib(size)}, sum {total})", items=len(data), size=size, sum=total)

    # fork: the child inherits `data` with the parent's memory; spawn, forkserver: it is pickled
    process = lab.start(child, data, how, measured, go, touched, done)
    measured.acquire()
    report("parent-before", "the parent, while the child holds the object untouched")
    go.release()
    touched.acquire()
    report("parent-after", f"the parent, after the child's {how}")
    done.release()
    lab.join(process)


# id, claim, what the lesson (or common belief) says; the first depends on the start method
CLAIMS: list[tuple[str, str, bool | None]] = [
    ("child-shares-parent-pages",
     "Until it touches the object, the child shares its pages with the parent", None),
    ("reading-copies-pages",
     "Only reading the object in the child copies a large part of its pages", False),
    ("writing-copies-pages", "Writing every element in the child copies the object's pages", True),
]


def findings(run: RunState) -> list[Finding]:
    how, fork = run.config.get("touch"), run.start_method == "fork"
    empty, built = run.first("parent-empty"), run.first("parent-built")
    before, after = run.first("child-before"), run.first("child-after")
    parent = run.first("parent-before")
    if not (empty and built and before and after):
        why = missing("parent-empty", "parent-built", "child-before", "child-after")
        return [Finding(i, c, None, fork if lesson is None else lesson, why)
                for i, c, lesson in CLAIMS]

    size = built["uss"] - empty["uss"]  # what the object really takes in the parent
    shared = before["rss"] - before["uss"]  # what the child mapped together with others
    grew = after["uss"] - before["uss"]
    sharing = shared >= BIG * size
    shares_evidence = (
        f"before the touch the child mapped {mib(shared)} that other processes map too, and had "
        f"{mib(before['uss'])} of its own; the object takes {mib(size)} in the parent"
        + (f"; the parent's USS went from {mib(built['uss'])} to {mib(parent['uss'])} once the "
           "child started" if parent else "")
        + ("" if fork else f"; under {run.start_method} the child unpickled its own copy"))
    growth = (f"the child's USS went from {mib(before['uss'])} to {mib(after['uss'])} "
              f"({'+' if grew >= 0 else ''}{mib(grew)}) while it {how}s every element of a "
              f"{run.config.get('object')} that takes {mib(size)}")

    def copies(mode: str) -> tuple[bool | None, str]:
        if how != mode:
            return None, f"the child did not {mode} in this run; run with --touch {mode}"
        if not sharing:
            return None, f"{growth}; but there was no shared page to copy: {shares_evidence}"
        return grew >= BIG * size, growth

    reads, reads_evidence = copies("read")
    writes, writes_evidence = copies("write")
    return [
        Finding(CLAIMS[0][0], CLAIMS[0][1], sharing, fork, shares_evidence),
        Finding(CLAIMS[1][0], CLAIMS[1][1], reads, CLAIMS[1][2], reads_evidence),
        Finding(CLAIMS[2][0], CLAIMS[2][1], writes, CLAIMS[2][2], writes_evidence),
    ]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)

"""Copy-on-write: a big object in the parent, a child that only reads it.

The parent builds a large object and starts a child with it as an argument.
Under fork the child does not get a copy: it starts with the parent's memory
pages, shared, and the kernel copies a page only when either process writes
to it. Reading a list of ints writes too: every item read has its reference
count raised, and the count lives in the object, in the page. A bytearray is
one raw buffer with one count, so reading it leaves its pages shared.

Under spawn and forkserver the same `Process(args=(data,))` pickles the object
and the child unpickles its own copy: there is no shared page to copy.

Sharing is judged page by page, on the object's own pages, never on a whole
process's totals (any fresh interpreter shares some MiB of library pages with
others). Each process finds the pages that hold its object without touching
it, and reads their entries in /proc/self/pagemap: present (bit 63), mapped by
this process only (bit 56, Linux 4.2+, readable by anyone) and the physical
page frame (bits 0-54, read as 0 without CAP_SYS_ADMIN). Under fork the child's
object sits at the parent's addresses, so where frames are visible the two
processes compare frames for the same pages; otherwise, and under spawn and
forkserver, bit 56 tells whether another process maps the page. Each process
also reads its USS, PSS and RSS from /proc/self/smaps_rollup. Four semaphores
make the measurements happen in order: the child before, the parent, the
child's touch, the child after, the parent after.
"""

from __future__ import annotations

import ctypes
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
SHIFT = PAGE.bit_length() - 1  # address >> SHIFT: the virtual page number
POINTER = ctypes.sizeof(ctypes.c_void_p)
# one 8-byte pagemap entry per virtual page
PRESENT, ALONE, FRAME = 1 << 63, 1 << 56, (1 << 55) - 1
BIG = 0.5  # "a large fraction": at least half of the object's pages
PARTS = {"ints": "the ints", "list": "the list and its array of pointers",
         "bytes": "the bytes", "header": "the bytearray's header"}


def _check(cfg: Config) -> str | None:
    if not os.path.exists(ROLLUP):
        return f"copy-on-write reads {ROLLUP}, which this system does not have (Linux 4.14+)"
    return None


SPEC = Scenario(
    name="copy-on-write",
    order=8,
    title="Copy-on-write",
    summary="a big object in the parent; the child reads or writes it; its pages show the copies",
    own=(
        Knob("size", "size of the object in MiB", kind="int", low=1, high=256, default=64),
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
        # the kernel copies a whole page the first time any byte of it is written: one byte in
        # every page the buffer spans (it need not start at a page's start), the last one too
        for i in (*range(0, len(data), PAGE), len(data) - 1):
            data[i] = (data[i] + 1) % 256
    return sum(data)


def touching(kind: str, how: str) -> str:
    """What touch() does, in words."""
    if kind == "bytearray":
        return "reading every byte" if how == "read" else "writing one byte in every page"
    return "reading every element" if how == "read" else "writing every element"


def child(data: list[int] | bytearray, how: str, fork: bool, measured: Any, go: Any,
          touched: Any, done: Any) -> None:
    peer = os.getppid() if fork else None  # under fork the object is at the parent's addresses
    before, shared, parts = look(data, peer)
    report("child-before", f"the child has the {type(data).__name__} of {len(data):,} items "
           "and has not touched it", before, "parent")
    measured.release()
    go.acquire()  # the parent measures itself first
    checkpoint("before-touch", f"the child is about to start {touching(type(data).__name__, how)}")
    total = touch(data, how)
    moved = how == "write" and isinstance(data, list)  # new ints took the old ones' places
    after, _, _ = look(data, peer, None if moved else parts, check=moved)
    if after["pages"] is not None:
        after.update(copied_since(shared, peer))
    report("child-after", f"the child is done {touching(type(data).__name__, how)} (sum {total})",
           after, "parent", sum=total)
    checkpoint("after-touch", "the child has touched every element; the parent measures next")
    touched.release()
    done.acquire()  # stay alive: the parent's pages are shared with ours until we exit


def parent(lab: Lab) -> None:
    size, how, kind = lab.cfg["size"] * MiB, lab.cfg["touch"], lab.cfg["object"]
    fork = lab.cfg.start_method == "fork"
    measured, go = lab.ctx.Semaphore(0), lab.ctx.Semaphore(0)
    touched, done = lab.ctx.Semaphore(0), lab.ctx.Semaphore(0)

    report("parent-empty", "the parent, before building the object")
    data = build(kind, size)
    total = sum(data)  # read before the fork: the parent's own reads are done by then
    built, _, parts = look(data, None, check=True)
    report("parent-built", f"the parent built a {kind} of {len(data):,} items "
           f"(asked for {mib(size)}, sum {total})", built, items=len(data), size=size, sum=total)

    # fork: the child inherits `data` with the parent's memory; spawn, forkserver: it is pickled
    process = lab.start(child, data, how, fork, measured, go, touched, done)
    measured.acquire()
    peer = process.pid if fork else None
    report("parent-before", "the parent, while the child holds the object untouched",
           look(data, peer, parts)[0], "child")
    go.release()
    touched.acquire()
    report("parent-after", f"the parent, after the child's {how}", look(data, peer, parts)[0], "child")
    done.release()
    lab.join(process)


# -- the object's own pages ------------------------------------------------------------------

def report(what: str, text: str, pages: dict[str, Any] | None = None, peer: str = "",
           **data: Any) -> None:
    """observe() with this process's memory and, where read, how it maps the object's pages."""
    mem = memory()
    text += f": USS {mib(mem['uss'])}, PSS {mib(mem['pss'])}, RSS {mib(mem['rss'])}"
    if pages and pages.get("pages") is not None:
        text += f"; {pages['shared']:,} of the object's {pages['pages']:,} pages are " + (
            f"the {peer}'s frames too" if pages["by"] == "frame" else "mapped by another process too")
    observe(what, text, **mem, **(pages or {}), **data)


def look(data: list[int] | bytearray, peer: int | None, parts: dict[str, set[int]] | None = None,
         check: bool = False) -> tuple[dict[str, Any], dict[str, set[int]], dict[str, set[int]]]:
    """How this process maps the object's pages, which of them it shares, and where they are
    (by part), or why it could not tell. `parts`: where they were found before, if the object
    cannot have moved since (finding them takes about 0.1 s for each million items)."""
    try:
        parts = parts or locate(data, check)
        seen, shared = shared_pages(parts, peer)
    except (OSError, LookupError, ValueError) as e:
        return {"pages": None, "why": f"its pages could not be read: {e}"}, {}, {}
    return seen, shared, parts


def span(start: int, size: int) -> set[int]:
    return set(range(start >> SHIFT, ((start + size - 1) >> SHIFT) + 1))


def locate(data: list[int] | bytearray, check: bool = False) -> dict[str, set[int]]:
    """The virtual pages that hold the object in this process, by part.

    Found without touching the object: reading its items would raise their reference
    counts, a write that copies the very pages being measured. A bytearray: its buffer
    (ctypes gives its address) and its header. A list: the list with its array of
    pointers (ob_item, the last field but one of the list's struct), and the page each
    int starts on (its reference count is there), read from that array as raw memory.
    `check` compares the array with id() of its first and last items, which touches them.
    """
    if isinstance(data, bytearray):
        buffer = ctypes.c_char.from_buffer(data)
        start = ctypes.addressof(buffer)
        del buffer
        return {"bytes": span(start, len(data)), "header": span(id(data), bytearray.__basicsize__)}
    array = ctypes.c_void_p.from_address(id(data) + list.__basicsize__ - 2 * POINTER).value or 0
    raw = (ctypes.c_char * (len(data) * POINTER)).from_address(array)
    with memoryview(raw) as view, view.cast("B") as octets, octets.cast("P") as pointers:
        if check and (pointers[0] != id(data[0]) or pointers[-1] != id(data[-1])):
            raise LookupError("the list's array of pointers is not where this interpreter's "
                              "layout puts it")
        ints = set(map(SHIFT.__rrshift__, pointers))
    return {"ints": ints, "list": span(id(data), list.__basicsize__) | span(array, len(raw))}


def pagemap(pages: set[int], pid: int | str = "self") -> dict[int, int]:
    """The pagemap entry of each of these virtual pages in process pid."""
    ordered = sorted(pages)
    entries: dict[int, int] = {}
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        first = 0
        for i in range(1, len(ordered) + 1):
            if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:  # a run of pages ends
                f.seek(ordered[first] * 8)
                words = memoryview(f.read((i - first) * 8)).cast("Q")
                entries.update(zip(ordered[first:i], words, strict=True))
                first = i
    return entries


def shared_pages(parts: dict[str, set[int]], peer: int | None
                 ) -> tuple[dict[str, Any], dict[str, set[int]]]:
    """How this process maps these pages, and which of them it shares, by part.

    With a peer (under fork: the other process, whose object is at the same addresses) and
    frames visible, a page is shared when both map the same frame there; otherwise when it
    is not mapped by this process alone (bit 56).
    """
    every = set().union(*parts.values())
    mine = pagemap(every)
    present = {p for p in every if mine[p] & PRESENT}
    alone = {p for p in present if mine[p] & ALONE}
    frames = any(mine[p] & FRAME for p in present)
    by, shared = "bit 56", present - alone
    if peer is not None and frames:
        try:
            theirs = pagemap(every, peer)
        except OSError:
            pass  # not allowed to read the peer's entries: bit 56 still tells
        else:
            by = "frame"
            shared = {p for p in present
                      if theirs[p] & PRESENT and theirs[p] & FRAME == mine[p] & FRAME}
    seen = {"pages": len(every), "present": len(present), "alone": len(alone),
            "shared": len(shared), "by": by, "frames": frames,
            "parts": {name: [len(pages), len(pages & shared)] for name, pages in parts.items()}}
    return seen, {name: pages & shared for name, pages in parts.items()}


def copied_since(shared: dict[str, set[int]], peer: int | None) -> dict[str, Any]:
    """Of the pages this process shared before (by part): how many are its own copies now,
    and how many it no longer maps."""
    _, still = shared_pages(shared, peer)
    now = pagemap(set().union(*shared.values()))
    copied = {name: sum(1 for p in pages - still[name] if now[p] & PRESENT)
              for name, pages in shared.items()}
    return {"copied": sum(copied.values()), "copied_parts": copied,
            "released": sum(1 for entry in now.values() if not entry & PRESENT)}


# id, claim, what the lesson (or common belief) says; the first depends on the start method
CLAIMS: list[tuple[str, str, bool | None]] = [
    ("child-shares-parent-pages",
     "Until it touches the object, the child shares its pages with the parent", None),
    ("reading-copies-pages",
     "Only reading the object in the child copies a large part of its pages", False),
    ("writing-copies-pages", "Writing every element in the child copies the object's pages", True),
]
KEYS = ("parent-empty", "parent-built", "child-before", "child-after")


def _unmeasured(run: RunState) -> str | None:
    """Why this run's page readings cannot tell sharing, or None when they can."""
    built, before = run.first("parent-built"), run.first("child-before")
    for name, seen in (("parent", built), ("child", before), ("child", run.first("child-after"))):
        if seen and seen.get("pages") is None:
            return f"the {name} could not tell how it maps the object: {seen.get('why')}"
    if before and before["by"] == "bit 56" and built and built["present"] and not built["alone"]:
        # the object the parent has just built is mapped by the parent alone: bit 56 must say so
        return ("pagemap bit 56 (mapped by this process alone) read 0 for every page of the "
                "object the parent had just built, which no other process maps: this kernel "
                "does not report it (Linux 4.2+)"
                + ("" if before["frames"] else ", and frame numbers are hidden without CAP_SYS_ADMIN"))
    return None


def _method(seen: dict[str, Any], whose: str, fork: bool) -> str:
    """How a reading judged sharing, in words."""
    if seen["by"] == "frame":
        return f"{whose}'s physical frames too (pagemap frame numbers at the same addresses)"
    hidden = fork and not seen["frames"]  # only under fork could frames have been compared
    return "mapped by another process too (pagemap bit 56" + \
        ("; frame numbers are hidden without CAP_SYS_ADMIN)" if hidden else ")")


def findings(run: RunState) -> list[Finding]:
    how, kind = str(run.config.get("touch")), str(run.config.get("object"))
    fork = run.start_method == "fork"
    empty, built = run.first("parent-empty"), run.first("parent-built")
    before, after = run.first("child-before"), run.first("child-after")
    parent = run.first("parent-before")
    if not (empty and built and before and after):
        why = missing(*[key for key in KEYS if run.first(key) is None])
        return [Finding(i, c, None, fork if lesson is None else lesson, why)
                for i, c, lesson in CLAIMS]
    unmeasured = _unmeasured(run)
    if unmeasured:
        return [Finding(i, c, None, fork if lesson is None else lesson, unmeasured)
                for i, c, lesson in CLAIMS]

    size = built["uss"] - empty["uss"]  # what the object really takes in the parent
    sharing = before["shared"] >= BIG * before["pages"]
    whole = (f"the whole process, which cannot tell: the child mapped "
             f"{mib(before['rss'] - before['uss'])} that other processes map too (libraries, not "
             f"only the object) and {mib(before['uss'])} of its own; the object takes {mib(size)} "
             "in the parent")
    if before["shared"] or fork:
        seen = (f"{before['shared']:,} of the {before['pages']:,} pages that hold the child's "
                f"{kind} were {_method(before, 'the parent', fork)}")
    else:
        seen = (f"none of the {before['pages']:,} pages that hold the child's {kind} was mapped by "
                f"another process (pagemap bit 56): under {run.start_method} the child unpickled "
                "its own copy")
    shares_evidence = f"before the touch, {seen}"
    if parent and parent.get("pages") is not None:
        shares_evidence += (f"; once the child had started, {parent['shared']:,} of the parent's "
                            f"{parent['pages']:,} were {_method(parent, 'the child', fork)}")
    shares_evidence += f"; {whole}"

    grew = after["uss"] - before["uss"]
    growth = (f"the child's USS went from {mib(before['uss'])} to {mib(after['uss'])} "
              f"({'+' if grew >= 0 else ''}{mib(grew)})")
    copied = after.get("copied", 0)
    parts = after.get("copied_parts", {})
    shared_parts = before["parts"]
    detail = "; ".join(f"{PARTS.get(name, name)}: {parts.get(name, 0):,} of {shared_parts[name][1]:,}"
                       for name in shared_parts if shared_parts[name][1])
    released = f", and {after['released']:,} were no longer mapped" if after.get("released") else ""
    copies_evidence = (f"{touching(kind, how)} of the {kind} copied {copied:,} of the "
                       f"{before['shared']:,} pages the child shared with the parent ({detail})"
                       f"{released}; {growth}")

    def copies(index: int, mode: str) -> Finding:
        fid, claim, lesson = CLAIMS[index]
        # a touch this run did not make, or pages never shared, is not what the claim is about
        if how != mode:
            return Finding(fid, claim, None, lesson, f"the child did not {mode} in this run; run "
                           f"with --touch {mode}", applies=False)
        if not before["shared"]:
            return Finding(fid, claim, None, lesson, f"no page of the object was shared, so none "
                           f"could be copied: before the touch, {seen}; {growth}", applies=False)
        return Finding(fid, claim, copied >= BIG * before["shared"], lesson, copies_evidence)

    return [
        Finding(CLAIMS[0][0], CLAIMS[0][1], sharing, fork, shares_evidence),
        copies(1, "read"),
        copies(2, "write"),
    ]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)

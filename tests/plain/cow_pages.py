"""Copy-on-write, page by page, with nothing but the standard library (no statelab import).

    python3 cow_pages.py START_METHOD OBJECT SIZE_MIB TOUCH

OBJECT: list (ints from 1000 up), bytearray, or small-ints (a list of the ints 0 to 256, which
are immortal since Python 3.12: its pages are those of the 257 int objects). The parent builds
the object of SIZE_MIB and starts one child with it as an argument. Each process reads, in
/proc/<pid>/pagemap, the entries of the pages that hold the object in its own address space:
present (bit 63), mapped by this process only (bit 56, Linux 4.2+, readable unprivileged) and
the page frame number (bits 0-54, read as 0 without CAP_SYS_ADMIN). Under fork the child's
object sits at the parent's addresses, so the child also reads the parent's entries for the
same pages and counts those mapping the same frame. The child then reads or writes every
element (a bytearray: one byte in every page it spans) and measures again: of the pages it
shared before, how many it maps alone now (copied) or no longer maps (released).

The pages of a list are found from the ints' addresses (id()) and do not include the list's
array of pointers. Under fork the child uses the page numbers its parent computed before
the fork (inherited memory), so finding them touches nothing; under spawn and forkserver the
child unpickled the ints itself, so they are its own writes already.

Prints one JSON object: the interpreter, the start method and the measurements.
"""

import ctypes
import json
import multiprocessing
import os
import struct
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
SHIFT = PAGE.bit_length() - 1
PFN_MASK = (1 << 55) - 1
INHERITED = {}  # filled by the parent before it starts the child: a forked child has it too


def pages_of(data, kind):
    if kind == "small-ints":
        data = range(257)  # the same 257 int objects the list holds, each once
    if isinstance(data, bytearray):
        start = ctypes.addressof(ctypes.c_char.from_buffer(data))
        return set(range(start >> SHIFT, ((start + len(data) - 1) >> SHIFT) + 1))
    found = set()
    for item in data:
        address = id(item)
        found.add(address >> SHIFT)
        found.add((address + sys.getsizeof(item) - 1) >> SHIFT)
    return found


def entries(pid, pages):
    """pagemap entries of these virtual page numbers in process pid."""
    out = {}
    ordered = sorted(pages)
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        i = 0
        while i < len(ordered):
            j = i
            while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
                j += 1
            f.seek(ordered[i] * 8)
            raw = f.read((j - i + 1) * 8)
            for k, (entry,) in enumerate(struct.iter_unpack("=Q", raw)):
                out[ordered[i] + k] = entry
            i = j + 1
    return out


def measure(pages, peer=None):
    mine = entries("self", pages)
    present = {p for p, e in mine.items() if e >> 63 & 1}
    alone = {p for p in present if mine[p] >> 56 & 1}
    result = {"pages": len(pages), "present": len(present), "alone": len(alone),
              "frames_visible": any(mine[p] & PFN_MASK for p in present), "same_frame": None}
    if peer is not None and result["frames_visible"]:
        theirs = entries(peer, pages)
        result["same_frame"] = sum(1 for p in present if theirs.get(p, 0) >> 63 & 1
                                   and theirs[p] & PFN_MASK == mine[p] & PFN_MASK)
    result["shared_pages"] = sorted(present - alone)  # kept in this process, not printed
    return result


def touch(data, how):
    if how == "read":
        return sum(data)
    if isinstance(data, list):
        for i in range(len(data)):
            data[i] += 1
    else:
        for i in (*range(0, len(data), PAGE), len(data) - 1):  # a byte in every page it spans
            data[i] = (data[i] + 1) % 256
    return sum(data)


def child(data, kind, how, fork, conn):
    pages = INHERITED["pages"] if fork else pages_of(data, kind)
    peer = os.getppid() if fork else None
    before = measure(pages, peer)
    conn.send({k: v for k, v in before.items() if k != "shared_pages"})
    conn.recv()  # the parent measured itself
    total = touch(data, how)
    after = measure(pages_of(data, kind), peer)
    was_shared = before["shared_pages"]
    now = entries("self", was_shared)
    after["copied"] = sum(1 for p in was_shared if now[p] >> 63 & 1 and now[p] >> 56 & 1)
    after["released"] = sum(1 for p in was_shared if not now[p] >> 63 & 1)
    after["sum"] = total
    del after["shared_pages"]
    conn.send(after)
    conn.recv()  # stay alive while the parent measures


def main():
    method, kind, size, how = sys.argv[1], sys.argv[2], int(sys.argv[3]) * 1024 * 1024, sys.argv[4]
    ctx = multiprocessing.get_context(method)
    if kind == "list":
        data = list(range(1000, 1000 + size // 40))
    elif kind == "small-ints":
        data = [i % 257 for i in range(size // 8)]
    else:
        data = bytearray(range(256)) * (size // 256)
    total = sum(data)
    INHERITED["pages"] = pages_of(data, kind)
    out = {"python": sys.version.split()[0], "start_method": method, "object": kind,
           "touch": how, "sum": total}
    out["parent_built"] = measure(INHERITED["pages"])
    here, there = ctx.Pipe()
    process = ctx.Process(target=child, args=(data, kind, how, method == "fork", there))
    process.start()
    out["child_before"] = here.recv()
    out["parent_before"] = measure(INHERITED["pages"], process.pid if method == "fork" else None)
    here.send("go")
    out["child_after"] = here.recv()
    out["parent_after"] = measure(INHERITED["pages"], process.pid if method == "fork" else None)
    here.send("done")
    process.join()
    for key in ("parent_built", "parent_before", "parent_after"):
        del out[key]["shared_pages"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()

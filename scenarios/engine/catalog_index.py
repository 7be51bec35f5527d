"""An index of the package's scenarios: what a list shows of each, without importing them.

A front end lists every scenario in its first frame, and importing all the modules to read
their SPECs costs more than the rest of the list. The index keeps, for each module file, its
size and modification time and the three things the list shows (name, group, place). It is
used only while every file of the package is exactly as it was when it was written, like a
.pyc; anything else (a file added, removed, touched, an unreadable or odd index) means the
modules are imported as before. It lives in the user's cache folder, one file per checkout.
"""

from __future__ import annotations

import contextlib
import os
import zlib

from scenarios.engine.fields import Fields

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from scenarios.engine.knobs import Scenario

HEADER = "statelab catalog index 1"
LIMIT = 64 * 1024  # an index of a few dozen modules is a few KB: a bigger file is not one


class Listed(Fields):
    """What a list of scenarios shows of one: its name, its group and its place."""

    fields = ("name", "from_lesson", "order")  # in the constructor's order
    __slots__ = fields

    name: str
    from_lesson: bool
    order: int


def path_for(folder: str) -> str:
    """Where the index of the scenarios in folder is kept (XDG_CACHE_HOME, else ~/.cache)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "statelab", f"catalog-{zlib.crc32(folder.encode()):08x}.txt")


def _stamp(folder: str, module: str) -> str | None:
    """size:mtime_ns of a package module's file; None if it cannot be read."""
    try:
        st = os.stat(os.path.join(folder, module.rpartition(".")[2] + ".py"))
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


def read(folder: str, modules: Mapping[str, str]) -> list[Listed] | None:
    """The index for these modules (name -> module path), if every file is as it was."""
    try:
        with open(path_for(folder), encoding="utf-8") as f:
            lines = f.read(LIMIT + 1).splitlines()
        if len(lines) < 2 or lines[0] != HEADER or lines[1] != folder:
            return None
        found: dict[str, Listed] = {}
        for line in lines[2:]:
            name, module, stamp, lesson, order = line.split("\t")
            if modules.get(name) != module or stamp != _stamp(folder, module) \
                    or lesson not in ("0", "1"):
                return None
            found[name] = Listed(name, lesson == "1", int(order))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return list(found.values()) if set(found) == set(modules) else None


def write(folder: str, modules: Mapping[str, str], specs: Sequence[Scenario]) -> None:
    """Keep the index of these modules, whose SPECs were just read; never fails."""
    lines = [HEADER, folder]
    for spec in specs:
        stamp = _stamp(folder, modules[spec.name])
        if stamp is None or "\t" in spec.name or "\n" in spec.name:
            return
        lines.append(f"{spec.name}\t{modules[spec.name]}\t{stamp}\t{int(spec.from_lesson)}\t"
                     f"{int(spec.order)}")
    path = path_for(folder)
    temporary = f"{path}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(temporary, path)  # a reader sees the old index or the new one, never half
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


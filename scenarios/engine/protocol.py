"""The event contract as types: one class per kind, encoded to and decoded from JSON lines.

Every reader (the supervisor, the app, `statelab run`, export, replay, the
tests) decodes a line with `decode()`, which refuses a malformed line with a
`ProtocolError` saying what is wrong, so no reader has to guess at a bare dict.
The wire form stays the one the README documents: `t`, `pid`, `role`, `kind`,
`text`, optional `data`; findings carry `id`, `claim`, `holds`, `lesson` and
`evidence`; `run-end` carries one `status`.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import Any, ClassVar

MAX_EVENT = 4000  # bytes: one event is one write, well under PIPE_BUF (4096)
LINE_LIMIT = 4096  # bytes: the contract's bound on one line, newline included
STATUSES = ("ok", "error", "timeout", "stopped")


class ProtocolError(ValueError):
    """A line that is not an event of the contract; the message says why, in one line."""


def jsonable(value: Any) -> Any:
    """A value as JSON can carry it: bytes as latin-1 text, nan and ±inf as words."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def reading(value: Any) -> dict[str, int] | None:
    """A memory reading as events carry it, {"rss", "pss", "uss"} in bytes, or None if value
    is not one (events without it stay valid: older transcripts have none)."""
    if not isinstance(value, dict):
        return None
    found = {key: value.get(key) for key in ("rss", "pss", "uss")}
    if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in found.values()):
        return found  # type: ignore[return-value]
    return None


class Event:
    """What every event has: when, which process, what kind, one sentence, raw data."""

    kind: ClassVar[str] = ""
    __slots__ = ("data", "pid", "role", "t", "text", "truncated")

    def __init__(self, t: float, pid: int, role: str, text: str,
                 data: dict[str, Any] | None = None, *, truncated: bool = False) -> None:
        self.t = t
        self.pid = pid
        self.role = role
        self.text = text
        self.data: dict[str, Any] = data if data is not None else {}
        self.truncated = truncated

    def __repr__(self) -> str:
        return f"{type(self).__name__}(t={self.t}, pid={self.pid}, role={self.role!r}, {self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and self.to_wire() == other.to_wire()

    def top(self) -> dict[str, Any]:
        """Fields this kind carries at the top level, beside the common ones."""
        return {}

    @property
    def memory(self) -> dict[str, int] | None:
        """The memory reading the sender took of itself as it sent this event (data.memory:
        process-start, checkpoint, memory), None if there is none."""
        return reading(self.data.get("memory"))

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"t": self.t, "pid": self.pid, "role": self.role, "kind": self.kind,
                                "text": self.text, **self.top()}
        if self.data:
            wire["data"] = self.data
        if self.truncated:
            wire["truncated"] = True
        return wire

    def encode(self) -> bytes:
        return encode(self.to_wire())


class RunStart(Event):
    kind = "run-start"
    __slots__ = ()

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.data.get("config") or {})

    @property
    def interpreter(self) -> dict[str, Any]:
        return dict(self.data.get("interpreter") or {})


class ProcessStart(Event):
    kind = "process-start"
    __slots__ = ()

    @property
    def ppid(self) -> int | None:
        ppid = self.data.get("ppid")
        return ppid if isinstance(ppid, int) else None

    @property
    def helper(self) -> bool:
        return bool(self.data.get("helper"))


class Observe(Event):
    kind = "observe"
    __slots__ = ()

    @property
    def what(self) -> str:
        return str(self.data["what"])

    @property
    def memory(self) -> dict[str, int] | None:
        """data.memory, or the rss, pss and uss an experiment observed of itself (copy-on-write
        reports them beside what it saw of its pages)."""
        return reading(self.data.get("memory")) or reading(self.data)


class Checkpoint(Event):
    kind = "checkpoint"
    __slots__ = ()

    @property
    def name(self) -> str:
        return str(self.data.get("name") or "a checkpoint")

    @property
    def hold(self) -> bool:
        return bool(self.data.get("hold"))


class Memory(Event):
    """A process's own memory reading as it ends (data.memory; data.at "end"): the one moment
    it sends no other event. Not an observation: no finding reads it, the log does not show it."""

    kind = "memory"
    __slots__ = ()


class Output(Event):
    kind = "output"
    __slots__ = ()

    @property
    def stream(self) -> str:
        return str(self.data.get("stream") or "output")

    @property
    def thread(self) -> str | None:
        thread = self.data.get("thread")
        return str(thread) if thread else None


class Error(Event):
    kind = "error"
    __slots__ = ()

    @property
    def stack(self) -> str | None:
        stack = self.data.get("stack")
        return str(stack) if stack else None

    @property
    def where(self) -> str | None:
        where = self.data.get("where")
        return str(where) if where else None

    @property
    def traceback(self) -> str | None:
        tb = self.data.get("traceback")
        return str(tb) if tb else None


class ProcessExit(Event):
    """A process ended: `pid` and `role` name the process that ended, not the reporter."""

    kind = "process-exit"
    __slots__ = ()

    @property
    def exitcode(self) -> int | None:
        code = self.data.get("exitcode")
        return code if isinstance(code, int) else None

    @property
    def signal(self) -> str | None:
        sig = self.data.get("signal")
        return str(sig) if sig else None

    @property
    def failed(self) -> bool:
        return self.signal is not None or self.exitcode not in (0, None)

    @property
    def how(self) -> str:
        """`exit 0`, `exit 1`, `SIGKILL`: short, for a table cell."""
        if self.signal:
            return self.signal
        return f"exit {self.exitcode}" if self.exitcode is not None else "ended"


class FindingEvent(Event):
    """A claim checked against the run: `holds` is what happened (None: the run could not
    tell), `lesson` what the lesson or common belief says (None: it says nothing)."""

    kind = "finding"
    __slots__ = ("claim", "evidence", "holds", "id", "lesson")

    def __init__(self, t: float, pid: int, role: str, text: str, data: dict[str, Any] | None = None,
                 *, id: str, claim: str, holds: bool | None, lesson: bool | None, evidence: str,
                 truncated: bool = False) -> None:
        super().__init__(t, pid, role, text, data, truncated=truncated)
        self.id = id
        self.claim = claim
        self.holds = holds
        self.lesson = lesson
        self.evidence = evidence

    def top(self) -> dict[str, Any]:
        return {"id": self.id, "claim": self.claim, "holds": self.holds, "lesson": self.lesson,
                "evidence": self.evidence}

    @property
    def applies(self) -> bool:
        """False when the claim is not about this run's configuration (data.applies false; the
        evidence says why). Older transcripts, which never say, read as applying."""
        return self.data.get("applies") is not False


class RunEnd(Event):
    kind = "run-end"
    __slots__ = ("status",)

    def __init__(self, t: float, pid: int, role: str, text: str, data: dict[str, Any] | None = None,
                 *, status: str, truncated: bool = False) -> None:
        super().__init__(t, pid, role, text, data, truncated=truncated)
        self.status = status

    def top(self) -> dict[str, Any]:
        return {"status": self.status}

    @property
    def seconds(self) -> float | None:
        seconds = self.data.get("seconds")
        return float(seconds) if isinstance(seconds, (int, float)) else None


KINDS: dict[str, type[Event]] = {cls.kind: cls for cls in (
    RunStart, ProcessStart, Observe, Checkpoint, Memory, Output, Error, ProcessExit, FindingEvent,
    RunEnd)}


# -- encoding -------------------------------------------------------------------------------

def _dump(wire: dict[str, Any]) -> bytes:
    # a lone surrogate (an argument that was not UTF-8) is written as its JSON escape
    return json.dumps(wire, ensure_ascii=False, default=repr).encode(errors="backslashreplace")


def _trim(value: Any, limit: int) -> Any:
    """A string cut to at most `limit` bytes of UTF-8 (never inside a character), marked."""
    if not isinstance(value, str) or len(value.encode()) <= limit:
        return value
    return value.encode()[:limit].decode(errors="ignore") + " …"


# how hard each field is trimmed, in bytes, when a line is too long: milder first; then how
# long each value of data may stay (None: data keeps only its `what`)
_LEVELS: tuple[tuple[dict[str, int], int | None], ...] = (
    ({"text": 1000, "claim": 300, "evidence": 1500, "role": 64}, 300),
    ({"text": 400, "claim": 200, "evidence": 800, "role": 64}, 60),
    ({"text": 200, "claim": 100, "evidence": 300, "role": 32}, None),
)


def encode(wire: dict[str, Any]) -> bytes:
    """One JSON line under MAX_EVENT bytes: long texts are trimmed, never split."""
    line = _dump(wire)
    if len(line) <= MAX_EVENT:
        return line + b"\n"
    data = wire.get("data") or {}
    for fields, limit in _LEVELS:
        trimmed = {k: _trim(v, fields[k]) if k in fields else v for k, v in wire.items()}
        if limit is None:
            trimmed["data"] = {"what": _trim(data["what"], 100)} if "what" in data else {}
        else:
            trimmed["data"] = {_trim(str(k), 60): _trim(v, limit) for k, v in data.items()}
        trimmed["truncated"] = True
        line = _dump(trimmed)
        if len(line) <= MAX_EVENT:
            break
    return line + b"\n"


# -- decoding -------------------------------------------------------------------------------

def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _tristate(wire: dict[str, Any], key: str) -> bool | None:
    value = wire.get(key, "missing")
    if value not in (True, False, None) or (isinstance(value, int) and not isinstance(value, bool)):
        raise ProtocolError(f"finding: {key} must be true, false or null, not {_short(value)}")
    return value  # type: ignore[no-any-return]


def from_wire(wire: Any) -> Event:
    """An event from its decoded JSON object; ProtocolError if it breaks the contract."""
    if not isinstance(wire, dict):
        raise ProtocolError(f"an event is a JSON object, not {type(wire).__name__}")
    kind = wire.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError(f"unknown kind {_short(kind)}; kinds are {', '.join(KINDS)}")
    t, pid, role, text = wire.get("t"), wire.get("pid"), wire.get("role"), wire.get("text")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not t >= 0:
        raise ProtocolError(f"{kind}: t must be seconds since the run started, not {_short(t)}")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise ProtocolError(f"{kind}: pid must be a positive integer, not {_short(pid)}")
    if not isinstance(role, str) or not role:
        raise ProtocolError(f"{kind}: role must be a non-empty string, not {_short(role)}")
    if not isinstance(text, str):
        raise ProtocolError(f"{kind}: text must be a string, not {_short(text)}")
    data = wire.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError(f"{kind}: data must be an object, not {_short(data)}")
    truncated = bool(wire.get("truncated"))
    common = (float(t), pid, role, text, data)
    if cls is FindingEvent:
        fields = {k: wire.get(k) for k in ("id", "claim", "evidence")}
        for key, value in fields.items():
            if not isinstance(value, str):
                raise ProtocolError(f"finding: {key} must be a string, not {_short(value)}")
        return FindingEvent(*common, id=str(fields["id"]), claim=str(fields["claim"]),
                            holds=_tristate(wire, "holds"), lesson=_tristate(wire, "lesson"),
                            evidence=str(fields["evidence"]), truncated=truncated)
    if cls is RunEnd:
        status = wire.get("status", data.get("status"))  # older transcripts: data.status too
        if status not in STATUSES:
            raise ProtocolError(f"run-end: status must be one of {', '.join(STATUSES)}, "
                                f"not {_short(status)}")
        rest = {k: v for k, v in data.items() if k != "status"}
        return RunEnd(float(t), pid, role, text, rest, status=str(status), truncated=truncated)
    if cls is Observe and not isinstance(data.get("what"), str):
        raise ProtocolError(f"observe: data.what must be a string, not {_short(data.get('what'))}")
    if cls is RunStart and not isinstance(data.get("config"), dict):
        raise ProtocolError("run-start: data.config must be an object")
    return cls(*common, truncated=truncated)


def decode(line: bytes | str) -> Event:
    """One JSON line to its event; ProtocolError says what is wrong with it."""
    if len(line) >= LINE_LIMIT:
        raise ProtocolError(f"an event is under {LINE_LIMIT} bytes; this line has {len(line)}")
    try:
        wire = json.loads(line)
    except ValueError as e:
        raise ProtocolError(f"not JSON: {e}") from None
    return from_wire(wire)

"""Type codes: what a shared Value really stores for the values you give it.

The parent makes one ``Value(typecode, x)`` for each value worth trying: the
``--value`` you chose, the edges of the type's range and one past each edge,
and values of the wrong kind. A child reads every Value that could be made,
so what you see is what sits in shared memory, not what the parent hoped for.
"""

from __future__ import annotations

import ctypes
import math

from scenarios.engine.api import (
    Any,
    Finding,
    Lab,
    RunState,
    Scenario,
    TypeCode,
    checkpoint,
    missing,
    observe,
    run_as_script,
    typecode,
)

SPEC = Scenario(
    name="type-codes",
    order=6,
    title="What a type code stores",
    summary="Value(typecode, x) at the edges of its range, one past them, and of the wrong kind",
    uses=("typecode", "value"),
    defaults={"typecode": "b"},
)


def tries(code: TypeCode, value: Any) -> list[tuple[str, Any]]:
    """(label, value) pairs for the parent to store: the chosen value first."""
    found: list[tuple[str, Any]] = [("value", value)]
    if code.kind == "int":
        found += [("min", code.low), ("max", code.high),
                  ("min-1", code.low - 1), ("max+1", code.high + 1)]
        found += [("wrong:str", str(value)), ("wrong:float", 1.0)]
    elif code.kind == "float":
        high = float(code.high)
        found += [("min", -high), ("max", high),
                  # the nearest doubles beyond the edges, then far beyond them
                  ("min-1", math.nextafter(-high, -math.inf)),
                  ("max+1", math.nextafter(high, math.inf)),
                  ("max*10", high * 10), ("0.1", 0.1)]
        if math.isinf(found[-3][1]):  # 'd': the next double past the max is already inf
            del found[-2]
        found += [("wrong:str", str(value)), ("wrong:None", None)]
    elif code.kind == "byte":
        # a c_char also takes an int as the byte's number, so one past is -1 and 256
        found += [("min", b"\x00"), ("max", b"\xff"), ("min-1", -1), ("max+1", 256)]
        found += [("wrong:str", "a"), ("wrong:float", 1.0)]
    else:
        # chr() cannot make U+110000, so one past the edges can only be the code point as an int
        high = int(code.high)
        found += [("min", "\x00"), ("max", chr(high)), ("min-1", -1), ("max+1", high + 1)]
        found += [("wrong:bytes", b"a"), ("wrong:int", 65)]
    return found


def child(stored: list[tuple[str, Any]]) -> None:
    for label, var in stored:
        observe("child-read", f"child reads {label}: {var.value!r}",
                label=label, value=var.value, repr=repr(var.value))


def parent(lab: Lab) -> None:
    code = typecode(lab.cfg.typecode)
    blank = lab.ctx.Value(code.code, lock=False)  # what multiprocessing makes for this code
    size = ctypes.sizeof(blank)
    observe("type", f"type code {code.code!r} is C {code.c_type}: ctypes {type(blank).__name__}, "
            f"{size} byte{'' if size == 1 else 's'}, {code.describe_range()}",
            c_type=code.c_type, ctype=type(blank).__name__, size=size,
            low=code.low, high=code.high, kind=code.kind)
    stored: list[tuple[str, Any]] = []
    for label, value in tries(code, lab.cfg.value):
        try:
            # lock=False: a lock guards access, not storage; the bytes are the same either way
            var = lab.ctx.Value(code.code, value, lock=False)
        except Exception as exc:
            observe("parent-stored", f"{label}: Value({code.code!r}, {value!r}) raised "
                    f"{type(exc).__name__}: {exc}",
                    label=label, given=value, given_repr=repr(value),
                    raised=type(exc).__name__, message=str(exc))
            continue
        observe("parent-stored", f"{label}: Value({code.code!r}, {value!r}) made, the parent reads "
                f"{var.value!r}", label=label, given=value, given_repr=repr(value),
                raised=None, value=var.value, repr=repr(var.value))
        stored.append((label, var))

    checkpoint("stored", "the parent has made every Value it could; a child reads them back")
    lab.join(lab.start(child, stored))


# -- findings -------------------------------------------------------------------------------

def _by_label(run: RunState, what: str) -> dict[str, dict[str, Any]]:
    return {d["label"]: d for d in run.observations(what)}


def _stored_exactly(run: RunState, tried: dict[str, dict[str, Any]],
                    read: dict[str, dict[str, Any]]) -> Finding:
    claim = "The --value reads back exactly as given"
    given, back = tried.get("value"), read.get("value")
    if given and given["raised"]:
        return Finding("stored-exactly", claim, False, True,
                       f"Value() refused {given['given_repr']}: {given['raised']}: "
                       f"{given['message']}")
    if not (given and back):
        return Finding("stored-exactly", claim, None, True,
                       missing(run, "parent-stored", "child-read"))
    exact = back["repr"] == given["given_repr"]
    evidence = f"given {given['given_repr']}, the child reads {back['repr']}"
    if not exact:
        evidence += ": the C type kept the nearest thing it can hold, without a word"
    return Finding("stored-exactly", claim, exact, True, evidence)


def _wraps(run: RunState, kind: str, tried: dict[str, dict[str, Any]],
           read: dict[str, dict[str, Any]], low: Any, high: Any) -> Finding:
    claim = "One past the max (or the min) reads back wrapped to the other end, with no error"

    def seen(label: str) -> str:
        t, r = tried.get(label), read.get(label)
        if t and t["raised"]:
            return f"{t['given_repr']} raised {t['raised']}: {t['message']}"
        return f"{t['given_repr']} reads {r['repr']}" if t and r else f"{label}: not observed"

    evidence = f"{seen('max+1')}; {seen('min-1')}"
    raised = [lbl for lbl in ("max+1", "min-1") if (tried.get(lbl) or {}).get("raised")]
    up, down = read.get("max+1"), read.get("min-1")
    if not raised and not (up and down):
        return Finding("wraps-silently", claim, None, None,
                       missing(run, "parent-stored", "child-read"))
    if raised:
        why = {"byte": "a C char is set from one byte or a number 0-255, and anything else is "
                       "refused",
               "char": "a wchar_t is set from a one-character str only, so a code point given "
                       "as an int is refused"}.get(kind, "ctypes refused it")
        return Finding("wraps-silently", claim, False, None, f"{evidence}: {why}")
    assert up is not None and down is not None
    wraps = up["value"] == low and down["value"] == high
    if wraps:
        evidence += ": ctypes keeps the low bits and says nothing"
    return Finding("wraps-silently", claim, wraps, None, evidence)


def _float_wraps(code: TypeCode, found: Finding) -> Finding:
    """Wrapping is what integers do: a C float or double has no other end to go to."""
    past = ("just past its max it rounds back to the max, far past it is inf" if code.code == "f"
            else "the double after the max is already inf, and it stores inf as inf")
    return found.not_applicable(f"a C {code.c_type} has no other end to wrap to: {past}")


def _wrong_kind(run: RunState, tried: dict[str, dict[str, Any]]) -> Finding:
    claim = "A value of the wrong kind raises TypeError"
    wrong = [d for label, d in tried.items() if label.startswith("wrong:")]
    if not wrong:
        return Finding("wrong-kind-raises", claim, None, None, missing(run, "parent-stored"))
    holds = all(d["raised"] == "TypeError" for d in wrong)
    evidence = "; ".join(
        f"{d['given_repr']} raised {d['raised']}: {d['message']}" if d["raised"]
        else f"{d['given_repr']} was accepted and stored as {d['repr']}" for d in wrong)
    return Finding("wrong-kind-raises", claim, holds, None, evidence)


def findings(run: RunState) -> list[Finding]:
    tried, read = _by_label(run, "parent-stored"), _by_label(run, "child-read")
    code = typecode(str(run.config["typecode"]))
    info = run.first("type") or {}
    wraps = _wraps(run, code.kind, tried, read, info.get("low"), info.get("high"))
    return [
        _stored_exactly(run, tried, read),
        wraps if code.kind != "float" else _float_wraps(code, wraps),
        _wrong_kind(run, tried),
    ]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)

"""type-codes: what a shared Value stores at the edges of its type, read back by a child.

The expectations are facts of C and CPython's ctypes: a signed char holds
-128..127 and keeps the low 8 bits of anything bigger; a C float keeps about
7 digits (3.1415 becomes 3.1414999961853027); an int keeps the low 32 bits
(2**40 becomes 0); ctypes refuses a str or a float for an integer type with
TypeError, and refuses anything but one byte (or 0-255) for a char.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract import check_stream
from tests.runs import Run, refused, run


def type_codes(method: str, code: str, *value: str) -> Run:
    args = ["--start-method", method, "--typecode", code]
    result = run("type-codes", *args, *(["--value", *value] if value else []))
    assert result.returncode == 0 and result.status == "ok", [e["text"] for e in result.events]
    check_stream(result.events)
    return result


def read(result: Run, label: str) -> dict[str, Any]:
    """What the child read from the Value made for `label`."""
    found = [d for d in result.observed("child-read", "child") if d["label"] == label]
    assert len(found) == 1, f"the child read {label!r} {len(found)} times"
    return found[0]


def tried(result: Run, label: str) -> dict[str, Any]:
    found = [d for d in result.observed("parent-stored", "parent") if d["label"] == label]
    assert len(found) == 1, f"the parent tried {label!r} {len(found)} times"
    return found[0]


def test_signed_char_wraps_in_the_child(start_method: str) -> None:
    result = type_codes(start_method, "b", "127")
    assert read(result, "value")["value"] == 127
    assert read(result, "max+1")["value"] == -128  # 127 + 1
    assert read(result, "min-1")["value"] == 127  # -128 - 1
    assert tried(result, "max+1")["raised"] is None  # and nothing was said about it
    assert result.holds("stored-exactly") is True
    assert result.holds("wraps-silently") is True
    info = result.first("type", "parent")
    assert (info["size"], info["low"], info["high"]) == (1, -128, 127)
    # the reader really is another process
    pids = {e["pid"] for e in result.events if e["kind"] == "observe"
            and e["data"]["what"] == "child-read"}
    assert len(pids) == 1 and pids.isdisjoint(
        {e["pid"] for e in result.events if e["role"] == "parent"})


def test_float_keeps_seven_digits(start_method: str) -> None:
    result = type_codes(start_method, "f", "3.1415")
    assert read(result, "value")["value"] == 3.1414999961853027
    assert result.holds("stored-exactly") is False
    # floats do not wrap: just past the max rounds back to it, far past it is inf
    assert read(result, "max+1")["repr"] == repr(3.4028234663852886e38)
    assert read(result, "min-1")["repr"] == repr(-3.4028234663852886e38)
    assert result.holds("wraps-silently") is False
    assert "rounds" in result.findings()["wraps-silently"]["evidence"]
    assert result.first("type")["size"] == 4
    assert read(result, "max*10")["value"] == "inf"  # far past FLT_MAX: inf, as JSON text


def test_int_keeps_the_low_32_bits(start_method: str) -> None:
    result = type_codes(start_method, "i", str(2**40))
    assert read(result, "value")["value"] == 0
    assert result.holds("stored-exactly") is False
    assert read(result, "max+1")["value"] == -(2**31)
    for label in ("wrong:str", "wrong:float"):  # '1099511627776' and 1.0
        assert tried(result, label)["raised"] == "TypeError"
        assert not [d for d in result.observed("child-read") if d["label"] == label]
    assert result.holds("wrong-kind-raises") is True


def test_double_is_exact_and_char_refuses_256(start_method: str) -> None:
    double = type_codes(start_method, "d", "3.1415")
    assert read(double, "value")["value"] == 3.1415
    assert double.holds("stored-exactly") is True
    char = type_codes(start_method, "c", "z")
    assert read(char, "value")["value"] == "z"
    assert read(char, "max")["repr"] == repr(b"\xff")
    assert tried(char, "max+1")["raised"] == "TypeError"  # 256 is not a byte
    assert tried(char, "min-1")["raised"] == "TypeError"  # nor is -1
    assert char.holds("wraps-silently") is False  # refused, so not wrapped: the run can tell


def test_one_past_a_double_is_inf_and_stays_inf(start_method: str) -> None:
    double = type_codes(start_method, "d")
    assert tried(double, "max+1")["given_repr"] == "inf"  # the next double after the max
    assert read(double, "max+1")["value"] == "inf" and read(double, "min-1")["value"] == "-inf"
    assert double.holds("wraps-silently") is False
    assert "inf" in double.findings()["wraps-silently"]["evidence"]


def test_a_wide_char_refuses_code_points_given_as_ints(start_method: str) -> None:
    wide = type_codes(start_method, "u")
    for label in ("max+1", "min-1"):  # 0x110000 and -1
        assert tried(wide, label)["raised"] == "TypeError"
        assert not [d for d in wide.observed("child-read") if d["label"] == label]
    assert read(wide, "max")["repr"] == repr(chr(0x10FFFF))
    assert wide.holds("wraps-silently") is False
    assert "TypeError" in wide.findings()["wraps-silently"]["evidence"]



@pytest.mark.parametrize("args", [("--lock", "true"), ("--typecode", "b", "--value", "1.5"),
                                  ("--typecode", "x")])
def test_bad_input_is_one_line(args: tuple[str, ...]) -> None:
    assert args[-2] in refused("type-codes", *args)  # the knob whose value is refused

"""A write that ctypes stores differently from what was asked is said where it happens.

What is certain (checked by the plain lines below, without the project): a signed char Value
holding 127, given += 2, holds -127 in every process; ctypes wraps an integer past its C type's
range without a word.
"""

from __future__ import annotations

import multiprocessing

from tests.runs import run


def plain_wrap(method: str) -> int:
    var = multiprocessing.get_context(method).Value("b", 127)
    var.value += 2
    return int(var.value)


def test_a_wrapped_write_says_what_was_asked_and_what_was_stored(start_method: str) -> None:
    stored = plain_wrap(start_method)
    result = run("shared-value", "--start-method", start_method, "--typecode", "b",
                 "--value", "127")
    changed = result.first("parent-changed")
    assert changed["before"] == 127 and changed["value"] == stored
    assert changed["asked"] == 129 and changed["wrapped"] is True
    text = next(e["text"] for e in result.events if e.get("data", {}).get("what") == "parent-changed")
    assert "asked for 129" in text and f"stored {stored}" in text and "wrapped" in text
    assert result.first("child-after-change")["value"] == stored


def test_a_write_that_fits_says_nothing_of_wrapping(start_method: str) -> None:
    result = run("shared-value", "--start-method", start_method, "--typecode", "b",
                 "--value", "100")
    changed = result.first("parent-changed")
    assert changed["value"] == 102 and changed["wrapped"] is False
    text = next(e["text"] for e in result.events if e.get("data", {}).get("what") == "parent-changed")
    assert "wrapped" not in text

"""What the type-code table says against what ctypes does."""

from __future__ import annotations

import ctypes
import multiprocessing.sharedctypes as sharedctypes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenarios.engine import ctypes_table
from scenarios.engine.catalog import configure
from scenarios.engine.knobs import ConfigError

INTS = [c for c, t in ctypes_table.TYPECODES.items() if t.kind == "int"]


@pytest.mark.parametrize("code", list(ctypes_table.TYPECODES))
def test_the_table_uses_the_ctypes_class_multiprocessing_uses(code: str) -> None:
    assert ctypes.sizeof(ctypes_table.get(code).ctype) == ctypes.sizeof(sharedctypes.typecode_to_type[code])


@pytest.mark.parametrize("code", INTS)
@given(data=st.data())
def test_integer_range_is_exactly_what_ctypes_keeps(code: str, data: st.DataObject) -> None:
    tc = ctypes_table.get(code)
    value = data.draw(st.integers(min_value=-(2**70), max_value=2**70))
    stored = tc.ctype(value).value
    assert (stored == value) is tc.in_range(value)
    assert stored == (value - tc.low) % (2 ** (8 * tc.size)) + tc.low  # two's-complement wrap


@pytest.mark.parametrize("code", INTS)
def test_edges(code: str) -> None:
    tc = ctypes_table.get(code)
    assert tc.ctype(tc.high).value == tc.high and tc.ctype(tc.low).value == tc.low
    assert tc.ctype(tc.high + 1).value == tc.low


@given(text=st.text(min_size=1, max_size=5))
def test_integer_text_is_refused_with_the_range_or_parsed(text: str) -> None:
    try:
        cfg = configure("shared-value", {"typecode": "h", "value": text})
    except ConfigError as e:
        assert "-32768 to 32767" in str(e)
    else:
        assert cfg.value == int(text, 0) if text.strip().lower().startswith(("0x", "0o", "0b")) \
            else cfg.value == int(text)


def test_labels_show_c_type_size_and_range() -> None:
    label = ctypes_table.get("H").label()
    assert "unsigned short" in label and "2 B" in label and "0 to 65535" in label

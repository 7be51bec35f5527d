"""The array-module type codes that Value and Array accept, and what each one holds."""

from __future__ import annotations

import ctypes
import math

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import Any


MAX_DIGITS = 100  # an integer longer than this is refused: 2**64 has 20 digits


def quote(text: str, limit: int = 40) -> str:
    """What the user gave, quoted, at most `limit` characters of it."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "…"


class TypeCode:
    """One type code: the C type behind it and what it can hold."""

    def __init__(self, code: str, c_type: str, ctype: Any, kind: str) -> None:
        self.code = code
        self.c_type = c_type
        self.ctype = ctype  # the ctypes class multiprocessing.sharedctypes picks for this code
        self.kind = kind  # "int", "float", "byte" or "char"

    @property
    def size(self) -> int:
        return ctypes.sizeof(self.ctype)

    @property
    def signed(self) -> bool:
        return self.kind == "int" and self.code.islower()

    @property
    def low(self) -> int | float:
        if self.kind == "float":
            return -self.high
        if self.kind in ("byte", "char"):
            return 0
        return -(2 ** (8 * self.size - 1)) if self.signed else 0

    @property
    def high(self) -> int | float:
        if self.kind == "float":
            return 3.4028234663852886e38 if self.code == "f" else 1.7976931348623157e308
        if self.kind == "byte":
            return 255
        if self.kind == "char":
            return 0x10FFFF if self.size == 4 else 0xFFFF
        bits = 8 * self.size - (1 if self.signed else 0)
        return int(2**bits - 1)

    def describe_range(self) -> str:
        if self.kind == "float":
            return f"±{self.high:.4g}"
        if self.kind == "byte":
            return "one byte (0–255)"
        if self.kind == "char":
            return f"one character (U+0000–U+{int(self.high):04X})"
        return f"{self.low} to {self.high}"

    def label(self) -> str:
        """One line for a picker: code, C type, size, range."""
        return f"{self.code}  {self.c_type:<18} {self.size} B  {self.describe_range()}"

    def parse(self, text: str) -> Any:
        """Turn command-line text into what Value(code, ...) is given; ValueError says what is allowed."""
        if self.kind == "int":
            digits = sum(ch.isdigit() for ch in text)
            if digits > MAX_DIGITS:
                raise ValueError(
                    f"{quote(text)} has {digits} digits, more than the {MAX_DIGITS} taken; type "
                    f"code {self.code!r} ({self.c_type}) holds integers from {self.low} to "
                    f"{self.high}")
            try:
                return int(text, 0) if text.strip().lower().startswith(("0x", "0o", "0b")) else int(text)
            except ValueError:
                raise ValueError(
                    f"{quote(text)} is not an integer; type code {self.code!r} ({self.c_type}) holds "
                    f"integers from {self.low} to {self.high}"
                ) from None
        if self.kind == "float":
            try:
                return float(text)
            except ValueError:
                raise ValueError(
                    f"{quote(text)} is not a number; type code {self.code!r} ({self.c_type}) holds "
                    f"floating-point numbers"
                ) from None
        if len(text) != 1:
            raise ValueError(
                f"type code {self.code!r} ({self.c_type}) holds one character, got {len(text)}: "
                f"{quote(text)}"
            )
        if "\ud800" <= text <= "\udfff":
            raise ValueError(
                f"{text!r} is half of a surrogate pair (bytes that are not UTF-8 give one), not a "
                f"character; type code {self.code!r} ({self.c_type}) holds one character")
        if self.kind == "byte":
            try:
                return text.encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(
                    f"type code 'c' (char) holds one byte; {text!r} is not a single-byte "
                    f"character (use U+0000–U+00FF)"
                ) from None
        return text

    def in_range(self, value: Any) -> bool:
        if self.kind == "int":
            return isinstance(value, int) and self.low <= value <= self.high
        if self.kind == "float":
            return isinstance(value, float) and (
                not math.isfinite(value) or abs(value) <= float(self.high)
            )
        return True

    def default(self) -> Any:
        if self.kind == "int":
            return 1
        if self.kind == "float":
            return 3.1415
        return b"a" if self.kind == "byte" else "a"

    def next_after(self, value: Any) -> Any:
        """What "add 2" means for this code: the next-but-one character for c and u."""
        if self.kind == "byte":
            return bytes([(value[0] + 2) % 256])
        if self.kind == "char":
            return chr((ord(value) + 2) % (int(self.high) + 1))
        return value + 2

    def show(self, value: Any) -> str:
        return repr(value) if self.kind in ("byte", "char") else str(value)


_TABLE = [
    ("c", "char", ctypes.c_char, "byte"),
    ("u", "wchar_t", ctypes.c_wchar, "char"),
    ("b", "signed char", ctypes.c_byte, "int"),
    ("B", "unsigned char", ctypes.c_ubyte, "int"),
    ("h", "short", ctypes.c_short, "int"),
    ("H", "unsigned short", ctypes.c_ushort, "int"),
    ("i", "int", ctypes.c_int, "int"),
    ("I", "unsigned int", ctypes.c_uint, "int"),
    ("l", "long", ctypes.c_long, "int"),
    ("L", "unsigned long", ctypes.c_ulong, "int"),
    ("q", "long long", ctypes.c_longlong, "int"),
    ("Q", "unsigned long long", ctypes.c_ulonglong, "int"),
    ("f", "float", ctypes.c_float, "float"),
    ("d", "double", ctypes.c_double, "float"),
]

TYPECODES: dict[str, TypeCode] = {code: TypeCode(code, c, t, k) for code, c, t, k in _TABLE}


def get(code: str) -> TypeCode:
    try:
        return TYPECODES[code]
    except KeyError:
        raise ValueError(
            f"unknown type code {code!r}; choose one of {' '.join(TYPECODES)}"
        ) from None

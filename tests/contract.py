"""The event contract of ../shared/design.md, checked line by line."""

from __future__ import annotations

from typing import Any

KINDS = {"run-start", "process-start", "observe", "checkpoint", "memory", "output", "error",
         "process-exit", "finding", "run-end"}
STATUSES = {"ok", "error", "timeout", "stopped"}


def check_event(e: dict[str, Any]) -> None:
    assert isinstance(e.get("t"), float) and e["t"] >= 0, e
    assert isinstance(e.get("pid"), int) and e["pid"] > 0, e
    assert isinstance(e.get("role"), str) and e["role"], e
    assert e.get("kind") in KINDS, e
    assert isinstance(e.get("text"), str) and e["text"], e
    assert isinstance(e.get("data", {}), dict), e
    if e["kind"] == "finding":
        assert isinstance(e.get("id"), str) and e["id"] == e["id"].lower() and " " not in e["id"], e
        assert isinstance(e.get("claim"), str) and e["claim"], e
        assert e.get("holds") in (True, False, None), e
        assert "lesson" in e and e["lesson"] in (True, False, None), e
        assert isinstance(e.get("evidence"), str) and e["evidence"], e
    if e["kind"] == "run-start":
        assert e["data"]["config"]["scenario"], e
        assert {"python", "platform", "default_start_method"} <= set(e["data"]["interpreter"]), e
    if e["kind"] == "run-end":
        assert e.get("status") in STATUSES, e
    if e["kind"] == "observe":
        assert isinstance(e["data"].get("what"), str), e


def check_stream(events: list[dict[str, Any]], raw_lines: list[str] | None = None) -> None:
    assert events, "no events"
    for e in events:
        check_event(e)
    assert events[0]["kind"] == "run-start"
    assert events[-1]["kind"] == "run-end"
    assert sum(e["kind"] == "run-end" for e in events) == 1
    for line in raw_lines or []:
        assert len(line.encode()) < 4096, f"event over 4 KiB: {line[:200]}"

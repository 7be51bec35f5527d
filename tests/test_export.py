"""Export writes through the descriptors it created, never through a path opened again.

In a folder others can write to, someone may swap the freshly created, empty file for a
symlink to a file of the exporting user's: what is certain is that the export then still
writes only to the file it created, and the symlink's target is untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scenarios.engine.protocol import decode
from scenarios.engine.state import RunState
from tests.appsupport import recorded
from tui import export

VICTIM = "precious: must not be overwritten\n"


def transcript() -> export.Transcript:
    return export.Transcript(RunState(recorded("shared-value-fork.jsonl")), ["shared-value"], [])


def test_a_file_swapped_for_a_symlink_after_the_claim_is_not_followed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text(VICTIM)
    real_markdown = export.markdown

    def swap_then_render(t: export.Transcript) -> str:
        # the attacker's move, between the file's creation and the writing of its text
        for name in ("statelab-shared-value-1.md", "statelab-shared-value-1.jsonl"):
            (tmp_path / name).unlink()
            (tmp_path / name).symlink_to(victim)
        return real_markdown(t)

    monkeypatch.setattr(export, "markdown", swap_then_render)
    md, jsonl = export.export(transcript(), tmp_path)
    assert md.name == "statelab-shared-value-1.md" and jsonl.name == "statelab-shared-value-1.jsonl"
    assert victim.read_text() == VICTIM


def test_a_symlink_planted_before_the_export_is_skipped(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text(VICTIM)
    (tmp_path / "statelab-shared-value-1.md").symlink_to(victim)
    md, jsonl = export.export(transcript(), tmp_path)
    assert victim.read_text() == VICTIM
    assert md.name == "statelab-shared-value-2.md" and not md.is_symlink()
    assert "# statelab transcript: shared-value" in md.read_text()
    assert [decode(line) for line in jsonl.read_text().splitlines()] == recorded(
        "shared-value-fork.jsonl")


def test_two_exports_never_share_a_file(tmp_path: Path) -> None:
    first = export.export(transcript(), tmp_path)
    second = export.export(transcript(), tmp_path)
    assert set(first).isdisjoint(second)
    assert all(os.path.getsize(p) > 0 for p in (*first, *second))

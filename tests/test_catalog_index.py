"""The scenario list comes from an index only while every module file is as it was.

What is certain: an index is a cache. A list read from it must be the list that importing
every module gives; anything that might have changed a module (a file added, removed, or
written) or an index that is not one must send the catalog back to importing, never to a wrong
list or an exception.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.engine import catalog_index
from scenarios.engine.knobs import Scenario

ROOT = Path(__file__).resolve().parent.parent

# runs in a fresh interpreter: the list, and which scenario modules that made it import
LIST = """
import json, sys
from scenarios.engine import catalog
listed = catalog.listing()
print(json.dumps({"listed": [list(item) for item in listed],
                  "imported": sorted(m for m in sys.modules if m.startswith("scenarios.")
                                     and not m.startswith("scenarios.engine"))}))
"""


def listing_in_a_fresh_process(cache: Path) -> dict[str, list[object]]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "STATELAB_EXTRA_SCENARIOS": ""}
    out = subprocess.run([sys.executable, "-c", LIST], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    result: dict[str, list[object]] = json.loads(out)
    return result


def test_the_second_start_lists_the_same_scenarios_without_importing_them(tmp_path: Path) -> None:
    first = listing_in_a_fresh_process(tmp_path)
    second = listing_in_a_fresh_process(tmp_path)
    assert first["listed"] == second["listed"]
    assert "scenarios.remote_manager" in first["imported"]  # no index yet: every module loaded
    assert second["imported"] == []
    # what each module's own SPEC says, read here by importing them one by one
    specs = [importlib.import_module(f"scenarios.{f.stem}").SPEC
             for f in sorted((ROOT / "scenarios").glob("*.py")) if not f.stem.startswith("_")]
    expected = sorted(specs, key=lambda s: (not s.from_lesson, s.order, s.name))
    assert first["listed"] == [[s.name, s.from_lesson, s.order] for s in expected]
    assert first["listed"][0] == ["queue-copy", True, 1]  # the lesson's first experiment


def a_package(folder: Path) -> dict[str, str]:
    for stem in ("alpha", "beta"):
        (folder / f"{stem}.py").write_text(f"# the {stem} experiment\n")
    return {"alpha": "pkg.alpha", "beta": "pkg.beta"}


SPECS = [Scenario("alpha", "A", "a", from_lesson=True, order=2), Scenario("beta", "B", "b", order=7)]


def test_an_index_is_read_back_while_nothing_changed(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    modules = a_package(tmp_path)
    catalog_index.write(str(tmp_path), modules, SPECS)
    found = catalog_index.read(str(tmp_path), modules)
    assert found is not None
    assert [tuple(item) for item in found] == [("alpha", True, 2), ("beta", False, 7)]


def test_a_module_written_added_or_removed_makes_the_index_unused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    modules = a_package(tmp_path)
    folder = str(tmp_path)
    catalog_index.write(folder, modules, SPECS)
    # written: one byte more (the size changes whatever the clock's resolution)
    (tmp_path / "beta.py").write_text("# the beta experiment, changed\n")
    assert catalog_index.read(folder, modules) is None
    catalog_index.write(folder, modules, SPECS)
    assert catalog_index.read(folder, modules) is not None
    # touched: same bytes, another modification time
    stat = (tmp_path / "alpha.py").stat()
    os.utime(tmp_path / "alpha.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert catalog_index.read(folder, modules) is None
    catalog_index.write(folder, modules, SPECS)
    # added, and removed
    assert catalog_index.read(folder, {**modules, "gamma": "pkg.gamma"}) is None
    assert catalog_index.read(folder, {"alpha": "pkg.alpha"}) is None
    (tmp_path / "alpha.py").unlink()
    assert catalog_index.read(folder, modules) is None


def test_another_checkout_has_an_index_of_its_own(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    catalog_index.write(str(one), a_package(one), SPECS)
    assert catalog_index.read(str(two), a_package(two)) is None


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000) | st.text(max_size=3000).map(str.encode))
def test_any_bytes_in_place_of_an_index_are_ignored(content: bytes) -> None:
    folder = ROOT / "tests" / "fixtures"  # an existing folder; nothing is written in it
    modules = {"intruder": "tests.fixtures.intruder"}
    path = Path(catalog_index.path_for(str(folder)))
    path.parent.mkdir(parents=True, exist_ok=True)
    # made to look like an index of this folder, then whatever follows
    path.write_bytes(f"{catalog_index.HEADER}\n{folder}\n".encode() + content)
    # no bytes can name the file's size and modification time to the nanosecond by chance
    assert catalog_index.read(str(folder), modules) is None

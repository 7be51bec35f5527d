"""The shape of the code (issue 7, ../shared/design.md "Layout"): the engine stands alone, the
import contracts in pyproject.toml hold, and every module is small enough to read in one sitting."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
MAX_LINES = 400  # "no engine or app module over about 400 lines"


def contracts() -> list[dict[str, Any]]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        found: list[dict[str, Any]] = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    return found


def contract(id: str) -> dict[str, Any]:
    return next(c for c in contracts() if c["id"] == id)


def experiments_on_disk() -> set[str]:
    """Every module of the scenarios package that is not the engine or the package's own."""
    return {f"scenarios.{p.stem}" for p in (ROOT / "scenarios").glob("*.py") if not p.stem.startswith("_")}


def test_importing_scenarios_loads_no_textual_or_rich() -> None:
    code = ("import sys, scenarios, scenarios.engine.supervisor, scenarios.engine.catalog as c\n"
            "[c.load(n) for n in c.names()]\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# import-linter is in the test extra as well as dev, so `make test` runs the contracts too; in an
# environment that has only the package's own requirements this says so instead of failing
LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
    "lint-imports")


@pytest.mark.skipif(LINT_IMPORTS is None, reason="import-linter is not installed (pip install -e '.[test]')")
@pytest.mark.parametrize("contract_id", [c["id"] for c in contracts()])
def test_import_contract_is_kept(contract_id: str) -> None:
    assert LINT_IMPORTS is not None
    proc = subprocess.run([LINT_IMPORTS, "--no-logo", "--no-cache", "--contract", contract_id],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("contract_id", ["experiments-use-the-api", "experiments-independent"])
def test_the_experiment_contracts_name_every_experiment(contract_id: str) -> None:
    """The contracts list experiments by name: a new scenario module must be added to them."""
    listed = contract(contract_id)
    modules = set(listed.get("source_modules") or listed["modules"])
    assert modules == experiments_on_disk(), (
        f"pyproject.toml, contract {contract_id}: add {sorted(experiments_on_disk() - modules)}, "
        f"remove {sorted(modules - experiments_on_disk())}")


def test_the_catalog_finds_exactly_the_experiments_on_disk() -> None:
    from scenarios.engine import catalog

    found = {catalog.load(name).module.__name__ for name in catalog.names()}
    ours = {m for m in found if m.startswith("scenarios.")}  # tests add their own from elsewhere
    assert ours == experiments_on_disk()


def test_no_engine_or_app_module_is_over_400_lines() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for folder in ("scenarios/engine", "tui") for p in sorted((ROOT / folder).rglob("*.py"))}
    assert sizes, "no modules found"
    over = {path: n for path, n in sizes.items() if n > MAX_LINES}
    assert not over, f"over {MAX_LINES} lines: {over}"

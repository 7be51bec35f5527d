"""`statelab source NAME`: a scenario as one file that runs with python3 and nothing else.

The file is the experiment's module as it is in `scenarios/`, below the engine code it needs to
run without statelab: the type-code table (`ctypes_table`), the knobs and their parser
(`knobs`), and the stand-ins for the lab (`standin`: lines instead of events). Each part is
copied from its module, without its docstring and its imports of the engine, so what the saved
script runs is what the lab runs, not a rewrite of it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

HERE = Path(__file__).parent
PARTS = ("ctypes_table", "knobs", "children", "standin")  # in the order they need each other


class ScriptError(Exception):
    """The experiment cannot be saved as a script (it uses what the stand-ins lack)."""


def _split(source: str) -> tuple[str | None, str, list[str]]:
    """(docstring, the code without its docstring, `from __future__` and engine imports, the
    lines that give an engine name imported under an alias its alias)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    drop: set[int] = set()
    aliases: list[str] = []
    docstring = ast.get_docstring(tree, clean=False)
    for i, node in enumerate(tree.body):
        engine = (isinstance(node, ast.ImportFrom) and node.module is not None
                  and (node.module == "__future__" or node.module.startswith("scenarios")))
        if (i == 0 and docstring is not None) or engine:
            drop.update(range(node.lineno - 1, node.end_lineno or node.lineno))
        if engine and isinstance(node, ast.ImportFrom) and node.module != "__future__":
            aliases += [f"{a.asname} = {a.name}" for a in node.names if a.asname]
    code = "\n".join(line for n, line in enumerate(lines) if n not in drop).strip("\n")
    return docstring, code, aliases


def _defined(code: str) -> set[str]:
    """The names a module's code defines at its top level."""
    names: set[str] = set()
    for node in ast.parse(code).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.If):  # TYPE_CHECKING: ... else: Any = object
            names |= _defined(ast.unparse(ast.Module(body=node.orelse, type_ignores=[])))
    return names


def _imported_from_api(source: str) -> set[str]:
    return {a.asname or a.name for node in ast.parse(source).body
            if isinstance(node, ast.ImportFrom) and node.module == "scenarios.engine.api"
            for a in node.names}


def build(name: str, source: str) -> str:
    """The script of the scenario `name`, whose module's text is `source`."""
    pieces: list[str] = []
    for part in PARTS:
        _, code, aliases = _split((HERE / f"{part}.py").read_text())
        # knobs names the table's functions through its module: here they are in the same file
        code = code.replace("ctypes_table.", "")
        pieces.append(f"# -- {part} (scenarios/engine/{part}.py)\n\n{code}")
        if aliases:
            pieces.append("\n".join(aliases))
    _, _, api_aliases = _split((HERE / "api.py").read_text())
    pieces.append("\n".join(a for a in api_aliases if a.split(" = ")[0] not in ("Any",)))
    preamble = "\n\n\n".join(pieces)
    docstring, experiment, _ = _split(source)
    lacking = _imported_from_api(source) - _defined(preamble)
    if lacking:
        raise ScriptError(f"{name} uses {', '.join(sorted(lacking))}, which a saved script "
                          "cannot offer yet")
    clash = (_defined(experiment) & _defined(preamble)) - _imported_from_api(source)
    if clash:
        raise ScriptError(f"{name} defines {', '.join(sorted(clash))}, a name the saved "
                          "script's stand-ins use")
    if "__main__" not in experiment:  # a module that only the lab ran: run it as a script
        experiment += '\n\n\nif __name__ == "__main__":\n    run_as_script(SPEC)'
    version = "{}.{}".format(*sys.version_info[:2])
    head = (docstring or f"The scenario {name}.").rstrip() + f"""

Saved with `statelab source {name}`. It runs with python3 (3.11 or newer) and nothing else
installed; each process prints what it observed, as `seconds  role  what`:

    python3 {name.replace('-', '_')}.py --help
    python3 {name.replace('-', '_')}.py --start-method spawn

Everything above THE EXPERIMENT stands in for statelab (its knobs, its table of type codes,
starting and joining processes). statelab also checks the findings against what the processes
observed, pauses at checkpoints, and shows the stacks of stuck processes; a saved script does
not. (Saved from Python {version}.)
"""
    return (f'#!/usr/bin/env python3\n"""{head}"""\n\nfrom __future__ import annotations\n\n'
            f"{preamble}\n\n\n"
            f"# == THE EXPERIMENT: scenarios/{name.replace('-', '_')}.py, as statelab runs it "
            f"{'=' * 20}\n\n{experiment}\n")

"""What the app remembers between sessions: the theme, the scenario last run and its settings,
the Python chosen, the pace. One small JSON file in the user's config folder
($XDG_CONFIG_HOME/statelab/preferences.json, by default ~/.config/statelab/).

The file is read as untrusted input: at most MAX_BYTES, and anything that is not the expected
shape is dropped field by field (a hand-edited or damaged file never stops the app; the
settings form checks every value again as if it had been typed). Written atomically (a temporary
file, then a rename), so a crash mid-write leaves the previous file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

MAX_BYTES = 64 * 1024
MAX_TEXT = 200  # characters of any one value kept


def folder() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "statelab"


def path() -> Path:
    return folder() / "preferences.json"


@dataclass
class Preferences:
    theme: str | None = None
    scenario: str | None = None
    options: dict[str, dict[str, str]] = field(default_factory=dict)  # per scenario
    python: str | None = None  # the interpreter's path
    pace: float | None = None


def _text(value: object) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) and value.isprintable() else None


def load(where: Path | None = None) -> Preferences:
    """The preferences saved, or the defaults if there are none (or none readable)."""
    try:
        with open(where or path(), "rb") as f:
            raw = f.read(MAX_BYTES + 1)
        data = json.loads(raw) if len(raw) <= MAX_BYTES else None
    except (OSError, ValueError, RecursionError):
        return Preferences()
    if not isinstance(data, dict):
        return Preferences()
    options: dict[str, dict[str, str]] = {}
    saved = data.get("options")
    if isinstance(saved, dict):
        for name, knobs in list(saved.items())[:100]:
            if _text(name) and isinstance(knobs, dict):
                kept = {str(k): v for k, v in ((_text(k), _text(v)) for k, v in knobs.items())
                        if k and v is not None}
                options[str(name)] = kept
    pace = data.get("pace")
    return Preferences(theme=_text(data.get("theme")), scenario=_text(data.get("scenario")),
                       options=options, python=_text(data.get("python")),
                       pace=float(pace) if isinstance(pace, int | float)
                       and not isinstance(pace, bool) and 0 < pace <= 10 else None)


def save(prefs: Preferences, where: Path | None = None) -> None:
    """Write them (best effort: a read-only home only means nothing is remembered)."""
    target = where or path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}")
        temporary.write_text(json.dumps(asdict(prefs), indent=1))
        os.replace(temporary, target)
    except OSError:
        pass

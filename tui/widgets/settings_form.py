"""The settings of the selected scenario: one row per knob, each checked as it is typed.

Knobs the scenario does not take are disabled. A bad value is marked at its
input with what is allowed (the engine's own message), and Run is refused
until it is fixed.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from scenarios.engine import catalog, ctypes_table, knobs
from scenarios.engine.knobs import COMMON, Config, ConfigError, Knob, Scenario
from tui import interpreters
from tui.interpreters import Interpreter

LABELS = {"typecode": "type", "lock": "lock", "value": "value",
          "start_method": "start", "timeout": "timeout"}
LOCK_LABELS = {"true": "True (RLock)", "false": "False (raw)", "lock": "a Lock()",
               "rlock": "an RLock()"}


def choice_label(knob: Knob, choice: str, default_method: str | None = None) -> str:
    if knob.name == "typecode":
        return ctypes_table.TYPECODES[choice].label()
    if knob.name == "lock":
        return LOCK_LABELS.get(choice, choice)
    if knob.name == "start_method" and choice == (default_method or knobs.default_start_method()):
        return f"{choice} (default)"
    return choice


def python_label(interp: Interpreter) -> str:
    """`3.12.1 · fork`, its default start method beside it; the app's own says so."""
    method = interp.start_method or "?"
    return f"{interp.version_text} · {method}" + (" (this one)" if interp.own else "")


class SettingsForm(Vertical):
    """Settings for one scenario; posts `SettingsForm.Changed` after every edit."""

    class Changed(Message):
        def __init__(self, config: Config | None, error: str | None) -> None:
            super().__init__()
            self.config = config
            self.error = error

    class RunRequested(Message):
        def __init__(self, step: bool) -> None:
            super().__init__()
            self.step = step

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec: Scenario | None = None
        self.config: Config | None = None
        self.errors: dict[str, str] = {}
        self._quiet = False
        self.running = False
        self.pythons: list[Interpreter] = [interpreters.own()]  # more once the probe answers
        self._default_method = knobs.default_start_method()  # the chosen Python's

    def compose(self) -> ComposeResult:
        yield Static(id="summary")
        for knob in COMMON.values():
            yield from self._row(knob)
            if knob.name == "typecode":
                yield Static(id="typecode-hint", classes="knob-hint")
        yield Vertical(id="own")
        python = Select([(python_label(self.pythons[0]), "0")], value="0", allow_blank=False,
                        compact=True, id="python")
        python.tooltip = ("the Python that runs the engine and the scenario's processes (any "
                          "CPython 3.11 or newer found on the PATH or in pyenv); beside each, "
                          "its default start method")
        yield Horizontal(Label("python", classes="knob-label"), python, classes="knob-row",
                         id="row-python")
        yield Static(id="form-error")
        with Horizontal(id="buttons"):
            yield Button("Run r", id="run", variant="primary", compact=True)
            yield Button("Step s", id="step", compact=True)
            yield Button("Stop x", id="stop", variant="error", compact=True)

    def _row(self, knob: Knob) -> list[Widget]:
        widget: Widget
        if knob.kind == "choice":
            widget = Select([(choice_label(knob, c, self._default_method), c)
                             for c in knob.choices],
                            prompt="not used here", allow_blank=True, compact=True,
                            id=f"knob-{knob.name}")
        else:
            widget = Input(compact=True, id=f"knob-{knob.name}", select_on_focus=True)
        widget.tooltip = knob.help
        label = Label(LABELS.get(knob.name, knob.name.replace("_", " ")), classes="knob-label")
        return [Horizontal(label, widget, classes="knob-row", id=f"row-{knob.name}"),
                Static(classes="knob-error", id=f"err-{knob.name}")]

    # -- the scenario ----------------------------------------------------------------------

    async def set_scenario(self, spec: Scenario, given: dict[str, str] | None = None) -> None:
        """Show spec's knobs: defaults (or the given text values); the others disabled."""
        keep = {} if self.spec is None else {n: t for n, t in self.options().items()
                                             if n in ("start_method", "timeout")}
        values = {**keep, **(given or {})}
        self.spec = spec
        self._quiet = True
        try:
            self.query_one("#summary", Static).update(f"[b]{spec.title}[/b]\n{spec.summary}")
            applies = spec.knobs()
            for name, knob in COMMON.items():
                widget = self.query_one(f"#knob-{name}", Widget)
                used = name in applies
                widget.disabled = not used
                self.query_one(f"#row-{name}").set_class(not used, "-unused")
                self._set_widget(widget, knob, spec, values.get(name) if used else None, used)
            own = self.query_one("#own", Vertical)
            await own.remove_children()
            rows: list[Widget] = []
            for knob in spec.own:
                rows.extend(self._row(knob))
            await own.mount_all(rows)
            for knob in spec.own:
                widget = self.query_one(f"#knob-{knob.name}", Widget)
                self._set_widget(widget, knob, spec, values.get(knob.name), True)
        finally:
            self._quiet = False
        self.validate()

    def _set_widget(self, widget: Widget, knob: Knob, spec: Scenario, text: str | None,
                    used: bool) -> None:
        if isinstance(widget, Select):
            if not used:
                widget.clear()
                return
            default = spec.default_of(knob.name)
            if default is None and knob.name == "start_method":
                default = self._default_method
            widget.value = text if text is not None else (default or knob.choices[0])
        elif isinstance(widget, Input):
            widget.value = text or ""
            if not used:
                widget.placeholder = "not used here"
            elif knob.kind == "value":
                widget.placeholder = "default"
            else:
                widget.placeholder = f"{spec.default_of(knob.name):g}"

    def set_choice(self, name: str, value: str) -> str | None:
        """Choose value for the knob called name; the problem, if it cannot be chosen."""
        if self.spec is None or name not in self.spec.knobs():
            return f"{self.spec.name if self.spec else 'this scenario'} does not take " \
                   f"--{name.replace('_', '-')}"
        select = self.query_one(f"#knob-{name}", Select)
        if value not in self.spec.knobs()[name].choices:
            return f"--{name.replace('_', '-')}: {value[:20]} is not one of its choices"
        select.value = value
        return None

    # -- the interpreter -------------------------------------------------------------------

    @property
    def python(self) -> Interpreter:
        """The interpreter chosen to run the engine."""
        select = self.query_one("#python", Select)
        index = int(str(select.value)) if not select.is_blank() else 0
        return self.pythons[index] if index < len(self.pythons) else self.pythons[0]

    def set_pythons(self, found: list[Interpreter], chosen: str | None = None) -> None:
        """The interpreters the probe found (the app's own first): listed, the one whose path
        is chosen (or else the one chosen so far) chosen."""
        if not found:
            return
        before = self.python
        self.pythons = list(found)
        keep = next((n for n, i in enumerate(found) if i.path == chosen), None)
        if keep is None:
            keep = next((n for n, i in enumerate(found) if i.path == before.path), 0)
        select = self.query_one("#python", Select)
        with select.prevent(Select.Changed):
            select.set_options([(python_label(i), str(n)) for n, i in enumerate(found)])
            select.value = str(keep)
        if self.pythons[keep].path != before.path:
            self._python_changed()

    def choose_python(self, text: str) -> str | None:
        """Choose the interpreter whose version or path is text; the problem if none is."""
        for n, interp in enumerate(self.pythons):
            if text in (interp.path, interp.executable, interp.version_text) or (
                    interp.version_text.startswith(text + ".")):
                self.query_one("#python", Select).value = str(n)
                return None
        return f"no Python {text[:40]} was found here"

    def _python_changed(self) -> None:
        """Another interpreter: its default start method is marked, and chosen if the user had
        left the start method at the previous one's default."""
        method = self.python.start_method or knobs.default_start_method()
        before, self._default_method = self._default_method, method
        select = self.query_one("#knob-start_method", Select)
        knob = COMMON["start_method"]
        current = select.value
        with select.prevent(Select.Changed):
            select.set_options([(choice_label(knob, c, method), c) for c in knob.choices])
            if not select.disabled and current != Select.BLANK:
                select.value = method if current == before else current
        self.validate()

    # -- reading and checking --------------------------------------------------------------

    def options(self) -> dict[str, str]:
        """The text of every knob the scenario takes that the user set."""
        if self.spec is None:
            return {}
        found: dict[str, str] = {}
        for name in self.spec.knobs():
            try:
                widget = self.query_one(f"#knob-{name}", Widget)
            except Exception:
                continue
            if isinstance(widget, Select):
                if not widget.is_blank():
                    found[name] = str(widget.value)
            elif isinstance(widget, Input) and widget.value.strip():
                found[name] = widget.value.strip()
        return found

    def validate(self, step: bool = False) -> Config | None:
        """Check every field; mark the bad ones; return the config, or None if refused."""
        if self.spec is None:
            return None
        options = self.options()
        errors: dict[str, str] = {}
        applies = self.spec.knobs()
        for name, text in options.items():
            knob = applies[name]
            try:
                if knob.kind == "value":
                    chosen = options.get("typecode") or self.spec.default_of("typecode")
                    ctypes_table.get(chosen).parse(text)
                else:
                    knob.parse(text)
            except (ConfigError, ValueError) as e:
                message = str(e)
                errors[name] = message if message.startswith("--") else f"{knob.flag}: {message}"
        config: Config | None = None
        general: str | None = None
        if not errors:
            try:
                config = catalog.configure(self.spec.name, options, step=step)
            except ConfigError as e:
                message = str(e)
                for name in applies:
                    if message.startswith(applies[name].flag + ":"):
                        errors[name] = message
                        break
                else:
                    general = message
        self._show_errors(errors, general)
        self.config = config
        self._hint(options)
        self._buttons()
        if not self._quiet:
            first = next(iter(errors.values()), general)
            self.post_message(self.Changed(config, first))
        return config

    def set_running(self, running: bool) -> None:
        self.running = running
        self._buttons()

    def _buttons(self) -> None:
        self.query_one("#run", Button).disabled = self.running or self.config is None
        self.query_one("#step", Button).disabled = not self.running and self.config is None
        self.query_one("#stop", Button).disabled = not self.running

    def _show_errors(self, errors: dict[str, str], general: str | None) -> None:
        self.errors = dict(errors)
        if general:
            self.errors[""] = general
        for row in self.query(".knob-row"):
            name = (row.id or "row-")[4:]
            bad = name in errors
            row.set_class(bad, "-invalid")
            flag = "--" + name.replace("_", "-") + ": "
            for box in self.query(f"#err-{name}").results(Static):
                # beside its field the flag goes without saying: the room is for what is allowed
                box.update(errors.get(name, "").removeprefix(flag))
                box.display = bad
        general_box = self.query_one("#form-error", Static)
        general_box.update(general or "")
        general_box.display = general is not None

    def _hint(self, options: dict[str, str]) -> None:
        hint = self.query_one("#typecode-hint", Static)
        if self.spec is None or "typecode" not in self.spec.knobs():
            hint.display = False
            return
        code = ctypes_table.TYPECODES.get(options.get("typecode") or self.spec.default_of("typecode"))
        if code is None:
            hint.display = False
            return
        hint.display = True
        note = "; deprecated since 3.13" if code.code == "u" else ""
        hint.update(f"{code.c_type}, {code.size} B, {code.describe_range()}{note}")

    # -- events ----------------------------------------------------------------------------

    @on(Select.Changed)
    @on(Input.Changed)
    def _changed(self, event: Message) -> None:
        event.stop()
        if isinstance(event, Select.Changed) and event.select.id == "python":
            self._python_changed()
            return
        if self._quiet:
            return
        if isinstance(event, Select.Changed) and event.select.is_blank() and self.spec is not None:
            # the blank row ("not used here") is for knobs the scenario does not take: picked
            # for one it takes, it means "no choice", so the default comes back
            name = (event.select.id or "knob-")[5:]
            knob = self.spec.knobs().get(name)
            if knob is not None:
                self._set_widget(event.select, knob, self.spec, None, True)
                return  # setting the value posts Changed again, which validates
        self.validate()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.RunRequested(step=False))

    @on(Button.Pressed, "#run")
    def _run(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.RunRequested(step=False))

    @on(Button.Pressed, "#step")
    def _step(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.RunRequested(step=True))

"""The new-experiment form, generated from the engine's config (every field, its help as a tooltip), one tab
per section so a section fits a screen at 80x24. Validates as you type; ctrl+s launches, ctrl+t saves TOML;
esc asks before discarding edits."""

from __future__ import annotations

import dataclasses
import json
import typing

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, Select, Static, TabbedContent, TabPane

from engine.config import SWEEP_KEYS, TINY_PREFIX, ConfigError, ExperimentConfig, field_meta, from_form
from engine.languages import MLQA_LANGUAGES, TYDIQA_NAMES, XQUAD_LANGUAGES
from xlqa_tui.keys import NEW
from xlqa_tui.widgets.glyph_checkbox import GlyphCheckbox

HIDDEN = SWEEP_KEYS  # written by `xlqa-run sweep`, not typed
RUN_KEYS = ("train.log_every", "train.eval_every", "train.checkpoint_every", "train.keep_checkpoints",
            "train.eval_batch_size")  # shown on the first tab, with where the run writes
TABS = {"run": ["name", "output_dir", "devices", *RUN_KEYS]}
ALL_LANGUAGES = list(MLQA_LANGUAGES) + [l for l in XQUAD_LANGUAGES if l not in MLQA_LANGUAGES] + \
    [l for l in TYDIQA_NAMES.values() if l not in MLQA_LANGUAGES + XQUAD_LANGUAGES]


def config_fields() -> dict[str, list[tuple[str, type]]]:
    """Tab -> [(dotted key, type)] from the dataclasses, sections in config order."""
    tabs = {name: [] for name in TABS}
    hints = typing.get_type_hints(ExperimentConfig)
    for f in dataclasses.fields(ExperimentConfig):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            sub = typing.get_type_hints(hint)
            for g in dataclasses.fields(hint):
                key = f"{f.name}.{g.name}"
                tabs.setdefault("run" if key in RUN_KEYS else f.name, []).append((key, sub[g.name]))
        elif f.name not in HIDDEN:
            tabs["run"].append((f.name, hint))
    tabs["run"].append(("devices", str))
    order = {k: i for i, k in enumerate(TABS["run"])}
    tabs["run"].sort(key=lambda kv: order.get(kv[0], 99))
    return tabs


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        d = d[part]
    return d


def _fmt(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):  # a TOML inline table, read back by engine.config.from_form
        items = ", ".join(f"{json.dumps(k)} = {json.dumps(list(v), ensure_ascii=False)}" for k, v in value.items())
        return "{" + items + "}"
    return str(value)


def _without_tables(base: dict) -> dict:
    """The base config with its table-valued fields emptied: the form's value replaces a table whole
    (values merge into tables, so an entry deleted in the form would come back)."""
    return {k: ({f: ({} if isinstance(x, dict) else x) for f, x in v.items()} if isinstance(v, dict) else v)
            for k, v in base.items()}


def field_id(key: str) -> str:
    return "f-" + key.replace(".", "-")


class NewExperimentScreen(Screen):
    BINDINGS = NEW

    def __init__(self, base_config: dict | None = None):
        super().__init__()
        self.base = {**(base_config or ExperimentConfig().to_dict()), **dict.fromkeys(HIDDEN, "")}  # a copy joins no sweep
        self.config: ExperimentConfig | None = None
        self.meta = field_meta()  # help as tooltips, choices as selects: the config's own metadata
        self.tabs = config_fields()
        self.initial: dict | None = None
        self.checked: dict | None = None  # the values the last validate() read
        self.inputs: dict = {}            # dotted key (or "lang-xx") -> its widget, found once at mount
        self.shown_errors: list[Static] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="form-tabs"):
            for tab, fields in self.tabs.items():
                with TabPane(tab, id=f"tab-{tab}"):
                    with VerticalScroll(classes="form-section"):
                        for key, hint in fields:
                            yield from self.field(key, hint)
        yield Static("", id="form-status")
        yield Footer()

    def field(self, key: str, hint) -> ComposeResult:
        value = "" if key == "devices" else _get(self.base, key)
        choices = self.meta.get(key, {}).get("choices")
        tip = self.meta.get(key, {}).get("help", "GPU indexes as nvidia-smi numbers them (e.g. 0,1), cpu, or empty: any free")
        if key == "data.languages":
            yield Label("training languages", classes="field-label")
            with Grid(id="languages"):
                for lang in ALL_LANGUAGES:
                    yield GlyphCheckbox(lang, lang in value, id=f"lang-{lang}", tooltip=tip)
        else:
            with Horizontal(classes="field"):
                yield Label(key.split(".")[-1].replace("_", " "), classes="field-label")
                if hint is bool:
                    yield GlyphCheckbox("", bool(value), id=field_id(key), tooltip=tip)
                elif choices:
                    yield Select([(c, c) for c in choices], value=value, allow_blank=False, compact=True,
                                 id=field_id(key), tooltip=tip)
                else:
                    yield Input(_fmt(value), id=field_id(key), compact=True, tooltip=tip)
        yield Static("", classes="field-error", id=f"error-{key.replace('.', '-')}")

    def on_mount(self) -> None:
        self.title = "xlqa · new experiment"
        # one walk of the tree, not a query per field per keystroke (values() runs on every change)
        keys = [key for fields in self.tabs.values() for key, _ in fields if key != "data.languages"]
        self.inputs = {key: self.query_one(f"#{field_id(key)}") for key in keys}
        self.inputs.update({f"lang-{lang}": self.query_one(f"#lang-{lang}", GlyphCheckbox) for lang in ALL_LANGUAGES})
        self.validate()
        self.initial = self.values()

    def value_of(self, key: str):
        widget = self.inputs.get(key) or self.query_one(f"#{field_id(key)}")
        if isinstance(widget, (GlyphCheckbox, Select)):
            return widget.value
        return widget.value.strip()

    def values(self) -> dict[str, object]:
        """Every field by its dotted key, as typed; an empty field stays empty (never silently the default)."""
        out = {key: self.value_of(key) for fields in self.tabs.values() for key, _ in fields
               if key not in ("devices", "data.languages")}
        out["data.languages"] = [lang for lang in ALL_LANGUAGES if self.inputs[f"lang-{lang}"].value]
        return out

    def problems(self, cfg: ExperimentConfig) -> dict[str, str]:
        """What the config alone cannot know: a teacher checkpoint for distillation, paths that exist (the
        pre-queue check's own rule, without reading the data: that waits for the launch)."""
        from engine.preflight import missing_paths
        found = {}
        if cfg.train.stage == "distill" and not cfg.model.init_from and not cfg.model.name.startswith(TINY_PREFIX):
            found["model.init_from"] = ("distillation starts from the teacher: set model.init_from to its checkpoint "
                                        "(RUNS/.../teacher/checkpoint or best)")
        for key, text in missing_paths(cfg).items():
            found.setdefault(key, text)
        return found

    def validate(self) -> bool:
        for err in self.shown_errors:                   # clear only what the last check showed
            err.update("")
            err.display = False
        self.shown_errors = []
        status = self.query_one("#form-status", Static)
        self.checked = self.values()
        try:
            self.config = from_form(_without_tables(self.base), self.checked)
            problems = self.problems(self.config)
        except (ConfigError, ValueError) as e:
            self.config, problems = None, {}
            text = str(e)
            keys = [k for fields in self.tabs.values() for k, _ in fields]
            key = max((k for k in keys if k in text), key=len, default=None)
            problems[key or ""] = text
        for key, text in problems.items():
            if key:
                err = self.query_one(f"#error-{key.replace('.', '-')}", Static)
                err.update(f"✗ {text}")
                err.display = True
                self.shown_errors.append(err)
        if problems:
            where = ", ".join(sorted({self.tab_of(k) for k in problems if k}))
            status.update(f"✗ {next(iter(problems.values()))}" + (f"  (tab: {where})" if where else ""))
            return False
        status.update("✓ valid · ctrl+s launches · ctrl+t saves as TOML")
        return True

    def tab_of(self, key: str) -> str:
        return next((tab for tab, fields in self.tabs.items() if key in [k for k, _ in fields]), "")

    @on(Input.Changed)
    @on(Select.Changed)
    @on(GlyphCheckbox.Changed)
    def field_changed(self) -> None:
        # every field posts a Changed as it mounts: those change nothing, so they cost a read, not a check
        if self.initial is not None and self.values() != self.checked:
            self.validate()

    def action_launch(self) -> None:
        if not self.validate():
            self.notify("the form has errors: see the ✗ lines", severity="error")
            return
        from engine.jobs.launch import ensure_scheduler, plan
        from engine.preflight import preflight
        problems = preflight(self.config)  # the CLI's pre-queue check: data files parse, suites exist
        if problems:
            self.query_one("#form-status", Static).update("✗ nothing was queued: " + "; ".join(problems))
            self.notify("nothing was queued: " + problems[0], severity="error")
            return
        ids = plan(self.app.store, self.config, self.value_of("devices"))
        ensure_scheduler(self.app.store)
        self.notify(f"queued runs {', '.join(map(str, ids))}")
        self.app.pop_screen()

    def action_save_toml(self) -> None:
        if not self.validate():
            self.notify("the form has errors: see the ✗ lines", severity="error")
            return
        from engine.jobs.launch import runs_root
        from engine.naming import slug
        # beside the experiments' folders (output_dir), not wherever the dashboard was started
        path = runs_root(self.config) / f"{slug(self.config.name) or 'experiment'}.toml"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.config.to_toml())
        except OSError as e:
            self.notify(f"could not save {path}: {e.strerror or e}", severity="error")
            return
        self.initial = self.values()
        self.notify(f"saved {path}")

    def action_back(self) -> None:
        if self.initial is None or self.values() == self.initial:
            self.app.pop_screen()
            return
        from xlqa_tui.screens.confirm import ConfirmScreen
        self.app.push_screen(ConfirmScreen("Discard the edits of this form?"),
                             lambda yes: self.app.pop_screen() if yes else None)

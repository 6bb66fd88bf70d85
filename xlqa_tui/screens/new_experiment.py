"""The new-experiment form over the engine's config: validates as you type, ctrl+s launches, ctrl+w saves TOML."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, SelectionList, Static

from engine.config import ConfigError, ExperimentConfig, apply_overrides, field_help
from engine.languages import MLQA_LANGUAGES, XQUAD_LANGUAGES
from xlqa_tui.keys import NEW

FIELDS = [  # (config key, label); the paper's defaults come from ExperimentConfig
    ("name", "experiment name"), ("train.stage", "stage"), ("model.name", "base model"),
    ("model.init_from", "teacher checkpoint"), ("data.train", "training data"), ("data.ntl", "ntl"),
    ("data.en_centric", "English-centric"), ("distill.temperature", "temperature T"), ("distill.a_ce", "a_ce"),
    ("distill.a_kl", "a_kl"), ("distill.kl_direction", "KL direction"), ("distill.coefficient", "coefficient"),
    ("distill.k", "k"), ("distill.window", "window"), ("train.epochs", "epochs"),
    ("train.learning_rate", "learning rate"), ("train.batch_size", "batch size"), ("train.grad_accum", "grad accumulation"),
    ("features.max_length", "max length"), ("features.doc_stride", "doc stride"), ("train.seed", "seed"),
    ("train.precision", "precision"), ("eval.dev", "dev suite"), ("eval.suites", "eval suites"),
    ("eval.xlt_suites", "XLT-only suites"), ("eval.xlt_languages", "XLT-only languages"),
    ("eval.max_per_cell", "questions per cell"), ("eval.data_dir", "data dir"), ("output_dir", "output dir"), ("devices", "devices (e.g. 0,1)"),
]
ALL_LANGUAGES = list(MLQA_LANGUAGES) + [l for l in XQUAD_LANGUAGES if l not in MLQA_LANGUAGES]


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        d = d[part]
    return d


def _fmt(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class NewExperimentScreen(Screen):
    BINDINGS = NEW

    def __init__(self, base_config: dict | None = None):
        super().__init__()
        self.base = base_config or ExperimentConfig().to_dict()
        self.config: ExperimentConfig | None = None
        self.help = field_help()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form"):
            yield Label("languages of the parallel training data", classes="section-title")
            yield SelectionList[str](*[(l, l, l in self.base["data"]["languages"]) for l in ALL_LANGUAGES], id="languages")
            yield Static("", classes="field-error", id="error-data-languages")
            for key, label in FIELDS:
                value = "" if key == "devices" else _fmt(_get(self.base, key))
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(value=value, id=f"f-{key.replace('.', '-')}", tooltip=self.help.get(key, ""))
                yield Static("", classes="field-error", id=f"error-{key.replace('.', '-')}")
        yield Static("", id="form-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "xlqa · new experiment"
        self.validate()

    def overrides(self) -> list[str]:
        out = []
        for key, _ in FIELDS:
            if key == "devices":
                continue
            value = self.query_one(f"#f-{key.replace('.', '-')}", Input).value.strip()
            out.append(f"{key}={value}" if value or isinstance(_get(self.base, key), str) else f"{key}=")
        langs = self.query_one("#languages", SelectionList).selected
        out.append(f"data.languages={','.join(langs)}")
        return out

    def validate(self) -> bool:
        for err in self.query(".field-error"):
            err.update("")
        try:
            values = {k: v for k, v in self.base.items()}
            self.config = apply_overrides(values, [o for o in self.overrides() if not o.endswith("=") or _is_str(self.base, o)])
        except (ConfigError, ValueError) as e:
            self.config = None
            text = str(e)
            key = max((k for k, _ in FIELDS + [("data.languages", "")] if k in text), key=len, default=None)
            target = f"#error-{key.replace('.', '-')}" if key else "#form-status"
            self.query_one(target, Static).update(f"✗ {text}")
            self.query_one("#form-status", Static).update("fix the marked field to launch")
            return False
        self.query_one("#form-status", Static).update("✓ valid — ctrl+s launches, ctrl+w saves as TOML")
        return True

    @on(Input.Changed)
    def field_changed(self) -> None:
        self.validate()

    @on(SelectionList.SelectedChanged)
    def languages_changed(self) -> None:
        self.validate()

    def action_launch(self) -> None:
        if not self.validate():
            self.notify("the form has errors", severity="error")
            return
        from engine.jobs.launch import ensure_scheduler, plan
        devices = self.query_one("#f-devices", Input).value.strip()
        ids = plan(self.app.store, self.config, devices)
        ensure_scheduler(self.app.store)
        self.notify(f"queued runs {', '.join(map(str, ids))}")
        self.app.pop_screen()

    def action_save_toml(self) -> None:
        if not self.validate():
            self.notify("the form has errors", severity="error")
            return
        path = Path(f"{self.config.name}.toml")
        path.write_text(self.config.to_toml())
        self.notify(f"saved {path.resolve()}")

    def action_back(self) -> None:
        self.app.pop_screen()


def _is_str(base: dict, override: str) -> bool:
    key = override.split("=", 1)[0]
    return isinstance(_get(base, key), str)

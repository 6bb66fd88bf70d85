"""The one typed config that flows from TOML / CLI flags / the TUI form to the worker, stored with every run.

Sections map onto TOML tables: [data] [model] [features] [train] [distill] [eval] (what is computed) and
[slurm] [alerts] with output_dir, sweep and grid_point (how it is launched and watched: LAUNCH_KEYS). Each
field's metadata holds its help, choices and range; unknown keys and out-of-range values raise ConfigError
naming the key.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from engine.suites import ANSWER_TEXTS, SUITES
from engine.feature_config import FeatureConfig
from engine.languages import MLQA_LANGUAGES, check_language
from engine.sampling import PAIRS
from engine.loss_modes import COEFFICIENTS, KL_DIRECTIONS  # torch-free: loading a config imports no torch

STAGES = ("teacher", "distill", "evaluate")
EPOCH_TAILS = ("step", "carry")
OPTIMIZERS = ("adamw", "adamw-legacy")
TINY_PREFIX = "tiny-bert"  # model name `tiny-bert` or `tiny-bert:H:L` (hidden, layers), built offline


class ConfigError(ValueError):
    pass


PRECISIONS = ("no", "tf32", "bf16", "fp16")
CACHE_DTYPES = ("float16", "float32")
SCORED_CHECKPOINTS = ("best", "final")


def _help(text: str, *, choices=None, ge=None, gt=None, lt=None, launch=None, **kw):
    """A field with its metadata, read by the checks (check_fields), the form and --help listings: choices,
    a range (ge: >=, gt: >, lt: <), and launch: how it is launched rather than what is computed
    (True: typed at launch; "sweep": written by `xlqa-run sweep`)."""
    meta = {"help": text, "choices": tuple(choices) if choices else None, "ge": ge, "gt": gt, "lt": lt,
            "launch": launch}
    return field(metadata={k: v for k, v in meta.items() if v is not None}, **kw)


def check_fields(obj, prefix: str) -> None:
    """The choices and ranges that a section's field metadata declares (ConfigError naming the key)."""
    for f in fields(obj):
        meta, value, key = f.metadata, getattr(obj, f.name), prefix + f.name
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(f"{key} = {value!r}: use one of {', '.join(meta['choices'])}")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        low = (">= ", meta["ge"]) if "ge" in meta else (("> ", meta["gt"]) if "gt" in meta else None)
        too_low = low is not None and (value < low[1] if low[0] == ">= " else value <= low[1])
        too_high = "lt" in meta and value >= meta["lt"]
        if too_low or too_high:
            if low and "lt" in meta:
                bound = f"in {'[' if low[0] == '>= ' else '('}{low[1]}, {meta['lt']})"
            else:
                bound = f"{low[0]}{low[1]}" if low else f"< {meta['lt']}"
            zero = re.search(r"\((0: [^)]*)\)", meta.get("help", ""))  # e.g. "(0: all)": what 0 means
            raise ConfigError(f"{key} = {value}: must be {bound}" + (f" ({zero.group(1)})" if zero else ""))


@dataclass
class DataConfig:
    train: str = _help("training data: a file, a folder (XQuAD / MLQA layout), `synthetic` or `hub:NAME`", default="synthetic")
    languages: list[str] = _help("languages of the parallel training data", default_factory=lambda: list(MLQA_LANGUAGES))
    ntl: int = _help("target languages drawn per question id: (1+ntl)^2 pairs English-centric, ntl^2 otherwise "
                     "(0: every language of the question id, same-language pairs only)", ge=0, default=5)
    en_centric: bool = _help("draw ntl languages besides English and add English (the paper's default); false: "
                             "draw ntl among all languages", default=True)
    pairs: str = _help("which (question, context) pairs of the drawn languages are kept: all (the paper's), "
                       "same-language (q = c: 1 + ntl per question id), english-question (q or c English: the "
                       "English question on every drawn context and the converse, 1 + 2 ntl), cross-only (q != c: "
                       "ntl (1 + ntl)); the languages drawn are the same in every mode", choices=PAIRS, default="all")
    sample: bool = _help("cross-lingual sampling of the training data (False: train on it as is)", default=True)
    max_train_examples: int = _help("cap on training examples after sampling: whole question ids drawn at random "
                                    "(seeded by train.seed), so the cap spans many paragraphs (0: all)", ge=0, default=0)
    exclude_qids_from: str = _help("drop training questions whose id or context occurs in this file/folder (e.g. XQuAD)", default="")
    synthetic_paragraphs: int = _help("paragraphs of the synthetic set (train = synthetic)", ge=1, default=400)

    def __post_init__(self):
        check_fields(self, "data.")
        for lang in self.languages:
            check_language(lang, "data.languages")
        if not self.languages:
            raise ConfigError("data.languages is empty: name the languages of the training data, e.g. "
                              "[\"en\", \"es\", \"de\"]")
        if self.sample and self.en_centric and "en" not in self.languages:
            raise ConfigError("data.languages must include 'en' when data.en_centric = true")
        if self.pairs != "all":
            if not self.sample:
                raise ConfigError(f"data.pairs = {self.pairs!r} selects pairs of the cross-lingual sampling: it "
                                  "needs data.sample = true")
            if self.ntl == 0 and self.pairs in ("english-question", "cross-only"):
                raise ConfigError(f"data.ntl = 0 keeps the same-language pairs only: data.pairs = {self.pairs!r} "
                                  "needs data.ntl >= 1")
            if self.pairs == "english-question" and not self.en_centric:
                raise ConfigError("data.pairs = 'english-question' pairs every drawn language with English: it "
                                  "needs data.en_centric = true (English is always drawn)")
        if self.sample:
            targets = len(set(self.languages) - {"en"}) if self.en_centric else len(set(self.languages))
            if self.ntl > targets:  # the official sampler silently takes every language then
                what = "languages besides English" if self.en_centric else "languages"
                raise ConfigError(f"data.ntl = {self.ntl}, but data.languages has only {targets} {what}: use "
                                  f"data.ntl <= {targets} (data.ntl = {targets} takes them all)")


@dataclass
class ModelConfig:
    name: str = _help("encoder: hub id, local path, or tiny-bert[:hidden:layers] (offline)", default="bert-base-multilingual-cased")
    init_from: str = _help("start from this checkpoint (e.g. the teacher run's output); empty: `name`", default="")
    vocab_size: int = _help("tokenizer size for tiny-bert", ge=1, default=4000)

    def __post_init__(self):
        check_fields(self, "model.")

    @property
    def source(self) -> str:
        """What a stage starts from: init_from when set, else name."""
        return self.init_from or self.name


@dataclass
class TrainConfig:
    stage: str = _help("teacher (CE on English SQuAD-format data), distill (CE + w*KL in generations), or "
                       "evaluate (score model.init_from or model.name as it is)", choices=STAGES, default="distill")
    epochs: int = _help("epochs; every epoch of distill is a generation", ge=1, default=3)
    learning_rate: float = _help("peak AdamW learning rate", gt=0, lt=1, default=3e-5)
    weight_decay: float = _help("AdamW weight decay", default=0.01)
    warmup_ratio: float = _help("linear warmup as a share of all optimizer steps", ge=0, lt=1, default=0.1)
    batch_size: int = _help("examples per device per micro-batch", ge=1, default=12)
    grad_accum: int = _help("micro-batches per optimizer step", ge=1, default=2)
    max_grad_norm: float = _help("gradient clipping (0: off)", default=1.0)
    precision: str = _help("no | tf32 | bf16 | fp16 (on CUDA: no = IEEE fp32, the paper's; tf32 = fp32 storage "
                           "with TF32 matmuls; bf16 and fp16 = AMP); CPU runs fp32", choices=PRECISIONS, default="no")
    deterministic: bool = _help("deterministic CUDA algorithms (slower; a killed and resumed run then repeats "
                                "the uninterrupted one's rows exactly where every kernel has a deterministic "
                                "version)", default=False)
    seed: int = _help("seed of sampling, init, shuffling and dropout", default=42)
    log_every: int = _help("optimizer steps per logging window", ge=1, default=10)
    eval_every: int = _help("optimizer steps between dev evaluations (0: end of every epoch)", ge=0, default=0)
    checkpoint_every: int = _help("optimizer steps between checkpoints (0: end of every epoch only)", ge=0, default=0)
    keep_checkpoints: int = _help("complete checkpoints kept on disk (the newest ones)", ge=1, default=1)
    eval_batch_size: int = _help("features per evaluation batch", ge=1, default=64)
    max_steps: int = _help("stop after this many optimizer steps (0: run all epochs)", ge=0, default=0)
    mask_padding_logits: bool = _help("true: padding positions take no part in the softmax of CE, KL and mAP@k "
                                      "(xlqa's default: the loss does not depend on how a batch is padded); false: "
                                      "the paper's code, softmax over every position up to features.max_length "
                                      "(needs features.padding = 'max_length')", default=True)
    optimizer: str = _help("adamw (torch's: eps after the bias correction) or adamw-legacy (transformers 4.x "
                           "AdamW, the paper's code: eps on the uncorrected sqrt(v), weight decay after the update)",
                           choices=OPTIMIZERS, default="adamw")
    epoch_tail: str = _help("the micro-batches left at an epoch end when their number is not a multiple of "
                            "grad_accum: step (xlqa's default: one shorter step) or carry (the paper's code: no "
                            "step, their gradients join the next epoch's first step and are never applied after "
                            "the last epoch; floor(micro-batches / grad_accum) steps per epoch)", choices=EPOCH_TAILS, default="step")

    def __post_init__(self):
        check_fields(self, "train.")


@dataclass
class DistillConfig:
    temperature: float = _help("softmax temperature T of teacher and student", gt=0, default=2.0)
    a_ce: float = _help("weight of the CE term (0: the no-CE ablation)", ge=0, default=1.0)
    a_kl: float = _help("weight of the KL term", ge=0, default=1.0)
    kl_direction: str = _help("forward KL(teacher||student), reverse KL(student||teacher), symmetric (their sum, "
                              "as the paper's code), or symmetric-mean (half of it)", choices=KL_DIRECTIONS, default="forward")
    coefficient: str = _help("w, how much the KL term trusts the teacher: map@k (the paper's: reciprocal rank of "
                             "the first top-k hit near the gold span), mrr@k (exact hits), and beyond the paper "
                             "entropy (1 - H(p_T)/log positions), confidence (top-1 p_T), gold-mass (p_T on the "
                             "gold position +- window), each the mean of start and end at temperature T; as a "
                             "batch-level w, or per example with -example; none: w = 1",
                             choices=COEFFICIENTS, default="map@k")
    k: int = _help("top-k positions of the teacher in mAP@k / MRR@k", ge=1, default=10)
    window: int = _help("map@k: a hit is within [gold - window, gold + window); gold-mass: the mass on "
                        "[gold - window, gold + window]", ge=0, default=5)
    teacher_cache_dtype: str = _help("how the generation's teacher logits are kept: float16 (half the memory; "
                                     "losses within 2e-3 relative) or float32 (the paper's code runs the teacher "
                                     "live in fp32: identical losses)", choices=CACHE_DTYPES, default="float16")
    coef_group: int = _help("0: the batch-level w over each micro-batch (the paper's); G > 0: w per group of G "
                            "examples inside the micro-batch, the loss and gradient of G-sized accumulation "
                            "(batch_size 24, coef_group 6 = the paper's 6 x 4, with fewer kernel launches)",
                            ge=0, default=0)

    def __post_init__(self):
        check_fields(self, "distill.")


@dataclass
class EvalConfig:
    dev: str = _help("suite for model selection (its G-XLT F1)", default="mlqa-dev")
    suites: list[str] = _help("suites scored at the end on the best checkpoint", default_factory=lambda: ["mlqa-dev"])
    data_dir: str = _help("folder holding mlqa/ xquad/ tydiqa/ (empty: $XLQA_DATA_DIR or the hub)", default="")
    languages: list[str] = _help("languages of the matrix", default_factory=lambda: list(MLQA_LANGUAGES))
    max_per_cell: int = _help("fixed random subset of questions per cell (0: all)", ge=0, default=0)
    synthetic_paragraphs: int = _help("paragraphs of the synthetic suite (3 questions each, in every language)",
                                      ge=1, default=60)
    subset_seed: int = _help("draws the max_per_cell subset (and the synthetic suite); apart from train.seed so "
                             "that models trained with different seeds are scored on the same questions", default=0)
    xlt_suites: list[str] = _help("suites scored on same-language cells only (the paper's XQuAD / TyDiQA XLT)",
                                  default_factory=list)
    xlt_languages: list[str] = _help("languages of xlt_suites, e.g. el ru tr th (empty: eval.languages)",
                                     default_factory=list)
    suite_languages: dict[str, list[str]] = _help(
        "languages of one suite, over eval.languages (or eval.xlt_languages for an XLT suite), e.g. "
        "{xquad = [\"el\", \"ru\", \"tr\", \"th\"], tydiqa = [\"bn\", \"fi\", \"id\", \"ko\", \"ru\", \"sw\", \"te\"]}: the "
        "paper's XLT means are over other languages for each suite", default_factory=dict)
    exclude_trained: bool = _help("leave out of evaluation the questions trained on and every question of their "
                                  "paragraphs (true: fair when a suite shares questions with the training data, "
                                  "e.g. XQuAD el/ru after training on XQuAD en/es; false: the paper's protocol, "
                                  "scoring XQuAD el/ru/tr/th on all questions). MLQA never overlaps XQuAD.",
                                  default=True)
    checkpoint: str = _help("what the evaluate job scores: best (the best dev checkpoint; the final one without "
                            "a dev suite) or final (the paper's code keeps each run's final model)",
                            choices=SCORED_CHECKPOINTS, default="best")
    max_context: bool = _help("decode a start only in the window where its token has the most context (the "
                              "legacy SQuAD rule of the paper's evaluation); false: every window (HF run_qa.py)",
                              default=False)
    n_best: int = _help("top start and end positions searched per window", ge=1, default=20)
    max_answer_length: int = _help("longest answer in tokens", ge=1, default=30)
    answer_text: str = _help("how a predicted span becomes text: offsets (the context cut at the tokenizer's "
                             "offsets, HF run_qa.py) or legacy (the paper's get_final_text: basic-tokenizer "
                             "alignment, whole whitespace words when it fails, e.g. on NBSP or a zero-width space)",
                             choices=ANSWER_TEXTS, default="offsets")

    def __post_init__(self):
        check_fields(self, "eval.")
        for lang in self.languages:
            check_language(lang, "eval.languages")
        for lang in self.xlt_languages:
            check_language(lang, "eval.xlt_languages")
        scored = list(dict.fromkeys([self.dev] * bool(self.dev) + self.suites + self.xlt_suites))
        for suite, langs in self.suite_languages.items():
            key = f"eval.suite_languages.{suite}"
            if suite not in scored:
                raise ConfigError(f"{key}: {suite!r} is not scored (eval.dev, eval.suites, eval.xlt_suites: "
                                  f"{', '.join(scored) or 'none'})")
            if not langs:
                raise ConfigError(f"{key} is empty: name its languages, or remove the entry")
            for lang in langs:
                check_language(lang, key)
            known = SUITES.get(suite)
            stray = [l for l in langs if known is not None and l not in known.languages]
            if stray:
                raise ConfigError(f"{key}: suite {suite} has no {', '.join(stray)} (it has "
                                  f"{', '.join(known.languages)})")
        both = sorted(set(self.suites) & set(self.xlt_suites))
        if both:
            raise ConfigError(f"eval.suites and eval.xlt_suites both name {', '.join(both)}: "
                              "cells of one suite are stored under its name, so keep it in one list")

    def languages_of(self, suite: str, xlt_only: bool) -> list[str]:
        """The languages a suite is scored in."""
        if suite in self.suite_languages:
            return list(self.suite_languages[suite])
        return list((self.xlt_languages or self.languages) if xlt_only else self.languages)


@dataclass
class SlurmConfig:
    """Where `launch --executor slurm` submits each run (through submitit); flags of launch override these."""
    partition: str = _help("Slurm partition (empty: the cluster's default)", default="")
    account: str = _help("Slurm account (empty: none)", default="")
    nodes: int = _help("nodes per training run (more than 1: multi-node DDP under accelerate)", ge=1, default=1)
    gpus_per_node: int = _help("GPUs per node", ge=0, default=1)
    cpus_per_task: int = _help("CPU cores per node", ge=1, default=8)
    time: str = _help("time limit HH:MM:SS of each job (at the warning before it, the job checkpoints and is "
                      "requeued)", default="24:00:00")
    warning_s: int = _help("seconds before the time limit (or at preemption) that Slurm warns the job: time to "
                           "write its checkpoint and rows", ge=1, default=90)

    def __post_init__(self):
        check_fields(self, "slurm.")
        parts = self.time.split(":")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ConfigError(f"slurm.time = {self.time!r}: use HH:MM:SS")

    @property
    def timeout_min(self) -> int:
        h, m, s = (int(p) for p in self.time.split(":"))
        return max(1, h * 60 + m + (1 if s else 0))

    @property
    def time_s(self) -> int:
        h, m, s = (int(p) for p in self.time.split(":"))
        return h * 3600 + m * 60 + s


@dataclass
class AlertConfig:
    """When a worker raises the alerts that watch training (docs/alerts.md); how they are sent is set once per
    user (a webhook or a command), not per experiment."""
    coef_floor: float = _help("coef_collapse: raised when the window mean of the distillation coefficient w "
                              "(mAP@k) stays under this for coef_windows logging windows in a row, the signature "
                              "of the paper's no-CE ablation (0: off)", ge=0, lt=1, default=0.05)
    coef_windows: int = _help("logging windows in a row under alerts.coef_floor before coef_collapse is raised",
                              ge=1, default=5)

    def __post_init__(self):
        check_fields(self, "alerts.")


@dataclass
class ExperimentConfig:
    name: str = _help("experiment name", default="experiment")
    output_dir: str = _help("where runs write checkpoints and logs (empty: ~/.local/share/xlqa/runs)", launch=True,
                            default="")
    sweep: str = _help("the sweep this run belongs to (set by `xlqa-run sweep`)", launch="sweep", default="")
    grid_point: str = _help("its point of the sweep's grid, e.g. 'data.ntl=2 distill.temperature=4 train.seed=1'",
                            launch="sweep", default="")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    slurm: SlurmConfig = field(default_factory=SlurmConfig, metadata={"launch": True})
    alerts: AlertConfig = field(default_factory=AlertConfig, metadata={"launch": True})

    def __post_init__(self):
        check_fields(self.features, "features.")
        if not self.train.mask_padding_logits and self.features.padding != "max_length":
            raise ConfigError("train.mask_padding_logits = false needs features.padding = 'max_length': an unmasked "
                              "softmax over dynamic padding would depend on each batch's longest feature")
        if self.train.stage == "evaluate" and not (self.eval.suites or self.eval.xlt_suites):
            raise ConfigError("train.stage = 'evaluate' needs eval.suites or eval.xlt_suites")
        if self.train.stage == "evaluate" and self.model.source.startswith(TINY_PREFIX):
            raise ConfigError("train.stage = 'evaluate' scores a trained checkpoint: set model.init_from to its folder")

    def to_dict(self) -> dict:
        return asdict(self)

    def to_toml(self) -> str:
        import tomli_w
        return tomli_w.dumps(self.to_dict())

    def replace(self, **overrides) -> "ExperimentConfig":
        return from_dict(_merge(self.to_dict(), _nest(overrides)))


def _nest(flat: dict) -> dict:
    out: dict = {}
    for key, value in flat.items():
        node = out
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def _merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for k, v in over.items():
        merged[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return merged


def _build(cls, values: dict, prefix: str):
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a table, got {values!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown key {prefix}{unknown[0]}; known keys: {', '.join(prefix + k for k in known)}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, hint, prefix + name)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except ValueError as e:
        raise ConfigError(f"{prefix.rstrip('.')}: {e}") from e


def _coerce(value, hint, key: str):
    origin = typing.get_origin(hint)
    if origin is dict:  # a TOML table of lists, e.g. eval.suite_languages
        if value == "":  # an emptied form field
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{key} = {value!r}: expected a table, e.g. {{xquad = [\"el\", \"ru\"]}}")
        item = typing.get_args(hint)[1]
        return {str(k): _coerce(v, item, f"{key}.{k}") for k, v in value.items()}
    try:
        if origin is list:
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list):
                raise TypeError
            return [str(v) for v in value]
        if hint is bool:
            if isinstance(value, str):
                if value.lower() in ("true", "1", "yes", "on"):
                    return True
                if value.lower() in ("false", "0", "no", "off"):
                    return False
                raise TypeError
            if not isinstance(value, bool):
                raise TypeError
            return value
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if hint is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise TypeError
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        return value
    raise ConfigError(f"{key} = {value!r}: expected {getattr(hint, '__name__', hint)}")


def from_dict(values: dict) -> ExperimentConfig:
    return _build(ExperimentConfig, values, "")


PATH_KEYS = ("output_dir", "data.train", "data.exclude_qids_from", "model.name", "model.init_from", "eval.data_dir")


def resolve_paths(values: dict, base: Path | None) -> dict:
    """Paths in a config file: `$VAR` and `~` expand, and a relative path is relative to the file's folder
    (so a config works from any working directory). Hub ids, `synthetic`, `hub:` and `tiny-bert` stay."""
    import os
    out = _merge(values, {})
    for key in PATH_KEYS:
        *parents, last = key.split(".")
        node = out
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if not isinstance(node, dict) or not isinstance(node.get(last), str) or not node[last]:
            continue
        value = node[last]
        if value == "synthetic" or value.startswith(("hub:", TINY_PREFIX)):
            continue
        for var in re.findall(r"\$\{?(\w+)\}?", value):
            if var not in os.environ:
                where = (" (a folder of the official release files: `xlqa-run data fetch xquad squad mlqa tydiqa "
                         "--to PATH` writes one)") if key in ("data.train", "eval.data_dir") else ""
                raise ConfigError(f"{key} = {value!r} uses ${var}, which is not set: export {var}=PATH{where}")
        if key == "model.name" and not value.startswith(("/", ".", "~", "$")):
            continue  # a hub id such as org/model
        expanded = os.path.expanduser(os.path.expandvars(value))
        if base is not None and not Path(expanded).is_absolute():
            expanded = str((base / expanded).resolve())
        node[last] = expanded
    return out


def load_toml(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """A TOML file plus `key=value` overrides (dotted keys, e.g. distill.temperature=3). Paths in the file
    are resolved against its folder (resolve_paths); paths in overrides against the working directory."""
    path = Path(path)
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: no such config file") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from e
    return apply_overrides(resolve_paths(values, path.resolve().parent), overrides)


def apply_overrides(values: dict, overrides) -> ExperimentConfig:
    """`values` plus `key=value` overrides; a path in an override is relative to the working directory, resolved
    now, so the stored config means the same folder to every later process (worker, resume, dashboard)."""
    flat = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. distill.temperature=3")
        k, v = item.split("=", 1)
        flat[k.strip()] = _parse_scalar(v.strip())
    return from_dict(_merge(values, resolve_paths(_nest(flat), Path.cwd())))


def from_form(base: dict, values: dict) -> ExperimentConfig:
    """`base` plus the dashboard form's fields by dotted key, as typed: the text of a number, a list or a table
    reads as TOML, a string field's text stays as it is (no key=value round trip), and paths resolve against
    the working directory as in apply_overrides."""
    hints = leaf_types()
    typed = {k: _parse_scalar(v) if isinstance(v, str) and v and hints.get(k) is not str else v
             for k, v in values.items()}
    return from_dict(_merge(base, resolve_paths(_nest(typed), Path.cwd())))


def leaf_types(cls=ExperimentConfig, prefix: str = "") -> dict:
    """Dotted key -> the type of its field."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        out.update(leaf_types(hint, f"{prefix}{name}.") if dataclasses.is_dataclass(hint) else {prefix + name: hint})
    return out


def _parse_scalar(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def config_hash(config: dict) -> str:
    """A stable hash of a config dict (key order and whitespace do not count): an experiment's identity."""
    import hashlib
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _leaf(d: dict, key: str):
    for part in key.split("."):
        if not isinstance(d, dict) or part not in d:
            return _MISSING
        d = d[part]
    return d


_MISSING = object()


def run_overrides(experiment: dict, run: dict) -> dict:
    """Dotted key -> value for each field where a run's full config differs from its experiment's (e.g.
    {"model.init_from": ".../teacher/best"}). A table-valued field (eval.suite_languages) is one value, so an
    entry deleted in the run stays deleted when rebuilt."""
    out = {}
    for key in leaf_types():
        mine, theirs = _leaf(run, key), _leaf(experiment, key)
        if mine is not _MISSING and mine != theirs:
            out[key] = mine
    return out


def rebuild_config(experiment: dict, overrides: dict) -> dict:
    """A run's full config from its experiment's and its overrides (run_overrides undone), checked."""
    merged = json.loads(json.dumps(experiment))  # a deep copy: the experiment's dict stays as it was
    for key, value in overrides.items():
        *parents, last = key.split(".")
        node = merged
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value  # whole, not merged: a table override replaces the table
    return from_dict(merged).to_dict()


PROVENANCE_FILE = "xlqa_config.json"  # in every published checkpoint and best-model folder, and the run folder


def write_provenance(folder: str | Path, cfg: ExperimentConfig, provenance: dict | None = None) -> Path:
    """Where a model came from: its config, and what the launcher knows (run id, git commit, versions)."""
    path = Path(folder) / PROVENANCE_FILE
    path.write_text(json.dumps({**(provenance or {}), "config": cfg.to_dict()}, indent=1, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path


def read_provenance(folder: str | Path) -> dict:
    """The provenance a model folder holds (ConfigError when it has none)."""
    path = Path(folder) / PROVENANCE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"{folder}: no {PROVENANCE_FILE} (a folder written before xlqa kept its config)") from e


def config_of_model(folder: str | Path) -> ExperimentConfig:
    """The config a published model folder was trained with."""
    return from_dict(read_provenance(folder)["config"])


def field_meta(cls=ExperimentConfig, prefix: str = "", inherited: dict | None = None) -> dict[str, dict]:
    """Dotted key -> its field's metadata (help, choices, ranges, launch); a section's launch mark holds for
    each of its fields."""
    out = {}
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        meta = {**(inherited or {}), **f.metadata}
        if dataclasses.is_dataclass(hints[f.name]):
            out.update(field_meta(hints[f.name], f"{prefix}{f.name}.", {"launch": meta["launch"]} if "launch" in meta else None))
        else:
            out[prefix + f.name] = meta
    return out


# How a run is launched (output folder, sweep point, Slurm), not what it computes: runs that differ in these
# alone computed the same experiment. Executor and devices are arguments of the launch, not config keys.
LAUNCH_KEYS = tuple(k for k, m in field_meta().items() if m.get("launch"))
SWEEP_KEYS = tuple(k for k, m in field_meta().items() if m.get("launch") == "sweep")  # never typed

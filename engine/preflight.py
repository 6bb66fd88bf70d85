"""Checks a config against the machine before anything is queued: every path it names exists, every data
file parses, the data has the languages the config asks for. `launch` and `run` call it and queue nothing
(exit 2) when it finds a problem; a worker would otherwise fail minutes later."""

from __future__ import annotations

import os
from pathlib import Path

from engine.config import TINY_PREFIX, ExperimentConfig
from engine.data.errors import DataError


def looks_local(name: str) -> bool:
    """A path rather than a hub id (`org/model` is a hub id; `./x`, `/x`, `~/x`, `a/b/c` are paths)."""
    return name.startswith(("/", ".", "~")) or name.count("/") >= 2


def check_data_source(spec: str, languages: list[str] | None, key: str) -> list[str]:
    from engine.data.loaders import languages_of_file, qa_files, read_json
    if spec == "synthetic":
        return []
    if spec.startswith("hub:"):  # the name, split and revision only: the hub itself is read by the dry run
        from engine.data.hub import parse_spec
        try:
            parse_spec(spec)
        except DataError as e:
            return [f"{key}: {e}"]
        return []
    path = Path(spec).expanduser()
    if not path.exists():
        return [f"{key} = {spec!r}: no such file or folder (for the official release files, run `xlqa-run data "
                f"fetch xquad squad mlqa tydiqa --to DIR`: it writes DIR/xquad/, DIR/squad/, ...)"]
    files = qa_files(path) if path.is_dir() else [path]
    if not files:
        return [f"{key} = {spec!r}: no .json or .json.gz files in this folder"]
    problems, found = [], set()
    for f in files:
        try:
            read_json(f)  # malformed JSON is named here, with its file, before the file name is looked at
            q, c = languages_of_file(f)
        except DataError as e:
            problems.append(f"{key}: {e}")
            continue
        found |= {q, c} - {None}
    missing = sorted(set(languages or []) - found) if found else []
    if missing and not problems:
        problems.append(f"{key} = {spec!r} has no file for {', '.join(missing)} (it has {', '.join(sorted(found))}): "
                        "fix data.languages or add the files")
    return problems


def _is_path(spec: str) -> bool:
    return bool(spec) and spec != "synthetic" and not spec.startswith(("hub:", TINY_PREFIX))


def missing_paths(cfg: ExperimentConfig, upstream_outputs: bool = False) -> dict[str, str]:
    """Key -> problem for each path of `cfg` that does not exist; reads no file, so the dashboard's form runs
    it as you type. upstream_outputs: model.init_from is made by a run queued before this one."""
    found = {}
    if cfg.train.stage != "evaluate" and _is_path(cfg.data.train) and not Path(cfg.data.train).expanduser().exists():
        found["data.train"] = (f"data.train = {cfg.data.train!r}: no such file or folder (for the official release "
                               "files, run `xlqa-run data fetch xquad squad mlqa tydiqa --to DIR`: it writes "
                               "DIR/xquad/, DIR/squad/, ...)")
    if cfg.data.exclude_qids_from and not Path(cfg.data.exclude_qids_from).expanduser().exists():
        found["data.exclude_qids_from"] = f"data.exclude_qids_from = {cfg.data.exclude_qids_from!r}: no such file or folder"
    for key, name in (("model.name", cfg.model.name), ("model.init_from", cfg.model.init_from)):
        if not _is_path(name) or (key == "model.init_from" and upstream_outputs):
            continue
        if looks_local(name) and not Path(name).expanduser().exists():
            found[key] = f"{key} = {name!r}: no such file or folder (a checkpoint folder, or a hub id like org/model)"
    data_dir = cfg.eval.data_dir or os.environ.get("XLQA_DATA_DIR", "")
    if data_dir and not Path(data_dir).expanduser().is_dir():
        found["eval.data_dir"] = f"eval.data_dir = {data_dir!r}: no such folder (it should hold mlqa/ xquad/ tydiqa/)"
    return found


def preflight(cfg: ExperimentConfig, upstream_outputs: bool = False) -> list[str]:
    """Problems that would make the runs of `cfg` fail; empty when it can be queued (the CLI's `launch` and
    `run`, and the dashboard's form, call it). upstream_outputs: model.init_from is made by a run queued
    before this one, so it need not exist yet."""
    missing = missing_paths(cfg, upstream_outputs)
    problems = []
    if cfg.train.stage != "evaluate" and "data.train" not in missing:
        teacher_on_english = cfg.train.stage == "teacher" and not cfg.data.sample
        problems += check_data_source(cfg.data.train, ["en"] if teacher_on_english else cfg.data.languages, "data.train")
    problems += [text for key, text in missing.items() if key != "eval.data_dir"]
    from engine.suites import SUITES
    suites = [cfg.eval.dev] * bool(cfg.eval.dev) + cfg.eval.suites + cfg.eval.xlt_suites
    for suite in suites:
        if suite not in SUITES and not suite.startswith("synthetic") and not Path(suite).expanduser().exists():
            problems.append(f"evaluation suite {suite!r}: not one of {', '.join(SUITES)}, synthetic, or an existing folder")
    data_dir = cfg.eval.data_dir or os.environ.get("XLQA_DATA_DIR", "")
    if "eval.data_dir" in missing:
        problems.append(missing["eval.data_dir"])
    elif data_dir:
        root = Path(data_dir).expanduser()
        for suite in suites:
            if suite in SUITES and not (root / SUITES[suite].subdir).is_dir():
                problems.append(f"suite {suite}: {root / SUITES[suite].subdir} does not exist "
                                f"(eval.data_dir = {data_dir!r})")
    return problems

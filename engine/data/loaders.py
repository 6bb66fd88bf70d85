"""Read SQuAD-format QA files (plain or .gz), the MLQA / XQuAD / TyDiQA layouts, and hub ids (engine.data.hub).

The file name tells the languages:
  MLQA    {dev,test}-context-C-question-Q.json   XQuAD  xquad.L.json
  TyDiQA  <language>_tydiqa_<split>.json, or tydiqa-goldp-v1.1-<split>.json (language in the id prefix)
  SQuAD   {train,dev}-v1.1.json (English)        other  anything.L.json, or pass lang=
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import datasets

from engine.data.errors import DataError
from engine.data.records import RECORD_FEATURES, records_to_dataset
from engine.languages import MLQA_LANGUAGES, TYDIQA_NAMES, check_language

MLQA_FILE = re.compile(r"^(?:dev|test)-context-(\w+)-question-(\w+)\.json(?:\.gz)?$")
XQUAD_FILE = re.compile(r"^xquad\.(\w+)\.json(?:\.gz)?$")
TYDIQA_LANG_FILE = re.compile(r"^([a-z]+)_tydiqa_(?:dev|train)\.json(?:\.gz)?$")
TYDIQA_ALL_FILE = re.compile(r"^tydiqa-goldp-v1\.1-(?:dev|train)\.json(?:\.gz)?$")
SQUAD_FILE = re.compile(r"^(?:train|dev)-v1\.1\.json(?:\.gz)?$")
GENERIC_LANG_FILE = re.compile(r"^.*[._-]([a-z]{2})\.json(?:\.gz)?$")


def read_json(path: str | Path):
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found", "check the path (folders and .json/.json.gz files are accepted)")
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(path, f"not valid JSON ({e})", "the file must be SQuAD-format JSON, optionally gzip-compressed") from e


def languages_of_file(path: Path) -> tuple[str | None, str | None]:
    """(question language, context language) that the file name tells, or (None, None)."""
    name = path.name
    if m := MLQA_FILE.match(name):
        return m.group(2), m.group(1)
    if m := XQUAD_FILE.match(name):
        return m.group(1), m.group(1)
    if m := TYDIQA_LANG_FILE.match(name):
        lang = TYDIQA_NAMES.get(m.group(1))
        if lang is None:
            raise DataError(path, f"unknown TyDiQA language name {m.group(1)!r}",
                            f"use one of {', '.join(sorted(TYDIQA_NAMES))}")
        return lang, lang
    if SQUAD_FILE.match(name):
        return "en", "en"
    if m := GENERIC_LANG_FILE.match(name):
        return m.group(1), m.group(1)
    return None, None


def iter_squad_problems(obj, path) -> list[DataError]:
    """Every structural and offset problem of a SQuAD-format object (empty list: the file is fine)."""
    problems: list[DataError] = []
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        return [DataError(path, "no top-level 'data' list", "SQuAD layout: {'data': [{'paragraphs': [{'context', 'qas'}]}]}")]
    seen: set[str] = set()
    for a, article in enumerate(obj["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            problems.append(DataError(path, f"data[{a}] has no 'paragraphs' list", "each article needs 'paragraphs'"))
            continue
        for p, para in enumerate(paragraphs):
            if not isinstance(para, dict) or not isinstance(para.get("context"), str) or not isinstance(para.get("qas"), list):
                problems.append(DataError(path, f"data[{a}].paragraphs[{p}] needs a 'context' string and a 'qas' list",
                                          "fix the paragraph entry"))
                continue
            context = para["context"]
            for qa in para["qas"]:
                qid = qa.get("id") if isinstance(qa, dict) else None
                if not isinstance(qid, str) or not qid:
                    problems.append(DataError(path, f"a question in data[{a}].paragraphs[{p}] has no 'id'", "give every question a unique string id"))
                    continue
                if qid in seen:
                    problems.append(DataError(path, "duplicate question id", "ids must be unique within a file", qid))
                seen.add(qid)
                if not isinstance(qa.get("question"), str):
                    problems.append(DataError(path, "no 'question' text", "add the question string", qid))
                answers = qa.get("answers")
                if not isinstance(answers, list) or not answers:
                    problems.append(DataError(path, "no answers", "extractive QA needs at least one answer {text, answer_start}", qid))
                    continue
                for ans in answers:
                    text, start = (ans.get("text"), ans.get("answer_start")) if isinstance(ans, dict) else (None, None)
                    if not isinstance(text, str) or not isinstance(start, int):
                        problems.append(DataError(path, f"malformed answer {ans!r}", "each answer needs 'text' (str) and 'answer_start' (int)", qid))
                    elif context[start:start + len(text)] != text:
                        found = context[start:start + len(text)]
                        hint = context.find(text)
                        fix = (f"answer_start should be {hint}" if hint >= 0 else "the answer text does not occur in the context")
                        problems.append(DataError(path, f"answer_start {start} points at {found!r}, not {text!r}", fix, qid))
    return problems


def records_from_squad(obj, path, lang_q: str | None, lang_c: str | None, strict: bool = True) -> list[dict]:
    problems = iter_squad_problems(obj, path)
    if problems and strict:
        more = f" (and {len(problems) - 1} more problems; run `xlqa-run data check {path}`)" if len(problems) > 1 else ""
        raise DataError(problems[0].path, problems[0].problem + more, problems[0].fix, problems[0].qid)
    records = []
    for article in obj["data"]:
        title = article.get("title", "") or ""
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                qid = qa["id"]
                lq, lc = lang_q, lang_c
                if lq is None:  # combined TyDiQA file: 'arabic-123-0'
                    prefix = qid.split("-", 1)[0]
                    if prefix not in TYDIQA_NAMES:
                        raise DataError(path, "cannot tell the language of this question", "name the file like xquad.L.json or pass the language explicitly", qid)
                    lq = lc = TYDIQA_NAMES[prefix]
                records.append({
                    "id": qid, "qid": qid, "lang_q": lq, "lang_c": lc, "title": title,
                    "question": qa["question"], "context": para["context"],
                    "answers": {"text": [a["text"] for a in qa["answers"]],
                                "answer_start": [a["answer_start"] for a in qa["answers"]]},
                })
    return records


def load_squad_file(path: str | Path, lang: str | None = None, lang_q: str | None = None) -> datasets.Dataset:
    """One SQuAD-format file as a record table. `lang` overrides what the file name tells."""
    path = Path(path)
    obj = read_json(path)  # a broken file is named as broken, whatever its name
    file_q, file_c = languages_of_file(path)
    lang_c = lang or file_c
    lang_q = lang_q or lang or file_q
    if lang_c is None and not TYDIQA_ALL_FILE.match(path.name):
        raise DataError(path, "cannot tell the language from the file name",
                        "name it like xquad.L.json / dev-context-C-question-Q.json, or pass --language")
    for code in (lang_q, lang_c):
        if code is not None:
            check_language(code, str(path))
    return records_to_dataset(records_from_squad(obj, path, lang_q, lang_c))


def qa_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith((".json", ".json.gz")))


def load_path(path: str | Path, languages: list[str] | None = None) -> datasets.Dataset:
    """A file or a folder of files (any layout above) as one record table, optionally limited to languages."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "no such file or folder", "check the path")
    files = qa_files(path) if path.is_dir() else [path]
    if not files:
        raise DataError(path, "no .json or .json.gz files in this folder", "point at a folder of SQuAD-format files")
    tables = []
    for f in files:
        q, c = languages_of_file(f)
        if languages and q is not None and (q not in languages or c not in languages):
            continue
        tables.append(load_squad_file(f))
    if not tables:
        raise DataError(path, f"no file for the languages {languages}", "check --languages against the file names")
    table = datasets.concatenate_datasets(tables) if len(tables) > 1 else tables[0]
    if languages:
        table = table.filter(lambda r: r["lang_q"] in languages and r["lang_c"] in languages)
    return table


def load_monolingual_folder(path: str | Path, languages: list[str] | None = None) -> dict[str, datasets.Dataset]:
    """{language: records} from the monolingual files of an MLQA, XQuAD or TyDiQA folder (or one file)."""
    table = load_path(path, languages)
    mono = table.filter(lambda r: r["lang_q"] == r["lang_c"])
    langs = sorted(set(mono["lang_c"]))
    if not langs:
        raise DataError(path, "no monolingual files (question language == context language)",
                        "use the MLQA dev-context-L-question-L files or the XQuAD xquad.L files")
    return {lang: mono.filter(lambda r, lang=lang: r["lang_c"] == lang) for lang in langs}


def load_source(spec: str, languages: list[str] | None = None) -> datasets.Dataset:
    """A data source of a config: a local path, or `hub:NAME[:split][@revision]` (e.g. hub:xquad:validation).

    Hub sources load every requested language (monolingual); MLQA cross cells are rebuilt by align.
    """
    if spec.startswith("hub:"):
        from engine.data.hub import load_hub, parse_spec
        name, split, revision = parse_spec(spec)
        if name == "squad":
            return load_hub(name, split, "en", "en", revision)
        if name == "tydiqa":
            table = load_hub(name, split, revision=revision)
            return table.filter(lambda r: r["lang_c"] in languages) if languages else table
        langs = languages or list(MLQA_LANGUAGES)
        return datasets.concatenate_datasets([load_hub(name, split, lang, lang, revision) for lang in langs])
    return load_path(spec, languages)


__all__ = ["RECORD_FEATURES", "load_path", "load_squad_file", "load_monolingual_folder", "load_source"]

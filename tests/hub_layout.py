"""Local stand-ins of the hub repositories, in their parquet layout, built from the committed fixtures.

Each is a folder that `datasets.load_dataset(folder, config, split=...)` reads as it reads the hub repository:
a README.md whose YAML `configs:` block maps each config and split to `CONFIG/SPLIT-00000-of-00001.parquet`.
The rows are made the way the hub's loading scripts made them: each context (and answer text) stripped,
`answer_start` kept, so a context that began with whitespace shifts its answers. The fixtures hold such
contexts: 14 of the 62 XQuAD-ar answers and 12 of the 117 TyDiQA answers shift.
"""

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ANSWERS = pa.struct([("text", pa.list_(pa.string())), ("answer_start", pa.list_(pa.int32()))])


def hub_rows(squad_obj, with_title=True):
    rows = []
    for article in squad_obj["data"]:
        for para in article["paragraphs"]:
            context = para["context"].strip()
            for qa in para["qas"]:
                row = {"id": qa["id"], "context": context, "question": qa["question"],
                       "answers": {"text": [a["text"].strip() for a in qa["answers"]],
                                   "answer_start": [a["answer_start"] for a in qa["answers"]]}}
                if with_title:
                    row = {"id": row["id"], "title": article.get("title", ""), **{k: v for k, v in row.items() if k != "id"}}
                rows.append(row)
    return rows


def write_repo(folder: Path, configs: dict[str, dict[str, list[dict]]]) -> Path:
    """configs: {config: {split: rows}} -> a folder in the hub's parquet layout."""
    folder.mkdir(parents=True, exist_ok=True)
    yaml = ["---", "configs:"]
    for config, splits in configs.items():
        yaml += [f"- config_name: {config}", "  data_files:"]
        for split, rows in splits.items():
            path = f"{config}/{split}-00000-of-00001.parquet"
            (folder / config).mkdir(exist_ok=True)
            fields = [pa.field(k, ANSWERS if k == "answers" else pa.string()) for k in rows[0]]
            pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema(fields)), folder / path)
            yaml += [f"  - split: {split}", f"    path: {path}"]
    (folder / "README.md").write_text("\n".join(yaml + ["---", "", "A local copy in the hub's layout (tests).", ""]))
    return folder


def read(path: Path):
    return json.load(gzip.open(path, "rt", encoding="utf-8"))


def xquad_repo(folder: Path, fixture_data: Path, languages, edit=None) -> Path:
    """google/xquad's configs `xquad.L` (no title column). edit(lang, rows) may change rows before writing."""
    configs = {}
    for lang in languages:
        rows = hub_rows(read(fixture_data / f"xquad/xquad.{lang}.json.gz"), with_title=False)
        configs[f"xquad.{lang}"] = {"validation": edit(lang, rows) if edit else rows}
    return write_repo(folder, configs)


def xtreme_mlqa_repo(folder: Path, fixture_data: Path, languages) -> Path:
    """google/xtreme's MLQA configs `MLQA.C.Q` (monolingual cells only), splits validation and test."""
    configs = {}
    for lang in languages:
        rows = hub_rows(read(fixture_data / f"mlqa/dev/dev-context-{lang}-question-{lang}.json.gz"))
        configs[f"MLQA.{lang}.{lang}"] = {"validation": rows, "test": rows}
    return write_repo(folder, configs)


def tydiqa_repo(folder: Path, fixture_data: Path) -> Path:
    rows = []
    for f in sorted((fixture_data / "tydiqa/dev").glob("*.json.gz")):
        rows += hub_rows(read(f))
    return write_repo(folder, {"secondary_task": {"validation": rows, "train": rows}})


def squad_repo(folder: Path, fixture_data: Path) -> Path:
    rows = hub_rows(read(fixture_data / "squad/dev-v1.1.json.gz"))
    return write_repo(folder, {"plain_text": {"train": rows, "validation": rows}})

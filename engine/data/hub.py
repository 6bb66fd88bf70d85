"""Hub datasets as record tables: the repositories that load with today's `datasets` (parquet, no script),
each read at a stated revision, every answer offset checked.

A source is named `hub:NAME[:split][@revision]`. The revision defaults to HUB_SOURCES[NAME].revision; a branch
name ("main") is resolved to its commit before loading, and the commit read is logged with the counts of the
offset check, so a run's log says exactly what it read. The commits a process read are kept (`sources_read`):
the job records them in its run's versions in place of the branch pinned in the code.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from engine.data.errors import DataError

log = logging.getLogger("xlqa.data")   # under "xlqa": the worker log and `run` show it
COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class HubSource:
    repo: str                    # a hub id, or a local folder in the same layout (tests, mirrors)
    revision: str                # a commit sha where one was verified, else a branch resolved at load time
    config: str                  # {c} context language, {q} question language
    splits: tuple[str, ...]
    lang_from_id: bool = False   # TyDiQA: one config for all languages, the language is the id's prefix


# No commit of these repositories could be checked from here (the hub is not reachable from the build machines),
# so they read "main", resolved to its commit at load time and logged. Pin one with `hub:NAME@SHA`, or here
# once checked: a wrong sha stops every load. facebook/mlqa is still a loading script, which datasets >= 4
# refuses; google/xtreme serves the same MLQA files as parquet.
HUB_SOURCES: dict[str, HubSource] = {
    "mlqa": HubSource("google/xtreme", "main", "MLQA.{c}.{q}", ("validation", "test")),
    "xquad": HubSource("google/xquad", "main", "xquad.{c}", ("validation",)),
    "tydiqa": HubSource("google-research-datasets/tydiqa", "main", "secondary_task", ("train", "validation"),
                        lang_from_id=True),
    "squad": HubSource("rajpurkar/squad", "main", "plain_text", ("train", "validation")),
}
DEFAULT_SPLIT = {"squad": "train"}


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """`hub:NAME[:split][@revision]` -> (name, split, revision or None)."""
    body, _, revision = spec[len("hub:"):].partition("@")
    name, _, split = body.partition(":")
    if name not in HUB_SOURCES:
        raise DataError(spec, "unknown hub dataset", f"use one of {', '.join('hub:' + n for n in HUB_SOURCES)}")
    split = split or DEFAULT_SPLIT.get(name, "validation")
    if split not in HUB_SOURCES[name].splits:
        raise DataError(spec, f"{name} has no split {split!r}", f"use one of {', '.join(HUB_SOURCES[name].splits)}")
    return name, split, revision or None


def snapshot_commit(folder: Path) -> str | None:
    """The commit of a folder in huggingface_hub's cache layout (`datasets--ORG--NAME/snapshots/<sha>/`, what
    `snapshot_download` returns): the snapshot folder is named by the commit it holds. None for any other folder."""
    folder = Path(folder).resolve()
    return folder.name if folder.parent.name == "snapshots" and COMMIT.match(folder.name) else None


@functools.lru_cache(maxsize=None)
def resolve_revision(repo: str, revision: str) -> str:
    """The commit a branch or tag points at now (a local folder: its snapshot's commit, else 'local'). Cached:
    the seven MLQA cells of one process read the same commit even if the branch moves meanwhile."""
    if Path(repo).is_dir():
        return snapshot_commit(Path(repo)) or "local"
    if COMMIT.match(revision):
        return revision
    from huggingface_hub import HfApi
    return HfApi().dataset_info(repo, revision=revision).sha


def load_dataset(*args, **kwargs):
    import datasets
    return datasets.load_dataset(*args, **kwargs)


def load_hub(name: str, split: str, lang_q: str | None = None, lang_c: str | None = None, revision: str | None = None):
    """One split of a hub dataset (MLQA: the cell of context lang_c and question lang_q), offsets checked.

    Whatever the hub cannot give (offline, a script that datasets no longer runs, a wrong revision) ends in one
    DataError naming `xlqa-run data fetch`."""
    source = HUB_SOURCES.get(name)
    if source is None:
        raise DataError(f"hub:{name}", "unknown hub dataset", f"use one of {', '.join(HUB_SOURCES)}")
    config = source.config.format(c=lang_c, q=lang_q)
    where = f"hub:{name} ({source.repo}, {config}, {split})"
    try:
        commit = resolve_revision(source.repo, revision or source.revision)
        rows = load_dataset(source.repo, config, split=split,
                            revision=None if commit == "local" else commit)
    except DataError:
        raise
    except Exception as e:  # network, script-only repository, gated repository, unknown revision: the way out
        first = str(e).splitlines()[0][:160] if str(e) else ""
        raise DataError(where, f"the hub could not provide it ({type(e).__name__}: {first})",
                        f"run `xlqa-run data fetch {name} --to DATA` and use data.train / eval.data_dir = DATA") from e
    table, report = hub_records(rows, name, lang_q, lang_c, source.lang_from_id, f"{where} @ {commit}")
    log.info("read %s @ %s: %d rows", where, commit, report.records)
    _READ[f"hub:{name}"] = f"{source.repo}@{commit}"
    if report.changed or report.refused_records:
        log.warning(report.message())
    return table


def hub_records(rows, name: str, lang_q, lang_c, lang_from_id: bool, where: str):
    """Hub rows in the record layout, re-anchored (engine.data.offsets): (table, report)."""
    from engine.data.offsets import anchor_answers
    from engine.data.records import records_to_dataset
    from engine.languages import TYDIQA_NAMES
    records = []
    for row in rows:
        lq, lc = lang_q, lang_c
        if lang_from_id:
            lq = lc = TYDIQA_NAMES.get(row["id"].split("-", 1)[0])
            if lq is None:
                raise DataError(where, f"unknown language prefix of id {row['id']!r}", "expected TyDiQA GoldP ids")
        records.append({"id": row["id"], "qid": row["id"], "lang_q": lq, "lang_c": lc,
                        "title": row.get("title", "") or "", "question": row["question"], "context": row["context"],
                        "answers": {"text": list(row["answers"]["text"]),
                                    "answer_start": [int(s) for s in row["answers"]["answer_start"]]}})
    kept, report = anchor_answers(records, where)
    return records_to_dataset(kept), report


def pinned_sources() -> dict[str, str]:
    """`hub:NAME` -> `repo@revision` as pinned in the code, for the run's provenance."""
    return {f"hub:{name}": f"{s.repo}@{s.revision}" for name, s in HUB_SOURCES.items()}


_READ: dict[str, str] = {}   # hub:NAME -> repo@commit, for each source this process read since forget_reads()


def sources_read() -> dict[str, str]:
    """`hub:NAME` -> `repo@commit` actually read (the resolved commit, 'local' for a plain folder)."""
    return dict(_READ)


def forget_reads() -> None:
    """A job starts: what an earlier job of the same process (a foreground run) read is not its own."""
    _READ.clear()

"""Any two systems on one suite: prediction files ({id: answer text}, ids `{qid}_{q}-{c}`, as the evaluate job
writes `predictions_<suite>.json` and the official scripts read them), scored per question by the suite's
official script (engine.evaluate.score_cells, the evaluate job's own scoring), then the tests of
engine.significance, paired per (cell, question) as two runs are."""

from __future__ import annotations

import json
from pathlib import Path

from engine.significance import compare, pair


def read_predictions(path: str | Path) -> dict[str, str]:
    try:
        preds = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a JSON prediction file ({e})") from None
    if not isinstance(preds, dict) or not all(isinstance(v, str) for v in preds.values()):
        raise ValueError(f"{path}: a prediction file is one JSON object {{id: answer text}}")
    return preds


def _languages(ids) -> list[str]:
    """The languages named by ids `{qid}_{q}-{c}`, in first-seen order."""
    out: dict[str, None] = {}
    for i in ids:
        cell = i.rpartition("_")[2]
        if "-" in cell:
            q, _, c = cell.partition("-")
            out.setdefault(q)
            out.setdefault(c)
    return list(out)


def score_files(paths: list[str | Path], suite: str, data_dir: str = "") -> list[tuple[list[tuple], list[dict]]]:
    """Each file's (per-question rows (lang_q, lang_c, qid, em, f1), cells) on the questions any of the files
    answers (a question one file leaves out scores 0 there, as in the official scripts)."""
    from engine.evaluate import score_cells, suite_records
    preds = [read_predictions(p) for p in paths]
    ids = set().union(*preds)
    records = suite_records(suite, _languages(ids), data_dir)
    keep = [i for i, rid in enumerate(records["id"]) if rid in ids]
    if not keep:
        raise ValueError(f"no id of the prediction files is a question of suite {suite} (ids look like "
                         f"{records['id'][0]!r})")
    records = records.select(keep)
    out = []
    for p in preds:
        cells = score_cells(records, p, suite)
        rows = [(c["lang_q"], c["lang_c"], qid, em, f1) for c in cells for qid, em, f1 in c["questions"]]
        out.append((rows, [{k: c[k] for k in ("lang_q", "lang_c", "n", "exact_match", "f1")} for c in cells]))
    return out


def compare_files(path_a, path_b, suite: str, data_dir: str = "", metric: str = "f1", resamples: int = 10_000,
                  seed: int = 0, per_cell: bool = False) -> dict:
    """B - A of two prediction files, in the layout of `compare --significance --json`."""
    from engine.analysis.tables import with_aso_and_power
    (rows_a, cells_a), (rows_b, cells_b) = score_files([path_a, path_b], suite, data_dir)
    result = with_aso_and_power(compare(pair([rows_a], [rows_b], metric, [cells_a], [cells_b]), resamples, seed,
                                        per_cell))
    result["settings"].update({"suite": suite, "metric": metric})
    result["runs"] = {"a": str(path_a), "b": str(path_b), "seeds": None}
    return result

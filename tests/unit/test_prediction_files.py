"""Any two systems: `compare A.json B.json --suite S` scores prediction files with the suite's official script
and runs the same tests as two stored runs (engine.analysis.prediction_files)."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from db import Store
from engine.cli import main
from engine.evaluate import score_cells, suite_records

DATA = str(Path(__file__).resolve().parents[1] / "data")      # the committed MLQA-dev extract
LANGS = ["en", "de", "es"]


def system_predictions(records, rng, right: float) -> dict[str, str]:
    """A system's {id: answer}: the gold answer for a share `right` of questions, else a piece of the context."""
    return {rid: answers["text"][0] if rng.random() < right else context[:12]
            for rid, answers, context in zip(records["id"], records["answers"], records["context"])}


def stored_evaluation(store, name, records, predictions, seed=1):
    """What the evaluate job stores for these predictions: cells and per-question scores (score_cells)."""
    from engine.jobs.store_sink import StoreSink
    run = store.create_run(store.create_experiment(name), "evaluate", {"name": name, "train": {"seed": seed}},
                           seed=seed, output_dir=f"/nonexistent/{name}")
    cells = score_cells(records, predictions, "mlqa-dev")
    sink = StoreSink(store, run, interval=3600)
    sink.log_eval(5, "mlqa-dev", [{**c, "checkpoint": "best"} for c in cells])
    sink.close()
    store.finish(run, "done")
    return run


def test_prediction_files_give_the_numbers_of_the_run_vs_run_comparison(tmp_path):
    records = suite_records("mlqa-dev", LANGS, DATA)
    rng = np.random.default_rng(0)
    preds_a, preds_b = system_predictions(records, rng, 0.4), system_predictions(records, rng, 0.6)
    file_a, file_b = tmp_path / "predictions_a.json", tmp_path / "predictions_b.json"
    file_a.write_text(json.dumps(preds_a))
    file_b.write_text(json.dumps(preds_b))
    db = str(tmp_path / "x.db")
    store = Store(db)
    run_a, run_b = stored_evaluation(store, "a", records, preds_a), stored_evaluation(store, "b", records, preds_b)
    runner = CliRunner()
    args = ["--significance", "--json", "--resamples", "500"]
    runs = json.loads(runner.invoke(main, ["compare", str(run_a), str(run_b), *args, "--db", db]).output)
    out = runner.invoke(main, ["compare", str(file_a), str(file_b), "--suite", "mlqa-dev", "--data-dir", DATA, *args])
    assert out.exit_code == 0, out.output
    files = json.loads(out.output)
    for view in ("g_xlt", "g_xlt_cross", "xlt"):
        for key in ("a", "b", "delta", "ci95", "p", "p_wilcoxon", "n", "n_questions"):
            assert files[view][key] == pytest.approx(runs[view][key], rel=1e-12, abs=1e-12), (view, key)
    assert files["g_xlt"]["delta"] > 0 and files["pairing"] == runs["pairing"]
    assert [c["p_max_t"] for c in files["cells"]] == pytest.approx([c["p_max_t"] for c in runs["cells"]])
    text = runner.invoke(main, ["compare", str(file_a), str(file_b), "--suite", "mlqa-dev", "--data-dir", DATA,
                                "--significance", "--resamples", "300"], env={"COLUMNS": "80"}).output
    assert "predictions_b.json - predictions_a.json" in " ".join(text.split())


def test_a_prediction_file_needs_a_suite_and_its_ids_must_be_the_suites(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"nope_en-en": "x"}))
    runner = CliRunner()
    no_suite = runner.invoke(main, ["compare", str(path), str(path), "--significance"])
    assert no_suite.exit_code == 2 and "need --suite" in no_suite.output
    foreign = runner.invoke(main, ["compare", str(path), str(path), "--suite", "mlqa-dev", "--data-dir", DATA,
                                   "--significance"])
    assert foreign.exit_code == 2 and "no id of the prediction files" in foreign.output
    (tmp_path / "list.json").write_text("[1, 2]")
    bad = runner.invoke(main, ["compare", str(tmp_path / "list.json"), str(path), "--suite", "mlqa-dev",
                               "--data-dir", DATA, "--significance"])
    assert bad.exit_code == 2 and "{id: answer text}" in bad.output

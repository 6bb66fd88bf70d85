"""Machine-readable output, --db anywhere, Parquet, plots, and `data fetch` against a loopback HTTP server."""

import gzip
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from db.states import COST_TOTALS
from engine.cli import main
from engine.data import fetch as fetch_module
from engine.data.errors import DataError
from tests.tui_fixtures import filled_store


@pytest.fixture
def db(tmp_path):
    store = filled_store(f"sqlite:///{tmp_path / 'x.db'}")
    return str(tmp_path / "x.db"), store


def test_list_show_matrix_as_json_with_stable_keys(db):
    path, store = db
    runner = CliRunner()
    runs = json.loads(runner.invoke(main, ["list", "--json", "--db", path]).output)
    assert [r["id"] for r in runs] == [4, 3, 2, 1]
    assert set(runs[0]) == {"id", "experiment", "experiment_id", "kind", "status", "step", "total_steps", "score",
                            "score_suite", "best_dev_gxlt_f1", "alerts", "alert_level", "seed", "depends_on", "created_at", "started_at",
                            "ended_at", "output_dir", "error", "hint", *COST_TOTALS}
    assert runs[1]["score"] == 47.5 and runs[1]["score_suite"] == "mlqa-dev" and runs[2]["best_dev_gxlt_f1"] == 44.25
    shown = json.loads(runner.invoke(main, ["show", "2", "--json", "--db", path]).output)
    assert shown["run"]["kind"] == "distill" and shown["summary"]["dev_gxlt_f1"]["best"] == 44.25
    at = json.loads(runner.invoke(main, ["show", "2", "--at-step", "75", "--json", "--db", path]).output)
    assert at["at_step"] == 75 and at["metrics"]["coef"] == {"step": 75, "value": 0.6875}
    assert at["metrics"]["dev_gxlt_f1"] == {"step": 50, "value": 41.5} and set(at["metrics"]) == {
        "loss", "loss_ce", "loss_kl", "coef", "dev_gxlt_f1"}
    matrix = json.loads(runner.invoke(main, ["matrix", "3", "--json", "--db", path]).output)
    assert len(matrix["cells"]) == 49 and set(matrix["summary"]) == {"xlt", "g_xlt", "g_xlt_cross"}
    compared = json.loads(runner.invoke(main, ["compare", "3", "3", "--json", "--db", path]).output)
    assert compared["config_diff"] == [] and compared["summary"]["g_xlt"]["delta"] == 0.0


def test_db_before_the_command_and_full_names(db, tmp_path, monkeypatch):
    path, store = db
    monkeypatch.setenv("XLQA_DB", str(tmp_path / "other.db"))           # an explicit --db wins over the variable
    store.create_experiment("a-really-long-experiment-name-that-must-not-be-cut")
    exp = store.list_runs()[0]["experiment_id"] + 1
    store.create_run(exp, "sample", {}, output_dir=str(tmp_path / "s"))
    out = CliRunner().invoke(main, ["--db", path, "list"], terminal_width=80)
    assert out.exit_code == 0 and "paper-xquad" in out.output
    rows = out.output.splitlines()[1:4]
    pieces = [row.split()[1] if row.split()[0].isdigit() else row.split()[0] for row in rows]
    assert "".join(pieces) == "a-really-long-experiment-name-that-must-not-be-cut"    # folded, never cut
    assert "…" not in out.output


def test_parquet_export_and_a_plot_without_a_coefficient(db, tmp_path):
    import pyarrow.parquet as pq
    path, store = db
    out = CliRunner().invoke(main, ["export", "2", "--format", "parquet", "-o", str(tmp_path / "r.parquet"), "--db", path])
    assert out.exit_code == 0, out.output
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.column_names == ["run_id", "kind", "key", "step", "value", "suite", "lang_q", "lang_c"]
    assert table.num_rows == 402 and set(table.column("key").to_pylist()) >= {"loss", "coef", "dev_gxlt_f1"}
    teacher = store.create_run(store.create_experiment("ce"), "teacher", {}, output_dir=str(tmp_path / "t"))
    store.write_batch(teacher, metrics=[("loss", "", s, 1.0 / s, None) for s in range(1, 20)])
    png = tmp_path / "ce.png"
    assert CliRunner().invoke(main, ["plot", str(teacher), "-o", str(png), "--db", path]).exit_code == 0
    from PIL import Image
    width, _ = Image.open(png).size
    assert width < 700                                   # one panel: no empty coefficient plot beside it


# --- data fetch ------------------------------------------------------------------------------------------

def _serve(root, name, data: bytes):
    (root / name).write_bytes(data)
    return len(data), hashlib.sha256(data).hexdigest()


def test_fetch_lays_out_the_data_dir_and_checks_every_file(http_root, fixture_data, tmp_path, monkeypatch):
    root, url = http_root
    releases = {}
    xquad = []
    for f in sorted((fixture_data / "xquad").glob("*.json.gz")):
        name = f.name[:-3]
        size, sha = _serve(root, name, gzip.decompress(f.read_bytes()))
        xquad.append(fetch_module.Release(f"https://example.org/{name}", f"xquad/{name}", size, sha))
    releases["xquad"] = xquad
    with zipfile.ZipFile(root / "MLQA_V1.zip", "w") as z:      # the official archive's layout
        for f in sorted((fixture_data / "mlqa/dev").glob("*.json.gz")):
            z.writestr(f"MLQA_V1/dev/{f.name[:-3]}", gzip.decompress(f.read_bytes()))
            z.writestr(f"MLQA_V1/test/{f.name[:-3].replace('dev-', 'test-')}", gzip.decompress(f.read_bytes()))
    mlqa = fetch_module.DATASETS["mlqa"][0]
    releases["mlqa"] = [fetch_module.Release(mlqa.url, mlqa.path, *_serve(root, "MLQA_V1.zip", (root / "MLQA_V1.zip").read_bytes()),
                                             members=mlqa.members)]
    combined = {"data": [a for f in sorted((fixture_data / "tydiqa/dev").glob("*.json.gz"))
                         for a in json.loads(gzip.decompress(f.read_bytes()))["data"]]}
    _serve(root, "tydiqa-goldp-v1.1-dev.json", json.dumps(combined).encode())
    tydiqa = fetch_module.DATASETS["tydiqa"][0]
    releases["tydiqa"] = [fetch_module.Release(tydiqa.url, tydiqa.path)]   # no checksum given: recorded
    monkeypatch.setattr(fetch_module, "DATASETS", releases)
    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["data", "fetch", "xquad", "mlqa", "tydiqa", "--to", str(data), "--mirror", url])
    assert result.exit_code == 0, result.output
    assert result.output.count("sha256 verified") == 13 and "no published checksum" in result.output
    assert len(list((data / "xquad").glob("*.json"))) == 12 and len(list((data / "mlqa/dev").glob("*.json"))) == 7
    manifest = json.loads((data / "FETCHED.json").read_text())
    assert manifest["xquad/xquad.de.json"]["verified"] and manifest["mlqa"]["verified"]
    assert not manifest["tydiqa/dev/tydiqa-goldp-v1.1-dev.json"]["verified"]
    # the folder is an eval.data_dir as it is
    from engine.evaluate import suite_records
    assert len(suite_records("mlqa-dev", ["en", "de"], str(data), max_per_cell=2, seed=0)) == 8
    tydiqa = suite_records("tydiqa", ["ar", "sw"], str(data))
    assert sorted(set(tydiqa["lang_c"])) == ["ar", "sw"] and len(tydiqa) == 16
    again = CliRunner().invoke(main, ["data", "fetch", "xquad", "--to", str(data), "--mirror", url])
    assert again.output.count("already there") == 12
    # a corrupted file is refused, named, and leaves nothing behind
    (data / "xquad" / "xquad.de.json").unlink()
    (root / "xquad.de.json").write_bytes(b'{"data": []}')
    bad = CliRunner().invoke(main, ["data", "fetch", "xquad", "--to", str(data), "--mirror", url])
    assert bad.exit_code == 2 and "xquad.de.json: wrong file" in bad.output
    assert not (data / "xquad" / "xquad.de.json").exists() and not (data / ".partial" / "xquad.de.json").exists()


def test_fetch_verifies_the_official_checksums_on_the_real_files(http_root, full_data, tmp_path, monkeypatch):
    root, url = http_root
    for f in sorted((full_data / "xquad").glob("*.json.gz")):
        (root / f.name[:-3]).write_bytes(gzip.decompress(f.read_bytes()))   # byte-identical to the release
    (root / "dev-v1.1.json").write_bytes(gzip.decompress((full_data / "squad/dev-v1.1.json.gz").read_bytes()))
    monkeypatch.setitem(fetch_module.DATASETS, "squad", fetch_module.DATASETS["squad"][:1])   # train is not here
    result = CliRunner().invoke(main, ["data", "fetch", "xquad", "squad", "--to", str(tmp_path / "d"), "--mirror", url])
    assert result.exit_code == 0, result.output
    assert result.output.count("sha256 verified") == 13


def test_a_dry_run_that_cannot_reach_its_data_ends_in_one_line(tmp_path, monkeypatch):
    """The hub is checked only by the dry run itself (the pre-flight reads no network): its failure is one
    line naming `data fetch`, exit 2, no traceback."""
    import engine.dryrun
    import tomli_w

    from engine.testing import tiny_config

    def unreachable(cfg):
        raise DataError("hub:xquad", "the hub could not provide google/xquad",
                        "run `xlqa-run data fetch xquad --to DATA` and use data.train = DATA")
    monkeypatch.setattr(engine.dryrun, "dry_run", unreachable)
    config = tmp_path / "c.toml"
    config.write_text(tomli_w.dumps(tiny_config("distill").to_dict()))
    result = CliRunner().invoke(main, ["launch", str(config), "--dry-run", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "data fetch" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists()   # nothing written


def test_a_sweeps_runs_keep_one_line_each_at_80_columns(db):
    path, store = db
    from engine.config import ExperimentConfig
    cfg = ExperimentConfig().to_dict()
    for ntl, t in ((0, 2), (3, 16)):
        point = f"data.ntl={ntl} distill.temperature={t} train.seed=42"
        exp = store.create_experiment(f"paper-xquad-to-mlqa {point}")   # as `sweep` names a point's experiment
        for kind in ("sample", "distill", "evaluate"):
            store.create_run(exp, kind, {**cfg, "sweep": "paper-xquad-to-mlqa", "grid_point": point},
                             output_dir=str(Path(path).parent / f"runs/{exp}/{kind}"))
    out = CliRunner().invoke(main, ["--db", path, "list"], terminal_width=80)
    rows = out.output.splitlines()[1:11]
    assert out.exit_code == 0 and all(row.split()[0].isdigit() for row in rows)          # no run wraps
    assert rows[0].split()[:5] == ["10", "paper-xquad-to-mlqa", "ntl=3", "T=16", "s=42"]


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_the_demo_prints_one_summary_line_per_stage(db, terminal):
    """No log lines on the console: a header, a bar (terminal) or a line (pipe) per run, one summary line."""
    import io

    from rich.console import Console

    from engine.cli.render.demo import DemoConsole
    path, store = db
    out = io.StringIO()
    view = DemoConsole(store, Console(file=out, force_terminal=terminal, color_system=None, width=100))
    view.stage(1, 2, "teacher", "CE fine-tuning on English synthetic QA")
    for run_id in (1, 2, 3):
        run = store.get_run(run_id)
        sink = view.run_started(run)
        assert (sink is not None) == terminal
        if sink is not None:
            sink.log_metrics(5, {"loss": 1.5})
            sink.progress(5, 10, 0)
            sink.log_eval(5, "mlqa-dev", store.eval_cells(3, "mlqa-dev"))       # no evaluation lines either
        view.run_ended(run, "done", None)
    view.stage_ended("teacher", [1, 2, 3], "done")
    text = out.getvalue()
    last = text.splitlines()[-1]
    assert "1/2 teacher" in text.splitlines()[0] and "mlqa-dev @" not in text
    assert "teacher: runs 1-3 done in" in last and "G-XLT (all cells) 69.71" in last     # after the bars
    assert ("run 2 distill: done" in text) == (not terminal)


@pytest.fixture
def sweep(tmp_path):
    """A 2 x 2 sweep (data.ntl x distill.temperature) of two seeds each, with per-question scores."""
    from db import Store
    from tests.helpers import scored_evaluate_run
    path = str(tmp_path / "sweep.db")
    store = Store(path)
    ids = [scored_evaluate_run(store, f"n{n}T{t}", float(t), s, 0.05 * t + 0.02 * n, ntl=n)
           for n in (1, 2) for t in (2, 4) for s in (1, 2)]
    return path, ids


def _at_80(args):
    return CliRunner().invoke(main, args, env={"COLUMNS": "80"})


def test_table_at_80_columns_leaves_columns_out_and_never_cuts_a_number(sweep):
    path, ids = sweep
    out = _at_80(["table", f"{ids[0]}-{ids[-1]}", "--by", "data.ntl,distill.temperature", "--resamples", "300",
                  "--db", path])
    assert out.exit_code == 0, out.output
    assert "…" not in out.output and max(len(line) for line in out.output.splitlines()) <= 80
    assert "left out at 80 columns: cross, XLT" in out.output and "±" in out.output
    one_seed = _at_80(["table", *map(str, ids[::2]), "--by", "data.ntl,distill.temperature", "--resamples", "300",
                       "--db", path])
    assert "one seed: no spread over seeds" in one_seed.output and "±" not in one_seed.output.split("one seed")[0]


def test_table_as_markdown_and_latex_with_the_settings_signature(sweep):
    path, ids = sweep
    runs = f"{ids[0]}-{ids[3]}"                                             # data.ntl 1: temperatures 2 and 4
    md = _at_80(["table", runs, "--by", "distill.temperature", "--format", "markdown", "--resamples", "300",
                 "--db", path]).output
    lines = md.splitlines()
    assert lines[0].startswith("| distill.temperature | seeds | G-XLT (all cells)") and "p (Holm)" in lines[0]
    assert "95% interval (seeds)" in lines[0] and " ± " in lines[2] and lines[2].count("|") == lines[0].count("|")
    assert "`xlqa:0.1.0|metric:f1|suite:mlqa-dev|test:sign-flip+cluster-bootstrap|unit:question-id|resamples:300|" \
           "seed:0|pairing:seed|interval:conditional+seed-aware-t|correction:holm-rows`" in md
    tex = _at_80(["table", runs, "--by", "distill.temperature", "--format", "latex", "--resamples", "300",
                  "--db", path]).output
    assert tex.startswith("\\begin{tabular}{lrrrrrrrr}") and "$\\pm$" in tex and "95\\% interval" in tex
    assert "\\end{tabular}\n% xlqa:0.1.0|" in tex


def test_compare_says_what_each_interval_answers_and_which_cell_correction(sweep):
    path, ids = sweep
    group = _at_80(["compare", f"{ids[0]},{ids[1]}", f"{ids[2]},{ids[3]}", "--significance", "--power",
                    "--resamples", "500", "--db", path])
    assert group.exit_code == 0, group.output
    text = " ".join(group.output.split())
    assert "…" not in group.output and max(len(line) for line in group.output.splitlines()) <= 80
    assert "conditional on these seeds: how the result would move on other test questions" in text
    assert "Seed-aware (other seeds and other questions)" in text and "ASO eps_min" in text
    assert "with 2 seeds the seed-aware interval is wide" in text
    assert "Wilcoxon pooled over cells as the paper's script: overconfident" in text
    assert "this comparison could detect ±" in text and "seed-aware)" in text
    single = _at_80(["compare", str(ids[0]), str(ids[2]), "--significance", "--resamples", "500", "--db", path])
    text = " ".join(single.output.split())
    assert "* p < 0.05 corrected for the 9 cells (max-T over the same sign flips)" in text and "*" in single.output
    assert "nothing is known of the seed's variation" in text


def test_power_before_the_study_from_stored_runs_or_given_components(sweep):
    path, ids = sweep
    out = _at_80(["power", f"{ids[0]},{ids[1]}", f"{ids[2]},{ids[3]}", "--seeds", "2,5,10", "--questions-per-cell",
                  "30,120", "--difference", "3", "--resamples", "500", "--db", path])
    assert out.exit_code == 0, out.output
    grid = [line.split() for line in out.output.splitlines() if line.split() and line.split()[0] in ("2", "5", "10")]
    values = [[float(v.lstrip("±")) for v in row[1:]] for row in grid]
    assert len(values) == 3 and values[0][0] > values[1][0] > values[2][0] and all(r[0] > r[1] for r in values)
    assert "detecting +3.00 needs" in out.output
    given = json.loads(_at_80(["power", "--seed-sd", "0.3", "--question-se", "0.2", "--items", "4900", "--seeds", "3",
                               "--json"]).output)
    assert given["cells"] == 49 and given["questions_per_cell"] == [100] and given["grid"][0][0] > 0.56
    bad = _at_80(["power", "--seed-sd", "1", "--db", path])
    assert bad.exit_code == 2 and "give two runs or seed groups" in bad.output


def test_alerts_as_lines_and_json_lines_by_run_and_level(db):
    path, store = db
    store.add_alert(2, "coef_collapse", "run 2: coefficient w under 0.05 for 5 logging windows")
    store.finish(3, "failed", error="Traceback (most recent call last):\nValueError: boom")
    runner = CliRunner()
    lines = runner.invoke(main, ["alerts", "--db", path]).output.splitlines()
    assert len(lines) == 2 and "run 2    warning coef_collapse   run 2: coefficient w" in lines[0]
    assert lines[1].endswith("run_failed      run 3 (evaluate of 'paper-xquad') failed: ValueError: boom")
    rows = [json.loads(line) for line in runner.invoke(main, ["alerts", "--json", "--level", "error",
                                                            "--db", path]).output.splitlines()]
    assert [(r["run_id"], r["kind"], r["level"]) for r in rows] == [(3, "run_failed", "error")]
    assert set(rows[0]) == {"id", "run_id", "level", "kind", "text", "created_at"}
    assert runner.invoke(main, ["alerts", "--run", "2", "--json", "--db", path]).output.count("\n") == 1
    missing = runner.invoke(main, ["alerts", "--run", "99", "--db", path])
    assert missing.exit_code == 2 and "no run 99" in missing.output
    listed = runner.invoke(main, ["list", "--db", path]).output
    assert " ! " in listed.splitlines()[0] and "1!" in listed

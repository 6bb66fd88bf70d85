"""A real tiny chain run in this process against a SQLite file (a teacher, then a student distilled from its
checkpoint): what each run cost, in run_cost, v_runs, `show`, `list --json` and `table`; and the paper's
analyses of it: `table --png`, `coef-curve`, `nbest-ranks`, `start-probs`."""

import json
from datetime import timedelta

import numpy as np

import pytest
from click.testing import CliRunner

from db.store import Store
from engine.cli import main
from engine.jobs.foreground import run_foreground
from engine.testing import tiny_config


pytestmark = pytest.mark.slow   # two trainings and their evaluations (about 40 s on a shared 2-core CPU)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cost")
    db = tmp / "xlqa.db"
    store = Store(f"sqlite:///{db}")
    small = {"data": {"synthetic_paragraphs": 20}, "eval": {"max_per_cell": 5}}
    teacher = tiny_config("teacher", train={"epochs": 1}, **small).replace(name="cost-teacher",
                                                                           output_dir=str(tmp / "runs"))
    assert run_foreground(store, teacher) == "done"
    teacher_run = next(r for r in store.list_runs() if r["kind"] == "teacher")
    student = tiny_config("distill", train={"epochs": 2, "checkpoint_every": 0}, **small).replace(
        name="cost-student", output_dir=str(tmp / "runs"), **{"model.init_from": f"{teacher_run['output_dir']}/checkpoint"})
    assert run_foreground(store, student) == "done"
    runs = {r["kind"]: r for r in store.list_runs() if r["experiment"] == "cost-student"}
    return str(db), store, runs, teacher_run


def test_every_stage_of_a_real_run_is_recorded(chain):
    _, store, runs, _ = chain
    distill = store.get_run(runs["distill"]["id"])
    stages = {c["stage"]: c for c in store.run_costs(distill["id"])}
    assert set(stages) == {"featurize", "teacher", "train", "evaluate"}          # dev evaluations: evaluate
    assert {c["attempt"] for c in stages.values()} == {distill["attempt"]}
    assert stages["train"]["steps"] == distill["step"] == 30                     # 2 epochs of 15 steps
    assert stages["train"]["features"] == stages["featurize"]["features"] == 240
    for c in stages.values():
        assert c["seconds"] > 0 and c["device_seconds"] == c["seconds"] and c["devices"] == 1
        assert c["device"] == "cpu" and c["peak_device_gb"] is None and 0.05 < c["peak_host_gb"] < 50
    spent = sum(c["seconds"] for c in stages.values())
    assert spent <= (distill["ended_at"] - distill["started_at"]) / timedelta(seconds=1)   # stages never overlap
    assert [c["stage"] for c in store.run_costs(runs["sample"]["id"])] == ["sample"]
    assert [c["stage"] for c in store.run_costs(runs["evaluate"]["id"])] == ["evaluate"]
    totals = store.cost_totals([distill["id"]])[distill["id"]]
    assert totals["wall_s"] == pytest.approx(spent) and totals["optimizer_steps"] == 30
    assert totals["teacher_s"] == stages["teacher"]["seconds"] and totals["train_features"] == 240


def test_show_list_and_table_show_the_cost(chain):
    db, store, runs, teacher = chain
    runner = CliRunner()
    distill = runs["distill"]["id"]
    shown = runner.invoke(main, ["show", str(distill), "--db", db])
    assert shown.exit_code == 0, shown.output
    assert "cost (summed over attempts):" in shown.output and "steps 30" in shown.output
    assert [line.split()[0] for line in shown.output.split("cost (summed over attempts):\n")[1].splitlines()[:5]] == [
        "featurize", "teacher", "train", "evaluate", "total"]
    as_json = json.loads(runner.invoke(main, ["show", str(distill), "--json", "--db", db]).output)
    assert as_json["cost"]["total"]["optimizer_steps"] == 30 and len(as_json["cost"]["stages"]) == 4
    listed = {r["id"]: r for r in json.loads(runner.invoke(main, ["list", "--json", "--db", db]).output)}
    assert listed[distill]["optimizer_steps"] == 30 and listed[distill]["train_s"] > 0
    table = json.loads(runner.invoke(main, ["table", str(distill), "--by", "data.ntl", "--json", "--resamples", "100",
                                            "--db", db]).output)
    cost = table["rows"][0]["cost"]
    chain_ids = [runs[k]["id"] for k in ("sample", "distill", "evaluate")]
    device_s = sum(store.cost_totals(chain_ids)[i]["device_s"] for i in chain_ids)
    assert cost["device_hours"] == pytest.approx(device_s / 3600)
    teacher_eval = next(r for r in store.list_runs() if r["experiment"] == "cost-teacher" and r["kind"] == "evaluate")
    assert cost["teacher_g_xlt"] == pytest.approx(teacher_eval["score"])          # found through model.init_from
    assert cost["gain"] == pytest.approx(table["rows"][0]["g_xlt"]["mean"] - teacher_eval["score"])
    assert cost["gain_per_device_hour"] == pytest.approx(cost["gain"] / cost["device_hours"])
    text = runner.invoke(main, ["table", str(distill), "--by", "data.ntl", "--resamples", "100", "--db", db],
                         terminal_width=120).output
    assert "gain/device-h" in text and f"{cost['gain_per_device_hour']:+.1f}" in text


def test_the_paper_analyses_of_a_real_run(chain, tmp_path):
    db, store, runs, _ = chain
    runner = CliRunner()
    distill, evaluate = runs["distill"]["id"], runs["evaluate"]["id"]

    png = tmp_path / "lines.png"
    out = runner.invoke(main, ["table", str(distill), "--by", "data.ntl", "--resamples", "100", "--png", str(png),
                               "--db", db])
    assert out.exit_code == 0 and png.stat().st_size > 10_000, out.output

    png = tmp_path / "coef.png"
    out = runner.invoke(main, ["coef-curve", str(distill), "--json", "--png", str(png), "--db", db])
    assert out.exit_code == 0, out.output
    curve = json.loads(out.stdout)
    stored = store.metric_series(distill, "coef")                   # log_every = 2, and each epoch end
    assert list(zip(curve["steps"], curve["values"])) == stored and curve["epoch_steps"] == [15]
    values = np.array([v for _, v in stored])
    assert curve["mean"][7] == pytest.approx(values.mean())         # 15 points, window 51: all of them
    assert curve["mean"][0] == pytest.approx(values[:26].mean())
    assert png.stat().st_size > 10_000
    text = runner.invoke(main, ["coef-curve", str(distill), "--db", db]).output
    assert "epoch 0: steps 2-15" in text and "epoch 1: steps 16-30" in text   # 15: the epoch's last window

    png = tmp_path / "ranks.png"
    out = runner.invoke(main, ["nbest-ranks", str(evaluate), "--n-best", "5", "--json", "--png", str(png), "--db", db])
    assert out.exit_code == 0, out.output
    ranks = json.loads(out.stdout)
    scored = {(lq, lc, qid): em for lq, lc, qid, em, _ in store.question_scores(evaluate, "synthetic")}
    assert len(ranks["ranks"]) == len(scored) == 20                  # 4 cells of 5 questions
    for record_id, lq, lc, rank in ranks["ranks"]:                   # top-1 of the n-best: the evaluated answer
        assert (rank == 1) == (scored[(lq, lc, record_id.rsplit("_", 1)[0])] == 1.0)
    assert {lang: sum(c) for lang, c in ranks["histogram"].items()} == {"de": 10, "en": 10}
    assert png.stat().st_size > 10_000
    assert "top-5 %" in runner.invoke(main, ["nbest-ranks", str(evaluate), "--n-best", "5", "--db", db]).output

    png = tmp_path / "t4.png"
    out = runner.invoke(main, ["start-probs", str(distill), "-T", "4", "--example", "3", "--json", "--png", str(png),
                               "--db", db])
    assert out.exit_code == 0, out.output
    probs = json.loads(out.stdout)
    assert sum(probs["p_t"]) == pytest.approx(1.0) and sum(probs["p_1"]) == pytest.approx(1.0)
    assert max(probs["p_t"]) < max(probs["p_1"])                     # T = 4 flattens the distribution
    assert np.argmax(probs["p_t"]) == np.argmax(probs["p_1"])        # and keeps its order
    assert probs["gold"] in probs["positions"] and len(probs["tokens"]) == len(probs["p_t"])
    assert png.stat().st_size > 10_000

"""What a run costs, measured by a real tiny chain run in this process against a SQLite file: a teacher,
then a student distilled from its checkpoint; every stage is in run_cost, v_runs, `show`, `list --json`
and `table`."""

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from db.store import Store
from engine.cli import main
from engine.jobs.foreground import run_foreground
from engine.testing import tiny_config


pytestmark = pytest.mark.slow   # two trainings and their evaluations (about 30 s on a shared 2-core CPU)


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

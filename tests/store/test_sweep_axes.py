"""data.max_train_examples as a sweep axis: each point an experiment whose runs compute with its cap."""

from click.testing import CliRunner

from db import Store
from engine.cli import main
from engine.jobs.sweep import launch_sweep, parse_grid, parse_seeds, point_configs
from engine.pipeline import run_sample
from engine.testing import MemorySink, tiny_config

CAPS = [40, 120]


def test_a_sweep_over_the_training_cap_makes_its_runs_with_each_value(store_url, tmp_path):
    base = tiny_config("distill", data={"synthetic_paragraphs": 30}).replace(output_dir=str(tmp_path / "runs"))
    configs = point_configs(base, parse_grid(["data.max_train_examples=40,120"]), parse_seeds("2", base.train.seed),
                            "cap")
    store = Store(store_url)
    report = launch_sweep(store, configs)
    assert [(point, what) for point, what, _ in report] == [
        (f"data.max_train_examples={cap} train.seed={seed}", "queued") for cap in CAPS for seed in (42, 43)]
    runs = store.all_runs(sweep="cap")
    assert len(runs) == 4 * 3                                       # sample, distill, evaluate per point
    for run in runs:
        config = store.get_run(run["id"])["config"]
        cap, seed = config["data"]["max_train_examples"], config["train"]["seed"]
        assert config["grid_point"] == f"data.max_train_examples={cap} train.seed={seed}"
        assert (cap, seed) in {(c, s) for c in CAPS for s in (42, 43)}
    assert len({r["experiment_id"] for r in runs}) == 4
    again = launch_sweep(store, configs)                            # queued already: nothing twice
    assert {what for _, what, _ in again} == {"under way"}


def test_each_points_sample_run_keeps_its_cap_of_whole_question_ids(tmp_path):
    base = tiny_config("distill", data={"synthetic_paragraphs": 30})
    for cfg in point_configs(base, parse_grid(["data.max_train_examples=40,120"]), None, "cap"):
        sink = MemorySink()
        run_sample(cfg, tmp_path / cfg.grid_point, sink)
        logged = sink.metrics[0][1]
        cap = cfg.data.max_train_examples
        assert logged["train_examples"] == cap
        # en + de at ntl = 1: 4 pairs per question id, so the cap holds cap / 4 whole question ids
        assert logged["train_questions"] == cap / 4


def test_the_sweeps_dry_run_lists_the_caps(tmp_path, monkeypatch):
    config = tmp_path / "tiny.toml"
    config.write_text(tiny_config("distill").to_toml(), encoding="utf-8")
    monkeypatch.setenv("XLQA_DB", str(tmp_path / "xlqa.db"))
    result = CliRunner().invoke(main, ["sweep", str(config), "--grid", "data.max_train_examples=40,120", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "data.max_train_examples=40: new" in result.output and "data.max_train_examples=120: new" in result.output

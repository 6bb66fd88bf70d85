"""The dashboard driven by pilots against a database filled through the real store, and its screens as SVG
snapshots at 80x24 and 160x48."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.command import CommandInput, CommandList, CommandPalette

from engine.jobs import launch as launch_module
from tests.tui_fixtures import (add_compared_run, filled_store, pushed_form, runs_loaded, screen_dump, screen_text,
                                settled, until)
from xlqa_tui.app import XlqaApp, main as xlqa_main
from xlqa_tui.screens.compare import CompareScreen
from xlqa_tui.screens.confirm import ConfirmScreen
from xlqa_tui.screens.matrix import MatrixScreen
from xlqa_tui.screens.new_experiment import NewExperimentScreen
from xlqa_tui.screens.run_detail import RunDetailScreen
from xlqa_tui.screens.runs import RunsScreen
from xlqa_tui.widgets.chart import Chart
from xlqa_tui.widgets.glyph_checkbox import GlyphCheckbox
from xlqa_tui.widgets.matrix_table import MatrixTable
from xlqa_tui.widgets.runs_table import RunsTable


@pytest.fixture
def store(tmp_path):
    return filled_store(f"sqlite:///{tmp_path / 'tui.db'}")


def table_ids(app) -> list[str]:
    return [rk.value for rk in app.screen.query_one(RunsTable).rows]


def highlighted(app) -> str:
    """The command palette's highlighted hit, lower case ('' while it has none)."""
    hits = app.screen.query_one(CommandList)
    return "" if hits.highlighted is None else str(hits.get_option_at_index(hits.highlighted).prompt).lower()


async def run_command(pilot, app, words: str, screen: type):
    """Open the command palette, enter `words`, wait for them to be its highlighted hit, run it, and wait for
    `screen` to open. The words go in as one value: a key press waits for the app to idle (~40 ms a key)."""
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
    app.screen.query_one(CommandInput).value = words
    await until(pilot, lambda: highlighted(app).startswith(words), "the palette's hit")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, screen), f"the {screen.__name__}")


async def open_form(pilot, app):
    """`n` on the runs screen: wait for the new-experiment form and for its layout to settle."""
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, NewExperimentScreen), "the form")
    await settled(pilot)


def status_line(app) -> str:
    return str(app.screen.query_one("#status-line").render())


# --- runs ---------------------------------------------------------------------------------------------

async def test_runs_table_lists_filters_with_every_word_and_esc_clears(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        assert table_ids(app) == ["4", "3", "2", "1"]
        await pilot.press("slash", *"sweep")
        await until(pilot, lambda: "matching 'sweep'" in status_line(app), "the filtered list")
        assert table_ids(app) == ["4"]
        app.screen.query_one("#filter").value = "paper done"          # every word must match
        await until(pilot, lambda: "matching 'paper done'" in status_line(app), "the filtered list")
        assert table_ids(app) == ["3", "2", "1"]
        app.screen.query_one("#filter").value = "paper queued"
        await until(pilot, lambda: "matching 'paper queued'" in status_line(app), "the filtered list")
        assert table_ids(app) == [] and "of 0" in status_line(app)
        await pilot.press("escape")                                     # closes and clears the filter
        await until(pilot, lambda: "matching" not in status_line(app), "the cleared filter")
        assert table_ids(app) == ["4", "3", "2", "1"] and "matching" not in status_line(app)
        await pilot.press("f")          # queued + running
        await until(pilot, lambda: "status queued,running" in status_line(app), "the status filter")
        assert table_ids(app) == ["4"]


async def test_score_column_status_width_and_footer_at_80x24(store):
    store.update_run(2, status="cancelled")
    app = XlqaApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        footer = lambda: "".join(str(w.render()) for w in app.screen.query("FooterKey"))
        await until(pilot, lambda: runs_loaded(app) and "?" in footer(), "the runs list and its footer")
        await settled(pilot)
        table = app.screen.query_one(RunsTable)
        assert str(table.get_cell("3", "score")).strip() == "47.50"     # an evaluate run shows its G-XLT F1
        assert str(table.get_cell("2", "score")).strip() == "44.25"     # a training run its best dev G-XLT F1
        assert str(table.get_cell("2", "status")) == "cancelled"        # not cut to "cancell"
        assert sum(c.width for c in table.columns.values()) + 2 * len(table.columns) <= 80
        for key in ("/", "q", "?"):
            assert key in footer()


@pytest.mark.parametrize("size, experiment, point", [((160, 48), "sweep-lr", "lr=0.001 s=1"),
                                                      ((140, 40), "sweep-lr", "lr=0.001 s=1"),
                                                      ((139, 40), "sweep-lr lr=0.001 s=1", None),
                                                      ((80, 24), "sweep-lr lr=0.001 s=1", None)],
                         ids=["wide", "wide-fits", "compact-below-wide", "compact"])
async def test_a_sweep_run_shows_its_grid_point_compactly_on_one_line(tmp_path, size, experiment, point):
    """The wide table has a point column; the compact one puts the point after the sweep's name."""
    from db import Store
    from engine.config import ExperimentConfig
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    grid = "train.learning_rate=0.001 train.seed=1"
    cfg = {**ExperimentConfig().to_dict(), "sweep": "sweep-lr", "grid_point": grid}
    store.create_run(store.create_experiment(f"sweep-lr {grid}"), "distill", cfg, output_dir="/nonexistent/s")
    app = XlqaApp(store)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        table = app.screen.query_one(RunsTable)
        assert str(table.get_cell("1", "experiment")) == experiment
        assert (str(table.get_cell("1", "point")) if "point" in table.columns else None) == point
        # whichever layout, the rows fit the terminal: nothing scrolls sideways (the wide one is 140 columns)
        assert sum(c.width for c in table.columns.values()) + 2 * len(table.columns) <= size[0]


async def test_new_metric_rows_appear_live(store, monkeypatch):
    from xlqa_tui.screens import runs as runs_screen
    monkeypatch.setattr(runs_screen, "REFRESH_S", 0.2)        # the same timer, sooner
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        from db.tables import utcnow
        store.update_run(4, status="running", step=30, total_steps=120, heartbeat_at=utcnow())  # a live worker
        cell = lambda column: str(app.screen.query_one(RunsTable).get_cell("4", column))   # by key: columns move
        await until(pilot, lambda: cell("status") == "running", "the periodic refresh")
        assert cell("status") == "running" and "25%" in cell("progress")


async def test_q_quits_from_runs_and_goes_back_elsewhere(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        await pilot.press("down", "m")
        await until(pilot, lambda: isinstance(app.screen, MatrixScreen), "the matrix screen")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs screen")
        await pilot.press("q")
        for _ in range(200):                        # wait for the exit while the app still runs
            if app.return_code is not None:
                break
            await pilot.pause(0.05)
        assert app.return_code == 0, "q on the runs list did not quit the app"


async def test_runs_page_through_sql_and_stop_at_the_end(tmp_path, monkeypatch):
    from xlqa_tui.screens import runs as runs_screen
    monkeypatch.setattr(runs_screen, "PAGE", 3)
    store = filled_store(f"sqlite:///{tmp_path / 'p.db'}")
    for _ in range(3):
        store.create_run(store.create_experiment("more"), "sample", {}, output_dir=str(tmp_path / "more"))
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        assert table_ids(app) == ["7", "6", "5"] and "runs 1–3 of 7" in status_line(app)
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: "runs 4–6" in status_line(app), "page 2")
        assert table_ids(app) == ["4", "3", "2"] and "runs 4–6 of 7" in status_line(app)
        await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign")
        await until(pilot, lambda: "runs 4–6" not in status_line(app), "the last page")
        await settled(pilot)                                            # every press has been read
        assert table_ids(app) == ["1"] and "runs 7–7 of 7" in status_line(app)   # not past the end
        await pilot.press("less_than_sign")
        await until(pilot, lambda: "runs 7–7" not in status_line(app), "page 2 again")
        assert table_ids(app) == ["4", "3", "2"]


async def test_cancel_changes_the_status(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        await pilot.press("x")                      # the cursor is on run 4, queued
        await until(pilot, lambda: store.get_run(4)["status"] != "queued", "the cancel")
    assert store.get_run(4)["status"] == "cancelled"


async def test_delete_asks_with_two_buttons(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await settled(pilot)                        # laid out: the regions are final
        no, yes = app.screen.query_one("#no").region, app.screen.query_one("#yes").region
        assert no.right < yes.x                     # two boxes with a gap, not one
        await pilot.press("n")
        assert store.get_run(4) is not None
        await pilot.press("d", "y")
        await until(pilot, lambda: store.get_run(4) is None, "the delete")
    assert store.get_run(4) is None


async def test_the_command_palette_has_the_apps_commands(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        await run_command(pilot, app, "open run 2", RunDetailScreen)
        assert isinstance(app.screen, RunDetailScreen) and app.screen.run_id == 2
        await run_command(pilot, app, "new exp", NewExperimentScreen)
        assert isinstance(app.screen, NewExperimentScreen)


# --- new experiment -------------------------------------------------------------------------------------

async def test_launch_from_the_form_creates_jobs(store, monkeypatch):
    started = []
    monkeypatch.setattr(launch_module, "ensure_scheduler", lambda s, *a, **k: started.append(s))
    app = XlqaApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        await open_form(pilot, app)
        assert isinstance(app.screen, NewExperimentScreen)
        form = app.screen
        assert "model.init_from" in str(form.query_one("#error-model-init_from").render())   # no teacher: not valid
        form.query_one("#f-model-init_from").value = "/teacher/checkpoint"
        await until(pilot, lambda: "no such file" in str(form.query_one("#error-model-init_from").render()),
                    "the path check")
        assert "no such file or folder" in str(form.query_one("#error-model-init_from").render())
        form.query_one("#f-model-name").value = "tiny-bert:32:1"
        form.query_one("#f-model-init_from").value = ""
        temp = form.query_one("#f-distill-temperature")
        temp.value = "-1"
        await until(pilot, lambda: "distill.temperature" in str(form.query_one("#error-distill-temperature").render()),
                    "the range check")
        assert "distill.temperature" in str(form.query_one("#error-distill-temperature").render())
        await pilot.press("ctrl+s")
        assert len(store.list_runs()) == 4          # nothing queued while invalid
        temp.value = "3"
        form.query_one("#f-name").value = "from-form"
        form.query_one("#f-train-max_steps").value = "7"
        await settled(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(store.list_runs(text="from-form")) == 3, "the queued runs")
    runs = store.list_runs(text="from-form")
    assert sorted(r["kind"] for r in runs) == ["distill", "evaluate", "sample"]
    assert all(r["config"]["distill"]["temperature"] == 3.0 and r["config"]["train"]["max_steps"] == 7 for r in runs)
    assert started


async def test_the_form_refuses_no_language_and_empty_numbers(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        form = await pushed_form(pilot)
        form.query_one("#f-model-name").value = "tiny-bert:32:1"
        for box in form.query("#languages GlyphCheckbox"):
            box.value = False
        await until(pilot, lambda: "data.languages is empty" in str(form.query_one("#form-status").render()),
                    "the language check")
        assert "data.languages is empty" in str(form.query_one("#form-status").render())
        form.query_one("#lang-en", GlyphCheckbox).value = True
        form.query_one("#f-data-ntl").value = "0"
        form.query_one("#f-train-epochs").value = ""                    # empty is an error, not the default
        await until(pilot, lambda: "train.epochs" in str(form.query_one("#error-train-epochs").render()),
                    "the number check")
        await settled(pilot)
        assert "train.epochs" in str(form.query_one("#error-train-epochs").render())
        assert str(form.query_one("#lang-en").render()).startswith("[✓]")
        assert str(form.query_one("#lang-el").render()).startswith("[ ]")   # readable without colour


async def test_the_form_offers_the_pair_modes_and_coefficients(store):
    """The form reads the config's metadata: data.pairs and distill.coefficient are selects of their choices."""
    from textual.widgets import Select
    from engine.loss_modes import COEFFICIENTS
    from engine.sampling import PAIRS
    app = XlqaApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(NewExperimentScreen())
        await until(pilot, lambda: isinstance(app.screen, NewExperimentScreen), "the form")
        await settled(pilot)
        for key, choices, default in (("data-pairs", PAIRS, "all"), ("distill-coefficient", COEFFICIENTS, "map@k")):
            select = app.screen.query_one(f"#f-{key}", Select)
            assert [value for _, value in select._options] == list(choices) and select.value == default
        assert {"entropy", "confidence-example", "gold-mass"} <= set(COEFFICIENTS)
        assert app.screen.query_one("#f-data-pairs", Select).tooltip.startswith("which (question, context) pairs")


async def test_esc_asks_before_discarding_edits_and_ctrl_t_saves(store, tmp_path):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        await open_form(pilot, app)
        await pilot.press("escape")                                     # nothing edited: straight back
        await until(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs screen")
        assert isinstance(app.screen, RunsScreen)
        await open_form(pilot, app)
        name = app.screen.query_one("#f-name")
        name.focus()
        name.value = "saved one"
        name.cursor_position = len(name.value)
        await pilot.press("ctrl+w")                                     # the input's own key: deletes a word
        await settled(pilot)
        assert name.value != "saved one" and not list(tmp_path.rglob("*.toml"))   # edited, nothing saved
        assert isinstance(app.screen, NewExperimentScreen)
        name.value = "saved-one"
        app.screen.query_one("#f-model-name").value = "tiny-bert:32:1"
        app.screen.query_one("#f-output_dir").value = str(tmp_path / "runs")
        await settled(pilot)
        await pilot.press("ctrl+t")
        saved = tmp_path / "runs" / "saved-one.toml"                  # beside the experiments, not in the cwd
        await until(pilot, lambda: any(str(saved) in str(n.message) for n in app._notifications), "the save")
        assert saved.exists() and not list(Path.cwd().iterdir())
        assert any(str(saved) in str(n.message) for n in app._notifications)
        name.value = "changed"
        await settled(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewExperimentScreen), "the form again")
        assert isinstance(app.screen, NewExperimentScreen)
        await pilot.press("escape", "y")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs screen")
        assert isinstance(app.screen, RunsScreen)


async def test_export_and_plot_write_into_the_runs_folder_and_name_it(store, tmp_path):
    folder = tmp_path / "elsewhere" / "distill"
    store.update_run(2, output_dir=str(folder))
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    store.update_run(3, output_dir=str(blocked / "eval"))           # a folder that cannot be made
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        app.export_run(2)
        app.plot_run(2)
        app.export_run(3)
        await until(pilot, lambda: len(app._notifications) >= 3, "three notifications")
        await settled(pilot)
        messages = [str(n.message) for n in app._notifications]
    assert (folder / "run2.csv").read_text().startswith("run_id") and (folder / "run2.png").stat().st_size > 1000
    assert f"wrote {folder / 'run2.csv'}" in messages and f"wrote {folder / 'run2.png'}" in messages
    assert any(m.startswith(f"could not write {blocked / 'eval' / 'run3.csv'}") for m in messages)
    assert not list(Path.cwd().iterdir())                           # nothing where the dashboard was started


# --- detail, matrix, compare --------------------------------------------------------------------------

async def test_detail_tabs_metric_picker_and_no_polling_after_the_end(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.data, "the run's data")
        await settled(pilot)
        screen = app.screen
        assert isinstance(screen, RunDetailScreen) and screen.run_id == 2
        assert "best dev G-XLT F1 44.25" in str(screen.query_one("#detail-top").render())
        assert screen.timer is None                                     # done: read once, no more polling
        title = lambda: str(screen.query_one("#metric-chart .chart-title").render())
        assert "■ loss" in title() and "■ loss_ce" in title() and "■ loss_kl" in title()
        await pilot.press("k")
        assert screen.metric == "coef" and "coef" in title()
        await pilot.press("e")
        assert "EMA 0.6" in title()
        await pilot.press("3")
        assert app.screen.query_one("TabbedContent").active == "pairs"
        await pilot.press("2", "l")
        assert "log counts" in str(screen.query_one("#hist-plot .chart-title").render())


async def test_detail_names_the_runs_coefficient(store):
    """Every coefficient is logged as `coef` (metric, histograms, pair means): the charts take its name from the
    run's distill.coefficient."""
    from engine.config import ExperimentConfig
    from engine.jobs.store_sink import histogram_row
    cfg = ExperimentConfig().replace(**{"distill.coefficient": "entropy-example"}).to_dict()
    run = store.create_run(store.create_experiment("entropy"), "distill", cfg, output_dir="/nonexistent/entropy")
    store.update_run(run, status="done", step=10, total_steps=10)
    store.write_batch(run, histograms=[histogram_row("coef", 10, [0.2, 0.4, 0.8])],
                      pairs=[(0, "teacher_coef", "en", "de", 0.4, 3)])
    app = XlqaApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        app.push_screen(RunDetailScreen(run))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.data, "the run's data")
        await settled(pilot)
        screen = app.screen
        text = lambda selector: str(screen.query_one(selector).render())
        assert "per-example entropy percentiles" in text("#bands-plot .chart-title")
        assert text("#hist-plot .chart-title").startswith("entropy histogram, step 10")
        assert text("#pairs-title").startswith("teacher entropy per language pair")
        assert str(screen.query_one("TabbedContent").get_tab("map").label) == "2 entropy"


async def test_matrix_shows_the_stored_cells_toggles_em_and_signs_delta_means(store):
    other = add_compared_run(store)
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        await pilot.press("down", "down", "m")                  # run 3, the evaluate run
        await until(pilot, lambda: isinstance(app.screen, MatrixScreen) and app.screen.query_one(MatrixTable).row_count,
                    "the matrix")
        await settled(pilot)
        assert isinstance(app.screen, MatrixScreen) and app.screen.run_id == 3
        table = app.screen.query_one(MatrixTable)
        assert str(table.get_row("en")[1]).strip() == "50.0"     # f1 of (en, en)
        assert str(table.get_row("es")[1]).strip() == "52.0"     # (es, en): 50 + 7 - 5
        summary = str(app.screen.query_one("#matrix-summary").render())
        assert "G-XLT (cross cells)" in summary
        await pilot.press("e")
        assert str(app.screen.query_one(MatrixTable).get_row("en")[1]).strip() == "30.0"
        app.pop_screen()
        app.push_screen(MatrixScreen(other, 3))
        await until(pilot, lambda: app.screen.marked, "the significance marks")
        await settled(pilot)
        matrix = app.screen.query_one(MatrixTable)
        assert str(matrix.get_cell("de", "mean")).strip().startswith("+")      # a signed row mean
        assert str(matrix.get_cell("de", "ar")).endswith("*")
        assert "corrected for the 49 cells (max-T" in str(app.screen.query_one("#matrix-title").render())


async def test_compare_shows_significance_an_empty_chart_message_and_clears_marks(store):
    other = add_compared_run(store)
    app = XlqaApp(store)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        runs = app.screen
        runs.marked = {3, other}
        runs.action_compare()
        await until(pilot, lambda: str(app.screen.query_one("#compare-significance").get_row_at(0)[0]) != "…",
                    "the paired test (a worker thread)")
        await settled(pilot)
        assert isinstance(app.screen, CompareScreen)
        row = [str(c) for c in app.screen.query_one("#compare-significance").get_row_at(0)]
        assert row[0] == f"{other} vs 3" and row[1] == "G-XLT (all)" and row[2].startswith("+") and "[" in row[3]
        chart = app.screen.query_one("#compare-curves", Chart)
        assert chart.query_one(".chart-empty").display and "no dev G-XLT F1 logged" in str(chart.query_one(".chart-empty").render())
        await pilot.press("q")
        await until(pilot, lambda: app.screen is runs, "the runs screen")
        await settled(pilot)
        assert runs.marked == set()


async def test_compare_at_80x24_fits_its_significance_rows_and_gives_curves_and_logs_their_tabs(store, tmp_path):
    other = add_compared_run(store)
    for rid in (3, other):
        folder = tmp_path / f"run{rid}"
        folder.mkdir()
        (folder / "worker.log").write_text("".join(f"line {i} of run {rid}\n" for i in range(40)))
        store.update_run(rid, output_dir=str(folder))
    app = XlqaApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        app.push_screen(CompareScreen([3, other]))
        await until(pilot, lambda: str(app.screen.query_one("#compare-significance").get_row_at(0)[0]) != "…",
                    "the paired test (a worker thread)")
        await settled(pilot)
        table = app.screen.query_one("#compare-significance")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[1] for r in rows] == ["G-XLT (all)", "G-XLT (cross)", "XLT"]
        # every number whole, on one line: the columns widen a refresh after the rows arrive (a loaded
        # machine once caught the frame between), so wait for it, and fail if it never comes
        whole = lambda: all(any(all(cell in line for cell in row[1:]) for line in screen_text(app).splitlines())
                            for row in rows)
        await until(pilot, whole, "every significance row drawn whole on one line",
                    show=lambda: f"{screen_dump(app)}\nrows {rows}")
        assert table.virtual_size.width <= 80 and table.scroll_x == 0       # no horizontal scrollbar needed
        shown = screen_text(app)
        assert "[+0.41, +0.41]" in shown and "<0.001" in shown and "1.000" in shown and "baseline run 3" in shown
        await pilot.press("3")                                              # the curves: a tab of their own
        await settled(pilot)
        chart = app.screen.query_one("#compare-curves", Chart)
        assert app.screen.query_one("TabbedContent").active == "curves" and chart.region.height >= 15
        await pilot.press("4")                                              # the tail of each run's log
        await settled(pilot)
        shown = screen_text(app)
        assert "line 39 of run 3" in shown and f"run {other} (done) · the last 12 lines of its worker.log" in shown
        assert "line 20 of run 3" not in shown                             # the tail only
        assert app.screen.query_one(f"#log-{other}").lines[-1] == f"line 39 of run {other}"


async def test_a_pinned_baseline_is_the_base_of_compare_and_matrix_across_screens(store):
    other = add_compared_run(store)
    app = XlqaApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        await pilot.press("down", "down", "b")                  # run 3 (rows: 5, 4, 3, 2, 1)
        await settled(pilot)
        assert app.baseline == 3 and "baseline: run 3" in screen_text(app)
        await pilot.press("up", "up", "m")                       # run 5's matrix: a delta against the baseline
        await until(pilot, lambda: isinstance(app.screen, MatrixScreen), "the matrix")
        await settled(pilot)
        assert app.screen.run_id == other and app.screen.other == 3
        assert "delta vs run 3" in str(app.screen.query_one("#matrix-title").render())
        assert "baseline: run 3" in screen_text(app)            # the header says so on every screen
        await pilot.press("q", "c")                              # no marks: the selected run against the baseline
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), "the comparison")
        assert app.screen.run_ids == [3, other]
        await until(pilot, lambda: str(app.screen.query_one("#compare-significance").get_row_at(0)[0]) != "…",
                    "the paired test")
        assert str(app.screen.query_one("#compare-significance").get_row_at(0)[0]) == f"{other} vs 3"
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs screen")
        app.open_run(3)
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen), "the run")
        await pilot.press("b")                                   # b on the pinned run unpins it
        await settled(pilot)
        assert app.baseline is None and "baseline" not in screen_text(app).splitlines()[0]
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MatrixScreen), "the matrix")
        assert app.screen.other is None


async def test_alerts_badge_the_runs_table_and_list_in_the_run_detail(store):
    store.add_alert(2, "coef_collapse", "run 2: coefficient w (map@k) under 0.05 for 5 logging windows in a row")
    store.add_alert(2, "run_done", "run 2 (distill of 'paper-xquad') done")
    store.add_alert(3, "run_failed", "run 3 (evaluate of 'paper-xquad') failed: ValueError: boom")
    store.add_alert(3, "heartbeat_stale", "run 3 (evaluate): no heartbeat for 16 s")
    app = XlqaApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: runs_loaded(app), "the runs list")
        await settled(pilot)
        table = app.screen.query_one(RunsTable)
        badge = lambda rid: table.get_cell(str(rid), "alerts")
        assert str(badge(3)) == "2!" and badge(3).style == "red"       # errors: red; the info alert not counted
        assert str(badge(2)) == "1!" and badge(2).style == "yellow" and str(badge(1)) == ""
        assert sum(c.width for c in table.columns.values()) + 2 * len(table.columns) <= 80
        app.open_run(2)
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.data, "the run's data")
        await settled(pilot)
        assert "1 alert (6)" in str(app.screen.query_one("#detail-top").render())
        await pilot.press("6")
        await settled(pilot)
        shown = screen_text(app)
        assert "coef_collapse" in shown and "run_done" in shown and "under 0.05 for 5 logging windows" in shown


def test_plain_text_when_stdout_is_not_a_terminal(tmp_path, store):
    result = CliRunner().invoke(xlqa_main, ["--db", store.url, "--once"])
    assert result.exit_code == 0 and "paper-xquad" in result.output and "\x1b[" not in result.output
    piped = subprocess.run([sys.executable, "-m", "xlqa_tui.app", "--db", store.url], capture_output=True, text=True,
                           timeout=60)
    assert piped.returncode == 0 and "sweep-T3" in piped.stdout and "47.50" in piped.stdout


def test_the_system_monitor_logs_the_machine(monkeypatch):
    from datetime import datetime, timedelta

    from engine.jobs.sysmon import SystemMonitor
    rows = []
    monitor = SystemMonitor(lambda *row: rows.append(row), datetime.utcnow() - timedelta(seconds=90), interval=0.05).start()
    import time
    deadline = time.monotonic() + 20
    while not {"sys_cpu_percent", "sys_ram_used_gb", "sys_worker_rss_gb"} <= {r[1] for r in rows} \
            and time.monotonic() < deadline:                        # a sample or two, however busy the machine
        time.sleep(0.02)
    monitor.stop()
    keys = {key for _, key, _, _ in rows}
    assert {"sys_cpu_percent", "sys_ram_used_gb", "sys_worker_rss_gb"} <= keys
    assert all(step >= 90 for step, *_ in rows)                     # seconds since the run was queued


# --- snapshots ---------------------------------------------------------------------------------------

def _shown(app) -> bool:
    """The screen on top has drawn what its worker read."""
    screen = app.screen
    if isinstance(screen, RunDetailScreen):
        return bool(screen.data)
    if isinstance(screen, MatrixScreen):
        return screen.query_one(MatrixTable).row_count > 0
    if isinstance(screen, CompareScreen):  # the paired test runs in a worker; its columns widen a refresh later
        return (str(screen.query_one("#compare-significance").get_row_at(0)[0]) != "…"
                and screen_text(app).count("[+0.00, +0.00]") == 3)          # all three views drawn uncut
    return True


def _screen(opener):
    async def run_before(pilot):
        await until(pilot, lambda: runs_loaded(pilot.app), "the runs list")  # read in a worker, however busy the machine
        await settled(pilot)
        opener(pilot.app)
        await until(pilot, lambda: _shown(pilot.app), "the screen's data", timeout=60,   # beside pytest-xdist's
                    show=lambda: screen_dump(pilot.app))                      # other workers, a loaded machine
        await settled(pilot)
    return run_before


SCREENS = {
    "runs": lambda app: None,
    "detail": lambda app: app.push_screen(RunDetailScreen(2)),
    "form": lambda app: app.push_screen(NewExperimentScreen()),
    "matrix": lambda app: app.push_screen(MatrixScreen(3)),
    "compare": lambda app: app.push_screen(CompareScreen([2, 3])),
    "help": lambda app: app.action_help(),
}


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_snapshot(snap_compare, store, screen, size):
    assert snap_compare(XlqaApp(store), terminal_size=size, run_before=_screen(SCREENS[screen]))


def test_the_form_writes_a_suite_languages_table_that_reads_back_whole(monkeypatch, tmp_path):
    """eval.suite_languages is one Input holding a TOML inline table; an entry deleted there stays deleted."""
    monkeypatch.setenv("XLQA_DATA_DIR", str(tmp_path))  # the paper config's data.train is $XLQA_DATA_DIR/xquad
    from engine.config import apply_overrides, load_toml
    from tests.conftest import REPO
    from xlqa_tui.screens.new_experiment import _fmt, _without_tables
    paper = load_toml(REPO / "examples/paper_xquad_to_mlqa.toml").to_dict()
    text = _fmt(paper["eval"]["suite_languages"])
    assert apply_overrides(_without_tables(paper), [f"eval.suite_languages={text}"]).to_dict() == paper
    fewer = _fmt({"tydiqa": paper["eval"]["suite_languages"]["tydiqa"]})
    assert apply_overrides(_without_tables(paper), [f"eval.suite_languages={fewer}"]).eval.suite_languages == \
        {"tydiqa": ["bn", "fi", "id", "ko", "ru", "sw", "te"]}
